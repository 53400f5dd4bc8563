#!/usr/bin/env python3
"""Measured, not guessed: a memory-bound suite that declares no memory, run once
with ctest -j1 to record, profiled, re-configured, and run again with ctest -j8.

In a real cgroup v1 memory cgroup of --limit-mib (default 4096; created under
/sys/fs/cgroup/memory like bench/memory, removed at the end) this script:
  1. writes a project with --tests corral_add_test() tests, each allocating and
     touching 300-900 MiB (bench/memory/alloc.c) and holding it 1-4 s, none
     declaring MEMORY (corral_setup(CPU_BOUND OFF): memory, not 2 CPUs, bounds it);
  2. configures it against this Corral build and runs `ctest -j1` (records);
  3. `corral profile --records <records> --out <source>/corral-profile.json`;
  4. re-configures (corral_setup finds the profile) and runs `ctest -j8`.
Prints, for run 2: failures, OOM kills (the records' oom_killed), the makespan (first
test start to last test end, from the records), and its ratio to
  - the best greedy schedule under Corral's own budget: CTest's list scheduler
    (start, in list order, every test whose mem_mib grant fits the spec's
    mem_mib and -j) simulated with run 2's own test times and the grants the
    profile gave, over the orders COST (what ctest used), longest first,
    largest first, area first, and 2000 random orders; the best of them;
  - the schedule's optimum in the full cgroup: its lower bound
    max(sum(peak_i x t_i) / limit, max t_i, sum t_i / 8), with the measured peaks.
Also the same -j8 run without the profile (PROFILE OFF) for comparison.
Needs root and a writable cgroup v1 memory hierarchy.
"""
import argparse, importlib.util, json, os, random, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
# bench/memory/run.py: the cgroup root, sh() and the alloc program.
_spec = importlib.util.spec_from_file_location("membench", os.path.join(HERE, "..", "memory", "run.py"))
membench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(membench)
CG_ROOT = membench.CG_ROOT
sh = membench.sh


def greedy(order, dur, grant, budget, j):
    """CTest's list scheduler: at each event start, in list order, every test that fits."""
    t = 0.0
    running = []  # (end, mib)
    pending = list(order)
    free = budget
    while pending or running:
        for i in list(pending):
            if len(running) < j and grant[i] <= free:
                running.append((t + dur[i], grant[i]))
                free -= grant[i]
                pending.remove(i)
        if not running:
            return float("inf")  # a test larger than the budget
        end = min(e for e, _ in running)
        t = end
        for e, m in [r for r in running if r[0] == end]:
            running.remove((e, m))
            free += m
    return t


