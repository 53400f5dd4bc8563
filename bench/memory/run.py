#!/usr/bin/env python3
"""Memory-bound suite in a real 4 GiB cgroup v1 memory cgroup, under the plan's budget.

Creates /sys/fs/cgroup/memory/corral-bench-<pid> (memory.limit_in_bytes = --limit),
moves itself in, plans with `corral plan` (the measured reserve, and for comparison the
old flat reserve max(10 %, 512 MiB)), and runs a CTest suite of tests that each allocate
and touch 400-600 MiB for --hold-ms, every test under `corral run` and declaring
mem_mib, with `ctest --resource-spec-file` from `corral spec`. Prints per variant:
budget, OOM kills (memory.oom_control oom_kill), failed tests, makespan and its ratio
to the schedule optimum's lower bound max(sum(MiB_i x s_i) / limit, max s_i).
Also measures the peak RSS (VmHWM) of one `corral run` beside its test.
Needs root and a writable cgroup v1 memory hierarchy; removes the cgroup at the end.
"""
import argparse, json, os, random, shutil, subprocess, sys, tempfile, time, xml.etree.ElementTree as ET

CG_ROOT = "/sys/fs/cgroup/memory"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def oom_kills(cg):
    for line in open(os.path.join(cg, "memory.oom_control")):
        k, _, v = line.partition(" ")
        if k == "oom_kill":
            return int(v)
    return 0


def leave_cgroup(cg, old_cg):
    """Move this process back to old_cg (if any) and remove the bench cgroup cg,
    retrying while its last processes drain."""
    if old_cg:
        with open(os.path.join(old_cg, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    if os.path.isdir(cg):
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)


def launcher_rss(corral, work):
    """Peak RSS (VmHWM, KiB) of `corral run` while its test sleeps."""
    p = subprocess.Popen([corral, "run", "--scratch-root", work, "--", "sleep", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.6)
    hwm = None
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    finally:
        p.wait()
    return hwm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corral", required=True)
    ap.add_argument("--limit-mib", type=int, default=4096)
    ap.add_argument("--tests", type=int, default=24)
    ap.add_argument("--hold-ms", type=int, default=1500)
    ap.add_argument("--oversubscription", default="4", help="CORRAL_OVERSUBSCRIPTION: tests mostly sleep")
    a = ap.parse_args()
    corral = os.path.abspath(a.corral)
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.access(CG_ROOT, os.W_OK):
        print(f"SKIP: {CG_ROOT} is not writable (needs root and cgroup v1 memory)")
        return 2
    work = tempfile.mkdtemp(prefix="corral-membench-")
    cg = os.path.join(CG_ROOT, f"corral-bench-{os.getpid()}")
    old_cg = None
    try:
        sh(["cc", "-O2", "-o", os.path.join(work, "alloc"), os.path.join(here, "alloc.c")])
        rng = random.Random(11)
        sizes = [rng.randint(400, 600) for _ in range(a.tests)]
        src = os.path.join(work, "src")
        os.makedirs(src)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.16)\nproject(membench NONE)\nenable_testing()\n")
            for i, mib in enumerate(sizes):
                # the test's own memory + its process (a few MiB)
                f.write(f'add_test(NAME t{i:02d} COMMAND "{corral}" run --scratch-root "{work}" -- '
                        f'"{work}/alloc" {mib} {a.hold_ms})\n')
                f.write(f'set_tests_properties(t{i:02d} PROPERTIES RESOURCE_GROUPS "mem_mib:{mib + 4}")\n')
        build = os.path.join(work, "build")
        sh(["cmake", "-S", src, "-B", build])

        os.mkdir(cg)
        with open(os.path.join(cg, "memory.limit_in_bytes"), "w") as f:
            f.write(str(a.limit_mib << 20))
        for line in open("/proc/self/cgroup"):
            parts = line.strip().split(":", 2)
            if "memory" in parts[1].split(","):
                old_cg = CG_ROOT + parts[2]
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

        rss_kib = launcher_rss(corral, work)
        print(f"corral run peak RSS (VmHWM) beside a sleeping test: {rss_kib} KiB")
        results = []
        variants = [("measured reserve (default)", {}),
                    ("flat reserve max(10 %, 512 MiB)", {"CORRAL_MEMORY_RESERVE_FRACTION": "10%"})]
        for name, extra in variants:
            env = dict(os.environ, CORRAL_OVERSUBSCRIPTION=a.oversubscription, **extra)
            plan = json.loads(sh([corral, "plan", "--json"], env=env))
            spec = os.path.join(work, "spec.json")
            with open(spec, "w") as f:
                f.write(sh([corral, "spec"], env=env))
            level = plan["test_parallel_level"]
            before = oom_kills(cg)
            junit = os.path.join(work, "junit.xml")
            t0 = time.monotonic()
            r = subprocess.run(["ctest", "--test-dir", build, "-j", str(level),
                                "--resource-spec-file", spec, "--output-junit", junit],
                               text=True, capture_output=True)
            makespan = time.monotonic() - t0
            kills = oom_kills(cg) - before
            failed = 0
            area = 0.0
            longest = 0.0
            for tc in ET.parse(junit).getroot().iter("testcase"):
                secs = float(tc.get("time", "0"))
                mib = sizes[int(tc.get("name")[1:])] + 4
                area += mib * secs
                longest = max(longest, secs)
                if tc.get("status") not in ("run", None) or tc.find("failure") is not None:
                    failed += 1
            optimum = max(area / a.limit_mib, longest)
            results.append((name, plan["memory_budget_bytes"] >> 20, plan["memory_reserve_bytes"] >> 20,
                            level, kills, failed, makespan, optimum))
            print(f"\n{name}: {plan['memory_budget_reason']}")
        print(f"\n{a.tests} tests of 400-600 MiB held {a.hold_ms} ms, cgroup v1 limit {a.limit_mib} MiB")
        print(f"{'variant':34} {'budget MiB':>10} {'reserve':>8} {'-j':>3} {'OOM':>4} {'failed':>6} "
              f"{'makespan s':>10} {'optimum s':>9} {'ratio':>6}")
        for name, budget, reserve, level, kills, failed, ms, opt in results:
            print(f"{name:34} {budget:>10} {reserve:>8} {level:>3} {kills:>4} {failed:>6} "
                  f"{ms:>10.2f} {opt:>9.2f} {ms / opt:>6.2f}")
        return 0 if all(r[4] == 0 and r[5] == 0 for r in results) else 1
    finally:
        leave_cgroup(cg, old_cg)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
