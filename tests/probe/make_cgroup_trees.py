#!/usr/bin/env python3
# Writes the recorded cgroup host trees tests/data/hosts/cgroup-*/ and their expected.json.
# The trees model real layouts (systemd v2, docker/k8s v1 bind mounts, the hybrid CI host);
# the expected numbers are computed here, independently of the C++ code under test.
# Run from anywhere: python3 tests/probe/make_cgroup_trees.py (rewrites only cgroup-* trees).
import json, os, shutil
BASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hosts")
GiB = 1 << 30
MiB = 1 << 20

def w(tree, path, text):
    p = os.path.join(BASE, tree, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text if text.endswith("\n") or text == "" else text + "\n")

def meminfo(total_kb=16 * 1024 * 1024, avail_kb=12 * 1024 * 1024, swap_kb=2 * 1024 * 1024):
    return (f"MemTotal:       {total_kb} kB\nMemFree:        {avail_kb - 1024} kB\n"
            f"MemAvailable:   {avail_kb} kB\nBuffers:            1336 kB\nCached:           157032 kB\n"
            f"SwapCached:            0 kB\nSwapTotal:       {swap_kb} kB\nSwapFree:        {swap_kb} kB\n")

def status(allowed):
    return ("Name:\tcorral\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\nPid:\t4242\n"
            f"Cpus_allowed:\tff\nCpus_allowed_list:\t{allowed}\nMems_allowed_list:\t0\n")

ROOTFS = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n22 27 0:21 / /proc rw,relatime - proc proc rw\n23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"

def host(tree, online, allowed, cgroup, mountinfo, **mem):
    d = os.path.join(BASE, tree)
    if os.path.exists(d):
        shutil.rmtree(d)
    w(tree, "proc/meminfo", meminfo(**mem))
    w(tree, "proc/self/status", status(allowed))
    w(tree, "sys/devices/system/cpu/online", online)
    w(tree, "proc/self/cgroup", cgroup)
    w(tree, "proc/self/mountinfo", ROOTFS + mountinfo)

def expect(tree, description, cpu, memory):
    with open(os.path.join(BASE, tree, "expected.json"), "w") as f:
        json.dump({"description": description, "cpu": cpu, "memory": memory}, f, indent=2)
        f.write("\n")

V2 = "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
CG = "/sys/fs/cgroup"
TOTAL = 16 * GiB
AVAIL = 12 * GiB
SWAP = 2 * GiB

def v2stat(inactive):
    return f"anon 104857600\nfile 536870912\nkernel 8388608\nactive_anon 0\ninactive_anon 104857600\nactive_file 268435456\ninactive_file {inactive}\nunevictable 0\n"

def v1stat(inactive, hierarchical):
    return (f"cache 536870912\nrss 104857600\ninactive_file {inactive}\nhierarchical_memory_limit {hierarchical}\n"
            f"hierarchical_memsw_limit 9223372036854771712\ntotal_cache 536870912\ntotal_rss 104857600\ntotal_inactive_file {inactive}\n")

# 1. cgroup v2, limits on the leaf
t = "cgroup-v2-leaf-limit"
host(t, "0-7", "0-7", "0::/ci.slice/job-1.scope", V2)
w(t, f"{CG}/cgroup.controllers", "cpuset cpu io memory pids")
w(t, f"{CG}/cpuset.cpus.effective", "0-7")
for d in ("ci.slice",):
    w(t, f"{CG}/{d}/cpu.max", "max 100000"); w(t, f"{CG}/{d}/memory.max", "max"); w(t, f"{CG}/{d}/memory.high", "max")
