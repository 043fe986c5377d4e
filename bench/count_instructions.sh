#!/usr/bin/env bash
# Instructions per 4 KiB read through each layer stack, counted by callgrind
# (repeatable whatever else the machine does). Each stack runs twice, with N and
# 2N reads; the difference divided by N removes the set-up cost.
#   bench/count_instructions.sh [N]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-20000}
bin="$top/build/bench/fs_bench"
[ -x "$bin" ] || { echo "build first: scripts/test or bench/run_fs_bench.sh" >&2; exit 1; }
for tool in valgrind bc; do
  command -v $tool >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done
count() {
  ANYFS_BENCH_ITERATIONS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" --benchmark_filter="^pread_4k/$1/iterations" 2>&1 | awk '/Collected/ {print $4}'
}
base=""
printf '%-20s %12s %8s\n' stack instr/read ratio
for stack in MemoryFs ReadOnly Subdir PathFilter Overlay RateLimit Metrics Tracing Stack5 Stack6RateLimited; do
  one=$(count "$stack" "$n"); two=$(count "$stack" $((2 * n)))
  per=$(( (two - one) / n ))
  [ -z "$base" ] && base=$per
  printf '%-20s %12d %8.3f\n' "$stack" "$per" "$(echo "$per / $base" | bc -l)"
done
