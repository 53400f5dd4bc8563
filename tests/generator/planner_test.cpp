// Over ~400 lines on purpose: one test per planner decision and warning, on
// shared hand-built Facts; split, each file would rebuild the same fixtures.
// The planner on hand-built Facts: every decision and warning with its numbers.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "generator/planner.hpp"
#include "plan/plan_json.hpp"

namespace corral {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

ScratchFacts disk(std::string path, std::string fs_id, uint64_t free_gib,
                  std::optional<double> mb_per_s = std::nullopt) {
    ScratchFacts s;
    s.path = std::move(path);
    s.origin = s.path;
    s.usable = true;
    s.mount_point = std::string("/");
    s.fstype = "ext4";
    s.device = "/dev/" + fs_id;
    s.filesystem_id = fs_id;
    s.free_bytes = free_gib * kGiB;
    s.reflink = false;
    s.reflink_detail = "FICLONE: Operation not supported";
    s.socket_headroom = 100;
    s.write_mb_per_s = mb_per_s;
    return s;
}

ScratchFacts tmpfs(std::string path) {
    ScratchFacts s = disk(std::move(path), "shm", 2);
    s.fstype = "tmpfs";
    s.device = "tmpfs";
    s.memory_backed = true;
    return s;
}

Facts host(int cpus, std::optional<uint64_t> memory) {
    Facts f;
    f.cpu.online = cpus;
    f.cpu.affinity = cpus;
    f.cpu.effective = cpus;
    f.cpu.effective_source = std::to_string(cpus) + " online CPUs, no quota";
    f.memory.total_bytes = memory;
    f.memory.effective_bytes = memory;
    f.memory.effective_source = memory ? "MemTotal" : "unknown: /proc/meminfo: No such file";
    f.scratch.push_back(disk("/tmp", "vda", 50));
    return f;
}

const Warning* find_warning(const Plan& p, const std::string& code) {
    for (const auto& w : p.warnings)
        if (w.code_name() == code) return &w;
    return nullptr;
}

std::string env_of(const Plan& p, const std::string& name) {
    for (const auto& v : p.env)
        if (v.name == name) return v.value;
    return "<unset>";
}

const ResourceType* resource(const Plan& p, const std::string& name) {
    for (const auto& r : p.resources)
        if (r.name == name) return &r;
    return nullptr;
}

int pool_depth(const Plan& p, const std::string& name) {
    for (const auto& pool : p.pools)
        if (pool.name == name) return pool.depth;
    return -1;
}

TEST(Planner, TwoCpuContainerWithAOneAndAHalfCpuQuota) {
    // A 32-CPU runner; the container's cgroup allows 1.5 CPUs and 4 GiB.
    Facts f = host(32, 64 * kGiB);
    f.cpu.quota = 1.5;
    f.cpu.effective = 2;
    f.cpu.effective_source = "ceil(cpu.max 150000/100000 = 1.5) = 2";
    f.memory.limit_bytes = 4 * kGiB;
    f.memory.effective_bytes = 4 * kGiB;
    Plan p = make_plan(f, default_policy());

    EXPECT_EQ(p.cpus, 2);
    EXPECT_EQ(p.cpus_source, "probe");
    EXPECT_EQ(p.memory_bytes, 4 * kGiB);
    // Reserve = max(10 % of 4 GiB, 512 MiB) = 512 MiB.
    EXPECT_EQ(p.memory_budget_bytes, 4 * kGiB - 512 * kMiB);
    EXPECT_EQ(p.test_parallel_level, 2);
    // 3.5 GiB / 2 GiB per compile job = 1; 3.5 GiB / 8 GiB per link job = 0 -> 1.
    EXPECT_EQ(p.build_parallel_level, 1);
    EXPECT_EQ(pool_depth(p, "compile"), 1);
    EXPECT_EQ(pool_depth(p, "link"), 1);
    ASSERT_TRUE(resource(p, "mem_mib"));
    EXPECT_EQ(resource(p, "mem_mib")->ids.at(0).id, "0");
    EXPECT_EQ(resource(p, "mem_mib")->ids.at(0).slots, 3584);
    EXPECT_EQ(env_of(p, "CTEST_PARALLEL_LEVEL"), "2");
    EXPECT_EQ(env_of(p, "MAKEFLAGS"), "-j1");
    EXPECT_EQ(env_of(p, "GOMAXPROCS"), "2");
    EXPECT_EQ(env_of(p, "OMP_NUM_THREADS"), "1");
    EXPECT_EQ(env_of(p, "TMPDIR"), "/tmp");
    EXPECT_EQ(env_of(p, "CORRAL_TIMEOUT_MULTIPLIER"), "1");
    EXPECT_TRUE(p.warnings.empty()) << p.warnings.front().message;
}

TEST(Planner, SixtyFourCpusWithEightGibIsMemoryBound) {
    Plan p = make_plan(host(64, 8 * kGiB), default_policy());
    // Reserve = max(819.2 MiB, 512 MiB); budget 7372.8 MiB fits 14 tests of 512 MiB.
    EXPECT_EQ(p.memory_budget_bytes, 8 * kGiB - 8 * kGiB / 10);
    EXPECT_EQ(p.test_parallel_level, 14);
    EXPECT_NE(p.test_parallel_reason.find("memory-bound"), std::string::npos);
    EXPECT_EQ(p.build_parallel_level, 3);  // 7.2 GiB / 2 GiB
    EXPECT_EQ(pool_depth(p, "link"), 1);
    const Warning* w = find_warning(p, "memory_tight");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "the 7.2 GiB memory budget fits 14 tests of 512.0 MiB (memory.per_test), fewer "
              "than the 64 CPUs");
    EXPECT_EQ(env_of(p, "OMP_NUM_THREADS"), "4");  // 64 CPUs / 14 tests
}