leaf = f"{CG}/ci.slice/job-1.scope"
w(t, f"{leaf}/cpu.max", "150000 100000")
w(t, f"{leaf}/cpu.weight", "100")
w(t, f"{leaf}/cpuset.cpus.effective", "0-7")
w(t, f"{leaf}/memory.max", str(3 * GiB))
w(t, f"{leaf}/memory.high", "max")
w(t, f"{leaf}/memory.current", str(1 * GiB))
w(t, f"{leaf}/memory.stat", v2stat(256 * MiB))
expect(t, "cgroup v2: 1.5 CPUs and 3 GiB on the leaf cgroup",
       {"online": 8, "affinity": 8, "quota": 1.5, "cpuset": None, "effective": 2,
        "quota_source_contains": "150000/100000 at /sys/fs/cgroup/ci.slice/job-1.scope (leaf)",
        "effective_source_contains": "min(affinity 8, ceil(quota 1.5))"},
       {"total_bytes": TOTAL, "available_bytes": 3 * GiB - (1 * GiB - 256 * MiB), "limit_bytes": 3 * GiB,
        "high_bytes": None, "swap_total_bytes": SWAP, "effective_bytes": 3 * GiB,
        "limit_source_contains": "cgroup v2 memory.max = 3221225472 (3.0 GiB) at /sys/fs/cgroup/ci.slice/job-1.scope (leaf)"})

# 2. cgroup v2, limit only on an ancestor two levels up
t = "cgroup-v2-ancestor-limit"
host(t, "0-7", "0-7", "0::/runner.slice/job.slice/step.scope", V2)
w(t, f"{CG}/cgroup.controllers", "cpu memory pids")
a = f"{CG}/runner.slice"
w(t, f"{a}/cpu.max", "200000 100000"); w(t, f"{a}/memory.max", str(2 * GiB)); w(t, f"{a}/memory.high", "max")
w(t, f"{a}/memory.current", str(512 * MiB)); w(t, f"{a}/memory.stat", v2stat(0))
for d in (f"{a}/job.slice", f"{a}/job.slice/step.scope"):
    w(t, f"{d}/cpu.max", "max 100000"); w(t, f"{d}/memory.max", "max"); w(t, f"{d}/memory.high", "max")
    w(t, f"{d}/memory.current", str(100 * MiB)); w(t, f"{d}/memory.stat", v2stat(0))
expect(t, "cgroup v2: no limit on the leaf, 2 CPUs and 2 GiB on an ancestor two levels up",
       {"online": 8, "affinity": 8, "quota": 2.0, "effective": 2,
        "quota_source_contains": "200000/100000 at /sys/fs/cgroup/runner.slice (2 levels up)"},
       {"total_bytes": TOTAL, "available_bytes": 2 * GiB - 512 * MiB, "limit_bytes": 2 * GiB,
        "high_bytes": None, "effective_bytes": 2 * GiB,
        "limit_source_contains": "at /sys/fs/cgroup/runner.slice (2 levels up)",
        "available_source_contains": "at /sys/fs/cgroup/runner.slice"})

# 3. cgroup v2, the ancestor is stricter than the leaf (what Go/.NET/automaxprocs miss)
t = "cgroup-v2-ancestor-stricter"
host(t, "0-15", "0-15", "0::/tenant/build", V2)
w(t, f"{CG}/cgroup.controllers", "cpu memory")
w(t, f"{CG}/tenant/cpu.max", "100000 100000"); w(t, f"{CG}/tenant/memory.max", str(2 * GiB))
w(t, f"{CG}/tenant/memory.high", "max")
w(t, f"{CG}/tenant/memory.current", str(1 * GiB)); w(t, f"{CG}/tenant/memory.stat", v2stat(512 * MiB))
w(t, f"{CG}/tenant/build/cpu.max", "400000 100000"); w(t, f"{CG}/tenant/build/memory.max", str(8 * GiB))
w(t, f"{CG}/tenant/build/memory.high", str(1 * GiB))
w(t, f"{CG}/tenant/build/memory.current", str(700 * MiB)); w(t, f"{CG}/tenant/build/memory.stat", v2stat(100 * MiB))
expect(t, "cgroup v2: leaf allows 4 CPUs and 8 GiB, its parent only 1 CPU and 2 GiB; memory.high 1 GiB on the leaf",
       {"online": 16, "affinity": 16, "quota": 1.0, "effective": 1,
        "quota_source_contains": "100000/100000 at /sys/fs/cgroup/tenant (mount root)".replace("mount root", "parent")},
       # memory.high 1 GiB on the leaf is lower than the parent's memory.max: it is the ceiling,
       # and what is available is counted in the leaf: 1 GiB - (700 MiB - 100 MiB).
       {"total_bytes": TOTAL, "available_bytes": 1 * GiB - 600 * MiB, "limit_bytes": 2 * GiB,
        "high_bytes": 1 * GiB, "effective_bytes": 1 * GiB, "ceiling_bytes": 1 * GiB,
        "ceiling_kind": "memory.high", "ceiling_cgroup": f"{CG}/tenant/build",
        "in_use_bytes": 600 * MiB,
        "limit_source_contains": "at /sys/fs/cgroup/tenant (parent)",
        "high_source_contains": "memory.high = 1073741824 (1.0 GiB) at /sys/fs/cgroup/tenant/build (leaf)"})

