#!/usr/bin/env bash
# `anyfs mount` from the command line, through the kernel: daemon mode, files
# in and out with ordinary tools, unmount committing everything, stops by
# SIGTERM and by fusermount3 -u, views of the past against `anyfs cat --at`,
# clear errors, and a daemon killed with SIGKILL in the middle of a write
# workload: after remount and verify, every fsync'ed byte is there.
#
# Usage: mount_test.sh ANYFS_BINARY. Exits 77 (skipped) when /dev/fuse cannot be opened.
set -u
anyfs=$(realpath "$1")
if ! exec 9<>/dev/fuse 2>/dev/null; then
  echo "SKIP: /dev/fuse cannot be opened here; the mount tests need FUSE"
  exit 77
fi
exec 9>&-

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  for m in "$work"/m*; do
    mountpoint -q "$m" 2>/dev/null && { umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null; }
  done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
# expect_exit CODE COMMAND...: runs it, compares the exit code.
expect_exit() {
  local want=$1; shift
  "$@" >/dev/null 2>err.txt
  local got=$?
  [ "$got" = "$want" ] || { echo "  wanted exit $want, got $got: $* ($(cat err.txt))"; return 1; }
}
mounted() { awk -v m="$1" '$5 == m && / fuse.anyfs /' /proc/self/mountinfo | grep -q .; }

P=$work/p.anyfs
"$anyfs" init "$P" -o history=all >/dev/null
mkdir m1 m2 m3

# --- daemon mode: returns once mounted; files through ordinary tools ---------------
check "mount returns 0 once mounted" expect_exit 0 "$anyfs" -p "$P" mount m1
check "the kernel has the mount" mounted "$work/m1"
src=$(dirname "$anyfs")/../docs
[ -d "$src" ] || src=/usr/share/doc/bash
cp -r "$src" m1/docs
check "a copied tree reads back the same" diff -r "$src" m1/docs
echo hello >m1/greeting && ln -s greeting m1/link && mkdir -p m1/a/b/c && mv m1/greeting m1/a/b/c/
check "shell tools see what they made" test "$(cat m1/a/b/c/greeting)" = hello
check "a busy pool cannot be mounted twice (exit 7)" expect_exit 7 "$anyfs" -p "$P" mount m2
check "unmount waits for the commit (exit 0)" expect_exit 0 "$anyfs" unmount m1
check "the mount is gone" test ! -e m1/docs
check "what was written is in the pool" test "$("$anyfs" -p "$P" cat /a/b/c/greeting)" = hello
check "the pool verifies" expect_exit 0 "$anyfs" -p "$P" verify

# --- stops: SIGTERM on a foreground mount, fusermount3 -u on a daemon --------------
"$anyfs" -p "$P" mount -f m1 >/dev/null 2>fg.err &
fg=$!
for _ in $(seq 100); do mounted "$work/m1" && break; sleep 0.05; done
echo "not fsync'ed" >m1/by-term
kill -TERM $fg
wait $fg
check "SIGTERM ends a foreground mount with exit 0" test $? = 0
check "SIGTERM commits what was acknowledged" test "$("$anyfs" -p "$P" cat /by-term)" = "not fsync'ed"
"$anyfs" -p "$P" mount m1 >/dev/null
echo "external" >m1/by-fusermount
fusermount3 -u m1
for _ in $(seq 200); do "$anyfs" -p "$P" cat /by-fusermount >/dev/null 2>&1 && break; sleep 0.05; done
check "fusermount3 -u ends the daemon, committing" test "$("$anyfs" -p "$P" cat /by-fusermount)" = external

# --- views of the past ---------------------------------------------------------------
"$anyfs" -p "$P" snapshot @before >/dev/null
tid=$("$anyfs" -p "$P" --json snapshots | grep -o '"tid":[0-9]*' | head -1 | cut -d: -f2)
"$anyfs" -p "$P" mount m1 >/dev/null
echo changed >m1/a/b/c/greeting
rm -r m1/docs
"$anyfs" unmount m1 >/dev/null
check "mount @SNAP (exit 0)" expect_exit 0 "$anyfs" -p "$P" mount @before m2
check "mount --at TID (exit 0)" expect_exit 0 "$anyfs" -p "$P" --at "$tid" mount m3
check "the snapshot mount matches cat @SNAP" test "$(cat m2/a/b/c/greeting)" = "$("$anyfs" -p "$P" cat @before:/a/b/c/greeting)"
check "the --at mount matches cat --at" test "$(cat m3/a/b/c/greeting)" = "$("$anyfs" -p "$P" cat --at "$tid" /a/b/c/greeting)"
check "the past holds the removed tree" diff -r "$src" m3/docs
check "a view of the past is read-only" expect_exit 2 sh -c "echo x > m2/new"
grep -q "Read-only file system" err.txt || { echo "FAIL: EROFS expected, got $(cat err.txt)"; failed=$((failed + 1)); }
"$anyfs" unmount m2 >/dev/null
"$anyfs" unmount m3 >/dev/null

