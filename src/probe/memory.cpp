// Memory as proc_meminfo(5) and the cgroups say: MemTotal, MemAvailable, swap,
// the strictest hard limit (and v2 memory.high) from the leaf cgroup up to the
// mount root, and what is still available inside the limiting cgroup.
#include <algorithm>
#include <cstdint>
#include <map>
#include <ostream>

#include "common/text.hpp"
#include "kernel/paths.hpp"
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

// meminfo values in bytes, by key ("MemTotal"). Malformed lines are skipped.
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
    std::string kind;       // the file's name: "memory.high", "memory.max", ...
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
            if (unreadable_.empty()) unreadable_ = f.error;
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
            strictest = Limit{v, what + " = " + bytes_text(v) + where, usage_dir,
                              what.substr(what.rfind(' ') + 1)};
    }

    bool found_file() const { return found_file_; }
    // "; 1 level ignored (see notes)" when garbage or unreadable files were skipped.
    std::string ignored_text() const {
        return ignored_ ? "; " + std::to_string(ignored_) + " file(s) ignored (see notes)" : "";
    }

    // The source of the walk's result. An unreadable limit file (EACCES) is not
    // "no limit": with nothing else found the limit is unknown, and a limit
    // found elsewhere is only an upper bound.
    std::string source(const std::optional<Limit>& found, const std::string& none) const {
        if (found)
            return found->source + ignored_text() +
                   (unreadable_.empty() ? "" : "; an unreadable level may hold a lower limit");
        if (!unreadable_.empty()) return "unknown: " + unreadable_ + ignored_text();
        return none + ignored_text();
    }

  private:
    std::optional<uint64_t> total_;
    std::vector<std::string>& notes_;
    std::string unreadable_;  // the first unreadable file's error
    bool found_file_ = false;
    int ignored_ = 0;
};

struct CgroupFree {
    uint64_t first = 0;   // limit - working set
    uint64_t second = 0;  // working set: usage - inactive_file
    std::string third;    // how the working set was read
};

// limit - (usage - inactive_file) for the cgroup the limit applies to. inactive_file
// is the page cache the kernel reclaims first (cgroup-v2.rst "memory.stat"; v1
// memory.rst 5.2 total_inactive_file), so it is not counted as in use.
Read<CgroupFree> available_in_cgroup(const Host& host, int version, const Limit& limit) {
    auto usage_file = read_cgroup_file(host, limit.usage_dir,
                                       version == 2 ? "memory.current" : "memory.usage_in_bytes");
    auto stat_file = read_cgroup_file(host, limit.usage_dir, "memory.stat");
    if (usage_file.state != CgroupFile::State::kOk)
        return Read<CgroupFree>::fail(usage_file.path + ": " +
                                      (usage_file.error.empty() ? "missing" : usage_file.error));
    auto usage = parse_u64(usage_file.text);
    if (!usage)
        return Read<CgroupFree>::fail(usage_file.path + ": '" + usage_file.text +
                                      "' is not a byte count");
    const char* inactive_key = version == 2 ? "inactive_file" : "total_inactive_file";
    std::optional<uint64_t> inactive;
    if (stat_file.state == CgroupFile::State::kOk)
        inactive = stat_value(stat_file.text, inactive_key);
    if (!inactive) return Read<CgroupFree>::fail(stat_file.path + ": no readable " + inactive_key);
    const uint64_t working_set = *usage - std::min(*usage, *inactive);
    return Read<CgroupFree>::ok({limit.bytes - std::min(limit.bytes, working_set), working_set,
                                 usage_file.path + " - " + inactive_key + " = " +
                                     human_bytes(*usage) + " - " + human_bytes(*inactive) +
                                     " (charged to the cgroup, without reclaimable page cache)"});
}

}  // namespace

MemoryFacts probe_memory(const Host& host) {
    return probe_memory(host, read_cgroup_tables(host));
}

