#!/usr/bin/env bash
# scripts/anyfs, the README's main command: once set up it starts the binary
# without checking packages or running the build (0.7 s a call before), and it
# still builds when a source file changed. Run in a copy of the wrapper with
# stand-ins for ninja, cmake, dpkg-query and the binary, which log their calls.
set -u
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/top/scripts" "$work/top/src" "$work/top/include" "$work/top/cli" "$work/top/build" "$work/bin"
cp "$src/scripts/anyfs" "$src/scripts/lib.sh" "$work/top/scripts/"
touch "$work/top/CMakeLists.txt" "$work/top/src/a.cc" "$work/top/build/build.ninja"
log="$work/calls"
printf '#!/bin/sh\necho "anyfs $*"\n' >"$work/top/build/anyfs"
printf '#!/bin/sh\necho "ninja $*" >>%s\ncase " $* " in *" -n "*) echo "ninja: no work to do.";; esac\n' "$log" >"$work/bin/ninja"
printf '#!/bin/sh\necho "cmake $*" >>%s\n' "$log" >"$work/bin/cmake"
printf '#!/bin/sh\necho "dpkg-query" >>%s\nprintf "install ok installed"\n' "$log" >"$work/bin/dpkg-query"
chmod +x "$work/top/build/anyfs" "$work/bin/"*
failures=0
check() {  # check WHAT EXPECTED_CALL_PATTERN|none
  local what=$1 want=$2 out
  : >"$log"
  out=$(PATH="$work/bin:$PATH" "$work/top/scripts/anyfs" --version 2>&1)
  if [ "$out" != "anyfs --version" ]; then echo "FAIL $what: output $out"; failures=$((failures + 1)); return; fi
  if [ "$want" = none ]; then
    if [ -s "$log" ]; then echo "FAIL $what: expected no set-up, got: $(tr '\n' ' ' <"$log")"; failures=$((failures + 1)); fi
  elif ! grep -q "$want" "$log"; then
    echo "FAIL $what: expected '$want' among: $(tr '\n' ' ' <"$log")"; failures=$((failures + 1))
  fi
}
check "first call" "dpkg-query"
check "first call builds" none  # the stamp is fresh now
sleep 1.1  # file times in whole seconds on some file systems
touch "$work/top/src/a.cc"
check "after a source change" "ninja"
check "then quiet again" none
touch "$work/top/include/new.h"
check "after a new header" "ninja"
start=$(date +%s%N)
for _ in 1 2 3 4 5 6 7 8 9 10; do PATH="$work/bin:$PATH" "$work/top/scripts/anyfs" --version >/dev/null; done
echo "wrapper: $(( ($(date +%s%N) - start) / 10000000 )) ms a call when nothing changed (informational)"
[ "$failures" = 0 ] && echo "wrapper: all checks passed"
[ "$failures" = 0 ]