# --- a named dataset, and a snapshot taken by mkdir inside the mount -------------------
"$anyfs" -p "$P" dataset create proj >/dev/null
"$anyfs" -p "$P" mount proj m1 >/dev/null
echo "in proj" >m1/x
mkdir m1/.anyfs/snapshots/first
echo "later" >m1/x
check "a snapshot made by mkdir reads as it was" test "$(cat m1/.anyfs/snapshots/first/x)" = "in proj"
"$anyfs" unmount m1 >/dev/null
check "the named dataset got the file" test "$("$anyfs" -p "$P" cat proj:/x)" = later
check "the snapshot is the dataset's" test "$("$anyfs" -p "$P" cat proj@first:/x)" = "in proj"
check "the root dataset did not" expect_exit 3 "$anyfs" -p "$P" cat /x

# --- errors ----------------------------------------------------------------------------
check "no pool: usage error (exit 2)" expect_exit 2 env -u ANYFS_POOL "$anyfs" mount m1
check "a missing mountpoint is not found (exit 3)" expect_exit 3 "$anyfs" -p "$P" mount nowhere
check "an unknown snapshot is not found (exit 3)" expect_exit 3 "$anyfs" -p "$P" mount @nosuch m1
check "unmount of something else is not found (exit 3)" expect_exit 3 "$anyfs" unmount m1
check "mount --help explains" sh -c "'$anyfs' mount --help | grep -q snapdir"

# --- SIGKILL in the middle of writes: every fsync'ed file survives ----------------------
pid=$("$anyfs" -p "$P" --json mount m1 | grep -o '"pid":[0-9]*' | cut -d: -f2)
mkdir m1/w
(
  i=0
  while :; do
    i=$((i + 1))
    head -c $((4096 * (i % 50 + 1))) /dev/urandom >"chunk.$i" || exit 0
    dd if="chunk.$i" of="m1/w/f$i" bs=1M conv=fsync status=none 2>/dev/null || exit 0
    echo "f$i $(sha256sum <"chunk.$i" | cut -d' ' -f1)" >>durable.txt
    rm -f "chunk.$i"
  done
) &
writer=$!
sleep 2
kill -KILL "$pid"
wait $writer 2>/dev/null
umount -l m1 2>/dev/null || fusermount3 -u -z m1
n=$(wc -l <durable.txt)
check "the writer got some files durable before the kill ($n)" test "$n" -gt 5
check "the pool remounts after SIGKILL" expect_exit 0 "$anyfs" -p "$P" mount m1
lost=0
while read -r name sum; do
  [ "$(sha256sum <"m1/w/$name" 2>/dev/null | cut -d' ' -f1)" = "$sum" ] || { lost=$((lost + 1)); echo "  lost: $name"; }
done <durable.txt
check "every fsync'ed file is whole after SIGKILL ($n files)" test "$lost" = 0
"$anyfs" unmount m1 >/dev/null
check "the pool verifies after SIGKILL" expect_exit 0 "$anyfs" -p "$P" verify

# --- read-only media and readers without write access (issue 14 item 6) -------------
mkdir ro m4
if mount -t tmpfs -o size=16m anyfs-ro ro 2>/dev/null; then
  "$anyfs" init ro/p.anyfs >/dev/null && echo kept | "$anyfs" -p ro/p.anyfs put - /f
  mount -o remount,ro ro
  check "a pool on a read-only file system reads" test "$("$anyfs" -p ro/p.anyfs cat /f)" = kept
  check "and verifies" expect_exit 0 "$anyfs" -p ro/p.anyfs verify
  check "and mounts read-only" expect_exit 0 "$anyfs" -p ro/p.anyfs mount --read-only m4
  check "through which it reads" test "$(cat m4/f 2>/dev/null)" = kept
  "$anyfs" unmount m4 >/dev/null 2>&1
  check "writing it says read-only (exit 5)" expect_exit 5 "$anyfs" -p ro/p.anyfs put /etc/hostname /g
  umount ro
else
  echo "  (no tmpfs here: the read-only file system checks were left out)"
fi
mkdir shared && cp "$P" shared/p.anyfs && chmod 755 shared && chmod 644 shared/p.anyfs
if setpriv --reuid=65534 --regid=65534 --clear-groups "$anyfs" --help >/dev/null 2>&1; then
  check "a reader who cannot write the pool's directory reads it" \
    test "$(setpriv --reuid=65534 --regid=65534 --clear-groups "$anyfs" -p shared/p.anyfs cat /a/b/c/greeting)" = "$("$anyfs" -p "$P" cat /a/b/c/greeting)"
else
  echo "  (nobody cannot run $anyfs here: the other-user check was left out)"
fi