# 3b. cgroup v2, memory.high on an ancestor (systemd MemoryHigh= on the slice), memory.max on the
# leaf only; memory.low/min protections and swap.max 0 around it. Field case "memory-high" kind.
t = "cgroup-v2-high-ancestor"
host(t, "0-7", "0-7", "0::/user.slice/ci.slice/job.scope", V2, swap_kb=0)
w(t, f"{CG}/cgroup.controllers", "cpu memory pids")
a = f"{CG}/user.slice"
w(t, f"{a}/memory.max", "max"); w(t, f"{a}/memory.high", str(3 * GiB))
w(t, f"{a}/memory.low", str(6 * GiB)); w(t, f"{a}/memory.min", str(5 * GiB))
w(t, f"{a}/memory.current", str(1 * GiB)); w(t, f"{a}/memory.stat", v2stat(256 * MiB))
w(t, f"{a}/ci.slice/memory.max", "max"); w(t, f"{a}/ci.slice/memory.high", "max")
w(t, f"{a}/ci.slice/memory.swap.max", "0")
leaf = f"{a}/ci.slice/job.scope"
w(t, f"{leaf}/memory.max", str(4 * GiB)); w(t, f"{leaf}/memory.high", "max")
w(t, f"{leaf}/memory.low", str(8 * GiB))
w(t, f"{leaf}/memory.current", str(300 * MiB)); w(t, f"{leaf}/memory.stat", v2stat(0))
expect(t, "cgroup v2: memory.high 3 GiB on user.slice (2 levels up) under the leaf's memory.max 4 GiB; memory.low/min are protections, swap.max 0",
       {"online": 8, "affinity": 8, "quota": None, "effective": 8},
       {"total_bytes": TOTAL, "limit_bytes": 4 * GiB, "high_bytes": 3 * GiB,
        "ceiling_bytes": 3 * GiB, "ceiling_kind": "memory.high", "ceiling_cgroup": a,
        "effective_bytes": 3 * GiB, "available_bytes": 3 * GiB - (1 * GiB - 256 * MiB),
        "in_use_bytes": 1 * GiB - 256 * MiB, "swap_total_bytes": 0, "swap_limit_bytes": 0,
        "soft_limit_bytes": None,
        "ceiling_source_contains": "memory.high = 3221225472 (3.0 GiB) at /sys/fs/cgroup/user.slice (2 levels up) (below memory.max 4294967296",
        "swap_limit_source_contains": "memory.swap.max = 0 (0 B) at /sys/fs/cgroup/user.slice/ci.slice (parent)",
        "notes_contain": "no swap"})

