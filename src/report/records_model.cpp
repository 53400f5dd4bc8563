#include "report/records_model.hpp"

#include <nlohmann/json.hpp>

#include "common/read_file.hpp"
#include "common/text.hpp"

namespace corral::report {
namespace {

using nlohmann::json;

class Fields {
  public:
    Fields(const json& j, const std::string& where) : j_(j), where_(where) {}

    [[noreturn]] void bad(const std::string& key, const char* expected) const {
        throw RecordsError(where_ + ": field \"" + key + "\" must be " + expected);
    }
    const json* find(const std::string& key) const {
        auto it = j_.find(key);
        if (it == j_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    std::string str(const std::string& key) const {
        auto* v = find(key);
        if (!v) return "";
        if (!v->is_string()) bad(key, "a string");
        return v->get<std::string>();
    }
    double num(const std::string& key) const {
        auto* v = find(key);
        if (!v) return 0;
        if (!v->is_number()) bad(key, "a number");
        return v->get<double>();
    }
    std::optional<int64_t> integer(const std::string& key) const {
        auto* v = find(key);
        if (!v) return std::nullopt;
        if (!v->is_number_integer()) bad(key, "an integer or null");
        return v->get<int64_t>();
    }
    std::optional<uint64_t> bytes(const std::string& key) const {
        auto* v = find(key);
        if (!v) return std::nullopt;
        if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
            bad(key, "a byte count (an integer >= 0) or null");
        return v->get<uint64_t>();
    }
    bool boolean(const std::string& key) const {
        auto* v = find(key);
        if (!v) return false;
        if (!v->is_boolean()) bad(key, "true or false");
        return v->get<bool>();
    }
    std::vector<std::string> strings(const std::string& key) const {
        std::vector<std::string> out;
        auto* v = find(key);
        if (!v) return out;
        if (!v->is_array()) bad(key, "an array of strings");
        for (const auto& e : *v) {
            if (!e.is_string()) bad(key, "an array of strings");
            out.push_back(e.get<std::string>());
        }
        return out;
    }
    std::vector<Process> processes(const std::string& key) const {
        std::vector<Process> out;
        auto* v = find(key);
        if (!v) return out;
        if (!v->is_array()) bad(key, "an array of {pid, command}");
        for (const auto& e : *v) {
            if (!e.is_object()) bad(key, "an array of {pid, command}");
            Fields f(e, where_ + ": " + key);
            out.push_back({static_cast<int>(f.integer("pid").value_or(0)), f.str("command")});
        }
        return out;
    }
    std::vector<Grant> grants(const std::string& key) const {
        std::vector<Grant> out;
        auto* v = find(key);
        if (!v) return out;
        if (!v->is_array()) bad(key, "an array of {group, type, id, slots}");
        for (const auto& e : *v) {
            if (!e.is_object()) bad(key, "an array of {group, type, id, slots}");
            Fields f(e, where_ + ": " + key);
            out.push_back({static_cast<int>(f.integer("group").value_or(0)), f.str("type"),
                           f.str("id"), static_cast<int>(f.integer("slots").value_or(0))});
        }
        return out;
    }

  private:
    const json& j_;
    std::string where_;
};

}  // namespace

Outcome outcome_of(const Record& r) {
    // corral run's exit codes: docs/exit-codes.md, "corral run".
    // The record says what happened; an exit code says it only when the test
    // never ran: 124 and 126/127 are also the test's own codes (a shell
    // script's `timeout` or missing command), with exit_code the same number.
    if (r.timed_out) return Outcome::TimedOut;
    if (r.launcher_signal) return Outcome::Signalled;
    if (r.oom_killed) return Outcome::OomKilled;
    if ((r.launcher_exit_code == kExitCannotInvoke || r.launcher_exit_code == kExitNotFound) &&
        !r.ran())
        return Outcome::NotFound;  // never ran (its record has no exit code)
    if (r.launcher_exit_code == kExitLauncherFailure &&
        (!r.exit_code || *r.exit_code != kExitLauncherFailure))
        return Outcome::LauncherFailed;
    if (r.signal) return Outcome::Signalled;
    if (r.exit_code && *r.exit_code != 0) return Outcome::Failed;
    if (!r.leaked.empty() || r.launcher_exit_code == kExitLeaked) return Outcome::Leaked;
    if (r.launcher_exit_code != 0) return Outcome::Failed;
    return Outcome::Passed;
}

std::optional<uint64_t> Record::granted_memory_bytes() const {
    uint64_t mib = 0;
    bool any = false;
    for (const auto& g : resources)
        if (g.type == "mem_mib") {
            mib += static_cast<uint64_t>(g.slots);
            any = true;
        }
    if (!any) return std::nullopt;
    return mib << 20;
}

Record parse_record(const std::string& text, const std::string& file, int line) {
    std::string where = file + ":" + std::to_string(line);
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw RecordsError(where + ": not a JSON record (" + e.what() + ")");
    }
    if (!j.is_object()) throw RecordsError(where + ": expected a JSON object (one record)");
    Fields f(j, where);
    auto schema = f.str("schema");
    if (schema.rfind("corral.record/1", 0) != 0)
        throw RecordsError(where + ": expected \"schema\": \"corral.record/1\", found \"" + schema +
                           "\"");
    Record r;
    r.file = file;
    r.line = line;
    r.run_id = f.str("run_id");
    r.name = f.str("name");
    if (r.name.empty()) throw RecordsError(where + ": field \"name\" is missing or empty");
    r.command = f.strings("command");
    r.start = f.num("start_unix");
    r.end = f.num("end_unix");
    r.wall_seconds = f.num("wall_seconds");
    if (r.end < r.start) r.end = r.start + r.wall_seconds;
    if (auto v = f.integer("exit_code")) r.exit_code = static_cast<int>(*v);
    if (auto v = f.integer("signal")) r.signal = static_cast<int>(*v);
    if (auto v = f.integer("launcher_signal")) r.launcher_signal = static_cast<int>(*v);
    r.timed_out = f.boolean("timed_out");
    r.timeout_seconds = f.num("timeout_seconds");
    r.launcher_exit_code = static_cast<int>(f.integer("launcher_exit_code").value_or(0));
    r.cpu_seconds = f.num("cpu_user_seconds") + f.num("cpu_system_seconds");
    r.peak_memory_bytes = f.bytes("peak_memory_bytes").value_or(0);
    // A test that never ran held nothing (older launchers recorded their own size).
    if (!r.ran()) r.peak_memory_bytes = 0;
    r.peak_memory_source = f.str("peak_memory_source");
    r.memory_limit_bytes = f.bytes("memory_limit_bytes");
    r.peak_nonreclaimable_bytes = f.bytes("peak_nonreclaimable_bytes");
    r.peak_nonreclaimable_source = f.str("peak_nonreclaimable_source");
    r.declared_memory_bytes = f.bytes("declared_memory_bytes");
    r.memory_limit_enforced = f.boolean("memory_limit_enforced");
    r.memory_limit_reason = f.str("memory_limit_reason");
    if (auto v = f.integer("processors")) r.processors = static_cast<int>(*v);
    r.oom_killed = f.boolean("oom_killed");
    r.leaked = f.processes("leaked");
    r.killed_on_timeout = f.processes("killed_on_timeout");
    r.resources = f.grants("resources");
    r.locks = f.strings("locks");
    r.lock_wait_seconds = f.num("lock_wait_seconds");
    r.outcome = outcome_of(r);
    return r;
}

std::vector<Record> read_records(const std::string& path) {
    // read_file, not std::ifstream: errno after a failed stream open is
    // unspecified ("Success"), and a directory opens as a stream that reads nothing.
    auto whole = read_file(path);
    if (!whole) throw RecordsError(path + ": cannot read the records file (" + whole.error + ")");
    std::vector<Record> out;
    int line = 0;
    for (auto text : split_lines(*whole)) {
        ++line;
        if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        out.push_back(parse_record(std::string(text), path, line));
    }
    return out;
}

}  // namespace corral::report
