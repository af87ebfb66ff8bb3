#!/usr/bin/env bash
# node_swbctl_test.sh - swbctl against a real swb-node: tokens, workers and tasks,
# a worker's own event stream, accept / reject / timeout, scope checks, errors,
# the message size limit, SIGHUP reloads (broken and valid) and SIGTERM.
#
# The node runs in a temporary data directory on a temporary ipc path and a free
# loopback port (never the user's default socket), with no HTTP side. SWB_URL and
# SWB_DATA point swbctl at it. Env: SWB_BUILD (build dir), SWB_SRC (source dir).
set -u

B=${SWB_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
S="$B/swbctl"
T=$(mktemp -d /tmp/swb-swbctl-test.XXXXXX)
NODE_PID=
FOLLOW_PID=
PASS=0
FAIL=0

cleanup() {
	[ -n "$FOLLOW_PID" ] && kill "$FOLLOW_PID" 2>/dev/null
	if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
		kill -TERM "$NODE_PID" 2>/dev/null
		wait "$NODE_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $1"
	[ $# -gt 1 ] && printf '    %s\n' "$2"
}
# check NAME COMMAND...: passes when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
# expect_fail NAME CODE COMMAND...: passes when swbctl exits non-zero with "swbctl: CODE:" on stderr.
expect_fail() {
	local name=$1 code=$2
	shift 2
	local out rc
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && grep -q "^swbctl: $code:" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc, stderr: $(head -c 300 <<<"$out")"
	fi
}
# eq NAME GOT WANT
eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

for tool in jq python3; do
	command -v $tool >/dev/null || { echo "$tool is needed"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$S" ] && [ -x "$B/swb-node" ] || { echo "build swbctl and swb-node first ($B)"; echo "0 passed, 1 failed"; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SWB_URL="ipc://$T/n.ipc" SWB_DATA="$T/data"
unset SWB_TOKEN SWB_WORKSPACE

# alice and bob are Offline so only the workers made here take tasks.
write_config() { # $1: alice's level, $2: extra queue JSON (or empty)
	cat >"$T/ws.json" <<EOF
{
  "friendly_name": "swbctl test",
  "activities": [
    {"friendly_name": "Offline", "available": false},
    {"friendly_name": "Available", "available": true},
    {"friendly_name": "Break", "available": false}
  ],
  "default_activity_sid": "Offline",
  "timeout_activity_sid": "Offline",
  "task_queues": [
    {"friendly_name": "Everyone", "target_workers": "1==1"}$2
  ],
  "workers": [
    {"friendly_name": "alice", "activity_sid": "Offline", "attributes": {"level": $1}},
    {"friendly_name": "bob", "activity_sid": "Offline", "attributes": {"level": 1}}
  ],
  "workflows": [
    {"friendly_name": "Main", "task_reservation_timeout": 120,
     "configuration": {"task_routing": {"filters": [], "default_filter": {"queue": "Everyone"}}}},
    {"friendly_name": "Fast", "task_reservation_timeout": 1,
     "configuration": {"task_routing": {"filters": [], "default_filter": {"queue": "Everyone"}}}}
  ]
}
EOF
}
write_config 1 ""

start_node() {
	"$B/swb-node" --config "$T/ws.json" --data "$T/data" --listen "tcp://127.0.0.1:$PORT" --listen "ipc://$T/n.ipc" \
		--http none --disconnect-grace 600000 >>"$T/node.log" 2>&1 &
	NODE_PID=$!
}
start_node
up=
for _ in $(seq 100); do
	if "$S" --call-timeout 300 hello >/dev/null 2>&1; then up=1; break; fi
	kill -0 "$NODE_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$up" ]; then
	echo "the node did not come up:"
	cat "$T/node.log"
	echo "0 passed, 1 failed"
	exit 1
fi
ok "swb-node answers swbctl hello"

# ---- connection and tokens ----
eq "hello over ipc is admin by default" "$("$S" hello | jq -r .scope)" admin
eq "hello over tcp" "$("$S" --url "tcp://127.0.0.1:$PORT" hello | jq -r .scope)" admin
SUP=$("$S" token supervisor --ttl 600)
eq "a supervisor token says so" "$("$S" --token "$SUP" hello | jq -r .scope)" supervisor
expect_fail "a garbage token is unauthorized" unauthorized "$S" --token garbage hello
expect_fail "a supervisor may not create workers" forbidden "$S" --token "$SUP" workers create --friendly-name x

# ---- workers ----
ZED=$("$S" workers create --friendly-name zed --activity-sid Available --attributes '{"skills":["x"]}' | jq -r .sid)
YAN=$("$S" workers create --friendly-name yan --activity-sid Offline | jq -r .sid)
check "workers create answers WK sids" grep -Eq '^WK[0-9a-f]{32} WK[0-9a-f]{32}$' <<<"$ZED $YAN"
ZTOK=$("$S" token worker zed)
YTOK=$("$S" token worker "$YAN")
eq "a worker token by name is that worker's" "$("$S" --token "$ZTOK" hello | jq -r .worker_sid)" "$ZED"
eq "a worker token by sid is that worker's" "$("$S" --token "$YTOK" hello | jq -r .worker_sid)" "$YAN"
expect_fail "token worker for nobody is not_found" not_found "$S" token worker nobody
check "credentials prints the account SID and an API key" \
	jq -e '(.account_sid | test("^AC[0-9a-f]{32}$")) and (.api_key_sid | test("^SK[0-9a-f]{32}$"))' \
	<<<"$("$S" credentials)"
TW=$("$S" token --twilio zed --ttl 600 | jq -r .token)
eq "token --twilio is a Twilio Access Token for zed" \
	"$(cut -d. -f2 <<<"$TW" | tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d |
		jq -r .grants.task_router.worker_sid)" "$ZED"
expect_fail "token --twilio for nobody is not_found" not_found "$S" token --twilio nobody
eq "workers list --activity-name filters" "$("$S" workers list --activity-name Available | jq -r '[.workers[].friendly_name] | join(",")')" zed
eq "attributes pass as JSON" "$("$S" workers fetch zed | jq -r '.attributes | fromjson | .skills[0]')" x

# ---- a task reaches the worker's event stream; accept ----
SEQ=$("$S" hello | jq .seq)
timeout 30 "$S" --token "$ZTOK" events follow --after "$SEQ" --count 2 >"$T/follow1.jsonl" 2>"$T/follow1.err" &
FOLLOW_PID=$!
TASK=$("$S" tasks create --workflow Main --attributes '{"kind":"first"}' --priority 3)
WT1=$(jq -r .sid <<<"$TASK")
eq "tasks create: reserved at once" "$(jq -r .assignment_status <<<"$TASK")" reserved
eq "tasks create: priority" "$(jq -r .priority <<<"$TASK")" 3
WR1=$("$S" --token "$ZTOK" reservations list --worker "$ZED" --status pending | jq -r '.reservations[0].sid')
check "the worker lists its pending reservation" grep -Eq '^WR[0-9a-f]{32}$' <<<"$WR1"
eq "accept" "$("$S" --token "$ZTOK" reservations accept "$WR1" | jq -r .reservation_status)" accepted
eq "the task is assigned" "$("$S" tasks fetch "$WT1" | jq -r .assignment_status)" assigned
eq "the worker may fetch the task it holds" "$("$S" --token "$ZTOK" tasks fetch "$WT1" | jq -r .sid)" "$WT1"
if wait "$FOLLOW_PID"; then ok "events follow --count 2 ends by itself"; else not_ok "events follow --count 2 ends by itself" "$(cat "$T/follow1.err")"; fi
FOLLOW_PID=
eq "the worker's stream: reservation.created, reservation.accepted" \
	"$(jq -r .event_type "$T/follow1.jsonl" | paste -sd, -)" "reservation.created,reservation.accepted"
eq "the stream is about that reservation" "$(jq -r .event_data.reservation_sid "$T/follow1.jsonl" | sort -u)" "$WR1"
eq "and only about that worker" "$(jq -r .event_data.worker_sid "$T/follow1.jsonl" | sort -u)" "$ZED"

# ---- scope: another worker's reservation is forbidden ----
expect_fail "a worker token may not accept another's reservation" forbidden \
	"$S" --token "$YTOK" reservations accept "$WR1"
expect_fail "nor fetch it" forbidden "$S" --token "$YTOK" reservations fetch "$WR1"
expect_fail "nor fetch that task" forbidden "$S" --token "$YTOK" tasks fetch "$WT1"
expect_fail "nor update another worker" forbidden "$S" --token "$YTOK" workers update zed --activity-sid Break
eq "the worker completes its task" "$("$S" --token "$ZTOK" tasks complete "$WT1" --reason done | jq -r .assignment_status)" completed
eq "the completed task keeps its reason" "$("$S" tasks fetch "$WT1" | jq -r .reason)" done
eq "the reservation is completed" "$("$S" reservations fetch "$WR1" | jq -r .reservation_status)" completed

# ---- reject moves the task to the next worker ----
"$S" workers update yan --activity-sid Available >/dev/null
WT2=$("$S" tasks create --workflow Main --attributes '{"kind":"reject-me"}' | jq -r .sid)
R=$("$S" reservations list --task "$WT2" | jq -c '.reservations[0]')
FIRST=$(jq -r .worker_sid <<<"$R")
if [ "$FIRST" == "$ZED" ]; then FIRST_TOK=$ZTOK OTHER=$YAN; else FIRST_TOK=$YTOK OTHER=$ZED; fi
eq "reject" "$("$S" --token "$FIRST_TOK" reservations reject "$(jq -r .sid <<<"$R")" | jq -r .reservation_status)" rejected
eq "after a reject the other worker is offered the task" \
	"$("$S" reservations list --task "$WT2" --status pending | jq -r '.reservations[0].worker_sid')" "$OTHER"
eq "cancel" "$("$S" tasks cancel "$WT2" --reason test | jq -r .assignment_status)" canceled

# ---- a reservation timeout moves the task on (workflow Fast: 1 s) ----
WT3=$("$S" tasks create --workflow Fast --attributes '{"kind":"time-out"}' | jq -r .sid)
R=$("$S" reservations list --task "$WT3" | jq -c '.reservations[0]')
FIRST=$(jq -r .worker_sid <<<"$R")
sleep 1.6
RES=$("$S" reservations list --task "$WT3")
eq "the first reservation timed out" "$(jq -r --arg w "$FIRST" '.reservations[] | select(.worker_sid == $w) | .reservation_status' <<<"$RES")" timeout
eq "the task was offered to the other worker" \
	"$(jq -r --arg w "$FIRST" '[.reservations[] | select(.worker_sid != $w) | .reservation_status] | length' <<<"$RES")" 1
eq "the timed-out worker went to the timeout activity" "$("$S" workers fetch "$FIRST" | jq -r .activity_name)" Offline
"$S" tasks cancel "$WT3" >/dev/null

# ---- events list ----
EV=$("$S" events list --type reservation.accepted)
eq "events list --type filters" "$(jq -r '[.events[].event_type] | unique | join(",")' <<<"$EV")" reservation.accepted
eq "events list finds the accept" "$(jq -r '.events[].event_data.reservation_sid' <<<"$EV")" "$WR1"
check "events list sees the timeout" test "$("$S" events list --type reservation.timeout | jq '.events | length')" -ge 1
expect_fail "events list needs a supervisor" forbidden "$S" --token "$ZTOK" events list

# ---- other ops ----
check "stats queue by name" test "$("$S" stats queue Everyone | jq -r .task_queue_sid)" == "$("$S" queues fetch Everyone | jq -r .sid)"
check "stats workspace" test "$("$S" stats workspace | jq .total_workers)" -ge 4
check "snapshot has a seq" test "$("$S" snapshot | jq .seq)" -gt 0
check "ops lists every op" test "$("$S" ops | jq '[.ops[].op] | index("reservations.update") != null')" == true
check "call runs a raw op" test "$("$S" call workers.list '{"friendly_name":"zed"}' | jq -r '.workers[0].sid')" == "$ZED"
check "the table form prints a header" grep -q '^SID ' <<<"$("$S" --table workers list)"

# ---- errors ----
out=$("$S" call tasks.create '{bad' 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q "not valid JSON" <<<"$out"; then ok "malformed JSON args: usage error (exit 2)"; else not_ok "malformed JSON args: usage error (exit 2)" "exit $rc: $out"; fi
expect_fail "malformed attributes: bad_request from the node" bad_request \
	"$S" tasks create --workflow Main --attributes '{"kind":'
expect_fail "unknown op" unknown_op "$S" call no.such.op
expect_fail "unknown resource verb" unknown_op "$S" workers frobnicate
expect_fail "unknown argument" bad_request "$S" workers list --colour blue
expect_fail "no such worker" not_found "$S" workers fetch nobody
out=$("$S" --bogus hello 2>&1)
rc=$?
if [ $rc -eq 2 ]; then ok "an unknown option exits 2"; else not_ok "an unknown option exits 2" "exit $rc: $out"; fi
expect_fail "an absent node is unavailable" unavailable "$S" --url "ipc://$T/nobody.ipc" --call-timeout 300 hello

# ---- message size ----
python3 -c 'import json; print(json.dumps({"blob": "x" * (1100 * 1024)}))' >"$T/big.json"
python3 -c 'import json; print(json.dumps({"blob": "x" * (100 * 1024)}))' >"$T/mid.json"
expect_fail "attributes over 1 MiB are refused" too_large "$S" tasks create --workflow Main --attributes "@$T/big.json"
expect_fail "attributes over 64 KiB are refused by the node" too_large "$S" tasks create --workflow Main --attributes "@$T/mid.json"
# Past the client's own check, nng in the node drops the oversized message and its connection.
# (timeout: nng 1.5.2 can hang closing a socket whose large write the peer cut short)
out=$(timeout 10 "$S" --request-limit 0 --call-timeout 1500 tasks create --workflow Main --attributes "@$T/big.json" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then ok "the node refuses a message over 1 MiB itself"; else not_ok "the node refuses a message over 1 MiB itself" "$out"; fi
eq "and serves on" "$("$S" hello | jq -r .scope)" admin
eq "no task was made from oversized input" "$("$S" tasks list | jq '[.tasks[] | select(.attributes | contains("blob"))] | length')" 0

# ---- SIGHUP: a broken configuration is refused, a valid one applied ----
BEFORE=$("$S" workers list | jq -c '[.workers[] | {friendly_name, attributes, activity_name}] | sort_by(.friendly_name)')
echo '{"friendly_name": "broken", "task_queues": [' >"$T/ws.json"
kill -HUP "$NODE_PID"
for _ in $(seq 50); do grep -q "reload refused" "$T/node.log" && break; sleep 0.1; done
check "SIGHUP with a broken file is refused in the log" grep -q "reload refused" "$T/node.log"
AFTER=$("$S" workers list | jq -c '[.workers[] | {friendly_name, attributes, activity_name}] | sort_by(.friendly_name)')
eq "and the workers are unchanged" "$AFTER" "$BEFORE"
write_config 7 ', {"friendly_name": "VIP", "target_workers": "level >= 5"}'
kill -HUP "$NODE_PID"
for _ in $(seq 50); do grep -q "configuration reloaded" "$T/node.log" && break; sleep 0.1; done
check "SIGHUP with a valid file reloads" grep -q "configuration reloaded" "$T/node.log"
eq "the changed worker attributes apply" "$("$S" workers fetch alice | jq -r '.attributes | fromjson | .level')" 7
eq "the new queue exists" "$("$S" queues fetch VIP | jq -r .target_workers)" "level >= 5"
eq "workers made at run time stay" "$("$S" workers fetch zed | jq -r .sid)" "$ZED"
check "the node is still up" kill -0 "$NODE_PID"

# ---- SIGTERM, and a follower across a restart ----
SEQ=$("$S" hello | jq .seq)
"$S" events follow --after "$SEQ" >"$T/follow2.jsonl" 2>"$T/follow2.err" &
FOLLOW_PID=$!
sleep 0.3
kill -TERM "$NODE_PID"
wait "$NODE_PID"
rc=$?
NODE_PID=
eq "SIGTERM stops the node with exit 0" "$rc" 0
sleep 1.2 # the follower notices (it waits 1 s for a connection)
start_node
for _ in $(seq 50); do "$S" --call-timeout 300 hello >/dev/null 2>&1 && break; sleep 0.1; done
eq "the restarted node kept the workers made at run time" "$("$S" workers fetch zed | jq -r .sid)" "$ZED"
# nng redials with backoff (up to 5 s); an event made before the follower is back is in its resync snapshot
for _ in $(seq 100); do grep -q '"connected":true' "$T/follow2.jsonl" && break; sleep 0.1; done
"$S" workers update yan --activity-sid Break >/dev/null
for _ in $(seq 50); do grep -q worker.activity.update "$T/follow2.jsonl" && break; sleep 0.1; done
kill -INT "$FOLLOW_PID"
if wait "$FOLLOW_PID"; then ok "events follow ends with exit 0 on SIGINT"; else not_ok "events follow ends with exit 0 on SIGINT" "$(cat "$T/follow2.err")"; fi
FOLLOW_PID=
eq "the follower saw: lost, resync, back, then the new event" \
	"$(jq -r 'if .event_type == "switchboard.connection" then "conn:\(.connected)" else .event_type end' "$T/follow2.jsonl" | paste -sd, -)" \
	"conn:false,switchboard.resync,conn:true,worker.activity.update"
kill -TERM "$NODE_PID"
wait "$NODE_PID"
rc=$?
NODE_PID=
eq "SIGTERM stops the restarted node with exit 0" "$rc" 0

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