# 4. cgroup v1 bind-mounted inside a container: mount root == cgroup path
t = "cgroup-v1-container-bind"
cid = "/docker/4f1e2d3c4b5a"
host(t, "0-15", "0-15",
     f"12:memory:{cid}\n11:cpu,cpuacct:{cid}\n10:cpuset:{cid}\n9:pids:{cid}\n1:name=systemd:{cid}\n0::/system.slice/containerd.service",
     f"40 23 0:40 / {CG} rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755\n"
     f"41 40 0:41 {cid} {CG}/systemd ro,nosuid,nodev,noexec,relatime master:11 - cgroup cgroup rw,xattr,name=systemd\n"
     f"42 40 0:42 {cid} {CG}/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,cpu,cpuacct\n"
     f"43 40 0:43 {cid} {CG}/cpuset ro,nosuid,nodev,noexec,relatime master:17 - cgroup cgroup rw,cpuset\n"
     f"44 40 0:44 {cid} {CG}/memory ro,nosuid,nodev,noexec,relatime master:18 - cgroup cgroup rw,memory\n"
     f"45 40 0:45 {cid} {CG}/pids ro,nosuid,nodev,noexec,relatime master:19 - cgroup cgroup rw,pids\n")
w(t, f"{CG}/cpu,cpuacct/cpu.cfs_quota_us", "250000"); w(t, f"{CG}/cpu,cpuacct/cpu.cfs_period_us", "100000")
w(t, f"{CG}/cpu,cpuacct/cpu.shares", "1024")
w(t, f"{CG}/cpuset/cpuset.effective_cpus", "0-15"); w(t, f"{CG}/cpuset/cpuset.cpus", "0-15")
w(t, f"{CG}/memory/memory.limit_in_bytes", str(4 * GiB))
w(t, f"{CG}/memory/memory.usage_in_bytes", str(1 * GiB))
w(t, f"{CG}/memory/memory.stat", v1stat(512 * MiB, 4 * GiB))
expect(t, "cgroup v1 inside a docker container: each hierarchy bind-mounted with root = the container's cgroup path; cpu and cpuacct share one hierarchy",
       {"online": 16, "affinity": 16, "quota": 2.5, "cpuset": None, "effective": 3,
        "quota_source_contains": "cgroup v1 cpu cpu.cfs_quota_us/cpu.cfs_period_us = 250000/100000 at /sys/fs/cgroup/cpu,cpuacct (leaf = mount root)"},
       {"total_bytes": TOTAL, "available_bytes": 4 * GiB - 512 * MiB, "limit_bytes": 4 * GiB,
        "high_bytes": None, "effective_bytes": 4 * GiB,
        "limit_source_contains": "memory.limit_in_bytes = 4294967296 (4.0 GiB) at /sys/fs/cgroup/memory (leaf = mount root)"})

# 5. cgroup v1 container whose memory limit sits above the visible mount root
t = "cgroup-v1-limit-above-mount-root"
host(t, "0-3", "0-3", f"5:memory:{cid}\n4:cpu,cpuacct:{cid}",
     f"42 23 0:42 {cid} {CG}/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n"
     f"44 23 0:44 {cid} {CG}/memory ro - cgroup cgroup rw,memory\n")
w(t, f"{CG}/cpu,cpuacct/cpu.cfs_quota_us", "-1"); w(t, f"{CG}/cpu,cpuacct/cpu.cfs_period_us", "100000")
w(t, f"{CG}/memory/memory.limit_in_bytes", "9223372036854771712")
w(t, f"{CG}/memory/memory.usage_in_bytes", str(600 * MiB))
w(t, f"{CG}/memory/memory.stat", v1stat(100 * MiB, 2 * GiB))
expect(t, "cgroup v1: the container's own limit is unlimited, but memory.stat hierarchical_memory_limit shows 2 GiB set on an ancestor outside the container",
       {"online": 4, "affinity": 4, "quota": None, "effective": 4,
        "quota_source_contains": "none: no cpu.cfs_quota_us/cpu.cfs_period_us limit in cgroup v1 cpu"},
       {"total_bytes": TOTAL, "available_bytes": 2 * GiB - 500 * MiB, "limit_bytes": 2 * GiB,
        "effective_bytes": 2 * GiB,
        "limit_source_contains": "hierarchical_memory_limit",
        "notes_contain": "above the visible mount root"})

