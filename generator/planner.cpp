// The planner: Facts + Policy -> Plan. Pure (no I/O, clock or environment), so
// every decision is unit-tested with hand-built Facts. Each decision carries
// its reason with the numbers; anything a user might be surprised by is also a
// Warning with a stable code (docs/plan-schema.md lists the codes).
#include "generator/planner.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "common/text.hpp"

namespace corral {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::string num(double v) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, p) : std::to_string(v);
}

std::string plural(long long n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string cpus_text(long long n) {
    return plural(n, "CPU", "CPUs");
}

// "CORRAL_CPUS=8", "--cpus 8", "cpu.cpus: 8 (corral.yaml:3:8)", "default".
std::string who_set(const std::string& source, const std::string& key, const std::string& value) {
    if (source.rfind("CORRAL_", 0) == 0) return source + "=" + value;
    if (source.rfind("--", 0) == 0) return source + " " + value;
    if (source == "default") return key + " " + value + " (default)";
    return key + ": " + value + " (" + source + ")";
}

class Planner {
  public:
    Planner(const Facts& facts, const Policy& policy) : f_(facts), p_(policy) {}

    Plan run() {
        plan_.policy_file = p_.file;
        size_cpus();
        size_memory();
        size_tests();
        size_build();
        choose_scratch();
        add_resources();
        set_timeouts();
        set_ci();
        set_env();
        return plan_;
    }

  private:
    const Facts& f_;
    const Policy& p_;
    Plan plan_;
    // The heavy_io filesystems, the chosen scratch first (choose_scratch).
    std::vector<const ScratchFacts*> heavy_io_fs_;
    int cpu_level_ = 1;  // CPUs x oversubscription, minus kept-free

    void warn(std::string code, std::string message) {
        plan_.warnings.push_back({std::move(code), std::move(message)});
    }

    void size_cpus() {
        const int probed = std::max(1, f_.cpu.effective);
        const bool unknown = !f_.cpu.online && !f_.cpu.affinity;
        if (p_.cpus_override.value) {
            plan_.cpus = *p_.cpus_override.value;
            plan_.cpus_source = p_.cpus_override.source;
            std::string what =
                who_set(p_.cpus_override.source, "cpu.cpus", std::to_string(plan_.cpus)) +
                " overrides the probed " +
                (unknown ? std::string("(unknown) CPU count") : cpus_text(probed));
            plan_.cpus_reason = what;
            if (plan_.cpus != probed || unknown) warn("probe_overridden", what);
        } else {
            plan_.cpus = probed;
            plan_.cpus_source = "probe";
            plan_.cpus_reason = f_.cpu.effective_source.empty()
                                    ? cpus_text(probed) + " from the probe"
                                    : f_.cpu.effective_source;
            if (unknown)
                warn("unknown_fact", "the probe could not count CPUs (" + f_.cpu.online_source +
                                         "); planning for " + cpus_text(probed) +
                                         " — pass --cpus N or set CORRAL_CPUS");
        }

        int usable = plan_.cpus - p_.cpus_keep_free.value;
        if (usable < 1) {
            warn("keep_free_too_high", who_set(p_.cpus_keep_free.source, "cpu.keep_free",
                                               std::to_string(p_.cpus_keep_free.value)) +
                                           " leaves no CPU of " + std::to_string(plan_.cpus) +
                                           "; using 1");
            usable = 1;
        }
        cpu_level_ = std::max(
            1, static_cast<int>(std::floor(usable * p_.cpu_oversubscription.value + 1e-9)));
    }

    // The reserve kept out of the test budget (docs/policy.md, "Memory reserve").
    // Sets plan_.memory_reserve_bytes; returns "reserve X = ..." with the numbers.
    std::string choose_reserve(uint64_t mem, bool probed) {
        const auto& m = f_.memory;
        auto flat = [&](const std::string& why) {
            const auto fraction_bytes =
                static_cast<uint64_t>(static_cast<double>(mem) * p_.memory_reserve_fraction.value);
            plan_.memory_reserve_bytes =
                std::max(fraction_bytes, p_.memory_reserve_min_bytes.value);
            return "reserve " + human_bytes(plan_.memory_reserve_bytes) + " = max(" +
                   num(p_.memory_reserve_fraction.value * 100) + " % of " + human_bytes(mem) +
                   ", " + human_bytes(p_.memory_reserve_min_bytes.value) + ") " + why;
        };
        if (p_.memory_reserve_bytes.value) {
            plan_.memory_reserve_bytes = *p_.memory_reserve_bytes.value;
            return "reserve " + human_bytes(plan_.memory_reserve_bytes) + " (" +
                   who_set(p_.memory_reserve_bytes.source, "memory.reserve",
                           human_bytes(plan_.memory_reserve_bytes)) +
                   ")";
        }
        if (p_.memory_reserve_fraction.source != "default" ||
            p_.memory_reserve_min_bytes.source != "default")
            return flat("(memory.reserve_fraction " + p_.memory_reserve_fraction.source +
                        ", memory.reserve_min " + p_.memory_reserve_min_bytes.source + ")");

        // Measured: what lives beside the tests + the launchers + a margin.
        uint64_t beside = 0;
        std::string beside_text;
        if (!probed) {
            beside_text = "0 in use counted (the memory size is set by policy, " +
                          p_.memory_override.source + ")";
        } else if (m.available_bytes) {
            beside = mem - std::min(mem, *m.available_bytes);
            beside_text =
                human_bytes(beside) + " in use beside the tests (" +
                (m.in_use_bytes && *m.in_use_bytes == beside
                     ? m.in_use_source
                     : human_bytes(mem) + " - available " + human_bytes(*m.available_bytes) +
                           " from " + m.available_source) +
                ")";
        } else {
            return flat("(what is in use is unknown: " + m.available_source + ")");
        }
        const uint64_t margin = p_.memory_reserve_margin_bytes.value;
        const uint64_t overhead = p_.launcher_overhead_bytes.value;
        // Tests that can run at once: the forced level, else min(CPU level, what fits).
        const uint64_t room = mem - std::min(mem, beside + margin);
        const long long fit =
            static_cast<long long>(room / (p_.memory_per_test_bytes.value + overhead));
        const long long concurrent = p_.test_parallel_level.value
                                         ? *p_.test_parallel_level.value
                                         : std::max(1LL, std::min<long long>(cpu_level_, fit));
        const uint64_t launchers = static_cast<uint64_t>(concurrent) * overhead;
        plan_.memory_reserve_bytes = beside + launchers + margin;
        return "reserve " + human_bytes(plan_.memory_reserve_bytes) + " = " + beside_text + " + " +
               std::to_string(concurrent) + " x " + human_bytes(overhead) +
               " launcher overhead (memory.launcher_overhead, " +
               p_.launcher_overhead_bytes.source + ") + margin " + human_bytes(margin) +
               " (memory.reserve_margin, " + p_.memory_reserve_margin_bytes.source + ")";
    }

    void size_memory() {
        const auto& m = f_.memory;
        if (p_.memory_override.value) {
            plan_.memory_bytes = *p_.memory_override.value;
            plan_.memory_source = p_.memory_override.source;
            std::string what =
                who_set(p_.memory_override.source, "memory.total",
                        human_bytes(plan_.memory_bytes)) +
                " overrides the probed " +
                (m.effective_bytes ? human_bytes(*m.effective_bytes) : std::string("(unknown)")) +
                " of memory";
            plan_.memory_reason = what;
            if (!m.effective_bytes || *m.effective_bytes != plan_.memory_bytes)
                warn("probe_overridden", what);
        } else if (m.effective_bytes) {
            plan_.memory_bytes = *m.effective_bytes;
            plan_.memory_source = "probe";
            plan_.memory_reason = m.effective_source.empty()
                                      ? human_bytes(plan_.memory_bytes) + " from the probe"
                                      : m.effective_source;
        } else {
            plan_.memory_bytes = kUnknownMemoryAssumptionBytes;
            plan_.memory_source = "assumed";
            plan_.memory_reason = "memory unknown (" + m.effective_source + "); assumed " +
                                  human_bytes(kUnknownMemoryAssumptionBytes);
            warn("unknown_fact", "the probe could not tell the memory size (" + m.effective_source +
                                     "); planning for a safe " +
                                     human_bytes(kUnknownMemoryAssumptionBytes) +
                                     " — pass --memory SIZE or set CORRAL_MEMORY");
        }

        const uint64_t mem = plan_.memory_bytes;
        const bool probed = !p_.memory_override.value && m.effective_bytes;
        if (probed && m.ceiling_kind == "memory.high")
            warn("memory_high", m.ceiling_source +
                                    ": above it the cgroup is throttled and reclaimed hard "
                                    "(cgroup-v2.rst, memory.high), so the budget fits under " +
                                    human_bytes(*m.ceiling_bytes) + ", not under " +
                                    (m.limit_bytes ? "memory.max " + human_bytes(*m.limit_bytes)
                                                   : std::string("MemTotal")));
        const std::string reserve_text = choose_reserve(mem, probed);
        if (mem > plan_.memory_reserve_bytes) {
            plan_.memory_budget_bytes = mem - plan_.memory_reserve_bytes;
            plan_.memory_budget_reason = human_bytes(mem) + " minus " + reserve_text;
        } else {
            plan_.memory_budget_bytes = std::max<uint64_t>(mem / 2, kMiB);
            plan_.memory_budget_reason =
                reserve_text + " would leave nothing of " + human_bytes(mem) + "; using half";
            warn("memory_reserve_too_high", plan_.memory_budget_reason);
        }
        plan_.memory_per_test_bytes = p_.memory_per_test_bytes.value;

        // A busy host (other jobs, a leftover build) has less free than its size;
        // a shortfall under 10 % of the budget is noise, not news.
        if (!p_.memory_override.value && m.available_bytes &&
            static_cast<double>(*m.available_bytes) <
                0.9 * static_cast<double>(plan_.memory_budget_bytes))
            warn("memory_in_use",
                 "only " + human_bytes(*m.available_bytes) +
                     " of memory is available now, less than the " +
                     human_bytes(plan_.memory_budget_bytes) + " budget: something else is using " +
                     human_bytes(plan_.memory_budget_bytes - *m.available_bytes) + " of it");
    }

    void size_tests() {
        const uint64_t per_test = p_.memory_per_test_bytes.value;
        const uint64_t budget = plan_.memory_budget_bytes;
        const auto fit = static_cast<long long>(budget / per_test);
        const std::string fit_text = "the " + human_bytes(budget) + " memory budget fits " +
                                     plural(fit, "test", "tests") + " of " + human_bytes(per_test) +
                                     " (memory.per_test)";
        const std::string cpu_text =
            cpus_text(plan_.cpus) +
            (p_.cpus_keep_free.value
                 ? " minus " + std::to_string(p_.cpus_keep_free.value) + " kept free"
                 : std::string()) +
            (p_.cpu_oversubscription.value != 1.0
                 ? " x oversubscription " + num(p_.cpu_oversubscription.value)
                 : std::string()) +
            " = " + std::to_string(cpu_level_);

        if (p_.test_parallel_level.value) {
            plan_.test_parallel_level = *p_.test_parallel_level.value;
            plan_.test_parallel_reason =
                "requested: " + who_set(p_.test_parallel_level.source, "tests.parallel_level",
                                        std::to_string(plan_.test_parallel_level));
            if (plan_.test_parallel_level > fit)
                warn("memory_tight", "requested test parallel level " +
                                         std::to_string(plan_.test_parallel_level) + " x " +
                                         human_bytes(per_test) + " = " +
                                         human_bytes(per_test * plan_.test_parallel_level) +
                                         " exceeds the " + human_bytes(budget) + " memory budget");
        } else {
            plan_.test_parallel_level =
                std::max(1, static_cast<int>(std::min<long long>(cpu_level_, std::max(1LL, fit))));
            if (fit < cpu_level_)
                plan_.test_parallel_reason =
                    "memory-bound: " + fit_text + " (CPUs: " + cpu_text + ")";
            else
                plan_.test_parallel_reason = "CPU-bound: " + cpu_text + "; " + fit_text;
        }
        if (fit < plan_.cpus)
            warn("memory_tight", fit_text + ", fewer than the " + cpus_text(plan_.cpus) +
                                     (fit < 1 ? "; even one such test does not fit" : ""));
        if (plan_.test_parallel_level > 2 * plan_.cpus)
            warn("oversubscribed", "test parallel level " +
                                       std::to_string(plan_.test_parallel_level) +
                                       " is above 2 x " + cpus_text(plan_.cpus) + " = " +
                                       std::to_string(2 * plan_.cpus));
    }

    // Ninja pool depth for jobs of `per_job` bytes: max(1, min(cpus, budget / per_job)).
    int depth_for(uint64_t per_job, std::string& reason) const {
        const auto fit = static_cast<long long>(plan_.memory_budget_bytes / per_job);
        const int depth = std::max(1, static_cast<int>(std::min<long long>(cpu_level_, fit)));
        reason = "max(1, min(" + std::to_string(cpu_level_) + " CPUs, " +
                 human_bytes(plan_.memory_budget_bytes) + " / " + human_bytes(per_job) + " = " +
                 std::to_string(fit) + ")) = " + std::to_string(depth);
        return depth;
    }

    void size_build() {
        std::string compile_reason, link_reason;
        const int compile = depth_for(p_.compile_job_memory_bytes.value, compile_reason);
        const int link = depth_for(p_.link_job_memory_bytes.value, link_reason);
        plan_.build_parallel_level = compile;
        plan_.build_parallel_reason = "compile jobs of " +
                                      human_bytes(p_.compile_job_memory_bytes.value) +
                                      " (build.compile_job_memory, " +
                                      p_.compile_job_memory_bytes.source + "): " + compile_reason;
        plan_.pools.push_back({plan_.compile_pool, compile,
                               "compile jobs of " + human_bytes(p_.compile_job_memory_bytes.value) +
                                   ": " + compile_reason});
        plan_.pools.push_back({plan_.link_pool, link,
                               "link jobs of " + human_bytes(p_.link_job_memory_bytes.value) +
                                   " (build.link_job_memory, " + p_.link_job_memory_bytes.source +
                                   "): " + link_reason});
        for (const auto& extra : p_.extra_pools) {
            if (extra.depth) {
                plan_.pools.push_back(
                    {extra.name, *extra.depth, "fixed depth from policy (" + extra.source + ")"});
                if (*extra.depth > 2 * plan_.cpus)
                    warn("oversubscribed", "pool " + extra.name + " depth " +
                                               std::to_string(*extra.depth) + " is above 2 x " +
                                               cpus_text(plan_.cpus));
            } else {
                std::string reason;
                int depth = depth_for(*extra.memory_per_job_bytes, reason);
                plan_.pools.push_back({extra.name, depth,
                                       "jobs of " + human_bytes(*extra.memory_per_job_bytes) +
                                           " (" + extra.source + "): " + reason});
            }
        }
    }

    // --- scratch ----------------------------------------------------------------

    const ScratchFacts* find_scratch(const std::string& path) const {
        for (const auto& s : f_.scratch)
            if (s.path == path) return &s;
        return nullptr;
    }

    static std::string describe(const ScratchFacts& s) {
        std::string d = s.fstype.empty() ? "unknown filesystem" : s.fstype;
        if (!s.device.empty()) d += " on " + s.device;
        if (s.write_mb_per_s) d += ", " + num(std::round(*s.write_mb_per_s)) + " MB/s measured";
        if (s.free_bytes) d += ", " + human_bytes(*s.free_bytes) + " free";
        if (s.reflink) d += std::string(", reflink ") + (*s.reflink ? "yes" : "no");
        d += ", socket headroom " + std::to_string(s.socket_headroom) + " bytes";
        return d;
    }

    // Hard policy requirements a candidate misses (empty = acceptable).
    std::vector<std::string> misses(const ScratchFacts& s, const ScratchFacts* cache) const {
        std::vector<std::string> out;
        if (p_.reflink_required.value && s.reflink != true)
            out.push_back(!s.reflink ? "reflink untested" : "no reflink");
        if (p_.reflink_required.value && cache && !cache->filesystem_id.empty() &&
            cache->filesystem_id != s.filesystem_id)
            out.push_back("not on the cache's filesystem");
        if (p_.min_write_mb_per_s.value && s.write_mb_per_s &&
            *s.write_mb_per_s < *p_.min_write_mb_per_s.value)
            out.push_back(num(std::round(*s.write_mb_per_s)) + " MB/s < " +
                          num(*p_.min_write_mb_per_s.value) + " MB/s");
        if (s.socket_headroom < p_.socket_headroom_needed.value)
            out.push_back("socket headroom " + std::to_string(s.socket_headroom) + " < " +
                          std::to_string(p_.socket_headroom_needed.value));
        return out;
    }

    void choose_scratch() {
        const ScratchFacts* cache = nullptr;
        if (!p_.cache_dir.value.empty()) {
            cache = find_scratch(p_.cache_dir.value);
            if (!cache || !cache->usable) {
                warn("unknown_fact",
                     "cache directory " + p_.cache_dir.value + " is not in the probed facts" +
                         (cache ? " as usable (" + cache->error + ")" : std::string()) +
                         "; cannot check that it shares the scratch filesystem");
                cache = nullptr;
            }
        }

        for (const auto& wanted : p_.scratch_candidates) {
            const ScratchFacts* s = find_scratch(wanted);
            if (!s)
                warn("unknown_fact", "scratch candidate " + wanted +
                                         " (scratch.candidates) is not in the probed facts; "
                                         "it was not considered");
            else if (!s->usable)
                warn("unknown_fact", "scratch candidate " + wanted +
                                         " (scratch.candidates) is not usable (" + s->error +
                                         "); it was not considered");
        }

        struct Candidate {
            const ScratchFacts* s;
            int tier;  // 0 ok, 1 memory-backed but ok, 2 misses policy
            std::vector<std::string> misses;
            bool cache_mount = false;  // on the cache's mount: rename(2) into it works
        };
        std::vector<Candidate> candidates;
        std::vector<std::string> skipped;
        for (const auto& s : f_.scratch) {
            if (cache && &s == cache) continue;
            if (!s.usable || s.read_only) {
                skipped.push_back(s.path + " (" + (s.read_only ? "read-only" : s.error) + ")");
                continue;
            }
            auto m = misses(s, cache);
            int tier = !m.empty() ? 2 : (s.memory_backed ? 1 : 0);
            candidates.push_back(
                {&s, tier, std::move(m),
                 cache && !cache->mount_id.empty() && cache->mount_id == s.mount_id});
        }
        if (candidates.empty()) {
            plan_.scratch_reason =
                "no usable scratch candidate" +
                (skipped.empty() ? std::string(" was probed") : ": " + join(skipped)) +
                "; TMPDIR is left as it is";
            warn("no_scratch", plan_.scratch_reason);
            return;
        }
        // Policy-clean first, then disk before memory, then measured throughput,
        // then free space; ties keep the probe's order (TMPDIR first).
        std::stable_sort(candidates.begin(), candidates.end(),
                         [](const Candidate& a, const Candidate& b) {
                             if (a.tier != b.tier) return a.tier < b.tier;
                             if (a.misses.size() != b.misses.size())
                                 return a.misses.size() < b.misses.size();
                             if (a.cache_mount != b.cache_mount) return a.cache_mount;
                             double ta = a.s->write_mb_per_s.value_or(-1);
                             double tb = b.s->write_mb_per_s.value_or(-1);
                             if (ta != tb) return ta > tb;
                             return a.s->free_bytes.value_or(0) > b.s->free_bytes.value_or(0);
                         });
        const auto& best = candidates.front();
        const ScratchFacts& s = *best.s;
        plan_.scratch_dir = s.path;
        plan_.scratch_filesystem_id = s.filesystem_id;

        // More heavy_io filesystems only where a test loses nothing by landing
        // there: policy-clean, disk-backed, a filesystem not already taken.
        heavy_io_fs_ = {&s};
        for (const auto& c : candidates) {
            if (static_cast<int>(heavy_io_fs_.size()) >= p_.heavy_io_filesystems.value) break;
            if (c.tier != 0) continue;
            bool taken = std::any_of(
                heavy_io_fs_.begin(), heavy_io_fs_.end(),
                [&](const ScratchFacts* t) { return t->filesystem_id == c.s->filesystem_id; });
            if (!taken) heavy_io_fs_.push_back(c.s);
        }

        std::string why = s.path + ": " + describe(s);
        std::vector<std::string> others;
        for (std::size_t i = 1; i < candidates.size(); ++i) {
            const auto& c = candidates[i];
            std::string o = c.s->path;
            if (!c.misses.empty())
                o += " (" + join(c.misses) + ")";
            else if (c.s->memory_backed)
                o += " (memory-backed)";
            else if (c.s->write_mb_per_s)
                o += " (" + num(std::round(*c.s->write_mb_per_s)) + " MB/s)";
            else if (c.s->free_bytes)
                o += " (" + human_bytes(*c.s->free_bytes) + " free)";
            others.push_back(o);
        }
        for (const auto& sk : skipped)
            others.push_back(sk);
        if (!others.empty()) why += "; preferred over " + join(others);
        plan_.scratch_reason = why;

        if (s.memory_backed)
            warn("scratch_memory_backed",
                 "scratch " + s.path + " is " + s.fstype +
                     " (memory-backed): files written there count against the " +
                     human_bytes(plan_.memory_budget_bytes) +
                     " memory budget; no disk-backed candidate was acceptable");
        if (p_.min_write_mb_per_s.value && s.write_mb_per_s &&
            *s.write_mb_per_s < *p_.min_write_mb_per_s.value)
            warn("scratch_slow",
                 "scratch " + s.path + " writes " + num(std::round(*s.write_mb_per_s)) +
                     " MB/s, below the minimum " + num(*p_.min_write_mb_per_s.value) +
                     " MB/s (scratch.min_write_mb_per_s, " + p_.min_write_mb_per_s.source + ")");
        if (p_.min_write_mb_per_s.value && !s.write_mb_per_s)
            warn("unknown_fact", "scratch " + s.path +
                                     " throughput was not measured (run with --io-bench); "
                                     "cannot check the minimum " +
                                     num(*p_.min_write_mb_per_s.value) + " MB/s");
        if (s.socket_headroom < p_.socket_headroom_needed.value)
            warn("socket_headroom", "scratch " + s.path + " leaves " +
                                        std::to_string(s.socket_headroom) +
                                        " bytes for socket names under the 108-byte AF_UNIX "
                                        "limit; the policy needs " +
                                        std::to_string(p_.socket_headroom_needed.value) +
                                        " (scratch.socket_headroom)");
        if (p_.reflink_required.value && s.reflink != true)
            warn("reflink_unavailable",
                 "reflink is required (scratch.reflink_required) but scratch " + s.path + " (" +
                     s.fstype + ") " +
                     (s.reflink ? "does not support it: " + s.reflink_detail
                                : std::string("was not tested for it")));
        // Two identities (docs/facts-schema.md): FICLONE needs one filesystem
        // (filesystem_id, st_dev; across mounts of it since Linux 5.18, ioctl_ficlone(2));
        // rename(2) and link(2) need one mount (mount_id) and fail with EXDEV across two
        // mounts even of one filesystem, e.g. a bind mount.
        if (p_.reflink_required.value && cache && cache->filesystem_id != s.filesystem_id)
            warn("cache_other_filesystem",
                 "cache " + cache->path + " (" + cache->fstype + " on " + cache->device +
                     ") and scratch " + s.path + " (" + s.fstype + " on " + s.device +
                     ") are on different filesystems: reflink and rename between them fail");
        else if (cache && cache->filesystem_id == s.filesystem_id && !cache->mount_id.empty() &&
                 !s.mount_id.empty() && cache->mount_id != s.mount_id)
            warn("cache_other_mount",
                 "cache " + cache->path + " (mounted at " + cache->mount_point + ") and scratch " +
                     s.path + " (mounted at " + s.mount_point + ") are one " + s.fstype +
                     " filesystem (" + s.filesystem_id + ") seen through two mounts (" +
                     cache->mount_id + ", " + s.mount_id +
                     "): reflink between them works, but rename(2) and link(2) fail with "
                     "EXDEV, so moving a file from scratch into the cache is a copy");
    }

    static std::string join(const std::vector<std::string>& parts) {
        std::string out;
        for (const auto& p : parts)
            out += (out.empty() ? "" : ", ") + p;
        return out;
    }

    // --- resources ----------------------------------------------------------------

    void add_resources() {
        const auto mib = static_cast<int>(std::max<uint64_t>(1, plan_.memory_budget_bytes / kMiB));
        plan_.resources.push_back(
            {"mem_mib",
             {{"0", mib, "memory budget " + human_bytes(plan_.memory_budget_bytes), "", "", ""}},
             "the memory budget in MiB slots: a test declaring mem_mib:N holds N MiB of it"});

        ResourceType heavy{"heavy_io", {}, ""};
        for (const ScratchFacts* s : heavy_io_fs_)
            heavy.ids.push_back(
                {"fs" + std::to_string(heavy.ids.size()), p_.heavy_io_slots.value,
                 s->fstype + (s->device.empty() ? "" : " on " + s->device) +
                     (s->mount_point.empty() ? "" : " mounted at " + s->mount_point),
                 s->path, "", ""});
        if (heavy.ids.empty())
            heavy.ids.push_back(
                {"fs0", p_.heavy_io_slots.value, "no scratch filesystem chosen", "", "", ""});
        heavy.reason = std::to_string(p_.heavy_io_slots.value) + " I/O-heavy tests at a time on " +
                       (heavy.ids.size() > 1 ? "each" : "the") +
                       " scratch filesystem (resources.heavy_io_slots, " +
                       p_.heavy_io_slots.source + ")";
        if (p_.heavy_io_filesystems.value > 1)
            heavy.reason += "; " + std::to_string(heavy.ids.size()) + " of up to " +
                            std::to_string(p_.heavy_io_filesystems.value) +
                            " filesystems (resources.heavy_io_filesystems, " +
                            p_.heavy_io_filesystems.source +
                            "): only policy-clean, disk-backed ones are added";
        plan_.resources.push_back(std::move(heavy));

        // The test parallel level as a resource: every Corral test takes cpus:<its
        // PROCESSORS> (cmake/CorralFunctions.cmake), so `ctest -jN` with N above the
        // plan still runs no more than the plan (ctest(1), "Resource Allocation").
        const int level = plan_.test_parallel_level;
        plan_.resources.push_back(
            {"cpus",
             {{"0", level, "the test parallel level", "", "", ""}},
             "the test parallel level: a test holds cpus:<its PROCESSORS, 1 by default>, so "
             "ctest -jN runs at most " +
                 plural(level, "one-CPU Corral test", "one-CPU Corral tests") +
                 " at once, whatever N (set it with tests.parallel_level or "
                 "CORRAL_PARALLEL_LEVEL; tests outside Corral are bounded by -j only)"});

        if (!f_.gpus.empty()) {
            ResourceType gpus{"gpus", {}, ""};
            for (const auto& g : f_.gpus)
                gpus.ids.push_back({g.id, p_.gpu_slots.value,
                                    g.vendor + (g.name.empty() ? "" : " " + g.name) +
                                        (g.device.empty() ? "" : " (" + g.device + ")"),
                                    "", g.variable, g.visible_as});
            gpus.reason = plural(static_cast<long long>(f_.gpus.size()), "GPU", "GPUs") + ", " +
                          std::to_string(p_.gpu_slots.value) +
                          " slot(s) each (resources.gpu_slots, " + p_.gpu_slots.source + ")";
            plan_.resources.push_back(std::move(gpus));
        }
        for (const auto& named : p_.named_resources)
            plan_.resources.push_back(
                {named.name,
                 {{"0", named.slots, "named in policy", "", "", ""}},
                 std::to_string(named.slots) + " slot(s) from policy (" + named.source + ")"});
    }

    // --- timeouts, ci, env --------------------------------------------------------

    void set_timeouts() {
        if (p_.timeout_multiplier.value) {
            plan_.timeout_multiplier = *p_.timeout_multiplier.value;
            plan_.timeout_reason =
                "set by " + who_set(p_.timeout_multiplier.source, "tests.timeout_multiplier",
                                    num(plan_.timeout_multiplier));
        } else {
            // Detected slowdowns and declared sanitizers; the slowest one wins
            // (sanitizers combined in one build do not multiply in practice).
            std::vector<std::pair<std::string, std::string>> seen;  // name, from
            for (const auto& s : f_.context.slowdowns)
                seen.emplace_back(s, "detected");
            for (const auto& s : p_.sanitizers.value)
                seen.emplace_back(s, p_.sanitizers.source);
            double best = 1.0;
            std::string parts;
            for (const auto& [name, from] : seen) {
                auto factor = slowdown_factor(name);
                if (!factor) continue;
                parts +=
                    (parts.empty() ? "" : ", ") + name + " x" + num(*factor) + " (" + from + ")";
                best = std::max(best, *factor);
            }
            plan_.timeout_multiplier = best;
            plan_.timeout_reason = parts.empty()
                                       ? "auto: no sanitizer or valgrind detected or declared"
                                       : "auto: the slowest of " + parts;
        }
        plan_.test_timeout_seconds = static_cast<int>(
            std::ceil(p_.test_timeout_seconds.value * plan_.timeout_multiplier - 1e-9));
        plan_.timeout_reason += "; test timeout " + std::to_string(p_.test_timeout_seconds.value) +
                                " s (tests.timeout, " + p_.test_timeout_seconds.source + ") x " +
                                num(plan_.timeout_multiplier) + " = " +
                                std::to_string(plan_.test_timeout_seconds) + " s";
        plan_.job_timeout_minutes = p_.job_timeout_minutes.value;
        if (plan_.test_timeout_seconds > plan_.job_timeout_minutes * 60)
            warn("timeout_exceeds_job",
                 "one test may run " + std::to_string(plan_.test_timeout_seconds) +
                     " s, longer than the whole job's " +
                     std::to_string(plan_.job_timeout_minutes) +
                     " min (ci.job_timeout_minutes): the job would be killed first");
    }

    void set_ci() {
        plan_.stop_on_failure = p_.stop_on_failure.value;
        plan_.repeat_after_timeout = p_.repeat_after_timeout.value;
        plan_.tests_run_under_sudo = p_.tests_run_under_sudo.value;
    }

    void set_env() {
        const std::string test = std::to_string(plan_.test_parallel_level);
        const std::string build = std::to_string(plan_.build_parallel_level);
        const int threads = std::max(1, plan_.cpus / plan_.test_parallel_level);
        auto& env = plan_.env;
        env.push_back({"CTEST_PARALLEL_LEVEL", test, "test parallel level"});
        env.push_back({"CMAKE_BUILD_PARALLEL_LEVEL", build, "build parallel level"});
        env.push_back({"MAKEFLAGS", "-j" + build, "build parallel level"});
        env.push_back({"PYTEST_XDIST_AUTO_NUM_WORKERS", test, "test parallel level (-n auto)"});
        env.push_back({"NEXTEST_TEST_THREADS", test, "test parallel level"});
        env.push_back({"MESON_TESTTHREADS", test, "test parallel level"});
        env.push_back(
            {"GOMAXPROCS", std::to_string(plan_.cpus),
             "the planned CPUs (Go before 1.25 counts the host's, not the cgroup quota)"});
        env.push_back({"OMP_NUM_THREADS", std::to_string(threads),
                       "CPUs per parallel test: " + std::to_string(plan_.cpus) + " / " + test +
                           ", so parallel tests do not multiply threads past the CPUs"});
        if (!plan_.scratch_dir.empty())
            env.push_back({"TMPDIR", plan_.scratch_dir, "the chosen scratch directory"});
        env.push_back({"CORRAL_TIMEOUT_MULTIPLIER", num(plan_.timeout_multiplier),
                       "timeout multiplier for corral run and tests that scale their own"});

        const std::map<std::string, std::string, std::less<>> values = {
            {"parallel_level", test},
            {"test_parallel_level", test},
            {"build_parallel_level", build},
            {"cpus", std::to_string(plan_.cpus)},
            {"memory_budget_mib", std::to_string(plan_.memory_budget_bytes / kMiB)},
            {"memory_per_test_mib", std::to_string(plan_.memory_per_test_bytes / kMiB)},
            {"compile_pool_depth", std::to_string(plan_.pools[0].depth)},
            {"link_pool_depth", std::to_string(plan_.pools[1].depth)},
            {"scratch_dir", plan_.scratch_dir},
            {"timeout_multiplier", num(plan_.timeout_multiplier)},
            {"test_timeout_seconds", std::to_string(plan_.test_timeout_seconds)},
        };
        for (const auto& extra : p_.env) {
            std::string value;
            try {
                value = expand_placeholders(
                    extra.value, [&](std::string_view name) -> std::optional<std::string> {
                        auto it = values.find(name);
                        if (it == values.end()) return std::nullopt;
                        return it->second;
                    });
            } catch (const std::invalid_argument& e) {
                // The loader checked the template; a hand-built Policy may not have.
                warn("env_template",
                     "env " + extra.name + " (" + extra.source + ") skipped: " + e.what());
                continue;
            }
            EnvVar var{extra.name, value, "policy env (" + extra.source + ")"};
            auto same = std::find_if(env.begin(), env.end(),
                                     [&](const EnvVar& v) { return v.name == extra.name; });
            if (same != env.end()) {
                warn("env_replaced", "policy env " + extra.name + "=" + value + " (" +
                                         extra.source + ") replaces corral's " + same->value);
                *same = var;
            } else {
                env.push_back(var);
            }
        }
    }
};

}  // namespace

Plan make_plan(const Facts& facts, const Policy& policy) {
    return Planner(facts, policy).run();
}

}  // namespace corral
