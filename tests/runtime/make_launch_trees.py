#!/usr/bin/env python3
"""Writes the recorded process tables the launcher's decisions are tested on
(tests/runtime/recorded_launch_test.cpp): tests/data/hosts/launch-*/proc.

The files have the kernel's formats (proc_pid_stat(5): 52 fields, comm in
parentheses; proc_pid_status(5); cmdline and environ NUL-separated and
NUL-terminated, empty for kernel threads), copied from a live /proc and
filled in per process. Run from the repository root:
    python3 tests/runtime/make_launch_trees.py
"""
import os
import shutil

HOSTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "hosts")
PF_KTHREAD = 0x00200000
USER_FLAGS = 4194560  # PF_RANDOMIZE | PF_SUPERPRIV, as a live bash shows
KTHREAD_FLAGS = 2129984  # kthreadd's


def stat_line(pid, comm, state, ppid, pgrp, sid, flags, start, kthread):
    # Fields 10.. as a live kthreadd / bash shows them (faults, times, vsize, ...).
    if kthread:
        rest = ("0 0 0 0 3 1 0 0 20 0 1 0 {start} 0 0 18446744073709551615 0 0 0 0 0 0 0 "
                "2147483647 0 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0").format(start=start)
        return f"{pid} ({comm}) {state} {ppid} {pgrp} {sid} 0 -1 {flags} {rest}\n"
    rest = ("8667 2290905 0 80 5 10 21240 2370 20 0 1 0 {start} 5369856 1016 "
            "18446744073709551615 94779639447552 94779640236957 140736751854624 0 0 0 "
            "65536 4 1132560123 1 0 0 17 0 0 0 0 0 0 94779640470256 94779640518500 "
            "94779678248960 140736751856441 140736751856456 140736751856456 "
            "140736751857642 0").format(start=start)
    return f"{pid} ({comm}) {state} {ppid} {pgrp} {sid} 0 -1 {flags} {rest}\n"


def status_text(pid, comm, state, ppid, uid, kthread):
    states = {"S": "S (sleeping)", "R": "R (running)", "Z": "Z (zombie)"}
    u = f"{uid}\t{uid}\t{uid}\t{uid}"
    return (f"Name:\t{comm}\nUmask:\t0022\nState:\t{states[state]}\nTgid:\t{pid}\n"
            f"Ngid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\nUid:\t{u}\nGid:\t{u}\n"
            f"FDSize:\t256\nGroups:\t \nNStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pid}\n"
            f"NSsid:\t{pid}\nKthread:\t{1 if kthread else 0}\nThreads:\t1\n"
            "Cpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed_list:\t0\n"
            "voluntary_ctxt_switches:\t184\nnonvoluntary_ctxt_switches:\t77\n")


def nul(items):
    return "".join(i + "\0" for i in items)


BASE_ENV = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/dev", "LANG=C.UTF-8"]


def write_tree(name, readme, self_pid, procs):
    root = os.path.join(HOSTS, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "proc"))
    with open(os.path.join(root, "README"), "w") as f:
        f.write(readme.strip() + "\n")
    os.symlink(str(self_pid), os.path.join(root, "proc", "self"))
    for p in procs:
        d = os.path.join(root, "proc", str(p["pid"]))
        os.makedirs(d)
        kthread = p.get("kthread", False)
        flags = KTHREAD_FLAGS if kthread else USER_FLAGS
        pgrp = p.get("pgrp", p["pid"])
        sid = p.get("sid", pgrp)
        files = {
            "stat": stat_line(p["pid"], p["comm"], p.get("state", "S"), p["ppid"], pgrp, sid,
                              flags, p["start"], kthread),
            "status": status_text(p["pid"], p["comm"], p.get("state", "S"), p["ppid"],
                                  p.get("uid", 1000), kthread),
            "cmdline": "" if kthread else nul(p["argv"]),
        }
        env = p.get("env")
        if env is not None or kthread:  # no environ file: unreadable (another user's)
            files["environ"] = "" if kthread else nul(BASE_ENV + env)
        for fname, text in files.items():
            with open(os.path.join(d, fname), "w", newline="") as f:
                f.write(text)


def init(start=9):
    return [
        {"pid": 1, "comm": "systemd", "ppid": 0, "start": start, "uid": 0, "argv": ["/sbin/init"],
         "env": []},
        {"pid": 2, "comm": "kthreadd", "ppid": 0, "pgrp": 0, "sid": 0, "start": 10, "uid": 0,
         "kthread": True},
    ]