# --- a full file system through the mount (issue 14 item 1) ------------------------
mkdir small m5
if mount -t tmpfs -o size=64m anyfs-small small 2>/dev/null; then
  "$anyfs" init small/p.anyfs -o compression=off >/dev/null
  "$anyfs" -p small/p.anyfs mount m5 >/dev/null
  head -c 20000000 /dev/urandom >m5/kept 2>/dev/null
  sum=$(sha256sum <m5/kept)
  check "a write that does not fit fails with ENOSPC" sh -c "head -c 80000000 /dev/urandom >m5/big 2>err.txt; grep -q 'No space left' err.txt"
  check "listing still works" test -n "$(ls m5)"
  check "what fitted reads back" test "$(sha256sum <m5/kept)" = "$sum"
  check "removing the file commits" rm -f m5/big
  check "and makes room for new data" sh -c "head -c 10000000 /dev/urandom >m5/again"
  check "unmount commits (exit 0)" expect_exit 0 "$anyfs" unmount m5
  check "the pool verifies after filling up" expect_exit 0 "$anyfs" -p small/p.anyfs verify
  check "and opens for writing" expect_exit 0 "$anyfs" -p small/p.anyfs rm /again
  umount small
else
  echo "  (no tmpfs here: the full file system checks were left out)"
fi

# --- mount options and what ordinary programs do (issue 15) -------------------------
"$anyfs" init opts.anyfs >/dev/null
mkdir m6
check "an unknown -o option is a usage error naming it" sh -c "! \"$anyfs\" -p opts.anyfs mount -o bogus m6 2>err.txt && grep -q bogus err.txt"
if [ "$(id -u)" = 0 ]; then
  check "mount -o dev,suid" expect_exit 0 "$anyfs" -p opts.anyfs mount -o dev,suid m6
  check "the mount is neither nodev nor nosuid" sh -c "! grep ' $work/m6 ' /proc/mounts | grep -qE 'nodev|nosuid'"
  mknod m6/null c 1 3 && chmod 666 m6/null
  check "a device node opens with -o dev" sh -c "echo gone >m6/null && test ! -s m6/null"
  mkdir m6/d && (cd m6/d && touch a) && \
    check "rewinddir shows names made since opendir" python3 -c "
import os
fd = os.open('m6/d', os.O_RDONLY)
first = os.listdir(fd)
for i in range(200): open('m6/d/n%d' % i, 'w').close()
os.lseek(fd, 0, 0)
assert len(os.listdir(fd)) == 201, len(os.listdir(fd))
"
  touch -d '2 days ago' m6/d/a
  before=$(stat -c %X m6/d/a)
  cat m6/d/a
  check "reading moves atime (relatime)" test "$(stat -c %X m6/d/a)" -gt "$before"
  echo data >m6/f && stat -c '%Y %Z %s' m6/f >times.before
  check "unmount" expect_exit 0 "$anyfs" unmount m6
  check "-o ro mounts read-only" expect_exit 0 "$anyfs" -p opts.anyfs mount -o ro m6
  check "times are the same after unmount and mount" test "$(stat -c '%Y %Z %s' m6/f)" = "$(cat times.before)"
  check "ro refuses writes" sh -c "! touch m6/x 2>/dev/null"
  "$anyfs" unmount m6 >/dev/null
  check "--read-only with -o rw is a usage error" expect_exit 2 "$anyfs" -p opts.anyfs --read-only mount -o rw m6
fi

# A pool mounted writable is scrubbed and drained by its daemon (cli/control.h),
# while files are written through the mount.
V="$work/vols.anyfs"
mkdir -p m7
"$anyfs" init "$V" --volume "$work/v1.vol" --volume "$work/v2.vol" --volume "$work/v3.vol" -o placement=mirror=2 -o compression=off >/dev/null
head -c 8000000 /dev/urandom >big.bin
check "mount a pool of volumes" expect_exit 0 "$anyfs" -p "$V" mount m7
cp big.bin m7/big.bin && sync m7/big.bin
check "scrub through the mount daemon" sh -c "\"$anyfs\" -p \"$V\" scrub | grep -q '0 lost'"
check "status beside the mount" sh -c "\"$anyfs\" -p \"$V\" status | grep -q 'scrub: finished'"
(for i in 1 2 3; do cp big.bin "m7/w$i"; done) &
writer=$!
check "volume remove through the mount daemon, while writing" sh -c "\"$anyfs\" -p \"$V\" volume remove \"$work/v2.vol\" | grep -q '^removed volume'"
wait $writer
check "the drained volume's file is gone" test ! -e "$work/v2.vol"
check "volume move through the mount daemon" sh -c "\"$anyfs\" -p \"$V\" volume move \"$work/v1.vol\" \"$work/v4.vol\" | grep -q 'onto'"
check "files written meanwhile read back" sh -c "cmp big.bin m7/w3 && cmp big.bin m7/big.bin"
check "scrub --pause with nothing running marks nothing (exit 3)" expect_exit 3 "$anyfs" -p "$V" scrub --pause
check "unmount the pool of volumes" expect_exit 0 "$anyfs" unmount m7
check "two volumes left, the pool verifies" sh -c "test \"\$(\"$anyfs\" -p \"$V\" volume list | grep -c online)\" = 2 && \"$anyfs\" -p \"$V\" verify >/dev/null"

echo "mount: $passed passed, $failed failed"
[ "$failed" = 0 ]
