// The planner's scratch choice (docs/plan-schema.md "Scratch choice"): which
// probed directory becomes TMPDIR, why, what it was preferred over, and the
// further heavy_io filesystems.
#include <algorithm>
#include <cmath>

#include "common/text.hpp"
#include "generator/planner_steps.hpp"

namespace corral::planning {
namespace {

const ScratchFacts* find_scratch(const Step& st, const std::string& path) {
    for (const auto& s : st.f.scratch)
        if (s.path == path) return &s;
    return nullptr;
}

std::string describe(const ScratchFacts& sf) {
    std::string d = sf.fstype.empty() ? "unknown filesystem" : sf.fstype;
    if (!sf.device.empty()) d += " on " + sf.device;
    if (sf.write_mb_per_s) d += ", " + num(std::round(*sf.write_mb_per_s)) + " MB/s measured";
    if (sf.free_bytes) d += ", " + human_bytes(*sf.free_bytes) + " free";
    if (sf.reflink) d += std::string(", reflink ") + (*sf.reflink ? "yes" : "no");
    d += ", socket headroom " + std::to_string(sf.socket_headroom) + " bytes";
    return d;
}

// Hard policy requirements a candidate misses (empty = acceptable).
std::vector<std::string> misses(const Step& st, const ScratchFacts& s, const ScratchFacts* cache) {
    std::vector<std::string> out;
    if (st.p.reflink_required.value && s.reflink != true)
        out.push_back(!s.reflink ? "reflink untested" : "no reflink");
    if (st.p.reflink_required.value && cache && !cache->filesystem_id.empty() &&
        cache->filesystem_id != s.filesystem_id)
        out.push_back("not on the cache's filesystem");
    if (st.p.min_write_mb_per_s.value && s.write_mb_per_s &&
        *s.write_mb_per_s < *st.p.min_write_mb_per_s.value)
        out.push_back(num(std::round(*s.write_mb_per_s)) + " MB/s < " +
                      num(*st.p.min_write_mb_per_s.value) + " MB/s");
    if (s.socket_headroom < st.p.socket_headroom_needed.value)
        out.push_back("socket headroom " + std::to_string(s.socket_headroom) + " < " +
                      std::to_string(st.p.socket_headroom_needed.value));
    return out;
}

}  // namespace

void choose_scratch(Step& st) {
    const ScratchFacts* cache = nullptr;
    if (!st.p.cache_dir.value.empty()) {
        cache = find_scratch(st, st.p.cache_dir.value);
        if (!cache || !cache->usable) {
            st.warn(WarningCode::unknown_fact,
                    "cache directory " + st.p.cache_dir.value + " is not in the probed facts" +
                        (cache ? " as usable (" + cache->error + ")" : std::string()) +
                        "; cannot check that it shares the scratch filesystem");
            cache = nullptr;
        }
    }

    for (const auto& wanted : st.p.scratch_candidates) {
        const ScratchFacts* s = find_scratch(st, wanted);
        if (!s)
            st.warn(WarningCode::unknown_fact,
                    "scratch candidate " + wanted +
                        " (scratch.candidates) is not in the probed facts; "
                        "it was not considered");
        else if (!s->usable)
            st.warn(WarningCode::unknown_fact, "scratch candidate " + wanted +
                                                   " (scratch.candidates) is not usable (" +
                                                   s->error + "); it was not considered");
    }

    struct Candidate {
        const ScratchFacts* s;
        int tier;  // 0 ok, 1 memory-backed but ok, 2 misses policy
        std::vector<std::string> misses;
        bool cache_mount = false;  // on the cache's mount: rename(2) into it works
    };
    std::vector<Candidate> candidates;
    std::vector<std::string> skipped;
    for (const auto& s : st.f.scratch) {
        if (cache && &s == cache) continue;
        if (!s.usable || s.read_only) {
            skipped.push_back(s.path + " (" + (s.read_only ? "read-only" : s.error) + ")");
            continue;
        }
        auto m = misses(st, s, cache);
        int tier = !m.empty() ? 2 : (s.memory_backed ? 1 : 0);
        candidates.push_back({&s, tier, std::move(m),
                              cache && !cache->mount_id.empty() && cache->mount_id == s.mount_id});
    }
    if (candidates.empty()) {
        st.plan.scratch_reason =
            "no usable scratch candidate" +
            (skipped.empty() ? std::string(" was probed") : ": " + join(skipped)) +
            "; TMPDIR is left as it is";
        st.warn(WarningCode::no_scratch, st.plan.scratch_reason);
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
    st.plan.scratch_dir = s.path;
    st.plan.scratch_filesystem_id = s.filesystem_id;

    // More heavy_io filesystems only where a test loses nothing by landing
    // there: policy-clean, disk-backed, a filesystem not already taken.
    st.heavy_io_fs = {&s};
    for (const auto& c : candidates) {
        if (static_cast<int>(st.heavy_io_fs.size()) >= st.p.heavy_io_filesystems.value) break;
        if (c.tier != 0) continue;
        bool taken = std::any_of(
            st.heavy_io_fs.begin(), st.heavy_io_fs.end(),
            [&](const ScratchFacts* t) { return t->filesystem_id == c.s->filesystem_id; });
        if (!taken) st.heavy_io_fs.push_back(c.s);
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
    st.plan.scratch_reason = why;

    if (s.memory_backed)
        st.warn(WarningCode::scratch_memory_backed,
                "scratch " + s.path + " is " + s.fstype +
                    " (memory-backed): files written there count against the " +
                    human_bytes(st.plan.memory_budget_bytes) +
                    " memory budget; no disk-backed candidate was acceptable");
    if (st.p.min_write_mb_per_s.value && s.write_mb_per_s &&
        *s.write_mb_per_s < *st.p.min_write_mb_per_s.value)
        st.warn(WarningCode::scratch_slow,
                "scratch " + s.path + " writes " + num(std::round(*s.write_mb_per_s)) +
                    " MB/s, below the minimum " + num(*st.p.min_write_mb_per_s.value) +
                    " MB/s (scratch.min_write_mb_per_s, " + st.p.min_write_mb_per_s.source + ")");
    if (st.p.min_write_mb_per_s.value && !s.write_mb_per_s)
        st.warn(WarningCode::unknown_fact,
                "scratch " + s.path +
                    " throughput was not measured (run with --io-bench); "
                    "cannot check the minimum " +
                    num(*st.p.min_write_mb_per_s.value) + " MB/s");
    if (s.socket_headroom < st.p.socket_headroom_needed.value)
        st.warn(WarningCode::socket_headroom,
                "scratch " + s.path + " leaves " + std::to_string(s.socket_headroom) +
                    " bytes for socket names under the 108-byte AF_UNIX "
                    "limit; the policy needs " +
                    std::to_string(st.p.socket_headroom_needed.value) +
                    " (scratch.socket_headroom)");
    if (st.p.reflink_required.value && s.reflink != true)
        st.warn(WarningCode::reflink_unavailable,
                "reflink is required (scratch.reflink_required) but scratch " + s.path + " (" +
                    s.fstype + ") " +
                    (s.reflink ? "does not support it: " + s.reflink_detail
                               : std::string("was not tested for it")));
    // Two identities (docs/facts-schema.md): FICLONE needs one filesystem
    // (filesystem_id, st_dev; across mounts of it since Linux 5.18, ioctl_ficlone(2));
    // rename(2) and link(2) need one mount (mount_id) and fail with EXDEV across two
    // mounts even of one filesystem, e.g. a bind mount.
    if (st.p.reflink_required.value && cache && cache->filesystem_id != s.filesystem_id)
        st.warn(WarningCode::cache_other_filesystem,
                "cache " + cache->path + " (" + cache->fstype + " on " + cache->device +
                    ") and scratch " + s.path + " (" + s.fstype + " on " + s.device +
                    ") are on different filesystems: reflink and rename between them fail");
    else if (cache && cache->filesystem_id == s.filesystem_id && !cache->mount_id.empty() &&
             !s.mount_id.empty() && cache->mount_id != s.mount_id)
        st.warn(WarningCode::cache_other_mount,
                "cache " + cache->path + " (mounted at " + cache->mount_point + ") and scratch " +
                    s.path + " (mounted at " + s.mount_point + ") are one " + s.fstype +
                    " filesystem (" + s.filesystem_id + ") seen through two mounts (" +
                    cache->mount_id + ", " + s.mount_id +
                    "): reflink between them works, but rename(2) and link(2) fail with "
                    "EXDEV, so moving a file from scratch into the cache is a copy");
}

}  // namespace corral::planning