TEST(Planner, UnknownMemoryUsesASafeAssumptionAndSaysSo) {
    Plan p = make_plan(host(4, std::nullopt), default_policy());
    EXPECT_EQ(p.memory_bytes, kUnknownMemoryAssumptionBytes);
    EXPECT_EQ(p.memory_source, "assumed");
    EXPECT_EQ(p.memory_budget_bytes, 2 * kGiB - 512 * kMiB);
    EXPECT_EQ(p.test_parallel_level, 3);
    const Warning* w = find_warning(p, "unknown_fact");
    ASSERT_TRUE(w);
    EXPECT_NE(w->message.find("planning for a safe 2.0 GiB"), std::string::npos) << w->message;
    EXPECT_NE(w->message.find("--memory"), std::string::npos);
}

TEST(Planner, MemoryAlreadyInUseWarnsUnderTheFlatReserve) {
    Facts f = host(4, 16 * kGiB);
    f.memory.available_bytes = 4 * kGiB;
    Policy flat = default_policy();
    flat.memory_reserve_fraction.source = "corral.yaml:3:21";  // the flat rule, as set
    Plan p = make_plan(f, flat);
    const Warning* w = find_warning(p, "memory_in_use");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "only 4.0 GiB of memory is available now, less than the 14.4 GiB budget: "
              "something else is using 10.4 GiB of it");
    f.memory.available_bytes = 15 * kGiB;
    EXPECT_FALSE(find_warning(make_plan(f, flat), "memory_in_use"));
}

// Issue 11 item 1: memory.high below memory.max is the ceiling; the budget fits under
// it and the plan names it (field case "memory-high").
TEST(Planner, MemoryHighIsTheCeilingAndIsNamed) {
    Facts f = host(4, 32 * kGiB);
    const uint64_t high = 2576977920;  // 2.4 GiB
    f.memory.limit_bytes = 4 * kGiB;
    f.memory.high_bytes = high;
    f.memory.ceiling_bytes = high;
    f.memory.ceiling_kind = "memory.high";
    f.memory.ceiling_cgroup = "/sys/fs/cgroup";
    f.memory.ceiling_source =
        "cgroup v2 memory.high = 2576977920 (2.4 GiB) at /sys/fs/cgroup (leaf = mount root) "
        "(below memory.max 4294967296 (4.0 GiB))";
    f.memory.effective_bytes = high;
    f.memory.in_use_bytes = 224 * kMiB;
    f.memory.in_use_source = "/sys/fs/cgroup/memory.current - inactive_file";
    f.memory.available_bytes = high - 224 * kMiB;
    Plan p = make_plan(f, default_policy());
    EXPECT_EQ(p.memory_bytes, high);
    // 4 tests fit (2.4 GiB - 224 - 128 MiB) / (512 + 8 MiB): reserve 224 + 4 x 8 + 128 MiB.
    EXPECT_EQ(p.memory_reserve_bytes, (224 + 32 + 128) * kMiB);
    EXPECT_EQ(p.memory_budget_bytes, high - 384 * kMiB);
    EXPECT_LE(p.memory_budget_bytes, high);
    const Warning* w = find_warning(p, "memory_high");
    ASSERT_TRUE(w);
    EXPECT_NE(w->message.find("memory.high = 2576977920 (2.4 GiB) at /sys/fs/cgroup"),
              std::string::npos)
        << w->message;
    EXPECT_NE(w->message.find("not under memory.max 4.0 GiB"), std::string::npos) << w->message;
    EXPECT_NE(p.memory_budget_reason.find("224.0 MiB in use beside the tests"), std::string::npos)
        << p.memory_budget_reason;
    EXPECT_NE(p.memory_budget_reason.find("4 x 8.0 MiB launcher overhead"), std::string::npos)
        << p.memory_budget_reason;
    EXPECT_NE(p.memory_budget_reason.find("margin 128.0 MiB"), std::string::npos)
        << p.memory_budget_reason;
    // A hard limit as the ceiling is no news.
    f.memory.ceiling_kind = "memory.max";
    EXPECT_FALSE(find_warning(make_plan(f, default_policy()), "memory_high"));
}

