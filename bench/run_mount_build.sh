#!/usr/bin/env bash
# Untar and build a real source tree inside an anyfs mount and on ext4, in the
# same run, rounds alternating: this repository at HEAD (git archive; about 300
# files), configured with CMake and built with Ninja (-j2, the anyfs command and
# its library: ~45 C++ files), then removed. Prints seconds per phase and the
# ratios (ext4 time / mount time: 1.0 means as fast as ext4).
#
# Usage: bench/run_mount_build.sh [ROUNDS] [WORKDIR]     (needs root or FUSE access)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
anyfs=${ANYFS:-$repo/build/anyfs}
rounds=${1:-2}
work=${2:-/tmp/anyfs-build-bench}
rm -rf "$work"
mkdir -p "$work"
git -C "$repo" archive --format=tar HEAD >"$work/src.tar"
echo "tree: $(tar -tf "$work/src.tar" | wc -l) entries, $(du -k "$work/src.tar" | cut -f1) KiB"

now() { date +%s.%N; }
# phases DIR: untar, configure+build, remove; prints "untar build remove" seconds.
phases() {
  local dir=$1 t0 t1 t2 t3
  t0=$(now)
  tar -xf "$work/src.tar" -C "$dir"
  t1=$(now)
  cmake -S "$dir" -B "$dir/build" -G Ninja -DANYFS_BUILD_TESTS=OFF -DANYFS_BUILD_BENCH=OFF >/dev/null
  ninja -C "$dir/build" -j2 anyfs_cli >/dev/null
  t2=$(now)
  rm -rf "${dir:?}"/*
  t3=$(now)
  echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc)"
}

declare -a mount_untar mount_build mount_rm ext4_untar ext4_build ext4_rm
for round in $(seq "$rounds"); do
  mkdir -p "$work/ext4" "$work/mnt"
  "$anyfs" init "$work/p.anyfs" >/dev/null
  "$anyfs" -p "$work/p.anyfs" mount "$work/mnt" >/dev/null
  read -r u b r < <(phases "$work/mnt")
  "$anyfs" unmount "$work/mnt" >/dev/null
  rm -f "$work/p.anyfs"
  mount_untar+=("$u"); mount_build+=("$b"); mount_rm+=("$r")
  read -r u b r < <(phases "$work/ext4")
  ext4_untar+=("$u"); ext4_build+=("$b"); ext4_rm+=("$r")
  echo "round $round: mount untar ${mount_untar[-1]} s, build ${mount_build[-1]} s, rm ${mount_rm[-1]} s |" \
       "ext4 untar $u s, build $b s, rm $r s"
done
median_ratio() { # median of ext4[i]/mount[i]
  local -n a=$1 b=$2
  for i in "${!a[@]}"; do echo "${b[$i]} / ${a[$i]}" | bc -l; done | sort -n | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}'
}
echo "untar:  mount vs ext4 median ratio $(median_ratio mount_untar ext4_untar)"
echo "build:  mount vs ext4 median ratio $(median_ratio mount_build ext4_build)"
echo "remove: mount vs ext4 median ratio $(median_ratio mount_rm ext4_rm)"
rm -rf "$work"
