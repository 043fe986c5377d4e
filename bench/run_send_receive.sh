#!/usr/bin/env bash
# Replication beside its peers on real data, rounds alternating so that noise
# from other jobs hits everyone (figures in docs/PERFORMANCE.md, "Send and
# receive"):
#
#   full:        anyfs send of a snapshot of SOURCE_DIR (default /usr/include) to
#                /dev/null, and send | receive into a second pool, against
#                tar -c > /dev/null, tar -c | tar -x, and restic backup + restore
#                of the same tree; wall time (median of the rounds) as MB/s of
#                the tree's bytes and as a ratio to tar; the stream's size
#                against the pool's stored bytes.
#   incremental: CHANGED files (default 100) of FILES small files (default 20000)
#                rewritten, then send -i of the change: stream size against the
#                changed bytes, and its time against rsync -a of the two trees
#                (which has to walk them). The changes are one commit each, kept
#                by history=all: send --history carries each as its own state
#                (CHANGED streams), against the one incremental — stream size,
#                send time, and receive time into a copy holding @a.
#
#   bench/run_send_receive.sh [full|incremental|all] [SOURCE_DIR] [ROUNDS] [FILES] [CHANGED]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib.sh
source "$top/scripts/lib.sh"
ensure_packages restic rsync
ensure_built "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
what=${1:-all}
src=${2:-/usr/include}
rounds=${3:-3}
files=${4:-20000}
changed=${5:-100}
anyfs=$top/build/anyfs
work=$(mktemp -d /tmp/anyfs-send-XXXXXX)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# time_of CMD...: wall seconds of one run
time_of() {
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

full() {
  local bytes a
  bytes=$(du -sb "$src" | cut -f1)
  a=$work/a.anyfs
  "$anyfs" init "$a" >/dev/null
  "$anyfs" -p "$a" import "$src" / >/dev/null
  "$anyfs" -p "$a" snapshot @s >/dev/null
  local stream_bytes stored
  stream_bytes=$("$anyfs" -p "$a" --json send -n @s | grep -o '"bytes":[0-9]*' | cut -d: -f2)
  stored=$("$anyfs" -p "$a" --json info | grep -o '"chunk_stored_bytes":[0-9]*' | cut -d: -f2)
  local t_send=() t_tar=() t_sr=() t_tartar=() t_restic=()
  for r in $(seq "$rounds"); do
    t_send+=("$(time_of sh -c "'$anyfs' -p '$a' send @s > /dev/null")")
    t_tar+=("$(time_of sh -c "tar -cf - -C '$src' . > /dev/null")")
    rm -f "$work/b.anyfs"*
    "$anyfs" init "$work/b.anyfs" >/dev/null
    t_sr+=("$(time_of sh -c "'$anyfs' -p '$a' send @s 2>/dev/null | '$anyfs' -p '$work/b.anyfs' receive copy")")
    rm -rf "$work/x" && mkdir -p "$work/x"
    t_tartar+=("$(time_of sh -c "tar -cf - -C '$src' . | tar -xf - -C '$work/x'")")
    rm -rf "$work/restic" "$work/r" && mkdir -p "$work/r"
    export RESTIC_PASSWORD=bench
    restic init --repo "$work/restic" >/dev/null 2>&1
    t_restic+=("$(time_of sh -c "restic --repo '$work/restic' backup '$src' -q && restic --repo '$work/restic' restore latest --target '$work/r' -q")")
  done
  local m_send m_tar m_sr m_tartar m_restic
  m_send=$(printf '%s\n' "${t_send[@]}" | median)
  m_tar=$(printf '%s\n' "${t_tar[@]}" | median)
  m_sr=$(printf '%s\n' "${t_sr[@]}" | median)
  m_tartar=$(printf '%s\n' "${t_tartar[@]}" | median)
  m_restic=$(printf '%s\n' "${t_restic[@]}" | median)
  mbs() { echo "scale=1; $bytes / $1 / 1000000" | bc -l; }
  ratio() { echo "scale=2; $2 / $1" | bc -l; }
  echo "full: $src, $(echo "scale=1; $bytes/1000000" | bc) MB, $rounds rounds (median)"
  printf '  %-34s %8s s %8s MB/s  %6sx tar\n' "anyfs send > /dev/null" "$m_send" "$(mbs "$m_send")" "$(ratio "$m_send" "$m_tar")"
  printf '  %-34s %8s s %8s MB/s\n' "tar -c > /dev/null" "$m_tar" "$(mbs "$m_tar")"
  printf '  %-34s %8s s %8s MB/s  %6sx tar|tar\n' "anyfs send | anyfs receive" "$m_sr" "$(mbs "$m_sr")" "$(ratio "$m_sr" "$m_tartar")"
  printf '  %-34s %8s s %8s MB/s\n' "tar -c | tar -x" "$m_tartar" "$(mbs "$m_tartar")"
  printf '  %-34s %8s s %8s MB/s  %6sx tar|tar\n' "restic backup + restore" "$m_restic" "$(mbs "$m_restic")" "$(ratio "$m_restic" "$m_tartar")"
  echo "  stream $stream_bytes bytes; pool stores $stored chunk bytes ($(echo "scale=3; $stream_bytes/$stored" | bc -l)x)"
}

incremental() {
  local a=$work/i.anyfs tree=$work/tree
  mkdir -p "$tree"
  for d in $(seq 0 99); do mkdir -p "$tree/d$d"; done
  for i in $(seq 0 $((files - 1))); do head -c $((1000 + i % 7000)) /dev/urandom > "$tree/d$((i % 100))/f$i"; done
  "$anyfs" init "$a" >/dev/null
  "$anyfs" -p "$a" import "$tree" / >/dev/null
  "$anyfs" -p "$a" property set history=all
  "$anyfs" -p "$a" snapshot @a >/dev/null
  rm -rf "$work/mirror" && cp -a "$tree" "$work/mirror"
  local changed_bytes=0
  for i in $(seq 0 $((changed - 1))); do
    local f="d$((i * 37 % 100))/f$(( (i * 7919) % files ))"
    head -c 4000 /dev/urandom > "$tree/$f"
    "$anyfs" -p "$a" put "$tree/$f" "/$f" >/dev/null
    changed_bytes=$((changed_bytes + 4000))
  done
  "$anyfs" -p "$a" snapshot @b >/dev/null
  local size t_send t_rsync
  size=$("$anyfs" -p "$a" --json send -n -i @a @b | grep -o '"bytes":[0-9]*' | cut -d: -f2)
  local hsize hstreams
  hsize=$("$anyfs" -p "$a" --json send -n --history -i @a @b | grep -o '"bytes":[0-9]*' | cut -d: -f2)
  hstreams=$("$anyfs" -p "$a" --json send -n --history -i @a @b | grep -o '"streams":[0-9]*' | cut -d: -f2)
  local base=$work/base.anyfs
  "$anyfs" init "$base" >/dev/null
  "$anyfs" -p "$a" send @a 2>/dev/null | "$anyfs" -p "$base" receive t >/dev/null
  "$anyfs" -p "$a" send -i @a @b -o "$work/inc.stream" >/dev/null 2>&1
  "$anyfs" -p "$a" send --history -i @a @b -o "$work/hist.stream" >/dev/null 2>&1
  local ts=() tr=() th=() tri=() trh=()
  for r in $(seq "$rounds"); do
    ts+=("$(time_of sh -c "'$anyfs' -p '$a' send -i @a @b > /dev/null")")
    th+=("$(time_of sh -c "'$anyfs' -p '$a' send --history -i @a @b > /dev/null")")
    rm -rf "$work/m2" && cp -a "$work/mirror" "$work/m2"
    tr+=("$(time_of rsync -a "$tree/" "$work/m2/")")
    rm -f "$work/r.anyfs"* && cp "$base" "$work/r.anyfs"
    tri+=("$(time_of "$anyfs" -p "$work/r.anyfs" receive t -i "$work/inc.stream")")
    rm -f "$work/r.anyfs"* && cp "$base" "$work/r.anyfs"
    trh+=("$(time_of "$anyfs" -p "$work/r.anyfs" receive t -i "$work/hist.stream")")
  done
  t_send=$(printf '%s\n' "${ts[@]}" | median)
  t_rsync=$(printf '%s\n' "${tr[@]}" | median)
  local t_hist t_ri t_rh
  t_hist=$(printf '%s\n' "${th[@]}" | median)
  t_ri=$(printf '%s\n' "${tri[@]}" | median)
  t_rh=$(printf '%s\n' "${trh[@]}" | median)
  echo "incremental: $changed of $files files rewritten ($changed_bytes bytes), $rounds rounds (median)"
  echo "  stream $size bytes = $(echo "scale=2; $size/$changed_bytes" | bc -l)x the changed bytes"
  printf '  %-34s %8s s\n' "anyfs send -i" "$t_send"
  printf '  %-34s %8s s  (%sx anyfs)\n' "rsync -a of the two trees" "$t_rsync" "$(echo "scale=1; $t_rsync/$t_send" | bc -l)"
  echo "  --history: $hstreams streams, $hsize bytes = $(echo "scale=2; $hsize/$size" | bc -l)x the incremental"
  printf '  %-34s %8s s  (%sx send -i)\n' "anyfs send --history -i" "$t_hist" "$(echo "scale=1; $t_hist/$t_send" | bc -l)"
  printf '  %-34s %8s s\n' "anyfs receive of send -i" "$t_ri"
  printf '  %-34s %8s s  (%sx; %s ms a state)\n' "anyfs receive of send --history" "$t_rh" \
    "$(echo "scale=1; $t_rh/$t_ri" | bc -l)" "$(echo "scale=1; 1000*($t_rh-$t_ri)/$hstreams" | bc -l)"
}

case "$what" in
  full) full ;;
  incremental) incremental ;;
  all) full; incremental ;;
  *) echo "usage: $0 [full|incremental|all] [SOURCE_DIR] [ROUNDS] [FILES] [CHANGED]" >&2; exit 2 ;;
esac
