#!/usr/bin/env python3
"""Overhead of `corral run` against the bare command: `/bin/true` and `sleep 0.02`.

Also `sleep 0.06`: a test that ends just after the default late cgroup move
(kCgroupJoinDelayMs = 50 ms), the worst case of `--cgroup auto`; and the CTest
form of `/bin/true`, as corral_setup() has ctest launch each test (--plan,
--records, a CTest resource grant in the environment). The floor: a 10-line
static C launcher (floor.c) that posix_spawns `/bin/true`, so corral's own
work shows apart from what any launcher adds (one more exec, two wakeups:
this host's state moves that by tenths of a millisecond between runs). And
`/bin/true` under a scratch root where only short tests run: past a backlog
of retired scratch directories, each launch there removes one as its test
starts (launcher.hpp kRetireDelayMs; the other variants share one root, where
the sleeps remove them while they run).

Runs the variants interleaved, in a new random order each round (so machine
noise and position hit them alike), N times
each, and prints the median wall time of each, the ratio and the absolute
difference. Usage:

    bench/run_overhead/run_overhead.py [--corral PATH] [--baseline PATH] [-n N]

--baseline times a second (older) corral in the same interleaved run, so
before/after numbers come side by side.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def settle_page_cache(exe: str, how: str, tmp: str, index: int) -> str:
    """The program to time, its page cache in the state `how` names.

    How a file's page cache was filled decides how fast it starts and exits:
    written by `cp` (or read with read(2)) it sits in large folios, faulted in
    by exec it sits in 4 KiB pages, and every fault and every page table entry
    torn down at exit costs more (bench/run_overhead/README.md, sixth step).
    A freshly linked program is in neither state reliably; both builds must be
    in the same one.
    """
    if how == "copy":
        dst = os.path.join(tmp, f"corral-{index}")
        shutil.copyfile(exe, dst)
        os.chmod(dst, 0o755)
        return dst
    os.sync()  # only clean pages are dropped
    fd = os.open(exe, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return exe


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "build", "default", "bin", "corral")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corral", default=default, help="the corral program (default: %(default)s)")
    ap.add_argument("--baseline", help="an older corral to time side by side (before/after)")
    ap.add_argument("-n", type=int, default=300, help="runs per variant (default: %(default)s)")
    ap.add_argument("--page-cache", choices=("evict", "copy"), default="evict",
                    help="the state of each corral program's page cache: evict = dropped, then "
                         "faulted in by exec as a program read from disk after boot; copy = a "
                         "fresh copy written by cp (large folios on Linux >= 6.16 ext4: "
                         "0.3-0.7 ms faster here). Only binaries in the same state compare "
                         "(default: %(default)s)")
    args = ap.parse_args()
    corral = os.path.abspath(args.corral)
    if not os.access(corral, os.X_OK):
        print(f"run_overhead: {corral} is not executable; build it or pass --corral", file=sys.stderr)
        return 2

    # A second scratch root on tmpfs, when the host has one: the difference is
    # what the scratch directory's filesystem costs (mkdir + rmdir; on ext4
    # mounted with online `discard` the rmdir waits for a discard, see README).
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as scratch, \
            tempfile.TemporaryDirectory(prefix="corral-bench-", dir=shm) as tmpfs, \
            tempfile.TemporaryDirectory(prefix="corral-bench-bin-") as bindir:
        variants = {"/bin/true": ["/bin/true"], "sleep 0.02": ["sleep", "0.02"],
                    "sleep 0.06": ["sleep", "0.06"]}
        # The floor: a 10-line static C launcher (floor.c). corral's own work is
        # what it adds over this one; the machine's state moves both alike.
        floor = os.path.join(bindir, "floor")
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc and subprocess.run([cc, "-O2", "-static-pie", "-o", floor,
                                  os.path.join(here, "floor.c")]).returncode == 0:
            variants["floor: posix_spawn launcher -- /bin/true"] = [floor, "/bin/true"]
        else:
            print("run_overhead: no C compiler could link floor.c static-pie: no floor variant",
                  file=sys.stderr)
        builds = [("", corral)]
        if args.baseline:
            builds.append(("before: ", os.path.abspath(args.baseline)))
        builds = [(label, settle_page_cache(exe, args.page_cache, bindir, i))
                  for i, (label, exe) in enumerate(builds)]
        # The CTest form: what corral_setup() makes ctest run for each test
        # (a plan, a records file, a CTest resource grant).
        plan_dir = os.path.join(bindir, "plan")
        subprocess.run([corral, "generate", "--out", plan_dir], check=True,
                       stdout=subprocess.DEVNULL)
        grant = dict(os.environ, CTEST_RESOURCE_GROUP_COUNT="1",
                     CTEST_RESOURCE_GROUP_0="cpus,mem_mib",
                     CTEST_RESOURCE_GROUP_0_CPUS="id:0,slots:1",
                     CTEST_RESOURCE_GROUP_0_MEM_MIB="id:0,slots:512")
        ctest_form = {}
        for index, (label, exe) in enumerate(builds):
            ctest_form[f"{label}corral run, CTest form, -- /bin/true"] = (
                [exe, "run", "--grace", "5", "--timeout-multiplier", "1", "--scratch-root",
                 scratch, "--plan", os.path.join(plan_dir, "plan.json"), "--records",
                 os.path.join(bindir, f"records-{index}.jsonl"), "--leak", "fail", "--",
                 "/bin/true"])
        for label, exe in builds:
            run = [exe, "run", "--scratch-root", scratch]
            variants[f"{label}corral run -- /bin/true"] = run + ["--", "/bin/true"]
            variants[f"{label}corral run -- sleep 0.02"] = run + ["--", "sleep", "0.02"]
            variants[f"{label}corral run --cgroup require -- sleep 0.02"] = (
                run + ["--cgroup", "require", "--", "sleep", "0.02"])
            variants[f"{label}corral run --cgroup off -- sleep 0.02"] = (
                run + ["--cgroup", "off", "--", "sleep", "0.02"])
            # Ends just after the late cgroup move (50 ms): the worst case of auto.
            variants[f"{label}corral run -- sleep 0.06"] = run + ["--", "sleep", "0.06"]
            # A root where only short tests run: none of them runs long enough
            # to remove the retired directories (launcher.hpp kRetireDelayMs),
            # so past the backlog each launch removes one as its test starts.
            # Filled to the backlog (16) beforehand, so every timed launch is in
            # that steady state.
            own_root = os.path.join(scratch, f"short-only-{len(variants)}")
            pool = os.path.join(own_root, f".corral-retired-{os.geteuid()}")
            os.makedirs(pool, mode=0o700)
            os.chmod(pool, 0o700)
            for i in range(16):
                os.mkdir(os.path.join(pool, f"r-backlog{i}"))
            variants[f"{label}corral run -- /bin/true (root of short tests only)"] = [
                exe, "run", "--scratch-root", own_root, "--", "/bin/true"]
            if shm:
                variants[f"{label}corral run -- /bin/true (scratch on tmpfs)"] = [
                    exe, "run", "--scratch-root", tmpfs, "--", "/bin/true"]
        variants.update(ctest_form)
        env_of = {name: grant if name in ctest_form else None for name in variants}
        times = {name: [] for name in variants}
        for _ in range(3):  # warm caches
            for name, cmd in variants.items():
                subprocess.run(cmd, check=True, env=env_of[name])
        # A fresh random order every round: a fixed order biases whichever
        # variant follows the bare sleeps (an idle CPU wakes up slower).
        rng = random.Random(12)
        order = list(variants.items())
        for _ in range(args.n):
            rng.shuffle(order)
            for name, cmd in order:
                t0 = time.perf_counter_ns()
                subprocess.run(cmd, check=True, env=env_of[name])
                times[name].append((time.perf_counter_ns() - t0) / 1e6)

    def base_of(name):
        bare = next((b for b in ("sleep 0.02", "sleep 0.06") if b in name), "/bin/true")
        return statistics.median(times[bare])
    print(f"runs per variant: {args.n} (interleaved, shuffled); page cache: {args.page_cache}; "
          f"corral: {corral}")
    print(f"{'variant':52} {'median ms':>10} {'p90 ms':>8} {'ratio':>6} {'+ms':>7}")
    for name, ts in times.items():
        med = statistics.median(ts)
        p90 = statistics.quantiles(ts, n=10)[-1]
        base = base_of(name)
        print(f"{name:52} {med:10.2f} {p90:8.2f} {med / base:6.2f} {med - base:7.2f}")
    floor_name = "floor: posix_spawn launcher -- /bin/true"
    if floor_name in times:
        for label, _ in builds:
            name = f"{label}corral run -- /bin/true"
            print(f"{label}corral's own work over the floor launcher: "
                  f"{statistics.median(times[name]) - statistics.median(times[floor_name]):+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
