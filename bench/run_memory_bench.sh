#!/usr/bin/env bash
# Bounded memory (issue 3): the peak RSS of `anyfs import` of many small files
# and of `anyfs put` of one large incompressible file, streamed from a pipe.
#   bench/run_memory_bench.sh [FILES (default 1000000)] [GIB (default 10)]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib.sh
source "$top/scripts/lib.sh"
ensure_packages
ensure_built "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
files=${1:-1000000}
gib=${2:-10}
anyfs=$top/build/anyfs
work=$(mktemp -d /tmp/anyfs-memory-XXXXXX)
trap 'rm -rf "$work"' EXIT

peak() {  # command... → prints "peak RSS MiB, wall s"
  /usr/bin/time -f "%M %e" -o "$work/time" "$@" >/dev/null
  read -r kb secs <"$work/time"
  echo "$((kb / 1024)) MiB peak RSS, ${secs} s"
}

echo "== $gib GiB incompressible file through put (stdin)"
"$anyfs" init "$work/big.anyfs" >/dev/null
echo "put: $(peak sh -c "openssl enc -aes-128-ctr -pass pass:anyfs -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c ${gib}G | '$anyfs' -p '$work/big.anyfs' put - /big")"
"$anyfs" -p "$work/big.anyfs" stat /big
echo "get: $(peak "$anyfs" -p "$work/big.anyfs" get /big /dev/null)"
rm -f "$work/big.anyfs"

echo "== import of $files small files"
python3 - "$work/tree" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = 1000
for d in range((n + per - 1) // per):
    dd = f"{root}/d{d:04}"
    os.makedirs(dd)
    for f in range(min(per, n - d * per)):
        with open(f"{dd}/f{f:04}", "w") as fh:
            fh.write(f"file {d} {f}\n")
PY
"$anyfs" init "$work/many.anyfs" >/dev/null
echo "import: $(peak "$anyfs" -p "$work/many.anyfs" import "$work/tree" /)"
echo "verify: $(peak "$anyfs" -p "$work/many.anyfs" verify)"
"$anyfs" -p "$work/many.anyfs" info | grep -E "files|on disk"