// Issue 11 item 6: in a 4 GiB container the reserve is what is in use + launchers +
// margin, not max(10 %, 512 MiB).
TEST(Planner, MeasuredReserveInAFourGibContainer) {
    Facts f = host(2, 64 * kGiB);
    f.memory.limit_bytes = 4 * kGiB;
    f.memory.ceiling_bytes = 4 * kGiB;
    f.memory.ceiling_kind = "memory.limit_in_bytes";
    f.memory.effective_bytes = 4 * kGiB;
    f.memory.available_bytes = 4 * kGiB - 100 * kMiB;
    Plan p = make_plan(f, default_policy());
    EXPECT_EQ(p.memory_reserve_bytes, (100 + 2 * 8 + 128) * kMiB);
    EXPECT_EQ(p.memory_budget_bytes, (4096 - 244) * kMiB);
    EXPECT_GE(p.memory_budget_bytes, 3800 * kMiB);
    EXPECT_NE(p.memory_budget_reason.find("100.0 MiB in use beside the tests (4.0 GiB - available "
                                          "3.9 GiB"),
              std::string::npos)
        << p.memory_budget_reason;

    // A whole 64 GiB host with 6 GiB in use: the reserve follows the use, not 6.4 GiB.
    Facts h = host(16, 64 * kGiB);
    h.memory.available_bytes = 58 * kGiB;
    h.memory.in_use_bytes = 6 * kGiB;
    h.memory.in_use_source = "/proc/meminfo MemTotal - MemAvailable";
    Plan q = make_plan(h, default_policy());
    EXPECT_EQ(q.memory_reserve_bytes, 6 * kGiB + 16 * 8 * kMiB + 128 * kMiB);
    EXPECT_NE(q.memory_budget_reason.find("/proc/meminfo MemTotal - MemAvailable"),
              std::string::npos)
        << q.memory_budget_reason;
}

TEST(Planner, ReserveKnobsStillOverride) {
    Facts f = host(2, 4 * kGiB);
    f.memory.available_bytes = 4 * kGiB - 100 * kMiB;
    Policy fixed = default_policy();
    fixed.memory_reserve_bytes = {1 * kGiB, "CORRAL_MEMORY_RESERVE"};
    Plan p = make_plan(f, fixed);
    EXPECT_EQ(p.memory_budget_bytes, 3 * kGiB);
    EXPECT_NE(p.memory_budget_reason.find("CORRAL_MEMORY_RESERVE=1.0 GiB"), std::string::npos)
        << p.memory_budget_reason;
    Policy flat = default_policy();
    flat.memory_reserve_min_bytes = {1 * kGiB, "corral.yaml:4:16"};
    EXPECT_EQ(make_plan(f, flat).memory_budget_bytes, 3 * kGiB);
    // Unknown availability falls back to the flat rule and says why.
    f.memory.available_bytes.reset();
    f.memory.available_source = "unknown: /proc/meminfo: no readable MemAvailable line";
    Plan u = make_plan(f, default_policy());
    EXPECT_EQ(u.memory_budget_bytes, 4 * kGiB - 512 * kMiB);
    EXPECT_NE(u.memory_budget_reason.find("what is in use is unknown"), std::string::npos)
        << u.memory_budget_reason;
}

TEST(Planner, UnknownCpuCountSaysSo) {
    Facts f = host(1, 4 * kGiB);
    f.cpu.online.reset();
    f.cpu.affinity.reset();
    f.cpu.online_source = "unknown: /sys/devices/system/cpu/online: No such file";
    Plan p = make_plan(f, default_policy());
    EXPECT_EQ(p.cpus, 1);
    const Warning* w = find_warning(p, "unknown_fact");
    ASSERT_TRUE(w);
    EXPECT_NE(w->message.find("could not count CPUs"), std::string::npos);
}

