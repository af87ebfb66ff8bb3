#!/usr/bin/env bash
# tests/demo_test.sh - the one-command demo (scripts/demo) without a person at the keyboard:
# headless for 15 s it must answer calls and leave nothing behind; in a detached tmux, quitting
# the console (or Ctrl-C when swb-console is not built) must stop everything it started.
#
# Usage: tests/demo_test.sh   (SWB_BUILD: the build directory, default ./build)
set -u
src=${SWB_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SWB_BUILD:-$src/build}
export SWB_BUILD=$build
work=$(mktemp -d "${TMPDIR:-/tmp}/swb-demo-test.XXXXXX")
sock="swb-demo-test-$$"
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); echo "ok - $what"; else failed=$((failed + 1)); echo "not ok - $what"; fi; }

# The demo's temporary directory, from its "(data in DIR)" line.
demo_dir() { sed -n 's/.*(data in \([^)]*\)).*/\1/p' "$1" | head -1; }
running() { pgrep -f "$1" >/dev/null; }
nothing_left() { [ -n "$1" ] && [ ! -e "$1" ] && ! running "$1"; }

check "an unknown option is a usage error" bash -c "'$src/scripts/demo' --frobnicate 2>/dev/null; [ \$? -eq 2 ]"

# 1. Headless, as CI runs it: install check, build, node, eight bot agents, calls.
"$src/scripts/demo" --headless 15 >"$work/headless.log" 2>&1
rc=$?
check "scripts/demo --headless 15 succeeds (exit $rc)" test "$rc" -eq 0
check "it reports answered calls" grep -q "demo: OK: placed [0-9]*, answered [1-9]" "$work/headless.log"
dir=$(demo_dir "$work/headless.log")
check "it leaves no process and no temporary directory ($dir)" nothing_left "$dir"

# 2. With a terminal (a detached tmux): quit the console, everything goes.
if command -v tmux >/dev/null; then
  tmux -L "$sock" new-session -d -s demo -x 160 -y 48 \
    "'$src/scripts/demo' --no-build 2>'$work/tty.log'; echo \"exit=\$?\" >>'$work/tty.log'"
  for _ in $(seq 100); do grep -q "swb-node is up" "$work/tty.log" 2>/dev/null && break; sleep 0.2; done
  dir=$(demo_dir "$work/tty.log")
  check "the demo starts in a terminal" test -n "$dir"
  sleep 3 # the console (or the event follower) opens; the bots answer the first calls
  check "the node and the bots run while the console is open" running "$dir"
  if [ -x "$build/swb-console" ]; then tmux -L "$sock" send-keys -t demo q; else tmux -L "$sock" send-keys -t demo C-c; fi
  for _ in $(seq 100); do grep -q "^exit=" "$work/tty.log" && break; sleep 0.2; done
  check "quitting ends the demo" grep -q "^exit=" "$work/tty.log"
  check "quitting stops everything it started ($dir)" nothing_left "$dir"
  [ "$failed" -eq 0 ] || { echo "--- tty log"; cat "$work/tty.log"; }
fi
[ "$failed" -eq 0 ] || { echo "--- headless log"; tail -20 "$work/headless.log"; }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
