#!/usr/bin/env bash
# tests/bots_test.sh - swb-bot end to end: a real swb-node in a temporary data
# directory (ipc socket there, tcp on a free port), the eight default agents
# driven by one swb-bot with a chaotic policy (rejects, ignores that time out,
# breaks, disconnects), and a call generator in a second swb-bot over tcp with
# callers who hang up. After the generator has drained, every task must have
# ended completed, or canceled with a reason (checked with tasks.list).
#
# Usage: tests/bots_test.sh   (SWB_BUILD: the build directory, default ./build)
set -u
src=${SWB_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
build=${SWB_BUILD:-$src/build}
for p in swb-node swb-bot swbctl; do
  [ -x "$build/$p" ] || { echo "bots_test: $build/$p is not built" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bots_test: needs jq (scripts/deps --test)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/swb-bots-test.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "${SWB_KEEP:-}" ]; then echo "bots_test: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# A port nothing listens on (a later bind may still lose a race; the node then fails to start).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "bots_test: no free port" >&2; exit 1
}

port=$(free_port)
ipc="ipc://$tmp/n.ipc"
tcp="tcp://127.0.0.1:$port"
data="$tmp/data"
# The default workspace with its agents Offline (the bots must make them Available), a 2 s
# reservation timeout (ignored reservations time out quickly) and 4 s target timeouts (a task
# that every Spanish speaker turned down moves on to Everyone within the drain).
sed -e 's/"task_reservation_timeout": 20/"task_reservation_timeout": 2/' \
    -e 's/"timeout": [0-9]*/"timeout": 4/' \
    -e 's/"friendly_name": "\([a-z]*\)", "activity_sid": "Available"/"friendly_name": "\1", "activity_sid": "Offline"/' \
    "$src/server/default_workspace.json" >"$tmp/ws.json"
"$build/swb-node" --config "$tmp/ws.json" --data "$data" --listen "$ipc" --listen "$tcp" --http none \
  --disconnect-grace 1000 >"$tmp/node.log" 2>&1 &
node=$!
pids+=("$node")
ctl() { "$build/swbctl" --url "$ipc" --data "$data" --json "$@"; }
for _ in $(seq 100); do ctl hello >/dev/null 2>&1 && break; sleep 0.05; done
check "the node starts" ctl hello >/dev/null

check "a bad policy is a usage error" bash -c "'$build/swb-bot' --all --accept 0.5 --reject 0.1 --ignore 0.1 2>/dev/null; [ \$? -eq 2 ]"

check "the workspace starts with every agent Offline" \
  test "$(ctl workers list | jq '[.workers[] | select(.activity_name == "Offline")] | length')" -eq 8

# The agents: every default worker, with rejects, ignores, breaks and chaos disconnects.
"$build/swb-bot" --url "$ipc" --data "$data" --all --seed 7 \
  --accept 0.75 --reject 0.1 --ignore 0.15 --think 50ms..300ms --handle exp:500ms --wrapup 200ms \
  --break-every exp:4s --break-length 0.5s..1s --disconnect-every exp:5s --disconnect-length 0.3s..1.5s \
  --recover 0.2s..0.5s --summary 0 --ready-file "$tmp/ready" --report "$tmp/bots.json" 2>"$tmp/bots.log" &
bots=$!
pids+=("$bots")
for _ in $(seq 200); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
check "the bots set up all eight workers" test -e "$tmp/ready"
went_available() {
  ctl events list --type worker.activity.update --minutes 5 --page_size 1000 |
    jq '[.events[].event_data | select(.worker_activity_name == "Available") | .worker_sid] | unique | length'
}
check "the bots made every worker Available" test "$(went_available)" -eq 8

# The callers, over tcp: 5 calls/s for 6 s, 15% hang up if not answered within 0.3..2 s.
"$build/swb-bot" --url "$tcp" --data "$data" --calls 5 --abandon 0.15 --patience 0.3s..2s --seed 11 \
  --duration 6 --drain 40 --require-final --summary 0 --report "$tmp/gen.json" 2>"$tmp/gen.log"
gen_rc=$?
check "the generator ends with every task final (exit $gen_rc)" test "$gen_rc" -eq 0
g() { jq -r "$1" "$tmp/gen.json"; }
created=$(g .generator.tasks.created)
check "the generator created tasks ($created)" test "$created" -ge 20
check "calls were answered ($(g .generator.tasks.answered))" test "$(g .generator.tasks.answered)" -gt 0
check "some callers hung up ($(g .generator.hung_up))" test "$(g .generator.hung_up)" -gt 0
check "the generator saw nothing outstanding" test "$(g .generator.tasks.outstanding)" -eq 0

# The node's own account: every task completed, or canceled with a reason.
ctl tasks list --page_size 1000 >"$tmp/tasks.json"
check "tasks.list has every task the generator saw" test "$(jq '.tasks | length' "$tmp/tasks.json")" -eq "$created"
not_final=$(jq '[.tasks[] | select(.assignment_status != "completed" and .assignment_status != "canceled")] | length' "$tmp/tasks.json")
check "every task ended completed or canceled ($not_final not)" test "$not_final" -eq 0
no_reason=$(jq '[.tasks[] | select(.assignment_status == "canceled" and ((.reason // "") == ""))] | length' "$tmp/tasks.json")
check "every canceled task has a reason ($no_reason without)" test "$no_reason" -eq 0
completed=$(jq '[.tasks[] | select(.assignment_status == "completed")] | length' "$tmp/tasks.json")
check "the node's completed count matches the generator's" test "$completed" -eq "$(g .generator.tasks.completed)"

# Stop the agents: they report, and leave their workers Offline.
kill -TERM "$bots"
wait "$bots"
bots_rc=$?
pids=("$node")
check "the bots exit cleanly on SIGTERM (exit $bots_rc)" test "$bots_rc" -eq 0
b() { jq -r "$1" "$tmp/bots.json"; }
check "the bots saw reservations ($(b .reservations.seen))" test "$(b .reservations.seen)" -gt 0
check "the bots accepted and completed ($(b .reservations.accepted) / $(b .tasks.completed))" \
  test "$(b .tasks.completed)" -gt 0 -a "$(b .reservations.accepted)" -ge "$(b .tasks.completed)"
check "the bots rejected some ($(b .reservations.rejected))" test "$(b .reservations.rejected)" -gt 0
check "ignored reservations timed out ($(b .reservations.ignored) ignored, $(b .reservations.timed_out) timed out)" \
  test "$(b .reservations.ignored)" -eq 0 -o "$(b .reservations.timed_out)" -gt 0
check "workers took breaks ($(b .activity.breaks))" test "$(b .activity.breaks)" -gt 0
check "workers disconnected and came back ($(b .activity.disconnects) / $(b .activity.reconnects))" \
  test "$(b .activity.disconnects)" -gt 0 -a "$(b .activity.reconnects)" -gt 0
check "the bots' answers raised no errors ($(b .errors.last))" test "$(b .errors.count)" -eq 0
check "the latency was measured ($(b .latency_ms.count) samples, p50 $(b .latency_ms.p50) ms)" \
  test "$(b .latency_ms.count)" -gt 0
offline=$(ctl workers list | jq '[.workers[] | select(.activity_name == "Offline")] | length')
check "the bots left every worker Offline ($offline of 8)" test "$offline" -eq 8

if [ "$failed" -ne 0 ]; then
  echo "--- node log"; tail -20 "$tmp/node.log"
  echo "--- bots log"; tail -20 "$tmp/bots.log"
  echo "--- generator log"; tail -20 "$tmp/gen.log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