# 5b. cgroup v1 soft limit (not a limit) and memsw (memory+swap)
t = "cgroup-v1-soft-limit"
host(t, "0-3", "0-3", "5:memory:/ci/job\n4:cpu,cpuacct:/",
     f"44 23 0:44 / {CG}/memory rw - cgroup cgroup rw,memory\n42 23 0:42 / {CG}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n")
w(t, f"{CG}/cpu,cpuacct/cpu.cfs_quota_us", "-1"); w(t, f"{CG}/cpu,cpuacct/cpu.cfs_period_us", "100000")
w(t, f"{CG}/memory/ci/job/memory.limit_in_bytes", str(6 * GiB))
w(t, f"{CG}/memory/ci/job/memory.soft_limit_in_bytes", str(2 * GiB))
w(t, f"{CG}/memory/ci/job/memory.memsw.limit_in_bytes", str(7 * GiB))
w(t, f"{CG}/memory/ci/job/memory.usage_in_bytes", str(1 * GiB))
w(t, f"{CG}/memory/ci/job/memory.stat", v1stat(512 * MiB, 6 * GiB))
expect(t, "cgroup v1: soft_limit_in_bytes 2 GiB below the 6 GiB hard limit is not a limit; memsw 7 GiB = 1 GiB of swap",
       {"online": 4, "effective": 4},
       {"total_bytes": TOTAL, "limit_bytes": 6 * GiB, "ceiling_bytes": 6 * GiB,
        "ceiling_kind": "memory.limit_in_bytes", "effective_bytes": 6 * GiB,
        "available_bytes": 6 * GiB - 512 * MiB, "in_use_bytes": 512 * MiB,
        "soft_limit_bytes": 2 * GiB, "swap_limit_bytes": 1 * GiB, "high_bytes": None,
        "notes_contain": "is not a limit: the kernel reclaims toward it only under global memory pressure"})

# 6. hybrid host (this machine's layout): v1 controllers + empty cgroup2 at /sys/fs/cgroup/unified
t = "cgroup-hybrid-host"
host(t, "0-1", "0-1",
     "9:name=systemd:/\n8:pids:/\n4:memory:/build/job7\n3:cpuset:/\n2:cpuacct:/build/job7\n1:cpu:/build/job7\n0::/",
     f"31 23 0:28 / {CG} rw,relatime - tmpfs tmpfs rw,mode=755\n"
     f"33 31 0:30 / {CG}/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
     f"32 31 0:29 / {CG}/cpu rw,relatime - cgroup cgroup rw,cpu\n"
     f"34 31 0:31 / {CG}/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
     f"35 31 0:32 / {CG}/memory rw,relatime - cgroup cgroup rw,memory\n"
     f"39 31 0:36 / {CG}/pids rw,relatime - cgroup cgroup rw,pids\n"
     f"40 31 0:37 / {CG}/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
     f"41 31 0:38 / {CG}/unified rw,relatime - cgroup2 cgroup2 rw\n",
     total_kb=24683656, avail_kb=24351012, swap_kb=0)
w(t, f"{CG}/unified/cgroup.controllers", "")
w(t, f"{CG}/unified/cpu.stat", "usage_usec 0")
# A trap: a quota-looking file in the cpuacct hierarchy must not be read ("cpuacct" is not "cpu").
w(t, f"{CG}/cpuacct/build/job7/cpu.cfs_quota_us", "50000"); w(t, f"{CG}/cpuacct/build/job7/cpu.cfs_period_us", "100000")
for d in ("", "/build"):
    w(t, f"{CG}/cpu{d}/cpu.cfs_quota_us", "-1"); w(t, f"{CG}/cpu{d}/cpu.cfs_period_us", "100000")
    w(t, f"{CG}/memory{d}/memory.limit_in_bytes", "9223372036854771712")
