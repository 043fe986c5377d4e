#!/usr/bin/env bash
# The PostgreSQL record store and the RADOS chunk store against their peers
# in the same run (docs/PERFORMANCE.md, "Engines beyond one machine"):
#   bench/run_engines.sh [FILES] [MIB]
# starts a throwaway PostgreSQL and Ceph (scripts/pg, scripts/ceph), runs
# build/bench/engine_bench meta (SQLite beside PostgreSQL) and chunks, then
# `rados bench` (1 MiB objects, 16 in flight, write then sequential read) on
# the same pool, and stops both servers.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
files=${1:-20000}
mib=${2:-256}
bench=$top/build/bench/engine_bench
[ -x "$bench" ] || { echo "build first (scripts/test or ninja -C build)"; exit 1; }
pg_dir=$(mktemp -d /tmp/anyfs-bench-pg.XXXXXX)
ceph_dir=$(mktemp -d /tmp/anyfs-bench-ceph.XXXXXX)
rmdir "$pg_dir" "$ceph_dir"
cleanup() { "$top/scripts/ceph" down "$ceph_dir" || true; "$top/scripts/pg" reset "$pg_dir" || true; rm -rf "$ceph_dir"; }
trap cleanup EXIT
url=$("$top/scripts/pg" up "$pg_dir")
conf=$("$top/scripts/ceph" up "$ceph_dir")
if [ "$files" -gt 0 ]; then
  echo "== records: $files files (SQLite file beside PostgreSQL, both durable at commit)"
  "$bench" meta --files "$files" --pg "$url"
fi
echo "== chunks: $mib MiB"
"$bench" chunks --mib "$mib" --ceph "$conf"
# 3 s of writes: the memstore OSD keeps every object in its 2 GiB of memory.
echo "== rados bench on the same pool (1 MiB objects, 16 in flight, 3 s)"
CEPH_CONF=$conf timeout 120 rados bench -p anyfs 3 write -b 1048576 -t 16 --no-cleanup 2>/dev/null |
  grep -E "^Bandwidth \(MB/sec\)|^Total writes"
CEPH_CONF=$conf timeout 120 rados bench -p anyfs 3 seq -t 16 2>/dev/null | grep -E "^Bandwidth \(MB/sec\)|^Total reads"
CEPH_CONF=$conf timeout 120 rados -p anyfs cleanup >/dev/null 2>&1 || true
