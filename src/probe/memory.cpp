// Memory as /proc/meminfo and the cgroups say: MemTotal, MemAvailable, swap,
// the strictest hard limit (and v2 memory.high) from the leaf cgroup up to the
// mount root, and what is still available inside the limiting cgroup.
#include <algorithm>
#include <cstdint>
#include <map>
#include <ostream>

#include "common/text.hpp"
#include "probe/cgroup.hpp"
#include "probe/probe.hpp"

namespace corral {
namespace {

// The kernel writes "no limit" as LONG_MAX rounded down to a page:
// 9223372036854771712 (4 KiB pages), 9223372036854710272 (64 KiB pages).
// Anything this large is "unlimited" even when MemTotal is unknown.
constexpr uint64_t kSentinelFloor = uint64_t{1} << 62;

std::string bytes_text(uint64_t v) {
    return std::to_string(v) + " (" + human_bytes(v) + ")";
}

// /proc/meminfo values in bytes, by key ("MemTotal"). Malformed lines are skipped.
std::map<std::string, uint64_t, std::less<>> parse_meminfo(std::string_view text) {
    std::map<std::string, uint64_t, std::less<>> out;
    for (auto line : split_lines(text)) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto value = trim(line.substr(colon + 1));
        uint64_t scale = 1;
        if (value.size() > 3 && value.substr(value.size() - 3) == " kB") {
            value = trim(value.substr(0, value.size() - 3));
            scale = 1024;
        }
        auto n = parse_u64(value);
        if (!n || *n > UINT64_MAX / scale) continue;
        out.emplace(std::string(trim(line.substr(0, colon))), *n * scale);
    }
    return out;
}

// "memory.stat"-style "key value" lines -> value of `key`.
std::optional<uint64_t> stat_value(std::string_view text, std::string_view key) {
    for (auto line : split_lines(text)) {
        auto space = line.find(' ');
        if (space == std::string_view::npos || line.substr(0, space) != key) continue;
        return parse_u64(trim(line.substr(space + 1)));
    }
    return std::nullopt;
}

struct Limit {
    uint64_t bytes = 0;
    std::string source;
    std::string usage_dir;  // the cgroup whose usage counts against this limit
};

class LimitWalk {
  public:
    LimitWalk(std::optional<uint64_t> total, std::vector<std::string>& notes)
        : total_(total), notes_(notes) {}

    // A limit read from `file` ("max" or bytes); keeps it when stricter.
    void offer_file(const CgroupFile& f, const std::string& what, const std::string& where,
                    const std::string& usage_dir, std::optional<Limit>& strictest) {
        if (f.state == CgroupFile::State::kAbsent) return;
        found_file_ = true;
        if (f.state == CgroupFile::State::kUnreadable) {
            notes_.push_back(f.path + ": unreadable: " + f.error + "; this level was ignored");
            ++ignored_;
            return;
        }
        if (f.text == "max") return;
        auto v = parse_u64(f.text);
        if (!v) {
            notes_.push_back(f.path + ": '" + f.text +
                             "' is neither 'max' nor a byte count; this level was ignored");
            ++ignored_;
            return;
        }
        offer(*v, what, where, usage_dir, strictest);
    }

    // `what` names the file, `where` the directory and level: "<what> = <v> <where>".
    void offer(uint64_t v, const std::string& what, const std::string& where,
               const std::string& usage_dir, std::optional<Limit>& strictest) {
        if (total_ ? v >= *total_ : v >= kSentinelFloor) return;  // unlimited
        if (!strictest || v < strictest->bytes)
            strictest = Limit{v, what + " = " + bytes_text(v) + where, usage_dir};
    }

    bool found_file() const { return found_file_; }
    // "; 1 level ignored (see notes)" when garbage or unreadable files were skipped.
    std::string ignored_text() const {
        return ignored_ ? "; " + std::to_string(ignored_) + " file(s) ignored (see notes)" : "";
    }

