#!/usr/bin/env python3
"""Synthesises a heavy-tailed test suite for the sharding benchmark and test.

Fixed seed, so the files in tests/data/shard/ are reproducible:
  python3 bench/shards/make_suite.py --out tests/data/shard

Writes, for NAME in heavy400 (durations only) and memory400 (durations and
memory, memory binds on a 4-CPU 6 GiB runner):
  NAME.tests.json    a `ctest --show-only=json-v1` listing of 400 tests
  NAME.profile.json  a corral.profile/1 profile (docs/profile.md)

Durations: 90% log-normal (median 1.5 s, sigma 1.2), 10% Pareto (alpha 1.4,
scale 8 s) capped at 180 s: most tests are short, a few dominate, as in real
suites (compile-heavy integration tests, data-driven suites).
"""
import argparse
import json
import math
import os
import random


def suite(seed, with_memory):
    rng = random.Random(seed)
    tests, profile = [], {}
    for i in range(400):
        area = ["core", "io", "net", "db", "ui"][i % 5]
        name = f"{area}.case_{i:03d}"
        if rng.random() < 0.10:
            d = min(180.0, 8.0 * (1.0 - rng.random()) ** (-1 / 1.4))
        else:
            d = math.exp(math.log(1.5) + 1.2 * rng.gauss(0, 1))
        d = round(d, 3)
        props = [{"name": "LABELS", "value": [area]}]
        if rng.random() < 0.05:
            props.append({"name": "PROCESSORS", "value": 2})
        entry = {"runs": 5, "wall_seconds": {"median": d, "max": round(d * 1.2, 3)}}
        if with_memory:
            # Most tests small; a fifth hold 1-3 GiB: a 6 GiB budget fits two or three.
            if rng.random() < 0.2:
                mem = rng.randint(1024, 3072) * 1024 * 1024
            else:
                mem = rng.randint(20, 200) * 1024 * 1024
            entry["memory_bytes"] = {"max": mem}
        tests.append({"name": name, "command": ["/bin/true"], "properties": props})
        profile[name] = entry
    # Two fixtures: a setup, its users and a cleanup must share a shard.
    for fx, users in (("db_server", range(3, 40, 5)), ("net_sim", range(2, 60, 11))):
        for k, i in enumerate(users):
            key = "FIXTURES_SETUP" if k == 0 else "FIXTURES_REQUIRED"
            tests[i]["properties"].append({"name": key, "value": [fx]})
    listing = {"kind": "ctestInfo", "version": {"major": 1, "minor": 0}, "tests": tests}
    prof = {"schema": "corral.profile/1", "tests": dict(sorted(profile.items()))}
    return listing, prof


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, seed, mem in (("heavy400", 400, False), ("memory400", 401, True)):
        listing, prof = suite(seed, mem)
        with open(os.path.join(args.out, name + ".tests.json"), "w") as f:
            json.dump(listing, f, indent=1, sort_keys=True)
            f.write("\n")
        with open(os.path.join(args.out, name + ".profile.json"), "w") as f:
            json.dump(prof, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
