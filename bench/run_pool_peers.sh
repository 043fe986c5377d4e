#!/usr/bin/env bash
# AnyFS pools beside their peers on real data, rounds alternating so that noise
# from other jobs hits everyone (figures in docs/PERFORMANCE.md):
#
#   import:   a source tree (default /usr/include) copied in by cp -a, tar | zstd -1,
#             restic backup, borg create, mksquashfs and anyfs import (defaults, lz4,
#             64 KiB pages); wall time
#             (median of the rounds, and as a ratio to cp -a) and stored size.
#   versions: ten versions of a 64 MiB file, each with a few small insertions,
#             stored by anyfs (ten files in one pool), restic (ten snapshots) and
#             git (ten commits, after git gc); stored size.
#
#   bench/run_pool_peers.sh [import|versions|all] [SOURCE_DIR] [ROUNDS]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib.sh
source "$top/scripts/lib.sh"
ensure_packages
ensure_built "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
what=${1:-all}
src=${2:-/usr/include}
rounds=${3:-3}
anyfs=$top/build/anyfs
for tool in restic borg mksquashfs zstd git; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install restic borgbackup squashfs-tools zstd git" >&2; exit 2; }
done
work=$(mktemp -d /tmp/anyfs-peers-XXXXXX)
trash=$work/trash
mkdir -p "$trash"
trap 'rm -rf "$work"' EXIT
export RESTIC_PASSWORD=bench BORG_PASSPHRASE='' BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes

now() { date +%s.%N; }
size_of() { du -sb "$1" | cut -f1; }
# Old outputs are moved aside and deleted at the end: deleting many files and then
# creating many at once is slow on these disks (FACTS.md).
aside() { mv "$1" "$trash/$(basename "$1").$RANDOM$RANDOM" 2>/dev/null || true; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times sizes
run() {  # name, output path, command...
  local name=$1 out=$2; shift 2
  aside "$out"
  sync
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1
  sync
  t1=$(now)
  times[$name]+="$(echo "$t1 - $t0" | bc -l) "
  sizes[$name]=$(size_of "$out")
}

if [ "$what" = import ] || [ "$what" = all ]; then
  files=$(find "$src" -type f | wc -l)
  bytes=$(du -sb "$src" | cut -f1)
  echo "import of $src: $files files, $((bytes / 1048576)) MiB, $rounds rounds"
  cat "$(find "$src" -type f | head -2000)" >/dev/null 2>&1 || true  # warm the page cache
  tar -cf - "$src" 2>/dev/null >/dev/null
  for ((r = 0; r < rounds; r++)); do
    run cp "$work/cp" cp -a "$src" "$work/cp"
    run tar_zstd "$work/tar.zst" sh -c "tar -cf - '$src' 2>/dev/null | zstd -1 -q -o '$work/tar.zst'"
    run restic "$work/restic" sh -c "restic init -q --repo '$work/restic' && restic backup -q --repo '$work/restic' '$src'"
    run borg "$work/borg" sh -c "borg init -e none '$work/borg' && borg create '$work/borg::a' '$src'"
    run squashfs "$work/sq" mksquashfs "$src" "$work/sq" -quiet -no-progress
    run anyfs "$work/p.anyfs" sh -c "'$anyfs' init '$work/p.anyfs' && '$anyfs' -p '$work/p.anyfs' import '$src' /"
    run anyfs_lz4 "$work/pz.anyfs" sh -c "'$anyfs' init '$work/pz.anyfs' -o compression=lz4 && '$anyfs' -p '$work/pz.anyfs' import '$src' /"
    run anyfs_64k "$work/p64.anyfs" sh -c "'$anyfs' init '$work/p64.anyfs' --page-size 65536 && '$anyfs' -p '$work/p64.anyfs' import '$src' /"
  done
  base=$(echo "${times[cp]}" | tr ' ' '\n' | grep . | median)
  printf "%-12s %10s %8s %12s\n" tool "time (s)" "vs cp" "stored MiB"
  for name in cp tar_zstd restic borg squashfs anyfs anyfs_lz4 anyfs_64k; do
    t=$(echo "${times[$name]}" | tr ' ' '\n' | grep . | median)
    printf "%-12s %10.2f %8.2f %12.1f\n" "$name" "$t" "$(echo "$t / $base" | bc -l)" "$(echo "${sizes[$name]} / 1048576" | bc -l)"
  done
  "$anyfs" -p "$work/p.anyfs" verify | tail -1
fi

if [ "$what" = versions ] || [ "$what" = all ]; then
  echo "ten versions of a 64 MiB file with small insertions"
  python3 - "$work/v" <<'EOF'
import os, random, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(1)
words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(5000)]
data = bytearray()
while len(data) < 64 << 20:
    data += rng.choice(words) + (b"\n" if rng.random() < 0.1 else b" ")
data = data[: 64 << 20]
for v in range(10):
    with open(f"{out}/v{v}", "wb") as f:
        f.write(data)
    for _ in range(20):  # small insertions for the next version
        at = rng.randrange(len(data))
        data[at:at] = os.urandom(rng.randint(1, 200))
EOF
  logical=$(du -cb "$work"/v/v* | tail -1 | cut -f1)
  "$anyfs" init "$work/vers.anyfs" >/dev/null
  for v in $(seq 0 9); do "$anyfs" -p "$work/vers.anyfs" put "$work/v/v$v" "/v$v"; done
  anyfs_stored=$("$anyfs" -p "$work/vers.anyfs" --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunk_stored_bytes"])')
  anyfs_file=$(size_of "$work/vers.anyfs")
  "$anyfs" init "$work/versz.anyfs" --page-size 65536 >/dev/null
  for v in $(seq 0 9); do "$anyfs" -p "$work/versz.anyfs" put "$work/v/v$v" "/v$v"; done
  anyfsz_file=$(size_of "$work/versz.anyfs")
  restic init -q --repo "$work/vr" >/dev/null
  mkdir -p "$work/one"
  for v in $(seq 0 9); do cp "$work/v/v$v" "$work/one/file"; restic backup -q --repo "$work/vr" "$work/one" >/dev/null; done
  restic_size=$(size_of "$work/vr")
  git init -q "$work/vg"
  for v in $(seq 0 9); do cp "$work/v/v$v" "$work/vg/file"; git -C "$work/vg" add file; git -C "$work/vg" -c user.email=b@b -c user.name=b commit -qm "v$v"; done
  git -C "$work/vg" gc -q --aggressive 2>/dev/null || git -C "$work/vg" gc -q
  git_size=$(size_of "$work/vg/.git")
  printf "logical %.1f MiB\n" "$(echo "$logical / 1048576" | bc -l)"
  printf "%-30s %10.1f MiB\n" "anyfs chunks (zstd-3)" "$(echo "$anyfs_stored / 1048576" | bc -l)" \
    "anyfs pool file (16 KiB pages)" "$(echo "$anyfs_file / 1048576" | bc -l)" \
    "anyfs pool file (64 KiB pages)" "$(echo "$anyfsz_file / 1048576" | bc -l)" \
    "restic repository" "$(echo "$restic_size / 1048576" | bc -l)" \
    "git after gc" "$(echo "$git_size / 1048576" | bc -l)"
fi