MemoryFacts probe_memory(const Host& host, const CgroupTables& tables) {
    MemoryFacts m;
    std::optional<uint64_t> mem_available;
    std::string mem_available_error;
    if (auto text = host.read_text(std::string(kpath::kMeminfo))) {
        auto info = parse_meminfo(*text);
        auto get = [&](const char* key) -> std::optional<uint64_t> {
            auto it = info.find(key);
            if (it == info.end()) return std::nullopt;
            return it->second;
        };
        m.total_bytes = get("MemTotal");
        m.total_source = m.total_bytes ? std::string(kpath::kMeminfo) + " MemTotal"
                                       : "unknown: " + std::string(kpath::kMeminfo) +
                                             ": no readable MemTotal line";
        mem_available = get("MemAvailable");
        if (!mem_available)
            mem_available_error = std::string(kpath::kMeminfo) + ": no readable MemAvailable line";
        m.swap_total_bytes = get("SwapTotal");
        if (!m.swap_total_bytes)
            m.notes.push_back(std::string(kpath::kMeminfo) + ": no readable SwapTotal line");
    } else {
        m.total_source = "unknown: " + text.error;
        mem_available_error = text.error;
    }

    m.notes.insert(m.notes.end(), tables.notes.begin(), tables.notes.end());
    auto found = locate_cgroup(tables, "memory");
    std::optional<Limit> limit, high, soft, swap, memsw;
    const int version = found ? (*found).version : 0;
    if (!found) {
        m.limit_source = "unknown: " + found.error;
        m.high_source = m.limit_source;
        m.swap_limit_source = m.limit_source;
        m.soft_limit_source = m.limit_source;
    } else {
        const CgroupLocation& loc = *found;
        if (!loc.translated) m.notes.push_back(untranslated_note(loc));
        LimitWalk walk(m.total_bytes, m.notes), high_walk(m.total_bytes, m.notes);
        // Swap limits are compared with the sentinel only: a swap limit is not a
        // fraction of RAM.
        LimitWalk swap_walk(std::nullopt, m.notes), soft_walk(m.total_bytes, m.notes);
        const char* limit_file = loc.version == 2 ? "memory.max" : "memory.limit_in_bytes";
        for (size_t i = 0; i < loc.levels.size(); ++i) {
            const auto& dir = loc.levels[i];
            const std::string where = " at " + dir + " (" + loc.level_name(i) + ")";
            walk.offer_file(read_cgroup_file(host, dir, limit_file),
                            loc.hierarchy_name() + " " + limit_file, where, dir, limit);
            if (loc.version == 2) {
                // cgroup-v2.rst: memory.high is "the main mechanism to control memory
                // usage": above it the cgroup is throttled and put under heavy reclaim.
                // memory.low / memory.min are protections, not limits: not read.
                high_walk.offer_file(read_cgroup_file(host, dir, "memory.high"),
                                     "cgroup v2 memory.high", where, dir, high);
                swap_walk.offer_file(read_cgroup_file(host, dir, "memory.swap.max"),
                                     "cgroup v2 memory.swap.max", where, dir, swap);
            } else {
                soft_walk.offer_file(read_cgroup_file(host, dir, "memory.soft_limit_in_bytes"),
                                     "cgroup v1 memory.soft_limit_in_bytes", where, dir, soft);
                swap_walk.offer_file(read_cgroup_file(host, dir, "memory.memsw.limit_in_bytes"),
                                     "cgroup v1 memory.memsw.limit_in_bytes", where, dir, memsw);
            }
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
            if (limit && limit->bytes < before) {
                limit->kind = "hierarchical_memory_limit";
                m.notes.push_back(
                    "the memory limit is set on an ancestor above the visible mount root; usage "
                    "is read at " +
                    loc.levels.back() + ", so cgroups outside it are not counted");
            }
        }
        const std::string looked = loc.hierarchy_name() + " at " + describe_levels(loc);
        auto none_text = [&](const LimitWalk& w) {
            return !w.found_file() ? "none: no limit files in "
                   : m.total_bytes ? "none: no limit below MemTotal in "
                                   : "none: no limit in ";
        };
        m.limit_source = walk.source(limit, none_text(walk) + looked);
        if (loc.version == 1) {
            m.high_source = "none: cgroup v1 has no memory.high";
            m.soft_limit_source = soft_walk.source(soft, none_text(soft_walk) + looked);
            if (soft)
                m.notes.push_back(
                    soft->source +
                    " is not a limit: the kernel reclaims toward it only under global memory "
                    "pressure (cgroup-v1/memory.rst, 7. Soft limits); the budget ignores it");
            // memsw is memory+swap and never below limit_in_bytes (the kernel refuses it).
            if (memsw && limit && memsw->bytes >= limit->bytes) {
                swap = Limit{memsw->bytes - limit->bytes,
                             memsw->source + " minus the memory limit " + bytes_text(limit->bytes),
                             memsw->usage_dir, memsw->kind};
            } else if (memsw) {
                swap = memsw;
                swap->source += " (memory+swap; the memory limit is not set)";
            }
            m.swap_limit_source =
                swap ? swap->source
                     : (!swap_walk.found_file()
                            ? "none: no memory.memsw.limit_in_bytes (swap accounting off) in " +
                                  looked
                            : "none: no memory+swap limit in " + looked) +
                           swap_walk.ignored_text();
        } else {
            m.high_source = high_walk.source(high, none_text(high_walk) + looked);
            m.soft_limit_source = "none: cgroup v2 has no soft limit (memory.low is a protection)";
            m.swap_limit_source = swap_walk.source(swap, none_text(swap_walk) + looked);
        }
    }
    if (limit) m.limit_bytes = limit->bytes;
    if (high) m.high_bytes = high->bytes;
    if (soft) m.soft_limit_bytes = soft->bytes;
    if (swap) m.swap_limit_bytes = swap->bytes;

    // The ceiling: the lowest limit that throttles (memory.high) or kills (memory.max,
    // limit_in_bytes). On a tie the hard limit is named: it is the one that kills.
    std::optional<Limit> ceiling = limit;
    if (high && (!ceiling || high->bytes < ceiling->bytes)) ceiling = high;
    if (ceiling) {
        m.ceiling_bytes = ceiling->bytes;
        m.ceiling_kind = ceiling->kind;
        m.ceiling_cgroup = ceiling->usage_dir;
        m.ceiling_source = ceiling->source;
        if (ceiling->kind == "memory.high")
            m.ceiling_source += limit ? " (below memory.max " + bytes_text(limit->bytes) + ")"
                                      : " (memory.max is not set below MemTotal)";
    } else {
        m.ceiling_source = "none: neither a hard limit (" + m.limit_source +
                           ") nor a throttling limit (" + m.high_source + ")";
    }
    if ((m.swap_total_bytes && *m.swap_total_bytes == 0) || (swap && swap->bytes == 0))
        m.notes.push_back(
            std::string("no swap (") +
            (m.swap_total_bytes && *m.swap_total_bytes == 0
                 ? std::string(kpath::kMeminfo) + " SwapTotal 0"
                 : swap->source) +
            "): anonymous memory cannot be swapped out, so a cgroup pushed past its memory.max "
            "is OOM-killed at once; the budget never counts swap either way");

    // Available: inside the ceiling's cgroup when limited, else MemAvailable; the smaller
    // of the two when both are known (the host can be tighter than the cgroup).
    if (ceiling) {
        auto in_cgroup = available_in_cgroup(host, version, *ceiling);
        if (in_cgroup) {
            if (mem_available && *mem_available < (*in_cgroup).first) {
                m.available_bytes = mem_available;
                m.available_source =
                    std::string(kpath::kMeminfo) + " MemAvailable (smaller than the cgroup's " +
                    human_bytes((*in_cgroup).first) + " free under " + ceiling->kind + ")";
            } else {
                m.available_bytes = (*in_cgroup).first;
                m.available_source =
                    ceiling->kind + " - (usage - inactive_file) at " + ceiling->usage_dir;
            }
            m.in_use_bytes = (*in_cgroup).second;
            m.in_use_source = (*in_cgroup).third;
        } else if (mem_available) {
            m.available_bytes = std::min(*mem_available, ceiling->bytes);
            m.available_source = "min(" + std::string(kpath::kMeminfo) + " MemAvailable, " +
                                 ceiling->kind + "); cgroup usage unknown: " + in_cgroup.error;
            m.in_use_source = "unknown: cgroup usage unknown: " + in_cgroup.error;
        } else {
            m.available_source = "unknown: " + in_cgroup.error + "; " + mem_available_error;
            m.in_use_source = m.available_source;
        }
    } else if (mem_available) {
        m.available_bytes = mem_available;
        m.available_source = std::string(kpath::kMeminfo) + " MemAvailable";
        if (m.total_bytes) {
            m.in_use_bytes = *m.total_bytes - std::min(*m.total_bytes, *mem_available);
            m.in_use_source = std::string(kpath::kMeminfo) +
                              " MemTotal - MemAvailable = " + human_bytes(*m.total_bytes) + " - " +
                              human_bytes(*mem_available);
        } else {
            m.in_use_source = "unknown: " + m.total_source;
        }
    } else {
        m.available_source = "unknown: " + mem_available_error;
        m.in_use_source = m.available_source;
    }

    if (m.total_bytes && m.ceiling_bytes) {
        m.effective_bytes = std::min(*m.total_bytes, *m.ceiling_bytes);
        m.effective_source = *m.ceiling_bytes < *m.total_bytes
                                 ? "cgroup " + m.ceiling_kind + " (below MemTotal)"
                                 : "MemTotal (limit is not below it)";
    } else if (m.total_bytes) {
        m.effective_bytes = m.total_bytes;
        m.effective_source = "MemTotal (no cgroup limit)";
    } else if (m.ceiling_bytes) {
        m.effective_bytes = m.ceiling_bytes;
        m.effective_source = "cgroup " + m.ceiling_kind + " (MemTotal unknown)";
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
    if (m.total_bytes && m.ceiling_bytes)
        out << " = min(MemTotal " << human_bytes(*m.total_bytes) << ", " << m.ceiling_kind << " "
            << human_bytes(*m.ceiling_bytes) << ") — " << m.ceiling_kind << " from "
            << m.ceiling_source;
    else
        out << " = " << m.effective_source;
    out << "\n";
    out << "  total      " << size(m.total_bytes, "unknown") << "  (" << m.total_source << ")\n";
    out << "  available  " << size(m.available_bytes, "unknown") << "  (" << m.available_source
        << ")\n";
    out << "  limit      " << size(m.limit_bytes, "none") << "  (" << m.limit_source << ")\n";
    out << "  high       " << size(m.high_bytes, "none") << "  (" << m.high_source << ")\n";
    out << "  in use     " << size(m.in_use_bytes, "unknown") << "  (" << m.in_use_source << ")\n";
    if (m.soft_limit_bytes)
        out << "  soft limit " << human_bytes(*m.soft_limit_bytes) << "  (" << m.soft_limit_source
            << "; not a limit)\n";
    out << "  swap       " << size(m.swap_total_bytes, "unknown")
        << "  (" + std::string(kpath::kMeminfo) + " SwapTotal)\n";
    out << "  swap limit " << size(m.swap_limit_bytes, "none") << "  (" << m.swap_limit_source
        << ")\n";
    for (const auto& note : m.notes)
        out << "  note: " << note << "\n";
}

}  // namespace corral