w(t, f"{CG}/cpu/build/job7/cpu.cfs_quota_us", "150000"); w(t, f"{CG}/cpu/build/job7/cpu.cfs_period_us", "100000")
w(t, f"{CG}/cpuset/cpuset.effective_cpus", "0-1")
w(t, f"{CG}/memory/build/job7/memory.limit_in_bytes", str(3 * GiB))
w(t, f"{CG}/memory/build/job7/memory.usage_in_bytes", str(300 * MiB))
w(t, f"{CG}/memory/build/job7/memory.stat", v1stat(100 * MiB, 3 * GiB))
expect(t, "hybrid host like the CI machine: v1 cpu (separate from cpuacct) and memory, an empty cgroup2 at /sys/fs/cgroup/unified; 1.5 CPUs and 3 GiB",
       {"online": 2, "affinity": 2, "quota": 1.5, "cpuset": None, "effective": 2,
        "quota_source_contains": "cgroup v1 cpu cpu.cfs_quota_us/cpu.cfs_period_us = 150000/100000 at /sys/fs/cgroup/cpu/build/job7 (leaf)"},
       {"total_bytes": 24683656 * 1024, "available_bytes": 3 * GiB - 200 * MiB, "limit_bytes": 3 * GiB,
        "high_bytes": None, "swap_total_bytes": 0, "effective_bytes": 3 * GiB,
        "limit_source_contains": "at /sys/fs/cgroup/memory/build/job7 (leaf)",
        "high_source_contains": "cgroup v1 has no memory.high"})

# 7. no limits anywhere (cgroup v2)
t = "cgroup-no-limits"
host(t, "0-3", "0-3", "0::/user.slice/user-1000.slice/session-2.scope", V2)
w(t, f"{CG}/cgroup.controllers", "cpuset cpu io memory pids")
for d in ("user.slice", "user.slice/user-1000.slice", "user.slice/user-1000.slice/session-2.scope"):
    w(t, f"{CG}/{d}/cpu.max", "max 100000"); w(t, f"{CG}/{d}/memory.max", "max"); w(t, f"{CG}/{d}/memory.high", "max")
expect(t, "cgroup v2, no CPU or memory limit at any level",
       {"online": 4, "affinity": 4, "quota": None, "cpuset": None, "effective": 4,
        "quota_source_contains": "none: no cpu.max limit in cgroup v2 at 4 levels from /sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope up to /sys/fs/cgroup"},
       {"total_bytes": TOTAL, "available_bytes": AVAIL, "limit_bytes": None, "high_bytes": None,
        "swap_total_bytes": SWAP, "effective_bytes": TOTAL,
        "available_source_contains": "/proc/meminfo MemAvailable"})

# 8. fractional quota below one CPU (v1, cpu and cpuacct combined)
t = "cgroup-quota-half"
host(t, "0-3", "0-3", "3:cpu,cpuacct:/ci/job\n2:memory:/ci/job",
     f"32 23 0:29 / {CG}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n35 23 0:32 / {CG}/memory rw - cgroup cgroup rw,memory\n")
w(t, f"{CG}/cpu,cpuacct/ci/job/cpu.cfs_quota_us", "50000"); w(t, f"{CG}/cpu,cpuacct/ci/job/cpu.cfs_period_us", "100000")
w(t, f"{CG}/cpu,cpuacct/ci/cpu.cfs_quota_us", "-1"); w(t, f"{CG}/cpu,cpuacct/ci/cpu.cfs_period_us", "100000")
w(t, f"{CG}/memory/ci/job/memory.limit_in_bytes", "9223372036854771712")
expect(t, "cgroup v1: quota 0.5 CPU rounds up to 1 effective CPU",
       {"online": 4, "affinity": 4, "quota": 0.5, "effective": 1,
        "effective_source_contains": "min(affinity 4, ceil(quota 0.5))"},
       {"limit_bytes": None, "effective_bytes": TOTAL})