write_tree("launch-run-id", """
The run id (records::run_ancestors / run_id_of): self (320) is `corral run` under a
TEST_LAUNCHER wrapper shell (310) under ctest (300), which a login shell (200)
started. 330 is a launcher ctest started directly, 410 one started from the shell
(no ctest above it), 500 one whose parent 499 is gone from /proc.
""", 320, init() + [
    {"pid": 180, "comm": "sshd", "ppid": 1, "start": 1520, "uid": 0,
     "argv": ["sshd: dev [priv]"], "env": []},
    {"pid": 200, "comm": "bash", "ppid": 180, "start": 2783005, "argv": ["-bash"], "env": []},
    {"pid": 300, "comm": "ctest", "ppid": 200, "start": 2790112,
     "argv": ["ctest", "--test-dir", "build", "-j4"], "env": []},
    {"pid": 310, "comm": "sh", "ppid": 300, "pgrp": 300, "sid": 200, "start": 2790140,
     "argv": ["/bin/sh", "/src/tools/launch.sh", "corral", "run", "--", "./t1"], "env": []},
    {"pid": 320, "comm": "corral", "ppid": 310, "pgrp": 300, "sid": 200, "start": 2790141,
     "argv": ["corral", "run", "--name", "t1", "--", "./t1"], "env": []},
    {"pid": 330, "comm": "corral", "ppid": 300, "pgrp": 300, "sid": 200, "start": 2790143,
     "argv": ["corral", "run", "--name", "t2", "--", "./t2"], "env": []},
    {"pid": 410, "comm": "corral", "ppid": 200, "start": 2795000,
     "argv": ["corral", "run", "--", "./t3"], "env": []},
    {"pid": 500, "comm": "corral", "ppid": 499, "start": 2796000,
     "argv": ["corral", "run", "--", "./t4"], "env": []},
])

write_tree("launch-run-id-ctest-pid1", """
The run id in a container whose command is ctest (`docker run IMAGE ctest`): ctest
is pid 1, a TEST_LAUNCHER wrapper shell (20) sits between it and self (30). The run
is ctest-1-<start>, not the wrapper's (one wrapper per test would split the run).
""", 30, [
    {"pid": 1, "comm": "ctest", "ppid": 0, "start": 2480, "uid": 0,
     "argv": ["ctest", "--test-dir", "/build", "-j2"], "env": []},
    {"pid": 20, "comm": "sh", "ppid": 1, "pgrp": 1, "sid": 1, "start": 2511, "uid": 0,
     "argv": ["/bin/sh", "/src/tools/launch.sh", "corral", "run", "--", "./t1"], "env": []},
    {"pid": 30, "comm": "corral", "ppid": 20, "pgrp": 1, "sid": 1, "start": 2512, "uid": 0,
     "argv": ["corral", "run", "--name", "t1", "--", "./t1"], "env": []},
])

ID = "CORRAL_TEST_ID=k3x9a2bq"
write_tree("launch-stale-sweep", """
The stale sweep (launcher::stale_test_processes): the launcher of test k3x9a2bq
was killed outright. Its test (269, `sh -c "ctest ..."`, reparented to init) runs
ctest (270), which started self (320): all three carry its CORRAL_TEST_ID and are
our own line, never to be ended. 260 (a server the test left) and 261 (its worker)
carry the id and are what the sweep ends. 262 carries another id with the same
prefix, 263 the text inside another variable; 264 is another user's process whose
environ cannot be read (no environ file); 2 is a kernel thread (empty environ).
""", 320, init() + [
    {"pid": 200, "comm": "bash", "ppid": 1, "start": 2783005, "argv": ["-bash"], "env": []},
    {"pid": 260, "comm": "server", "ppid": 1, "start": 2790300,
     "argv": ["/usr/bin/server", "--port=0"], "env": [ID, "TMPDIR=/tmp/c-k3x9a2bq"]},
    {"pid": 261, "comm": "worker", "ppid": 260, "pgrp": 260, "start": 2790305,
     "argv": ["/usr/bin/server", "--worker"], "env": [ID, "TMPDIR=/tmp/c-k3x9a2bq"]},
    {"pid": 262, "comm": "other", "ppid": 1, "start": 2790310, "argv": ["./other_test"],
     "env": [ID + "0"]},
    {"pid": 263, "comm": "tool", "ppid": 200, "start": 2790320, "argv": ["tool"],
     "env": ["NOTE=" + ID]},
    {"pid": 264, "comm": "daemon", "ppid": 1, "start": 2790330, "uid": 1001,
     "argv": ["/usr/sbin/daemon"]},
    {"pid": 269, "comm": "sh", "ppid": 1, "start": 2790400,
     "argv": ["sh", "-c", "ctest --test-dir inner"], "env": [ID]},
    {"pid": 270, "comm": "ctest", "ppid": 269, "pgrp": 269, "start": 2790401,
     "argv": ["ctest", "--test-dir", "inner"], "env": [ID]},
    {"pid": 320, "comm": "corral", "ppid": 270, "pgrp": 269, "start": 2790450,
     "argv": ["corral", "run", "--", "./inner_t1"], "env": [ID]},
])
