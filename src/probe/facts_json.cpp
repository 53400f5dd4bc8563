#include "probe/facts_json.hpp"

#include <stdexcept>

#include "common/json_fields.hpp"

namespace corral {
namespace {

using json = nlohmann::ordered_json;

template <typename T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

using json_fields::get_opt;
using json_fields::get_or;

}  // namespace

json to_json(const Facts& f) {
    json cpu = {
        {"online", opt(f.cpu.online)},
        {"online_source", f.cpu.online_source},
        {"affinity", opt(f.cpu.affinity)},
        {"affinity_source", f.cpu.affinity_source},
        {"quota", opt(f.cpu.quota)},
        {"quota_source", f.cpu.quota_source},
        {"cpuset", opt(f.cpu.cpuset)},
        {"cpuset_source", f.cpu.cpuset_source},
        {"effective", f.cpu.effective},
        {"effective_source", f.cpu.effective_source},
        {"notes", f.cpu.notes},
    };
    json memory = {
        {"total_bytes", opt(f.memory.total_bytes)},
        {"total_source", f.memory.total_source},
        {"available_bytes", opt(f.memory.available_bytes)},
        {"available_source", f.memory.available_source},
        {"limit_bytes", opt(f.memory.limit_bytes)},
        {"limit_source", f.memory.limit_source},
        {"high_bytes", opt(f.memory.high_bytes)},
        {"high_source", f.memory.high_source},
        {"ceiling_bytes", opt(f.memory.ceiling_bytes)},
        {"ceiling_kind", f.memory.ceiling_kind},
        {"ceiling_cgroup", f.memory.ceiling_cgroup},
        {"ceiling_source", f.memory.ceiling_source},
        {"soft_limit_bytes", opt(f.memory.soft_limit_bytes)},
        {"soft_limit_source", f.memory.soft_limit_source},
        {"swap_total_bytes", opt(f.memory.swap_total_bytes)},
        {"swap_limit_bytes", opt(f.memory.swap_limit_bytes)},
        {"swap_limit_source", f.memory.swap_limit_source},
        {"in_use_bytes", opt(f.memory.in_use_bytes)},
        {"in_use_source", f.memory.in_use_source},
        {"effective_bytes", opt(f.memory.effective_bytes)},
        {"effective_source", f.memory.effective_source},
        {"notes", f.memory.notes},
    };
    json scratch = json::array();
    for (const auto& s : f.scratch) {
        scratch.push_back({
            {"path", s.path},
            {"origin", s.origin},
            {"usable", s.usable},
            {"error", s.error},
            {"mount_point", s.mount_point},
            {"fstype", s.fstype},
            {"device", s.device},
            {"filesystem_id", s.filesystem_id},
            {"mount_id", s.mount_id},
            {"free_bytes", opt(s.free_bytes)},
            {"read_only", s.read_only},
            {"memory_backed", s.memory_backed},
            {"reflink", opt(s.reflink)},
            {"reflink_detail", s.reflink_detail},
            {"socket_headroom", s.socket_headroom},
            {"write_mb_per_s", opt(s.write_mb_per_s)},
            {"write_detail", s.write_detail},
        });
    }
    json gpus = json::array();
    for (const auto& g : f.gpus) {
        gpus.push_back({{"vendor", g.vendor},
                        {"index", g.index},
                        {"id", g.id},
                        {"uuid", g.uuid},
                        {"visible_as", g.visible_as},
                        {"variable", g.variable},
                        {"name", g.name},
                        {"device", g.device},
                        {"source", g.source}});
    }
    json context = {
        {"ci", opt(f.context.ci)},          {"ci_source", f.context.ci_source},
        {"container", f.context.container}, {"container_source", f.context.container_source},
        {"slowdowns", f.context.slowdowns}, {"slowdown_source", f.context.slowdown_source},
        {"sudo", f.context.sudo},
    };
    return json{{"schema", f.schema}, {"corral_version", f.corral_version},
                {"root", f.root},     {"cpu", cpu},
                {"memory", memory},   {"scratch", scratch},
                {"gpus", gpus},       {"context", context}};
}

Facts facts_from_json(const json& j) {
    Facts f;
    f.schema = j.at("schema").get<std::string>();
    if (f.schema != kFactsSchema)
        throw std::runtime_error("unsupported facts schema '" + f.schema + "', expected '" +
                                 kFactsSchema + "'");
    f.corral_version = get_or<std::string>(j, "corral_version", "");
    f.root = get_or<std::string>(j, "root", "/");

    const auto& c = j.at("cpu");
    f.cpu.online = get_opt<int>(c, "online");
    f.cpu.online_source = get_or<std::string>(c, "online_source", "");
    f.cpu.affinity = get_opt<int>(c, "affinity");
    f.cpu.affinity_source = get_or<std::string>(c, "affinity_source", "");
    f.cpu.quota = get_opt<double>(c, "quota");
    f.cpu.quota_source = get_or<std::string>(c, "quota_source", "");
    f.cpu.cpuset = get_opt<int>(c, "cpuset");
    f.cpu.cpuset_source = get_or<std::string>(c, "cpuset_source", "");
    f.cpu.effective = c.at("effective").get<int>();
    f.cpu.effective_source = get_or<std::string>(c, "effective_source", "");
    f.cpu.notes = get_or<std::vector<std::string>>(c, "notes", {});

    const auto& m = j.at("memory");
    f.memory.total_bytes = get_opt<uint64_t>(m, "total_bytes");
    f.memory.total_source = get_or<std::string>(m, "total_source", "");
    f.memory.available_bytes = get_opt<uint64_t>(m, "available_bytes");
    f.memory.available_source = get_or<std::string>(m, "available_source", "");
    f.memory.limit_bytes = get_opt<uint64_t>(m, "limit_bytes");
    f.memory.limit_source = get_or<std::string>(m, "limit_source", "");
    f.memory.high_bytes = get_opt<uint64_t>(m, "high_bytes");
    f.memory.high_source = get_or<std::string>(m, "high_source", "");
    f.memory.ceiling_bytes = get_opt<uint64_t>(m, "ceiling_bytes");
    f.memory.ceiling_kind = get_or<std::string>(m, "ceiling_kind", "");
    f.memory.ceiling_cgroup = get_or<std::string>(m, "ceiling_cgroup", "");
    f.memory.ceiling_source = get_or<std::string>(m, "ceiling_source", "");
    f.memory.soft_limit_bytes = get_opt<uint64_t>(m, "soft_limit_bytes");
    f.memory.soft_limit_source = get_or<std::string>(m, "soft_limit_source", "");
    f.memory.swap_total_bytes = get_opt<uint64_t>(m, "swap_total_bytes");
    f.memory.swap_limit_bytes = get_opt<uint64_t>(m, "swap_limit_bytes");
    f.memory.swap_limit_source = get_or<std::string>(m, "swap_limit_source", "");
    f.memory.in_use_bytes = get_opt<uint64_t>(m, "in_use_bytes");
    f.memory.in_use_source = get_or<std::string>(m, "in_use_source", "");
    f.memory.effective_bytes = get_opt<uint64_t>(m, "effective_bytes");
    f.memory.effective_source = get_or<std::string>(m, "effective_source", "");
    f.memory.notes = get_or<std::vector<std::string>>(m, "notes", {});

    for (const auto& s : j.value("scratch", json::array())) {
        ScratchFacts x;
        x.path = s.at("path").get<std::string>();
        x.origin = get_or<std::string>(s, "origin", "");
        x.usable = get_or<bool>(s, "usable", true);
        x.error = get_or<std::string>(s, "error", "");
        x.mount_point = get_or<std::string>(s, "mount_point", "");
        x.fstype = get_or<std::string>(s, "fstype", "");
        x.device = get_or<std::string>(s, "device", "");
        x.filesystem_id = get_or<std::string>(s, "filesystem_id", "");
        x.mount_id = get_or<std::string>(s, "mount_id", "");
        x.free_bytes = get_opt<uint64_t>(s, "free_bytes");
        x.read_only = get_or<bool>(s, "read_only", false);
        x.memory_backed = get_or<bool>(s, "memory_backed", false);
        x.reflink = get_opt<bool>(s, "reflink");
        x.reflink_detail = get_or<std::string>(s, "reflink_detail", "");
        x.socket_headroom = get_or<int>(s, "socket_headroom", 0);
        x.write_mb_per_s = get_opt<double>(s, "write_mb_per_s");
        x.write_detail = get_or<std::string>(s, "write_detail", "");
        f.scratch.push_back(std::move(x));
    }
    for (const auto& g : j.value("gpus", json::array())) {
        GpuFacts x;
        x.vendor = g.at("vendor").get<std::string>();
        x.index = get_or<int>(g, "index", 0);
        x.id = get_or<std::string>(g, "id", "");
        x.uuid = get_or<std::string>(g, "uuid", "");
        x.visible_as = get_or<std::string>(g, "visible_as", "");
        x.variable = get_or<std::string>(g, "variable", "");
        x.name = get_or<std::string>(g, "name", "");
        x.device = get_or<std::string>(g, "device", "");
        x.source = get_or<std::string>(g, "source", "");
        f.gpus.push_back(std::move(x));
    }
    if (auto it = j.find("context"); it != j.end()) {
        const auto& x = *it;
        f.context.ci = get_opt<std::string>(x, "ci");
        f.context.ci_source = get_or<std::string>(x, "ci_source", "");
        f.context.container = get_or<bool>(x, "container", false);
        f.context.container_source = get_or<std::string>(x, "container_source", "");
        f.context.slowdowns = get_or<std::vector<std::string>>(x, "slowdowns", {});
        f.context.slowdown_source = get_or<std::string>(x, "slowdown_source", "");
        f.context.sudo = get_or<bool>(x, "sudo", false);
    }
    return f;
}

}  // namespace corral