# 9. quota larger than the affinity mask (and a cpuset that restricts)
t = "cgroup-quota-above-affinity"
host(t, "0-15", "0-3", "0::/pinned", V2)
w(t, f"{CG}/cgroup.controllers", "cpuset cpu memory")
w(t, f"{CG}/pinned/cpu.max", "800000 100000")
w(t, f"{CG}/pinned/cpuset.cpus.effective", "0-3")
w(t, f"{CG}/pinned/memory.max", "max")
expect(t, "cgroup v2: quota 8 CPUs but the process may run on only 4 (affinity and cpuset 0-3)",
       {"online": 16, "affinity": 4, "quota": 8.0, "cpuset": 4, "effective": 4,
        "effective_source_contains": "min(affinity 4, cpuset 4, ceil(quota 8))",
        "cpuset_source_contains": "cpuset.cpus.effective = 0-3"},
       {"limit_bytes": None, "effective_bytes": TOTAL})

# 10. memory "unlimited" sentinels of 4 KiB- and 64 KiB-page kernels, and a limit above MemTotal
t = "cgroup-memory-sentinels"
host(t, "0-3", "0-3", "4:memory:/a/b/c\n3:cpu:/",
     f"35 23 0:32 / {CG}/memory rw - cgroup cgroup rw,memory\n32 23 0:29 / {CG}/cpu rw - cgroup cgroup rw,cpu\n")
w(t, f"{CG}/memory/memory.limit_in_bytes", "9223372036854771712")
w(t, f"{CG}/memory/a/memory.limit_in_bytes", "9223372036854710272")
w(t, f"{CG}/memory/a/b/memory.limit_in_bytes", "9223372036854771712")
w(t, f"{CG}/memory/a/b/c/memory.limit_in_bytes", str(TOTAL + 4096))
w(t, f"{CG}/memory/a/b/c/memory.stat", v1stat(0, 9223372036854710272))
w(t, f"{CG}/cpu/cpu.cfs_quota_us", "-1"); w(t, f"{CG}/cpu/cpu.cfs_period_us", "100000")
expect(t, "cgroup v1: 9223372036854771712 and 9223372036854710272 sentinels and a limit above MemTotal all mean unlimited",
       {"online": 4, "affinity": 4, "quota": None, "effective": 4},
       {"total_bytes": TOTAL, "available_bytes": AVAIL, "limit_bytes": None, "effective_bytes": TOTAL,
        "limit_source_contains": "none: no limit below MemTotal in cgroup v1 memory at 4 levels from"})

# 11. memory.max 0 is a real limit
t = "cgroup-memory-max-zero"
host(t, "0-3", "0-3", "0::/frozen", V2)
w(t, f"{CG}/frozen/cpu.max", "max 100000")
w(t, f"{CG}/frozen/memory.max", "0")
w(t, f"{CG}/frozen/memory.high", "max")
w(t, f"{CG}/frozen/memory.current", "0")
w(t, f"{CG}/frozen/memory.stat", v2stat(0))
expect(t, "cgroup v2: memory.max 0 is a limit of zero bytes, not 'unlimited'",
       {"quota": None, "effective": 4},
       {"total_bytes": TOTAL, "available_bytes": 0, "limit_bytes": 0, "effective_bytes": 0,
        "limit_source_contains": "memory.max = 0 (0 B) at /sys/fs/cgroup/frozen (leaf)"})