TEST(Planner, TmpfsOnlyScratchIsUsedWithAWarning) {
    Facts f = host(4, 16 * kGiB);
    f.scratch = {tmpfs("/dev/shm")};
    Plan p = make_plan(f, default_policy());
    EXPECT_EQ(p.scratch_dir, "/dev/shm");
    const Warning* w = find_warning(p, "scratch_memory_backed");
    ASSERT_TRUE(w);
    EXPECT_NE(w->message.find("count against the 14.4 GiB memory budget"), std::string::npos)
        << w->message;
}

TEST(Planner, DiskPreferredOverTmpfsAndFastOverSlow) {
    Facts f = host(8, 32 * kGiB);
    f.scratch = {tmpfs("/dev/shm"), disk("/tmp", "md0", 500, 23), disk("/ci", "nvme1", 100, 406),
                 disk("/var/tmp", "md0", 500, 23)};
    Plan p = make_plan(f, default_policy());
    EXPECT_EQ(p.scratch_dir, "/ci");
    EXPECT_EQ(p.scratch_filesystem_id, "nvme1");
    EXPECT_EQ(p.scratch_reason,
              "/ci: ext4 on /dev/nvme1, 406 MB/s measured, 100.0 GiB free, reflink no, socket "
              "headroom 100 bytes; preferred over /tmp (23 MB/s), /var/tmp (23 MB/s), /dev/shm "
              "(memory-backed)");
    const ResourceType* heavy = resource(p, "heavy_io");
    ASSERT_TRUE(heavy);
    ASSERT_EQ(heavy->ids.size(), 1u);
    EXPECT_EQ(heavy->ids[0].id, "fs0");
    EXPECT_EQ(heavy->ids[0].slots, 4);
    EXPECT_EQ(heavy->ids[0].path, "/ci");
    EXPECT_EQ(env_of(p, "TMPDIR"), "/ci");
    EXPECT_FALSE(find_warning(p, "scratch_memory_backed"));
}

TEST(Planner, WithoutMeasurementsMoreFreeSpaceWins) {
    Facts f = host(8, 32 * kGiB);
    f.scratch = {disk("/tmp", "vda", 5), disk("/ci", "vdb", 200)};
    EXPECT_EQ(make_plan(f, default_policy()).scratch_dir, "/ci");
}

TEST(Planner, SlowScratchBelowTheMinimumWarns) {
    Facts f = host(8, 32 * kGiB);
    f.scratch = {disk("/tmp", "md0", 500, 23)};
    Policy pol = default_policy();
    pol.min_write_mb_per_s = {100.0, "corral.yaml:4:23"};
    Plan p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/tmp");  // nothing better: used, loudly
    const Warning* w = find_warning(p, "scratch_slow");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "scratch /tmp writes 23 MB/s, below the minimum 100 MB/s "
              "(scratch.min_write_mb_per_s, corral.yaml:4:23)");
}

TEST(Planner, SocketHeadroomBelowTheNeedWarns) {
    Facts f = host(8, 32 * kGiB);
    f.scratch = {disk("/very/long/ci/workspace/path", "vda", 50)};
    f.scratch[0].socket_headroom = 30;
    Policy pol = default_policy();
    pol.socket_headroom_needed.value = 40;
    Plan p = make_plan(f, pol);
    const Warning* w = find_warning(p, "socket_headroom");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "scratch /very/long/ci/workspace/path leaves 30 bytes for socket names under the "
              "108-byte AF_UNIX limit; the policy needs 40 (scratch.socket_headroom)");
}

TEST(Planner, ReflinkRequiredPrefersTheCacheFilesystem) {
    Facts f = host(8, 32 * kGiB);
    ScratchFacts tmp = disk("/tmp", "vda", 500, 900);
    ScratchFacts ci = disk("/ci", "xfs1", 100, 400);
    ci.fstype = "xfs";
    ci.reflink = true;
    ScratchFacts cache = ci;
    cache.path = "/ci/cache";
    f.scratch = {tmp, ci, cache};
    Policy pol = default_policy();
    pol.reflink_required.value = true;
    pol.cache_dir.value = "/ci/cache";
    Plan p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/ci");  // slower, but reflink works and it shares the cache's fs
    EXPECT_FALSE(find_warning(p, "cache_other_filesystem"));
    EXPECT_FALSE(find_warning(p, "reflink_unavailable"));
}

