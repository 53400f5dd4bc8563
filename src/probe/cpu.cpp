// CPUs as the kernel and the cgroups say: online, affinity, the strictest CPU
// quota on the path from the leaf cgroup to the mount root, the cpuset.

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "common/text.hpp"
#include "probe/cgroup.hpp"
#include "probe/probe.hpp"

namespace corral {
namespace {

std::string format_quota(double q) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", q);
    return buf;
}

void probe_online(const Host& host, CpuFacts& c) {
    auto online = host.read_line("/sys/devices/system/cpu/online");
    if (online) {
        auto count = count_cpu_list(*online);
        if (count && *count > 0) {
            c.online = *count;
            c.online_source = "/sys/devices/system/cpu/online: " + std::string(trim(*online));
            return;
        }
        c.online_source = "unknown: /sys/devices/system/cpu/online: '" +
                          std::string(trim(*online)) + "' is not a CPU list";
    } else {
        c.online_source = "unknown: " + online.error;
    }
    if (auto n = host.online_cpus_fallback()) {
        c.online = *n;
        c.online_source = "sysconf(_SC_NPROCESSORS_ONLN) (" + c.online_source + ")";
    }
}

void probe_affinity(const Host& host, CpuFacts& c) {
    std::string source;
    auto affinity = host.affinity(source);
    if (affinity) {
        c.affinity = *affinity;
        c.affinity_source = source;
        return;
    }
    if (c.online) {
        c.affinity = c.online;
        c.affinity_source = "online count (" + affinity.error + ")";
    } else {
        c.affinity_source = "unknown: " + affinity.error;
    }
}

// One level's quota in CPUs as quota/period, or nothing.
struct Quota {
    uint64_t quota = 0;
    uint64_t period = 0;
    double cpus() const { return static_cast<double>(quota) / static_cast<double>(period); }
};

// Reads one level. Returns a quota when this level limits; adds a note for garbage.
std::optional<Quota> read_level_quota(const Host& host, const CgroupLocation& loc,
                                      const std::string& dir, std::vector<std::string>& notes,
                                      bool& found_file) {
    auto garbage = [&](const CgroupFile& f, const std::string& why) {
        notes.push_back(f.path + ": " + why + "; this level was ignored");
        return std::nullopt;
    };
    if (loc.version == 2) {
        auto f = read_cgroup_file(host, dir, "cpu.max");
        if (f.state == CgroupFile::State::kAbsent) return std::nullopt;
        found_file = true;
        if (f.state == CgroupFile::State::kUnreadable) return garbage(f, "unreadable: " + f.error);
        std::vector<std::string_view> fields;
        for (auto part : split(f.text, ' '))
            if (!part.empty()) fields.push_back(part);
        if (fields.size() != 2) return garbage(f, "'" + f.text + "' is not '<quota|max> <period>'");
        auto period = parse_u64(fields[1]);
        if (!period || *period == 0)
            return garbage(f, "period '" + std::string(fields[1]) + "' is not a number > 0");
        if (fields[0] == "max") return std::nullopt;
        auto quota = parse_u64(fields[0]);
        if (!quota || *quota == 0)
            return garbage(f, "quota '" + std::string(fields[0]) + "' is neither 'max' nor > 0");
        return Quota{*quota, *period};
    }
    auto qf = read_cgroup_file(host, dir, "cpu.cfs_quota_us");
    if (qf.state == CgroupFile::State::kAbsent) return std::nullopt;
    found_file = true;
    if (qf.state == CgroupFile::State::kUnreadable) return garbage(qf, "unreadable: " + qf.error);
    auto quota = parse_i64(qf.text);
    if (!quota || (*quota <= 0 && *quota != -1))
        return garbage(qf, "'" + qf.text + "' is neither -1 nor a number > 0");
    if (*quota == -1) return std::nullopt;
    auto pf = read_cgroup_file(host, dir, "cpu.cfs_period_us");
    if (pf.state != CgroupFile::State::kOk)
        return garbage(pf, pf.state == CgroupFile::State::kAbsent ? "missing beside a quota"
                                                                  : "unreadable: " + pf.error);
    auto period = parse_u64(pf.text);
    if (!period || *period == 0) return garbage(pf, "'" + pf.text + "' is not a number > 0");
    return Quota{static_cast<uint64_t>(*quota), *period};
}

// Fills quota/quota_source; returns ceil(quota) computed exactly from the integers.
std::optional<int> probe_quota(const Host& host, const CgroupTables& tables, CpuFacts& c) {
    auto found = locate_cgroup(tables, "cpu");
    if (!found) {
        c.quota_source = "unknown: " + found.error;
        return std::nullopt;
    }
    const CgroupLocation& loc = *found;
    if (!loc.translated) c.notes.push_back(untranslated_note(loc));
    std::optional<Quota> strictest;
    size_t strictest_level = 0;
    bool any_file = false;
    const size_t notes_before = c.notes.size();
    for (size_t i = 0; i < loc.levels.size(); ++i) {
        auto q = read_level_quota(host, loc, loc.levels[i], c.notes, any_file);
        if (q && (!strictest || q->cpus() < strictest->cpus())) {
            strictest = q;
            strictest_level = i;
        }
    }
    const size_t ignored = c.notes.size() - notes_before;
    const std::string ignored_text =
        ignored ? "; " + std::to_string(ignored) + " level(s) ignored (see notes)" : "";
    const std::string files = loc.version == 2 ? "cpu.max" : "cpu.cfs_quota_us/cpu.cfs_period_us";
    if (strictest) {
        c.quota = strictest->cpus();
        c.quota_source = loc.hierarchy_name() + " " + files + " = " +
                         std::to_string(strictest->quota) + "/" +
                         std::to_string(strictest->period) + " at " + loc.levels[strictest_level] +
                         " (" + loc.level_name(strictest_level) + ")" + ignored_text;
        uint64_t ceiling = strictest->quota / strictest->period +
                           (strictest->quota % strictest->period != 0 ? 1 : 0);
        return static_cast<int>(std::min<uint64_t>(ceiling, 1'000'000));
    }
    c.quota_source = "none: " + std::string(any_file ? "no " : "no readable ") + files +
                     " limit in " + loc.hierarchy_name() + " at " + describe_levels(loc) +
                     ignored_text;
    return std::nullopt;
}

void probe_cpuset(const Host& host, const CgroupTables& tables, CpuFacts& c) {
    auto found = locate_cgroup(tables, "cpuset");
    if (!found) {
        c.cpuset_source = "none: " + found.error;
        return;
    }
    const CgroupLocation& loc = *found;
    // The effective list already includes every ancestor's restriction.
    const char* names_v1[] = {"cpuset.effective_cpus", "cpuset.cpus"};
    const char* names_v2[] = {"cpuset.cpus.effective"};
    CgroupFile f;
    for (const char* name :
         loc.version == 2 ? std::vector<const char*>(std::begin(names_v2), std::end(names_v2))
                          : std::vector<const char*>(std::begin(names_v1), std::end(names_v1))) {
        f = read_cgroup_file(host, loc.levels.front(), name);
        if (f.state != CgroupFile::State::kAbsent) break;
    }
    if (f.state == CgroupFile::State::kAbsent) {
        c.cpuset_source = "none: no cpuset file at " + loc.levels.front();
        return;
    }
    if (f.state == CgroupFile::State::kUnreadable) {
        c.cpuset_source = "unknown: " + f.error;
        return;
    }
    auto count = count_cpu_list(f.text);
    if (!count || *count == 0) {
        c.cpuset_source = "unknown: " + f.path + ": '" + f.text + "' is not a CPU list";
        return;
    }
    if (c.online && *count >= *c.online) {
        c.cpuset_source = "none: " + f.path + " = " + f.text + " holds all " +
                          std::to_string(*count) + " online CPUs";
        return;
    }
    c.cpuset = *count;
    c.cpuset_source = loc.hierarchy_name() + " " + f.path + " = " + f.text;
}

void compute_effective(CpuFacts& c, std::optional<int> quota_ceiling) {
    std::vector<std::string> terms;
    std::optional<int> bound;
    auto take = [&](int v, const std::string& term) {
        terms.push_back(term);
        bound = bound ? std::min(*bound, v) : v;
    };
    if (c.affinity)
        take(*c.affinity, "affinity " + std::to_string(*c.affinity));
    else if (c.online)
        take(*c.online, "online " + std::to_string(*c.online));
    if (c.cpuset) take(*c.cpuset, "cpuset " + std::to_string(*c.cpuset));
    if (c.quota && quota_ceiling)
        take(*quota_ceiling, "ceil(quota " + format_quota(*c.quota) + ")");
    if (!bound) {
        c.effective = 1;
        c.effective_source = "unknown CPU count (" + c.affinity_source + "); 1 as the safe minimum";
        return;
    }
    c.effective = std::max(1, *bound);
    std::string expr = terms.size() == 1 ? terms.front() : "min(";
    if (terms.size() > 1) {
        for (size_t i = 0; i < terms.size(); ++i)
            expr += (i ? ", " : "") + terms[i];
        expr += ")";
    }
    if (*bound < 1) expr = "max(1, " + expr + ")";
    c.effective_source = expr;
}

}  // namespace

