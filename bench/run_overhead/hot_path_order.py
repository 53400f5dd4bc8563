#!/usr/bin/env python3
"""Write src/cli/hot_path.order: the functions a test launch executes, for the
linker to place side by side (lld --symbol-ordering-file).

Every `corral run` maps, and at exit tears down, the pages of the program it
touches; the kernel maps them 16 at a time around each fault (fault-around).
Spread over the 4 MB of text, a launch's few hundred KB of code touch most of
it; put together, a fraction (bench/run_overhead/README.md, seventh step).

The list comes from Valgrind's callgrind, which names every function executed
(libc's and libstdc++'s included), on a build of this tree:

  1. `corral run -- /bin/true`             (first: the benchmark's path); as
     root also 1 and 2 as an unprivileged user (nobody: making the cgroup
     fails, other code runs), as most test suites run
  2. `corral run -- sleep 0.3`             (the launcher waits on a live test,
                                           samples its memory, gives it a cgroup)
  3. the CTest form, as corral_setup() writes it (--plan, --records, a grant)
  4. the clone child's own few (start_test, setpgid, execvpe): callgrind dumps
     the child's profile before its execve (--dump-before).

then the functions on pages that launches 1 to 3 touch on the real CPU and
that hold none of the above (code callgrind did not see run: some of libc's
start-up, a registry with entries in it). As root only: the program is copied
onto an ext4 image on a loop device with read-ahead 0 and evicted, so that
after one run the pages in its page cache (mincore(2)) are exactly the pages
it touched. Then, last, the AVX-512 (`evex`) variants of the string functions whose AVX2
variant ran here: glibc picks one by CPU at start, and CI runners differ.

Usage:  python3 bench/run_overhead/hot_path_order.py --corral build/default/bin/corral
Needs valgrind (apt-get install valgrind). Any build will do: the names, not the
addresses, are kept. Names that a later change removes are ignored by the
linker (--no-warn-symbol-ordering); new hot functions land elsewhere until the
list is made again.
"""
import argparse
import bisect
import ctypes
import mmap
import os
import shutil
import re
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PAGE = 4096
FN = re.compile(r"^c?fn=\(\d+\) (.+?)(?:'\d+)?$")


def callgrind(corral, args, env, workdir, tag, wrap=lambda argv: argv):
    """Runs corral under callgrind; returns the names executed, parent and child."""
    out = os.path.join(workdir, f"cg-{tag}.%p")
    cmd = wrap(["valgrind", "--tool=callgrind", "--demangle=no", "--trace-children=no",
                "--dump-before=execve", "--dump-before=__execve",
                f"--callgrind-out-file={out}", corral] + args)
    r = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(args)} under callgrind exited {r.returncode}:\n{r.stderr[-2000:]}")
    names = set()
    for f in os.listdir(workdir):
        if not f.startswith(f"cg-{tag}."):
            continue
        with open(os.path.join(workdir, f), errors="replace") as fh:
            for line in fh:
                m = FN.match(line.rstrip("\n"))
                if m:
                    names.add(m.group(1))
    names.discard("(below main)")
    return {n for n in names if not n.startswith("0x")}


def fail(message):
    sys.exit(f"{os.path.basename(sys.argv[0])}: {message}")


