#!/usr/bin/env bash
# Runs declarative CLI tests: each .test file is a script of commands with their
# expected output, run in a fresh directory ($ROOT is an empty directory in it).
#
#   $ anyfs --host $ROOT ls /      a command ("anyfs" is the binary under test)
#   a/                             expected stdout, line by line, until the next $ or a blank line
#   ? 3                            expected exit code (default 0)
#   ~ No such file                 text stderr must contain
#
# Usage: run_cli_tests.sh ANYFS_BINARY TEST_FILE...
set -u
anyfs_bin=$(realpath "$1"); shift
failures=0; passed=0

run_file() {
  local file=$1 work
  work=$(mktemp -d)
  mkdir -p "$work/root" "$work/bin"
  ln -s "$anyfs_bin" "$work/bin/anyfs"
  local cmd="" expected="" code=0 errtext=() lineno=0 cmd_line=0
  flush() {
    [ -z "$cmd" ] && return
    local out err rc
    out=$(cd "$work" && PATH="$work/bin:$PATH" ROOT="$work/root" WORK="$work" eval "$cmd" 2>"$work/.stderr")
    rc=$?
    err=$(cat "$work/.stderr")
    local ok=1
    [ "$rc" = "$code" ] || ok=0
    [ "$out" = "$expected" ] || ok=0
    for t in "${errtext[@]+"${errtext[@]}"}"; do [[ "$err" == *"$t"* ]] || ok=0; done
    if [ $ok = 1 ]; then
      passed=$((passed + 1))
    else
      failures=$((failures + 1))
      echo "FAIL $file:$cmd_line: $cmd"
      echo "  exit: want $code, got $rc"
      echo "  stdout want: $(printf '%q' "$expected")"
      echo "  stdout got:  $(printf '%q' "$out")"
      echo "  stderr: $err"
    fi
    cmd=""; expected=""; code=0; errtext=()
  }
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case "$line" in
      '#'*) ;;
      '$ '*) flush; cmd=${line#\$ }; cmd_line=$lineno ;;
      '? '*) code=${line#\? } ;;
      '~ '*) errtext+=("${line#\~ }") ;;
      '') flush ;;
      *) if [ -z "$expected" ]; then expected=$line; else expected+=$'\n'$line; fi ;;
    esac
  done <"$file"
  flush
  rm -rf "$work"
}

for f in "$@"; do run_file "$f"; done
echo "cli: $passed passed, $failures failed"
[ "$failures" = 0 ]
