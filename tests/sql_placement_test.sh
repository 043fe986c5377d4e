#!/usr/bin/env bash
# Storage engines own their SQL: nothing above MetaStore/ChunkStore/PoolFile
# may know which database is below. No SQL statement, PRAGMA, sqlite3_ call or
# SQLite header outside src/meta/, src/chunk/ and src/util/ (comments aside).
# The check also runs on a copy with a query planted in src/pool/, which it
# must catch.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pattern='sqlite3_|<sqlite3[.]h>|util/sqlite[.]h|sql::Db|PRAGMA|(^|[^A-Za-z_])(SELECT|INSERT INTO|UPDATE [A-Za-z_]+ SET|DELETE FROM|CREATE TABLE|BEGIN IMMEDIATE|VACUUM)([^A-Za-z_]|$)'

# offenders ROOT: prints file:line: code for every statement out of place.
offenders() {
  local root=$1
  (cd "$root" && find src include cli -name '*.cc' -o -name '*.h' | sort) | while read -r f; do
    case "$f" in src/meta/* | src/chunk/* | src/util/*) continue ;; esac
    awk -v f="$f" -v pat="$pattern" '{ code = $0; sub(/\/\/.*$/, "", code); if (code ~ pat) printf "%s:%d: %s\n", f, NR, $0 }' "$root/$f"
  done
}

found=$(offenders "$top")
if [ -n "$found" ]; then
  echo "SQL outside the stores (move it behind MetaStore, ChunkStore or PoolFile):"
  echo "$found"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$top/src" "$top/include" "$top/cli" "$work/"
printf 'void planted(Db& db) { db.exec("SELECT count(*) FROM inodes"); }\n' >"$work/src/pool/planted.cc"
if [ -z "$(offenders "$work")" ]; then
  echo "the check missed a query planted in src/pool/"
  exit 1
fi
echo "sql placement: no SQL outside src/meta, src/chunk, src/util (and a planted query is caught)"