  private:
    std::optional<uint64_t> total_;
    std::vector<std::string>& notes_;
    bool found_file_ = false;
    int ignored_ = 0;
};

// limit - (usage - inactive_file) for the cgroup the limit applies to.
Read<uint64_t> available_in_cgroup(const HostRoot& host, int version, const Limit& limit) {
    auto usage_file = read_cgroup_file(host, limit.usage_dir,
                                       version == 2 ? "memory.current" : "memory.usage_in_bytes");
    auto stat_file = read_cgroup_file(host, limit.usage_dir, "memory.stat");
    if (usage_file.state != CgroupFile::State::kOk)
        return Read<uint64_t>::fail(usage_file.path + ": " +
                                    (usage_file.error.empty() ? "missing" : usage_file.error));
    auto usage = parse_u64(usage_file.text);
    if (!usage)
        return Read<uint64_t>::fail(usage_file.path + ": '" + usage_file.text +
                                    "' is not a byte count");
    const char* inactive_key = version == 2 ? "inactive_file" : "total_inactive_file";
    std::optional<uint64_t> inactive;
    if (stat_file.state == CgroupFile::State::kOk)
        inactive = stat_value(stat_file.text, inactive_key);
    if (!inactive) return Read<uint64_t>::fail(stat_file.path + ": no readable " + inactive_key);
    uint64_t working_set = *usage - std::min(*usage, *inactive);
    return Read<uint64_t>::ok(limit.bytes - std::min(limit.bytes, working_set));
}

}  // namespace

