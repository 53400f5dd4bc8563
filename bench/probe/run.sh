#!/bin/sh
# Wall time of `corral probe` and `corral probe --json` (no --io-bench), side by
# side with /bin/true in the same run: on a shared, noisy machine the ratio to
# an exec of /bin/true is what to trust, not the absolute numbers. `corral
# --version` shows what starting the program (dynamic linking, CLI setup) costs
# before any probing.
#
# usage: bench/probe/run.sh [CORRAL] [RUNS]
#   CORRAL  the corral program (default: build/default/bin/corral); nothing is built
#   RUNS    runs per command (default 200)
# Uses hyperfine when installed (apt-get install hyperfine), else a shell loop
# timed with date +%s%N (which adds the cost of a fork of the shell to each run).
set -eu
corral=${1:-build/default/bin/corral}
runs=${2:-200}
[ -x "$corral" ] || { echo "run.sh: $corral is not an executable (build it first)" >&2; exit 2; }
case $runs in '' | *[!0-9]*) echo "run.sh: RUNS must be a number, got '$runs'" >&2; exit 2 ;; esac
true_exe=$(command -v true)
[ "$true_exe" = true ] && true_exe=/bin/true
echo "corral: $corral ($("$corral" --version)); runs: $runs; host: $(nproc) CPUs, $(uname -r)"

if command -v hyperfine >/dev/null 2>&1; then
    out=$(mktemp /tmp/corral-bench-probe-XXXXXX.json)
    trap 'rm -f "$out"' EXIT
    hyperfine --shell=none --warmup 10 --runs "$runs" --style basic --export-json "$out" \
        "$true_exe" "$corral --version" "$corral probe" "$corral probe --json" >/dev/null
    # Median in ms per command, from hyperfine's JSON (one "median" per result, in order).
    medians=$(tr ',' '\n' <"$out" | sed -n 's/.*"median": *\([0-9.e-]*\).*/\1/p')
    tool=hyperfine
else
    median_of() {  # command... -> median wall time in seconds over $runs runs
        i=0
        while [ "$i" -lt "$runs" ]; do
            start=$(date +%s%N)
            "$@" >/dev/null
            end=$(date +%s%N)
            echo $((end - start))
            i=$((i + 1))
        done | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.9f\n", m / 1e9 }'
    }
    medians="$(median_of "$true_exe")
$(median_of "$corral" --version)
$(median_of "$corral" probe)
$(median_of "$corral" probe --json)"
    tool="shell loop (date +%s%N)"
fi

echo "$medians" | awk -v tool="$tool" '
    NR == 1 { base = $1 }
    { name[NR] = $1 * 1000; ratio[NR] = $1 / base }
    END {
        printf "tool: %s\n", tool
        printf "%-22s %10s %12s\n", "command", "median ms", "x /bin/true"
        split("/bin/true|corral --version|corral probe|corral probe --json", label, "|")
        for (i = 1; i <= NR; i++) printf "%-22s %10.3f %12.1f\n", label[i], name[i], ratio[i]
    }'
