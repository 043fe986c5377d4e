#!/usr/bin/env bash
# Runs the Fs benchmarks the way docs/PERFORMANCE.md quotes them: benchmarks
# interleaved at random, 7 repetitions, medians, ratios to the same run's baseline.
#   bench/run_fs_bench.sh [extra benchmark flags, e.g. --benchmark_filter=pread]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib.sh
source "$top/scripts/lib.sh"
ensure_packages
ensure_built "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec "$top/build/bench/fs_bench" --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 "$@"