CpuFacts probe_cpu(const Host& host) {
    return probe_cpu(host, read_cgroup_tables(host));
}

CpuFacts probe_cpu(const Host& host, const CgroupTables& tables) {
    CpuFacts c;
    probe_online(host, c);
    probe_affinity(host, c);
    c.notes.insert(c.notes.end(), tables.notes.begin(), tables.notes.end());
    auto quota_ceiling = probe_quota(host, tables, c);
    probe_cpuset(host, tables, c);
    compute_effective(c, quota_ceiling);
    return c;
}

void describe_cpu(std::ostream& out, const CpuFacts& c) {
    auto num = [](const std::optional<int>& v) { return v ? std::to_string(*v) : "unknown"; };
    out << "CPUs: " << c.effective << " effective = " << c.effective_source;
    if (c.quota) out << " — quota from " << c.quota_source;
    out << "\n";
    out << "  online    " << num(c.online) << "  (" << c.online_source << ")\n";
    out << "  affinity  " << num(c.affinity) << "  (" << c.affinity_source << ")\n";
    out << "  quota     " << (c.quota ? format_quota(*c.quota) : "none") << "  (" << c.quota_source
        << ")\n";
    out << "  cpuset    " << (c.cpuset ? std::to_string(*c.cpuset) : "none") << "  ("
        << c.cpuset_source << ")\n";
    for (const auto& note : c.notes)
        out << "  note: " << note << "\n";
}

}  // namespace corral
