#!/usr/bin/env python3
"""The pages of the corral program one launch touches and maps.

  touched  the program's pages one `corral run -- /bin/true` reads or runs:
           copied onto an ext4 image on a loop device with read-ahead 0 and
           evicted, so that afterwards its page cache (mincore(2)) holds exactly
           those pages. Root only.
  mapped   the pages mapped into a `corral run -- sleep 0.3` in the `evict`
           state (/proc/<pid>/pagemap): fault-around maps up to 16 cached pages
           around each fault, so code spread over the text maps far more pages
           than it touches. Every one is mapped at start and torn down at exit.

Usage:  python3 bench/run_overhead/pages.py build/rel/bin/corral [OLD_CORRAL ...]
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hot_path_order  # noqa: E402  (LoopMount, touched_pages)


def mapped(corral):
    """{permissions: (pages mapped, pages of the mapping)} of a running launch."""
    hot_path_order.evict(corral)
    p = subprocess.Popen([corral, "run", "--", "sleep", "0.3"])
    try:
        time.sleep(0.15)
        if p.poll() is not None:
            hot_path_order.fail(f"{corral} run -- sleep 0.3 ended early (exit {p.returncode})")
        out = {}
        with open(f"/proc/{p.pid}/maps") as maps, open(f"/proc/{p.pid}/pagemap", "rb") as pm:
            for line in maps:
                f = line.split()
                if len(f) < 6 or f[5] != os.path.realpath(corral):
                    continue
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                present = 0
                for va in range(lo, hi, 4096):
                    pm.seek(va // 4096 * 8)
                    present += struct.unpack("Q", pm.read(8))[0] >> 63
                old = out.get(f[1], (0, 0))
                out[f[1]] = (old[0] + present, old[1] + (hi - lo) // 4096)
        return out
    finally:
        p.wait()


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    hot_path_order.on_sigterm()
    for corral in sys.argv[1:]:
        corral = os.path.abspath(corral)
        hot_path_order.check_program(corral)
        print(corral)
        m = mapped(corral)
        for perms, (present, total) in sorted(m.items()):
            print(f"  mapped   {perms}  {present:5d} of {total:5d} pages")
        print(f"  mapped   total {sum(v[0] for v in m.values()):5d} pages")
        if os.geteuid() != 0:
            print("  touched  (not root: no loop device)")
            continue
        with tempfile.TemporaryDirectory(prefix="corral-pages-") as work:
            with hot_path_order.LoopMount(work, os.path.getsize(corral)) as mnt:
                text = hot_path_order.touched_pages(corral, mnt, ["run", "--", "/bin/true"],
                                                    dict(os.environ, TMPDIR=work), work)
        print(f"  touched  text {len(text):5d} pages")


if __name__ == "__main__":
    main()