def check_program(corral):
    """Exits with one line when `corral` is not a corral program with symbols."""
    if not os.path.isfile(corral) or not os.access(corral, os.X_OK):
        fail(f"{corral}: not an executable file")
    try:
        version = subprocess.run([corral, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except OSError as e:
        fail(f"{corral}: cannot run it: {e.strerror}")
    if not version.startswith("corral "):
        said = (version.strip().splitlines() or [""])[0][:60]
        fail(f"{corral}: not a corral program (`--version` said {said!r})")


def on_sigterm():
    """SIGTERM unwinds like Ctrl-C: the loop device is unmounted and detached,
    the temporary directory removed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def defined_functions(corral):
    """The program's functions, [(address, size, name)] by address. Local
    names repeat (__tcf_0, a clone of an inline function per object file)."""
    out = subprocess.run(["nm", "--defined-only", "-n", "-S", corral], capture_output=True,
                         text=True).stdout
    functions = [(int(p[0], 16), int(p[1], 16), p[3])
                 for p in (l.split() for l in out.splitlines())
                 if len(p) == 4 and p[2] in "tTwWi"]
    if len(functions) < 1000:
        fail(f"{corral}: {len(functions)} functions in its symbol table (stripped?)")
    return functions


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corral", action="append",
                    help="a corral built from this tree; give it once per build type "
                         "(the names of GCC's clones differ between -O2 and -O3); "
                         "default: build/default/bin/corral")
    ap.add_argument("--out", default=os.path.join(ROOT, "src", "cli", "hot_path.order"))
    a = ap.parse_args()
    on_sigterm()
    builds = [os.path.abspath(c) for c in (a.corral or [os.path.join(ROOT, "build", "default",
                                                                         "bin", "corral")])]
    for corral in builds:
        check_program(corral)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    if not os.access(out_dir, os.W_OK) or (os.path.exists(a.out) and not os.access(a.out, os.W_OK)):
        fail(f"{a.out}: cannot write it")
    groups = {}
    defined = set()
    for corral in builds:
        functions = defined_functions(corral)
        defined |= {name for _, _, name in functions}
        with tempfile.TemporaryDirectory(prefix="corral-order-") as work:
            launches = Launches(corral, work)
            for title, names in launches.callgrind():
                groups.setdefault(title, set()).update(names)
            if os.geteuid() == 0:
                seen = set().union(*groups.values())
                groups.setdefault(PAGES, set()).update(
                    launches.on_unexplained_pages(functions, seen))
    if os.geteuid() != 0:
        print("hot_path_order: not root: no unprivileged launch and no pages pass "
              "(a loop device); the list covers this user's path only")
    bare = groups["bare /bin/true"] & defined
    if len(bare) < 100:
        fail(f"the launches ran {len(bare)} of the program's functions: not a corral launch?")
    write(a.out, list(groups.items()), defined)


PAGES = "on touched pages that hold none of the above"
UNPRIVILEGED = "as nobody: /bin/true and sleep 0.3"
NOBODY = 65534


class Launches:
    """The launches to profile, in a scratch directory of their own."""

    def __init__(self, corral, work):
        self.corral, self.work = corral, work
        gen = os.path.join(work, "gen")
        subprocess.run([corral, "generate", "--out", gen], check=True,
                       stdout=subprocess.DEVNULL)
        self.env = dict(os.environ, TMPDIR=work)
        self.ctest_env = dict(self.env, CTEST_RESOURCE_GROUP_COUNT="1",
                              CTEST_RESOURCE_GROUP_0="cpus,mem_mib",
                              CTEST_RESOURCE_GROUP_0_CPUS="id:0,slots:1",
                              CTEST_RESOURCE_GROUP_0_MEM_MIB="id:0,slots:512")
        self.ctest_form = ["run", "--grace", "5", "--timeout-multiplier", "1",
                           "--scratch-root", work, "--plan", os.path.join(gen, "plan.json"),
                           "--records", os.path.join(work, "records.jsonl"), "--leak", "fail",
                           "--", "/bin/true"]
        # As root, a corner that nobody can use: a copy of the program and a
        # scratch directory of its own.
        self.nobody = None
        if os.geteuid() == 0:
            os.chmod(work, 0o755)
            self.nobody = os.path.join(work, "nobody")
            os.mkdir(self.nobody)
            os.chmod(self.nobody, 0o1777)
            self.nobody_corral = os.path.join(self.nobody, "corral")
            shutil.copy(corral, self.nobody_corral)
            os.chmod(self.nobody_corral, 0o755)
            self.nobody_env = dict(os.environ, TMPDIR=self.nobody, HOME=self.nobody)

    @staticmethod
    def as_nobody(argv):
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + argv

    def table(self):
        """[(group, program, args, env, cwd, wrap)]: each launch once, as this
        user and, as root, the first two again as nobody (with nobody's copy
        of the program)."""
        own = lambda argv: argv  # noqa: E731
        c, w = self.corral, self.work
        out = [("bare /bin/true", c, ["run", "--", "/bin/true"], self.env, w, own),
               ("sleep 0.3", c, ["run", "--", "sleep", "0.3"], self.env, w, own),
               ("the CTest form", c, self.ctest_form, self.ctest_env, w, own)]
        if self.nobody:
            out += [(UNPRIVILEGED, self.nobody_corral, args, self.nobody_env, self.nobody,
                     self.as_nobody) for _, _, args, _, _, _ in out[:2]]
        return out

    def callgrind(self):
        """[(group, names)] of each launch under callgrind."""
        return [(group, callgrind(program, args, env, cwd, str(i), wrap=wrap))
                for i, (group, program, args, env, cwd, wrap) in enumerate(self.table())]

    def on_unexplained_pages(self, functions, explained):
        """Functions on text pages the three launches touch that hold no
        explained function."""
        addresses = [a for a, _, _ in functions]
        longest = max(size for _, size, _ in functions)
        pages = set()
        with LoopMount(self.work, os.path.getsize(self.corral)) as mnt:
            for _, _, args, env, cwd, wrap in self.table():
                pages |= touched_pages(self.corral, mnt, args, env, cwd, wrap=wrap)
        out = set()
        for page in pages:
            # Every function that overlaps the page, a long one begun pages before included.
            j = bisect.bisect_left(addresses, page + PAGE)
            i = bisect.bisect_left(addresses, page - longest)
            names = {functions[k][2] for k in range(i, j)
                     if functions[k][0] + functions[k][1] > page}
            if names and not names & explained:
                out |= names
        return out


class LoopMount:
    """An ext4 image on a loop device with read-ahead 0: a fault reads one page."""

    def __init__(self, work, size):
        self.work, self.size = work, size
        self.image = os.path.join(work, "ra0.img")
        self.mnt = os.path.join(work, "ra0")

    def __enter__(self):
        with open(self.image, "wb") as fh:
            fh.truncate(2 * self.size + (16 << 20))
        subprocess.run(["mkfs.ext4", "-q", self.image], check=True)
        os.mkdir(self.mnt)
        self.dev = subprocess.run(["losetup", "--find", "--show", self.image], check=True,
                                  capture_output=True, text=True).stdout.strip()
        try:
            with open(f"/sys/block/{os.path.basename(self.dev)}/queue/read_ahead_kb", "w") as fh:
                fh.write("0")
            subprocess.run(["mount", self.dev, self.mnt], check=True)
        except BaseException:
            subprocess.run(["losetup", "-d", self.dev])
            raise
        return self.mnt

    def __exit__(self, *exc):
        subprocess.run(["umount", self.mnt], check=True)
        subprocess.run(["losetup", "-d", self.dev], check=True)


def evict(path):
    """Drops a file's pages from the page cache (written back first), as after a boot."""
    os.sync()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def executable_segment(corral):
    """(file offset, address, size) of the program's executable LOAD segment (readelf -l)."""
    for line in subprocess.run(["readelf", "-lW", corral], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0] == "LOAD" and "E" in f[6:-1]:
            return int(f[1], 16), int(f[2], 16), int(f[4], 16)
    fail(f"{corral}: no executable segment")


def touched_pages(corral, mnt, args, env, cwd, wrap=lambda argv: argv):
    """Virtual addresses of the .text pages one launch touches."""
    copy = os.path.join(mnt, "corral")
    shutil.copy(corral, copy)
    evict(copy)
    r = subprocess.run(wrap([copy] + args), env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    if r.returncode != 0:
        fail(f"{' '.join(args)} from the loop device exited {r.returncode}")
    size = os.path.getsize(copy)
    with open(copy, "rb") as fh:
        m = mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY)
    vec = (ctypes.c_ubyte * ((size + PAGE - 1) // PAGE))()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    anchor = ctypes.c_char.from_buffer(m)
    rc = libc.mincore(ctypes.addressof(anchor), size, vec)
    del anchor
    m.close()
    os.unlink(copy)
    if rc != 0:
        fail(f"mincore: {os.strerror(ctypes.get_errno())}")
    # File offsets to addresses through the executable segment.
    offset, vaddr, filesz = executable_segment(corral)
    return {(vaddr + i * PAGE - offset) // PAGE * PAGE for i, resident in enumerate(vec)
            if resident & 1 and offset - PAGE < i * PAGE < offset + filesz}


def write(path, groups, defined):
    """The groups in the order of the file: the bare launch, as root then as
    nobody, what the pages found (most of it runs in every launch: libc's
    start-up), the rest of the launches, and the evex variants last."""
    first = [g for g in groups if g[0] == "bare /bin/true"]
    then = [g for t in (UNPRIVILEGED, PAGES) for g in groups if g[0] == t]
    order = first + then + [g for g in groups if g not in first and g not in then]
    seen, lines = set(), []
    for title, names in order:
        new = sorted(n for n in names - seen if n in defined)
        lines.append(f"# {title}: {len(new)}")
        lines += new
        seen |= set(new)
    # glibc's string functions come in variants chosen by CPU (IFUNC).
    evex = set()
    for n in seen:
        m = re.match(r"^(__\w+?)_avx2(?:_\w+)?$|^(__\w+?)_avx_(\w+)$", n)
        if m:
            stem = m.group(1) or m.group(2)
            evex |= {d for d in defined if d.startswith(stem + "_evex")}
    evex = sorted(evex - seen)
    lines.append(f"# AVX-512 (evex) variants of the string functions above: {len(evex)}")
    lines += evex
    header = [
        "# The functions a test launch executes, in the order lld places them",
        "# (--symbol-ordering-file; src/cli/CMakeLists.txt). Made by",
        "# bench/run_overhead/hot_path_order.py; do not edit by hand.",
    ]
    with open(path, "w") as fh:
        fh.write("\n".join(header + lines) + "\n")
    print(f"hot_path_order: {sum(1 for l in lines if not l.startswith('#'))} functions -> {path}")


if __name__ == "__main__":
    main()