# 12. a cgroup2 mount point with an escaped space (\040)
t = "cgroup-escaped-space"
host(t, "0-7", "0-7", "0::/job", "31 23 0:28 / /sys/fs/cgroup/my\\040cgroups rw - cgroup2 cgroup2 rw\n")
sp = "/sys/fs/cgroup/my cgroups"
w(t, f"{sp}/job/cpu.max", "300000 100000"); w(t, f"{sp}/job/memory.max", str(1 * GiB))
w(t, f"{sp}/job/memory.current", str(100 * MiB)); w(t, f"{sp}/job/memory.stat", v2stat(0))
expect(t, "cgroup v2 mounted at a path with a space, written \\040 in mountinfo",
       {"online": 8, "affinity": 8, "quota": 3.0, "effective": 3,
        "quota_source_contains": "at /sys/fs/cgroup/my cgroups/job (leaf)"},
       {"limit_bytes": 1 * GiB, "effective_bytes": 1 * GiB, "available_bytes": 1 * GiB - 100 * MiB})

# 13. untranslatable root: the host's cgroupfs bind-mounted into a private cgroup namespace
t = "cgroup-untranslatable-root"
host(t, "0-7", "0-7", "0::/", "31 23 0:28 /../.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
w(t, f"{CG}/cpu.max", "200000 100000"); w(t, f"{CG}/memory.max", str(6 * GiB))
w(t, f"{CG}/memory.current", str(1 * GiB)); w(t, f"{CG}/memory.stat", v2stat(0))
expect(t, "cgroup v2 with mount root /../..: the path cannot be translated, the mount point is read and a note says limits may be missed",
       {"quota": 2.0, "effective": 2,
        "quota_source_contains": "at /sys/fs/cgroup (leaf = mount root)",
        "notes_contain": "limits set outside this cgroup namespace may be missed"},
       {"limit_bytes": 6 * GiB, "effective_bytes": 6 * GiB,
        "notes_contain": "limits set outside this cgroup namespace may be missed"})

# 14. garbage everywhere
t = "cgroup-garbage"
host(t, "zero-three", "0-1", "garbage line\n0::/x/y\n", V2 + "this is not a mount line\n")
w(t, "proc/meminfo", "MemTotal:       lots kB\nMemAvailable:   4194304 kB\nSwapTotal: -1 kB\n")
w(t, f"{CG}/x/y/cpu.max", "banana")
w(t, f"{CG}/x/cpu.max", "300000 100000")
w(t, f"{CG}/x/y/memory.max", "12abc")
w(t, f"{CG}/x/memory.max", "max")
w(t, f"{CG}/x/y/memory.high", "-5")
w(t, f"{CG}/x/memory.high/.keep", "")  # unreadable: a directory where a file should be
expect(t, "garbage in cgroup, meminfo, online and mount files: unknowns with reasons, valid levels still used",
       {"online": None, "affinity": 2, "quota": 3.0, "effective": 2,
        "online_source_contains": "unknown",
        "notes_contain": "'banana' is not '<quota|max> <period>'",
        "quota_source_contains": "; 1 level(s) ignored (see notes)"},
       {"total_bytes": None, "available_bytes": 4 * GiB, "limit_bytes": None, "high_bytes": None,
        "swap_total_bytes": None, "effective_bytes": None,
        "total_source_contains": "unknown",
        "effective_source_contains": "unknown",
        "notes_contain": ["'12abc' is neither 'max' nor a byte count",
                          "/sys/fs/cgroup/x/memory.high: unreadable: /sys/fs/cgroup/x/memory.high: Is a directory"]})

# 15. no /proc at all
t = "cgroup-missing-proc"
d = os.path.join(BASE, t)
if os.path.exists(d): shutil.rmtree(d)
w(t, "sys/devices/system/cpu/online", "0-3")
expect(t, "no /proc: online CPUs are known, everything from /proc is unknown with the reason",
       {"online": 4, "affinity": 4, "quota": None, "effective": 4,
        "affinity_source_contains": "online count (/proc/self/status: No such file or directory)",
        "quota_source_contains": "unknown: /proc/self/cgroup: No such file or directory"},
       {"total_bytes": None, "available_bytes": None, "limit_bytes": None, "effective_bytes": None,
        "swap_total_bytes": None,
        "total_source_contains": "unknown: /proc/meminfo: No such file or directory",
        "limit_source_contains": "unknown: /proc/self/cgroup"})
print("ok")