TEST(Planner, ReflinkRequiredButCacheElsewhereWarns) {
    Facts f = host(8, 32 * kGiB);
    ScratchFacts tmp = disk("/tmp", "vda", 500);
    ScratchFacts cache = disk("/srv/cache", "vdb", 100);
    cache.fstype = "xfs";
    cache.reflink = true;
    f.scratch = {tmp, cache};
    Policy pol = default_policy();
    pol.reflink_required.value = true;
    pol.cache_dir.value = "/srv/cache";
    Plan p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/tmp");
    const Warning* w = find_warning(p, "cache_other_filesystem");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "cache /srv/cache (xfs on /dev/vdb) and scratch /tmp (ext4 on /dev/vda) are on "
              "different filesystems: reflink and rename between them fail");
    ASSERT_TRUE(find_warning(p, "reflink_unavailable"));
    EXPECT_NE(find_warning(p, "reflink_unavailable")->message.find("Operation not supported"),
              std::string::npos);
}

// Issue 11 item 5: a bind mount is one filesystem (reflink works) but two mounts
// (rename/link fail with EXDEV): the planner prefers the cache's mount and says so.
TEST(Planner, CacheOnAnotherMountOfTheSameFilesystem) {
    Facts f = host(4, 16 * kGiB);
    f.scratch.clear();
    ScratchFacts cache = disk("/ci/cache", "xfs1", 100);
    cache.mount_id = "mnt:40";
    cache.mount_point = "/ci";
    ScratchFacts bind = disk("/ci-bind/tmp", "xfs1", 100);
    bind.mount_id = "mnt:41";
    bind.mount_point = "/ci-bind";
    ScratchFacts same = disk("/ci/tmp", "xfs1", 100);
    same.mount_id = "mnt:40";
    same.mount_point = "/ci";
    f.scratch = {cache, bind, same};
    Policy pol = default_policy();
    pol.cache_dir = {"/ci/cache", "corral.yaml:2:14"};
    Plan p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/ci/tmp");  // on the cache's mount, although listed later
    EXPECT_FALSE(find_warning(p, "cache_other_mount"));

    f.scratch = {cache, bind};
    p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/ci-bind/tmp");
    const Warning* w = find_warning(p, "cache_other_mount");
    ASSERT_TRUE(w);
    EXPECT_NE(w->message.find("reflink between them works, but rename(2) and link(2) fail with "
                              "EXDEV"),
              std::string::npos)
        << w->message;
    EXPECT_FALSE(find_warning(p, "cache_other_filesystem"));
}

TEST(Planner, HeavyIoSpreadsOverPolicyCleanDisksOnlyWhenAsked) {
    Facts f = host(8, 32 * kGiB);
    // /tmp and /var/tmp share vda; /ci is its own disk; /slow misses the
    // throughput minimum; /dev/shm is memory-backed.
    f.scratch = {disk("/tmp", "vda", 50, 300), disk("/var/tmp", "vda", 50, 300),
                 disk("/ci", "vdb", 500, 400), disk("/slow", "vdc", 900, 20), tmpfs("/dev/shm")};
    Policy pol = default_policy();
    pol.min_write_mb_per_s.value = 100;

    auto heavy = [](const Plan& p) {
        std::vector<std::string> out;
        for (const auto& r : p.resources)
            if (r.name == "heavy_io")
                for (const auto& id : r.ids)
                    out.push_back(id.id + "=" + id.path);
        return out;
    };
    EXPECT_EQ(heavy(make_plan(f, pol)), (std::vector<std::string>{"fs0=/ci"}));

    pol.heavy_io_filesystems.value = 8;
    Plan p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/ci");
    EXPECT_EQ(heavy(p), (std::vector<std::string>{"fs0=/ci", "fs1=/tmp"}));
    const ResourceType* type = nullptr;
    for (const auto& r : p.resources)
        if (r.name == "heavy_io") type = &r;
    ASSERT_TRUE(type);
    EXPECT_NE(type->reason.find("4 I/O-heavy tests at a time on each scratch filesystem"),
              std::string::npos)
        << type->reason;
    EXPECT_NE(type->reason.find("2 of up to 8 filesystems"), std::string::npos) << type->reason;
}

TEST(Planner, PolicyCandidateMissingFromTheFactsIsAnUnknownFact) {
    Policy pol = default_policy();
    pol.scratch_candidates = {"/ci"};
    Plan p = make_plan(host(4, 16 * kGiB), pol);
    EXPECT_EQ(p.scratch_dir, "/tmp");
    const Warning* w = find_warning(p, "unknown_fact");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "scratch candidate /ci (scratch.candidates) is not in the probed facts; it was not "
              "considered");
}

