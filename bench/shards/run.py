#!/usr/bin/env python3
"""Sharding benchmark: the largest shard's predicted time over the ideal
max(total / N, longest test), for N = 2, 4, 8, side by side for Corral,
CTest's -I stride, a name-hash partition and duration-only greedy (LPT).

Every strategy is scored by the same model (corral's CTest scheduler
simulation on the same runner), through the real program:
  corral shard --tests-json T --profile P --shards N --strategy S --cpus C --memory M --json

  python3 bench/shards/run.py --corral build/default/bin/corral
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "data", "shard")
STRATEGIES = ["corral", "stride", "hash", "greedy"]


def shard(corral, tests, profile, n, strategy, cpus, memory, extra=()):
    with tempfile.TemporaryDirectory() as out:
        cmd = [corral, "shard", "--tests-json", tests, "--shards", str(n), "--strategy", strategy,
               "--cpus", str(cpus), "--memory", memory, "--out", out, "--json", *extra]
        if profile:
            cmd += ["--profile", profile]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
        return json.loads(r.stdout)


def table(corral, title, tests, profile, cpus, memory):
    first = shard(corral, tests, profile, 2, "corral", cpus, memory)
    print(f"\n{title}: {len(first['tests'])} tests, runner -j{first['runner']['parallel_level']}"
          f", slots {first['runner']['slots']}")
    print(f"{'N':>3} {'ideal s':>9} " + " ".join(f"{s:>8}" for s in STRATEGIES))
    for n in (2, 4, 8):
        row = {s: shard(corral, tests, profile, n, s, cpus, memory) for s in STRATEGIES}
        ideal = row["corral"]["ideal_seconds"]
        print(f"{n:>3} {ideal:>9.1f} " +
              " ".join(f"{row[s]['max_makespan_seconds'] / ideal:>8.3f}" for s in STRATEGIES))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corral", default="build/default/bin/corral")
    ap.add_argument("--real", nargs=2, metavar=("TESTS_JSON", "COST_DATA"), action="append",
                    default=[], help="a real suite: ctest --show-only=json-v1 output and its "
                    "Testing/Temporary/CTestCostData.txt")
    args = ap.parse_args()
    d = lambda f: os.path.join(DATA, f)
    table(args.corral, "heavy400 (synthetic, seed 400), 2 CPUs", d("heavy400.tests.json"),
          d("heavy400.profile.json"), 2, "8G")
    table(args.corral, "heavy400 (synthetic, seed 400), 4 CPUs", d("heavy400.tests.json"),
          d("heavy400.profile.json"), 4, "16G")
    table(args.corral, "memory400 (synthetic, seed 401), 4 CPUs, memory binds",
          d("memory400.tests.json"), d("memory400.profile.json"), 4, "6656M")
    for tests, costs in args.real:
        table(args.corral, f"real: {tests}", tests, costs, 2, "8G")


if __name__ == "__main__":
    main()