def records_of(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out.setdefault(r.get("run_id", ""), []).append(r)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corral", required=True, help="the corral program (build/default/bin/corral)")
    ap.add_argument("--corral-build", help="Corral_DIR (default: the corral program's build tree)")
    ap.add_argument("--limit-mib", type=int, default=4096)
    ap.add_argument("--tests", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    corral = os.path.abspath(a.corral)
    corral_build = os.path.abspath(a.corral_build or os.path.join(os.path.dirname(corral), ".."))
    if not os.access(CG_ROOT, os.W_OK):
        print(f"SKIP: {CG_ROOT} is not writable (needs root and cgroup v1 memory)")
        return 2
    work = tempfile.mkdtemp(prefix="corral-profbench-")
    cg = os.path.join(CG_ROOT, f"corral-profbench-{os.getpid()}")
    old_cg = None
    try:
        alloc = os.path.join(work, "alloc")
        sh(["cc", "-O2", "-o", alloc, os.path.join(HERE, "..", "memory", "alloc.c")])
        rng = random.Random(a.seed)
        tests = [(f"t{i:02d}", rng.randint(300, 900), rng.randint(1000, 4000)) for i in range(a.tests)]
        src = os.path.join(work, "src")
        os.makedirs(src)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.16)\nproject(profbench NONE)\nenable_testing()\n"
                    "find_package(Corral REQUIRED)\n"
                    "corral_setup(CPU_BOUND OFF ${PROFILE_ARGS})\n")
            for name, mib, ms in tests:
                f.write(f'corral_add_test(NAME {name} COMMAND "{alloc}" {mib} {ms})\n')
        build = os.path.join(work, "build")
        records = os.path.join(build, "corral-plan", "records.jsonl")

        os.mkdir(cg)
        with open(os.path.join(cg, "memory.limit_in_bytes"), "w") as f:
            f.write(str(a.limit_mib << 20))
        for line in open("/proc/self/cgroup"):
            parts = line.strip().split(":", 2)
            if "memory" in parts[1].split(","):
                old_cg = CG_ROOT + parts[2]
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

        def configure(extra=()):
            return sh(["cmake", "-S", src, "-B", build, "-G", "Ninja", f"-DCorral_DIR={corral_build}",
                       *extra])

        def ctest(jobs):
            """Wall seconds, failed tests, OOM kills (the run's records: oom_killed; the
            bench cgroup's own memory.oom_control counter stays 0 when the kill is
            charged to a test's child cgroup), ctest's output."""
            t0 = time.monotonic()
            r = subprocess.run(["ctest", "--test-dir", build, "-j", str(jobs)], text=True,
                               capture_output=True)
            wall = time.monotonic() - t0
            failed = sum(1 for line in r.stdout.splitlines() if "***" in line and "Test #" in line)
            runs = records_of(records)
            last = max(runs.values(), key=lambda rs: min(x["start_unix"] for x in rs))
            kills = sum(1 for x in last if x.get("oom_killed"))
            return wall, failed, kills, r.stdout

        # Run 1: -j1, no declarations, no profile: the records.
        configure(["-DPROFILE_ARGS=PROFILE;OFF"])
        w1, f1, k1, _ = ctest(1)
        print(f"run 1: ctest -j1, {a.tests} tests declaring no memory: {w1:.1f} s, {f1} failed, "
              f"{k1} OOM kills")
        profile = os.path.join(src, "corral-profile.json")
        sh([corral, "profile", "--records", records, "--out", profile])
        print(sh([corral, "profile", "--merge", profile]))

        # Without the profile at -j8, for comparison (the 8 of 24 OOM-killed).
        w0, f0, k0, _ = ctest(a.jobs)
        runs = records_of(records)
        print(f"without the profile: ctest -j{a.jobs}: {w0:.1f} s, {f0} failed, {k0} OOM kills")

        # Run 2: re-configure with the profile, -j8.
        out = configure(["-DPROFILE_ARGS="])
        for line in out.splitlines():
            if "Corral: profile" in line:
                print(line)
        w2, f2, k2, stdout2 = ctest(a.jobs)
        runs = records_of(records)
        last = max(runs.values(), key=lambda rs: min(r["start_unix"] for r in rs))
        run2 = {r["name"]: r for r in last}
        start = min(r["start_unix"] for r in last)
        end = max(r["end_unix"] for r in last)
        makespan = end - start

        spec = json.load(open(os.path.join(build, "corral-plan", "test-time", "resources.json")))
        local = spec["local"][0]
        budget = sum(int(x["slots"]) for x in local.get("mem_mib", []))
        applied = {}
        for line in open(os.path.join(build, "corral-plan", "profile-applied.txt")):
            if line.startswith("#"):
                continue
            name, mib, cost, procs = line.split()
            applied[name] = (int(mib), float(cost))
        names = [n for n, _, _ in tests]
        dur = {n: run2[n]["wall_seconds"] for n in names}
        grant = {n: applied[n][0] for n in names}
        peak = {n: run2[n].get("peak_nonreclaimable_bytes") or run2[n]["peak_memory_bytes"] for n in names}
        orders = {
            "COST (ctest's order)": sorted(names, key=lambda n: -applied[n][1]),
            "longest first": sorted(names, key=lambda n: -dur[n]),
            "largest first": sorted(names, key=lambda n: -grant[n]),
            "area first": sorted(names, key=lambda n: -grant[n] * dur[n]),
            "name order (no COST)": list(names),
        }
        r2 = random.Random(1)
        best_random = float("inf")
        for _ in range(2000):
            o = list(names)
            r2.shuffle(o)
            best_random = min(best_random, greedy(o, dur, grant, budget, a.jobs))
        sims = {k: greedy(o, dur, grant, budget, a.jobs) for k, o in orders.items()}
        best = min(min(sims.values()), best_random)
        area = sum(peak[n] / (1 << 20) * dur[n] for n in names)
        optimum = max(area / a.limit_mib, max(dur.values()), sum(dur.values()) / a.jobs)

        print(f"run 2: ctest -j{a.jobs} with the profile: {w2:.1f} s, {f2} failed, {k2} OOM kills")
        print(f"\nbudget (spec mem_mib) {budget} MiB of the {a.limit_mib} MiB cgroup; grants = "
              f"peak + 20 %: {min(grant.values())}-{max(grant.values())} MiB")
        print("simulated greedy (CTest list scheduling, run 2's test times):")
        for k, v in sims.items():
            print(f"  {k:24} {v:7.2f} s")
        print(f"  {'best of 2000 random':24} {best_random:7.2f} s")
        print(f"\nrun 2 makespan (records: first start to last end) {makespan:.2f} s")
        print(f"ratio to the best greedy schedule under Corral's budget: {makespan / best:.3f}"
              f"  (best {best:.2f} s)")
        print(f"ratio to the optimum's lower bound in the full {a.limit_mib} MiB cgroup: "
              f"{makespan / optimum:.3f}  (bound {optimum:.2f} s)")
        ok = f2 == 0 and k2 == 0 and makespan <= 1.05 * best
        print("PASS" if ok else "FAIL", "(0 failures, 0 OOM kills, within 1.05x of the best greedy)")
        if f2:
            print(stdout2)
        return 0 if ok else 1
    finally:
        membench.leave_cgroup(cg, old_cg)
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