TEST(Planner, PolicyCandidateThatCannotBeUsedIsSaid) {
    Facts f = host(4, 16 * kGiB);
    ScratchFacts ci = disk("/ci", "vdb", 100);
    ci.usable = false;
    ci.error = "/ci: No such file or directory";
    f.scratch.push_back(ci);
    Policy pol = default_policy();
    pol.scratch_candidates = {"/ci"};
    Plan p = make_plan(f, pol);
    EXPECT_EQ(p.scratch_dir, "/tmp");
    const Warning* w = find_warning(p, "unknown_fact");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "scratch candidate /ci (scratch.candidates) is not usable (/ci: No such file or "
              "directory); it was not considered");
}

TEST(Planner, NoUsableScratchLeavesTmpdirAlone) {
    Facts f = host(2, 4 * kGiB);
    f.scratch[0].usable = false;
    f.scratch[0].error = "statfs: Permission denied";
    Plan p = make_plan(f, default_policy());
    EXPECT_EQ(p.scratch_dir, "");
    EXPECT_EQ(env_of(p, "TMPDIR"), "<unset>");
    ASSERT_TRUE(find_warning(p, "no_scratch"));
    EXPECT_NE(find_warning(p, "no_scratch")->message.find("Permission denied"), std::string::npos);
    // heavy_io still exists so tests that declare it can be scheduled.
    ASSERT_TRUE(resource(p, "heavy_io"));
}

TEST(Planner, GpusOneIdPerDeviceWithPolicySlots) {
    Facts f = host(16, 64 * kGiB);
    f.gpus = {{"nvidia", 0, "nvidia0", "Tesla T4", "/dev/nvidia0", "nvidia-smi", "", "", ""},
              {"nvidia", 1, "nvidia1", "Tesla T4", "/dev/nvidia1", "nvidia-smi", "", "", ""}};
    Policy pol = default_policy();
    pol.gpu_slots.value = 2;
    Plan p = make_plan(f, pol);
    const ResourceType* gpus = resource(p, "gpus");
    ASSERT_TRUE(gpus);
    ASSERT_EQ(gpus->ids.size(), 2u);
    EXPECT_EQ(gpus->ids[0].id, "nvidia0");
    EXPECT_EQ(gpus->ids[1].id, "nvidia1");
    EXPECT_EQ(gpus->ids[1].slots, 2);
    EXPECT_FALSE(resource(make_plan(host(16, 64 * kGiB), pol), "gpus"));
}

TEST(Planner, EnvironmentOverrideOfProbedCpusAndMemoryIsAWarning) {
    Policy pol = default_policy();
    apply_environment(pol, {{"CORRAL_CPUS", "8"}, {"CORRAL_MEMORY", "16G"}});
    Plan p = make_plan(host(2, 4 * kGiB), pol);
    EXPECT_EQ(p.cpus, 8);
    EXPECT_EQ(p.cpus_source, "CORRAL_CPUS");
    EXPECT_EQ(p.memory_bytes, 16 * kGiB);
    EXPECT_EQ(p.memory_source, "CORRAL_MEMORY");
    std::vector<std::string> messages;
    for (const auto& w : p.warnings)
        if (w.code == WarningCode::probe_overridden) messages.push_back(w.message);
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0], "CORRAL_CPUS=8 overrides the probed 2 CPUs");
    EXPECT_EQ(messages[1], "CORRAL_MEMORY=16.0 GiB overrides the probed 4.0 GiB of memory");

    apply_cpus_option(pol, "4", "--cpus");
    EXPECT_EQ(make_plan(host(2, 4 * kGiB), pol).cpus_reason,
              "--cpus 4 overrides the probed 2 CPUs");
}

TEST(Planner, RequestedParallelLevelAboveTwiceTheCpusWarns) {
    Policy pol = default_policy();
    pol.test_parallel_level = {20, "CORRAL_PARALLEL_LEVEL"};
    Plan p = make_plan(host(8, 64 * kGiB), pol);
    EXPECT_EQ(p.test_parallel_level, 20);
    const Warning* w = find_warning(p, "oversubscribed");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message, "test parallel level 20 is above 2 x 8 CPUs = 16");
    EXPECT_FALSE(find_warning(make_plan(host(8, 64 * kGiB), default_policy()), "oversubscribed"));
}

TEST(Planner, RequestedParallelLevelBeyondTheMemoryBudgetWarns) {
    Policy pol = default_policy();
    pol.test_parallel_level = {16, "--test"};
    Plan p = make_plan(host(16, 4 * kGiB), pol);
    bool found = false;
    for (const auto& w : p.warnings)
        found = found || w.message ==
                             "requested test parallel level 16 x 512.0 MiB = 8.0 GiB "
                             "exceeds the 3.5 GiB memory budget";
    EXPECT_TRUE(found);
}

