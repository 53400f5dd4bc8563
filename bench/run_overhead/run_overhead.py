#!/usr/bin/env python3
"""Overhead of `corral run -- /bin/true` against plain `/bin/true`.

Runs the variants interleaved (so machine noise hits them alike), N times
each, and prints the median wall time of each, the ratio and the absolute
difference. Usage:

    bench/run_overhead/run_overhead.py [--corral PATH] [-n N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "build", "default", "bin", "corral")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corral", default=default, help="the corral program (default: %(default)s)")
    ap.add_argument("-n", type=int, default=300, help="runs per variant (default: %(default)s)")
    args = ap.parse_args()
    corral = os.path.abspath(args.corral)
    if not os.access(corral, os.X_OK):
        print(f"run_overhead: {corral} is not executable; build it or pass --corral", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="corral-bench-") as scratch:
        variants = {
            "/bin/true": ["/bin/true"],
            "corral run -- /bin/true": [corral, "run", "--scratch-root", scratch, "--", "/bin/true"],
            "corral run --cgroup off -- /bin/true": [
                corral, "run", "--cgroup", "off", "--scratch-root", scratch, "--", "/bin/true"],
        }
        times = {name: [] for name in variants}
        for _ in range(3):  # warm caches
            for cmd in variants.values():
                subprocess.run(cmd, check=True)
        for _ in range(args.n):
            for name, cmd in variants.items():
                t0 = time.perf_counter_ns()
                subprocess.run(cmd, check=True)
                times[name].append((time.perf_counter_ns() - t0) / 1e6)

    base = statistics.median(times["/bin/true"])
    print(f"runs per variant: {args.n} (interleaved); corral: {corral}")
    print(f"{'variant':40} {'median ms':>10} {'p90 ms':>8} {'ratio':>6} {'+ms':>7}")
    for name, ts in times.items():
        med = statistics.median(ts)
        p90 = statistics.quantiles(ts, n=10)[-1]
        print(f"{name:40} {med:10.2f} {p90:8.2f} {med / base:6.1f} {med - base:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
