#!/usr/bin/env bash
# The lock rules are annotations (src/util/thread_annotations.h) that clang
# checks: the fuzzing build in CI and scripts/thread-check build everything
# with -Wthread-safety -Werror. This test proves the check has teeth: a
# planted call into the node cache without the pool lock must fail to
# compile, and the same call under PoolLock must compile.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxx=$(command -v clang++-16 || true)
if [ -z "$cxx" ]; then
  echo "clang++-16 is missing (scripts/test installs it)"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-std=c++2b -fsyntax-only -Wthread-safety -Werror -D__cpp_concepts=202002L -Wno-macro-redefined
       -I"$top/include" -I"$top/src")

planted() {  # planted LOCK_LINE: a translation unit loading an inode
  cat <<CPP
#include "pool/node_cache.h"
namespace anyfs {
Result<Node*> planted(PoolCore& core, NodeCache& cache) {
  $1
  return cache.load(1);
}
}  // namespace anyfs
CPP
}

planted "" >"$work/unlocked.cc"
if "$cxx" "${flags[@]}" "$work/unlocked.cc" 2>"$work/unlocked.err"; then
  echo "a node-cache call without the pool lock compiled: the thread-safety check is not working"
  exit 1
fi
if ! grep -q "requires holding mutex 'pool_lock'" "$work/unlocked.err"; then
  echo "the unlocked call failed for another reason:"
  cat "$work/unlocked.err"
  exit 1
fi
planted "PoolLock lock(core.mu);" >"$work/locked.cc"
if ! "$cxx" "${flags[@]}" "$work/locked.cc" 2>"$work/locked.err"; then
  echo "the same call under PoolLock did not compile:"
  cat "$work/locked.err"
  exit 1
fi
echo "thread safety: a call without the pool lock is a compile error; under PoolLock it compiles"