TEST(Planner, OversubscriptionAndKeptFreeCpus) {
    Policy pol = default_policy();
    pol.cpu_oversubscription.value = 1.5;
    pol.cpus_keep_free.value = 2;
    Plan p = make_plan(host(8, 256 * kGiB), pol);
    EXPECT_EQ(p.test_parallel_level, 9);  // (8 - 2) x 1.5
    EXPECT_EQ(p.build_parallel_level, 9);
    pol.cpus_keep_free.value = 8;
    Plan q = make_plan(host(8, 256 * kGiB), pol);
    EXPECT_EQ(q.test_parallel_level, 1);
    EXPECT_TRUE(find_warning(q, "keep_free_too_high"));
}

TEST(Planner, MemoryReserveLargerThanMemory) {
    Plan p = make_plan(host(2, 256 * kMiB), default_policy());
    EXPECT_EQ(p.memory_budget_bytes, 128 * kMiB);
    EXPECT_TRUE(find_warning(p, "memory_reserve_too_high"));
    EXPECT_TRUE(find_warning(p, "memory_tight"));
    EXPECT_EQ(p.test_parallel_level, 1);
}

TEST(Planner, TimeoutMultiplierFromDetectedAndDeclaredSlowdowns) {
    Facts f = host(4, 16 * kGiB);
    f.context.slowdowns = {"asan"};
    Plan asan = make_plan(f, default_policy());
    EXPECT_EQ(asan.timeout_multiplier, 3.0);
    EXPECT_EQ(asan.test_timeout_seconds, 4500);
    EXPECT_EQ(env_of(asan, "CORRAL_TIMEOUT_MULTIPLIER"), "3");

    Policy pol = default_policy();
    apply_sanitizer_option(pol, {"tsan"}, "--sanitizer");
    Plan tsan = make_plan(f, pol);
    EXPECT_EQ(tsan.timeout_multiplier, 5.0);
    EXPECT_EQ(tsan.test_timeout_seconds, 7500);
    EXPECT_NE(tsan.timeout_reason.find("tsan x5 (--sanitizer)"), std::string::npos)
        << tsan.timeout_reason;
    const Warning* w = find_warning(tsan, "timeout_exceeds_job");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->message,
              "one test may run 7500 s, longer than the whole job's 60 min "
              "(ci.job_timeout_minutes): the job would be killed first");

    Policy fixed = default_policy();
    fixed.timeout_multiplier = {1.5, "corral.yaml:3:3"};
    fixed.test_timeout_seconds.value = 90;
    Plan p = make_plan(f, fixed);
    EXPECT_EQ(p.timeout_multiplier, 1.5);
    EXPECT_EQ(p.test_timeout_seconds, 135);

    Plan plain = make_plan(host(4, 16 * kGiB), default_policy());
    EXPECT_EQ(plain.timeout_multiplier, 1.0);
    EXPECT_EQ(plain.test_timeout_seconds, 1500);
}

TEST(Planner, PolicyEnvExtrasExpandPlaceholdersInOrder) {
    Policy pol = default_policy();
    load_policy_text(pol,
                     "env:\n  TEST_PROCESSES: \"{parallel_level}\"\n"
                     "  JOBS: \"-j{build_parallel_level} mem={memory_per_test_mib}M {{lit}}\"\n"
                     "  CTEST_PARALLEL_LEVEL: \"1\"\n",
                     "corral.yaml");
    Plan p = make_plan(host(4, 16 * kGiB), pol);
    EXPECT_EQ(env_of(p, "TEST_PROCESSES"), "4");
    EXPECT_EQ(env_of(p, "JOBS"), "-j4 mem=512M {lit}");
    EXPECT_EQ(env_of(p, "CTEST_PARALLEL_LEVEL"), "1");
    EXPECT_EQ(p.env.front().name, "CTEST_PARALLEL_LEVEL");  // replaced in place
    EXPECT_EQ(p.env.back().name, "JOBS");
    ASSERT_TRUE(find_warning(p, "env_replaced"));
}