MemoryFacts probe_memory(const HostRoot& host) {
    MemoryFacts m;
    std::optional<uint64_t> mem_available;
    std::string mem_available_error;
    if (auto text = host.read_text("/proc/meminfo")) {
        auto info = parse_meminfo(*text);
        auto get = [&](const char* key) -> std::optional<uint64_t> {
            auto it = info.find(key);
            if (it == info.end()) return std::nullopt;
            return it->second;
        };
        m.total_bytes = get("MemTotal");
        m.total_source = m.total_bytes ? "/proc/meminfo MemTotal"
                                       : "unknown: /proc/meminfo: no readable MemTotal line";
        mem_available = get("MemAvailable");
        if (!mem_available) mem_available_error = "/proc/meminfo: no readable MemAvailable line";
        m.swap_total_bytes = get("SwapTotal");
        if (!m.swap_total_bytes) m.notes.push_back("/proc/meminfo: no readable SwapTotal line");
    } else {
        m.total_source = "unknown: " + text.error;
        mem_available_error = text.error;
    }

    auto tables = read_cgroup_tables(host);
    m.notes.insert(m.notes.end(), tables.notes.begin(), tables.notes.end());
    auto found = locate_cgroup(tables, "memory");
    std::optional<Limit> limit, high;
    const int version = found ? (*found).version : 0;
    if (!found) {
        m.limit_source = "unknown: " + found.error;
        m.high_source = m.limit_source;
    } else {
        const CgroupLocation& loc = *found;
        if (!loc.translated) m.notes.push_back(untranslated_note(loc));
        LimitWalk walk(m.total_bytes, m.notes), high_walk(m.total_bytes, m.notes);
        const char* limit_file = loc.version == 2 ? "memory.max" : "memory.limit_in_bytes";
        for (size_t i = 0; i < loc.levels.size(); ++i) {
            const auto& dir = loc.levels[i];
            const std::string where = " at " + dir + " (" + loc.level_name(i) + ")";
            walk.offer_file(read_cgroup_file(host, dir, limit_file),
                            loc.hierarchy_name() + " " + limit_file, where, dir, limit);
            if (loc.version == 2)
                high_walk.offer_file(read_cgroup_file(host, dir, "memory.high"),
                                     "cgroup v2 memory.high", where, dir, high);
        }
        if (loc.version == 1) {
            // The kernel's own view of every ancestor, also those above the mount root.
            auto stat = read_cgroup_file(host, loc.levels.front(), "memory.stat");
            auto hierarchical = stat.state == CgroupFile::State::kOk
                                    ? stat_value(stat.text, "hierarchical_memory_limit")
                                    : std::nullopt;
            const uint64_t before = limit ? limit->bytes : UINT64_MAX;
            if (hierarchical)
                walk.offer(*hierarchical, "cgroup v1 memory.stat hierarchical_memory_limit",
                           " at " + loc.levels.front() + " (leaf; covers all ancestors)",
                           loc.levels.back(), limit);
            if (limit && limit->bytes < before)
                m.notes.push_back(
                    "the memory limit is set on an ancestor above the visible mount root; usage "
                    "is read at " +
                    loc.levels.back() + ", so cgroups outside it are not counted");
        }
        const std::string looked = loc.hierarchy_name() + " at " + describe_levels(loc);
        auto none_text = [&](const LimitWalk& w) {
            return !w.found_file() ? "none: no limit files in "
                   : m.total_bytes ? "none: no limit below MemTotal in "
                                   : "none: no limit in ";
        };
        m.limit_source = (limit ? limit->source : none_text(walk) + looked) + walk.ignored_text();
        if (loc.version == 1)
            m.high_source = "none: cgroup v1 has no memory.high";
        else
            m.high_source =
                (high ? high->source : none_text(high_walk) + looked) + high_walk.ignored_text();
    }
    if (limit) m.limit_bytes = limit->bytes;
    if (high) m.high_bytes = high->bytes;

    // Available: inside the limiting cgroup when limited, else MemAvailable; the smaller
    // of the two when both are known (the host can be tighter than the cgroup).
    if (limit) {
        auto in_cgroup = available_in_cgroup(host, version, *limit);
        if (in_cgroup) {
            if (mem_available && *mem_available < *in_cgroup) {
                m.available_bytes = mem_available;
                m.available_source = "/proc/meminfo MemAvailable (smaller than the cgroup's " +
                                     human_bytes(*in_cgroup) + " free)";
            } else {
                m.available_bytes = *in_cgroup;
                m.available_source =
                    "cgroup limit - (usage - inactive_file) at " + limit->usage_dir;
            }
        } else if (mem_available) {
            m.available_bytes = std::min(*mem_available, limit->bytes);
            m.available_source =
                "min(/proc/meminfo MemAvailable, limit); cgroup usage unknown: " + in_cgroup.error;
        } else {
            m.available_source = "unknown: " + in_cgroup.error + "; " + mem_available_error;
        }
    } else if (mem_available) {
        m.available_bytes = mem_available;
        m.available_source = "/proc/meminfo MemAvailable";
    } else {
        m.available_source = "unknown: " + mem_available_error;
    }

    if (m.total_bytes && m.limit_bytes) {
        m.effective_bytes = std::min(*m.total_bytes, *m.limit_bytes);
        m.effective_source = *m.limit_bytes < *m.total_bytes ? "cgroup limit (below MemTotal)"
                                                             : "MemTotal (limit is not below it)";
    } else if (m.total_bytes) {
        m.effective_bytes = m.total_bytes;
        m.effective_source = "MemTotal (no cgroup limit)";
    } else if (m.limit_bytes) {
        m.effective_bytes = m.limit_bytes;
        m.effective_source = "cgroup limit (MemTotal unknown)";
    } else {
        m.effective_source = "unknown: MemTotal is unknown and no cgroup limit is known";
    }
    return m;
}

void describe_memory(std::ostream& out, const MemoryFacts& m) {
    auto size = [](const std::optional<uint64_t>& v, const char* none) {
        return v ? human_bytes(*v) : std::string(none);
    };
    out << "Memory: " << size(m.effective_bytes, "unknown") << " effective";
    if (m.total_bytes && m.limit_bytes)
        out << " = min(MemTotal " << human_bytes(*m.total_bytes) << ", limit "
            << human_bytes(*m.limit_bytes) << ") — limit from " << m.limit_source;
    else
        out << " = " << m.effective_source;
    out << "\n";
    out << "  total      " << size(m.total_bytes, "unknown") << "  (" << m.total_source << ")\n";
    out << "  available  " << size(m.available_bytes, "unknown") << "  (" << m.available_source
        << ")\n";
    out << "  limit      " << size(m.limit_bytes, "none") << "  (" << m.limit_source << ")\n";
    out << "  high       " << size(m.high_bytes, "none") << "  (" << m.high_source << ")\n";
    out << "  swap       " << size(m.swap_total_bytes, "unknown")
        << "  (/proc/meminfo SwapTotal)\n";
    for (const auto& note : m.notes)
        out << "  note: " << note << "\n";
}

}  // namespace corral
