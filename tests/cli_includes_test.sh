#!/usr/bin/env bash
# The command is built on the public API (include/anyfs/) and a short,
# documented internal one (ARCHITECTURE.md, "The command"): path helpers,
# location parsing and the descriptor owner. Any other internal header in
# cli/ fails here.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
allowed='#include "(anyfs/.*|context\.h|control\.h|format\.h|progress\.h|transfer\.h|fs/path\.h|pool/location\.h|util/fd\.h)"'
bad=$(grep -n '^#include "' "$top"/cli/*.cc "$top"/cli/*.h | grep -vE ":[0-9]+:$allowed" | sed "s|$top/||")
if [ -n "$bad" ]; then
  echo "internal headers in the command (use the public API, or document the header as internal API):"
  echo "$bad"
  exit 1
fi
echo "cli includes: public API and the documented internal headers only"