TEST(Planner, NamedResourcesAndExtraPools) {
    Policy pol = default_policy();
    load_policy_text(pol,
                     "resources:\n  named:\n    licence_server: 2\n"
                     "build:\n  pools:\n    lto: {memory_per_job: 5G}\n    codegen: 3\n",
                     "corral.yaml");
    Plan p = make_plan(host(16, 32 * kGiB), pol);
    const ResourceType* lic = resource(p, "licence_server");
    ASSERT_TRUE(lic);
    EXPECT_EQ(lic->ids.at(0).id, "0");
    EXPECT_EQ(lic->ids.at(0).slots, 2);
    EXPECT_EQ(pool_depth(p, "lto"), 5);  // 28.8 GiB / 5 GiB
    EXPECT_EQ(pool_depth(p, "codegen"), 3);
    EXPECT_EQ(pool_depth(p, "compile"), 14);
    EXPECT_EQ(pool_depth(p, "link"), 3);
}

TEST(Planner, ResourceNamesAndIdsFollowCTestRules) {
    Facts f = host(16, 64 * kGiB);
    f.gpus = {{"amd", 0, "amd0", "MI100", "/dev/dri/renderD128", "sysfs", "", "", ""}};
    Policy pol = default_policy();
    pol.named_resources.push_back({"db", 1, "test"});
    Plan p = make_plan(f, pol);
    const std::regex type_re("^[a-z_][a-z0-9_]*$"), id_re("^[a-z0-9_]+$");
    for (const auto& r : p.resources) {
        EXPECT_TRUE(std::regex_match(r.name, type_re)) << r.name;
        std::set<std::string> ids;
        for (const auto& id : r.ids) {
            EXPECT_TRUE(std::regex_match(id.id, id_re)) << id.id;
            EXPECT_TRUE(ids.insert(id.id).second) << "duplicate id " << id.id;
            EXPECT_GE(id.slots, 1);
        }
    }
}

// The test parallel level is also a CTest resource, `cpus`, which every Corral
// test takes by its PROCESSORS: ctest -jN above the level cannot exceed it.
TEST(Planner, CpusResourceHoldsTheTestParallelLevel) {
    Policy pol = default_policy();
    Plan cpu_bound = make_plan(host(8, 64 * kGiB), pol);
    ASSERT_NE(resource(cpu_bound, "cpus"), nullptr);
    ASSERT_EQ(resource(cpu_bound, "cpus")->ids.size(), 1u);
    EXPECT_EQ(resource(cpu_bound, "cpus")->ids[0].slots, 8);
    EXPECT_NE(resource(cpu_bound, "cpus")->reason.find("at most 8 one-CPU Corral tests"),
              std::string::npos);
    // Memory-bound: 2 GiB minus the 512 MiB reserve fits 3 tests of 512 MiB.
    Plan memory_bound = make_plan(host(8, 2 * kGiB), pol);
    EXPECT_EQ(memory_bound.test_parallel_level, 3);
    EXPECT_EQ(resource(memory_bound, "cpus")->ids[0].slots, 3);
    pol.test_parallel_level.value = 5;
    EXPECT_EQ(resource(make_plan(host(8, 64 * kGiB), pol), "cpus")->ids[0].slots, 5);
}

TEST(Planner, IsAPureFunction) {
    Facts f = host(6, 12 * kGiB);
    f.context.slowdowns = {"valgrind"};
    Policy pol = default_policy();
    EXPECT_EQ(to_json(make_plan(f, pol)), to_json(make_plan(f, pol)));
}

TEST(PlanJson, RoundTripsAndUsesThePublicFieldNames) {
    Facts f = host(8, 32 * kGiB);
    f.gpus = {{"nvidia", 0, "nvidia0", "T4", "/dev/nvidia0", "x", "", "", ""}};
    f.context.slowdowns = {"tsan"};
    Policy pol = default_policy();
    load_policy_text(pol, "env:\n  TEST_PROCESSES: \"{cpus}\"\nci:\n  stop_on_failure: true\n",
                     "corral.yaml");
    Plan p = make_plan(f, pol);
    auto j = to_json(p);
    EXPECT_EQ(j["schema"], "corral.plan/1");
    for (const char* key :
         {"cpus", "cpus_source", "memory_bytes", "memory_budget_bytes", "test_parallel_level",
          "build_parallel_level", "resources", "pools", "scratch_dir", "timeout_multiplier",
          "test_timeout_seconds", "job_timeout_minutes", "stop_on_failure", "repeat_after_timeout",
          "tests_run_under_sudo", "env", "warnings"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["resources"][1]["name"], "heavy_io");
    EXPECT_EQ(j["resources"][1]["ids"][0]["path"], "/tmp");
    EXPECT_EQ(j["timeout_multiplier"], 5.0);
    EXPECT_EQ(to_json(plan_from_json(j)), j);
    auto bad = j;
    bad["schema"] = "corral.plan/9";
    EXPECT_THROW(plan_from_json(bad), std::runtime_error);
}

}  // namespace
}  // namespace corral
