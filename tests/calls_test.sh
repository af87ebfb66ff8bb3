#!/usr/bin/env bash
# tests/calls_test.sh - calls and assignment callbacks against a real swb-node.
#
# Starts swb-node on free ports in a temporary directory and a local HTTP server
# (tests/tools/calls_endpoints.py) that plays voice webhooks and assignment
# callback backends, then drives calls with swbctl and checks, scenario by
# scenario, what the node did (calls, tasks, reservations, workers) and what it
# sent (the endpoints' request log). Each scenario gets its own workspace.
# Needs SWB_BUILD (swb-node, swbctl) and SWB_SRC; python3 and jq.
set -euo pipefail
B=${SWB_BUILD:?set SWB_BUILD to the build directory}
S=${SWB_SRC:?set SWB_SRC to the source directory}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- node log (last 40 lines)" >&2; tail -n 40 "$tmp/node.log" >&2 || true
  echo "--- requests (last 15)" >&2; tail -n 15 "$tmp/requests.log" >&2 || true
  exit 1
}
pass() { echo "ok - $*"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# wait_for DESC SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
  local desc=$1 secs=$2; shift 2
  local end=$(( $(now_ms) + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do
    (( $(now_ms) < end )) || fail "$desc (waited ${secs}s)"
    sleep 0.1
  done
}

# ---- the endpoints and the node ----
python3 "$S/tests/tools/calls_endpoints.py" "$tmp/port" "$tmp/requests.log" &
pids+=($!)
touch "$tmp/requests.log"
wait_for "the endpoints start" 10 test -s "$tmp/port"
base="http://127.0.0.1:$(cat "$tmp/port")"
dead="http://127.0.0.1:$(free_port)/nobody-listens"

nport=$(free_port); hport=$(free_port)
"$B/swb-node" --data "$tmp/data" --listen "tcp://127.0.0.1:$nport" --http "127.0.0.1:$hport" \
  --log-level debug 2>"$tmp/node.log" &
node_pid=$!
pids+=($node_pid)
ctl() { "$B/swbctl" --url "tcp://127.0.0.1:$nport" --data "$tmp/data" --json "$@"; }
wait_for "the node answers" 10 ctl hello

# mkws NAME WORKER_ACTIVITY ASSIGNMENT_URL FALLBACK_URL: a workspace for one scenario; prints its sid.
mkws() {
  python3 - "$1" "$2" "$3" "$4" "$base" >"$tmp/ws-$1.json" <<'EOF'
import json, sys
name, activity, acb, fallback, base = sys.argv[1:6]
wf = {"friendly_name": "Calls", "task_reservation_timeout": 120,
      "configuration": {"task_routing": {"filters": [], "default_filter": {"queue": "Support"}}}}
if acb:
    wf["assignment_callback_url"] = acb
if fallback:
    wf["fallback_assignment_callback_url"] = fallback
print(json.dumps({
    "friendly_name": "calls-" + name,
    "activities": [{"friendly_name": n, "available": n == "Available"}
                   for n in ("Offline", "Available", "Break", "Wrap-up")],
    "default_activity_sid": "Offline", "timeout_activity_sid": "Offline",
    "task_queues": [{"friendly_name": "Support", "target_workers": "1==1"}],
    "workers": [{"friendly_name": "amy", "activity_sid": activity,
                 "attributes": {"contact_uri": "client:amy", "skills": ["support"]}}],
    "workflows": [wf],
    "numbers": [
        {"phone_number": "+15550000001", "friendly_name": "IVR", "voice_url": base + "/voice"},
        {"phone_number": "+15550000002", "voice_url": base + "/voice?wait=leave", "voice_method": "GET"},
        {"phone_number": "+15550000404", "voice_url": base + "/notfound"},
        {"phone_number": "+15550000500", "voice_url": base + "/badtwiml"}]}))
EOF
  ctl call workspaces.create "@$tmp/ws-$1.json" | jq -r .sid
}

# Helpers on workspace $WS.
w() { ctl --workspace "$WS" "$@"; }
call_field() { w calls fetch "$1" | jq -r ".$2"; }
call_is() { [ "$(call_field "$1" status)" = "$2" ]; }
task_of() { call_field "$1" task_sid; }
task_is() { [ "$(w tasks fetch "$1" | jq -r .assignment_status)" = "$2" ]; }
res_of_task() { w reservations list --task_sid "$1" | jq -r '.reservations[0].sid // empty'; }
res_is() { [ "$(w reservations fetch "$1" | jq -r .reservation_status)" = "$2" ]; }
has_res() { [ -n "$(res_of_task "$1")" ]; }
worker_activity() { w workers fetch amy | jq -r .activity_name; }
activity_is() { [ "$(worker_activity)" = "$1" ]; }
# logged JQ_FILTER: true when some logged request matches (. is one request)
logged() { jq -e -s "map(select($1)) | length > 0" "$tmp/requests.log" >/dev/null; }
logged_n() { jq -s "map(select($1)) | length" "$tmp/requests.log"; }
has_task() { [ "$(call_field "$1" task_sid)" != null ]; }
queue_result_is() { [ "$(call_field "$1" queue_result)" = "$2" ]; }
dcall_is() { [ "$(ctl calls fetch "$1" | jq -r .status)" = "$2" ]; } # in the default workspace
assigned_in() { ctl --workspace "$1" tasks list --status assigned | jq -e '.tasks | length == 1'; }
call_digits() { w calls create --from "+1555111${RANDOM:0:4}" --to "$1" --digits "$2" | jq -r .sid; }

# ---- 1. a call through a webhook IVR becomes a task; hanging up while queued cancels it ----
WS=$(mkws ivr Offline "" "")
CA=$(call_digits +15550000001 2)
wait_for "ivr: the call is queued" 10 call_is "$CA" queued
WT=$(task_of "$CA")
attrs=$(w tasks fetch "$WT")
echo "$attrs" | jq -e '(.attributes | fromjson) as $a | $a.department == "support" and $a.ivr == true
  and $a.call_sid == "'"$CA"'" and $a.to == "+15550000001" and $a.direction == "inbound"
  and .priority == 3 and .task_channel_unique_name == "voice" and .assignment_status == "pending"' >/dev/null \
  || fail "ivr: task attributes: $attrs"
logged '.path == "/voice" and .params.CallSid == "'"$CA"'" and .params.CallStatus == "ringing"
  and .params.To == "+15550000001" and .params.Direction == "inbound" and (.params.AccountSid | startswith("AC"))' \
  || fail "ivr: the voice webhook got Twilio's parameters"
logged '.path == "/choice" and .params.CallSid == "'"$CA"'" and .params.Digits == "2"' || fail "ivr: Digits"
wait_for "ivr: the waitUrl is requested" 10 logged '.path == "/wait" and .params.CallSid == "'"$CA"'"
  and .params.TaskSid == "'"$WT"'" and (.params.QueueSid | startswith("WQ")) and .params.QueuePosition == "1"'
pass "a call through the IVR becomes a task with the caller's choice, and holds on the waitUrl"
CA2=$(call_digits +15550000001 2)
wait_for "ivr: a second caller waits behind the first" 10 logged '.path == "/wait" and .params.CallSid == "'"$CA2"'"
  and .params.QueuePosition == "2" and .params.CurrentQueueSize == "2"'
w calls hangup "$CA2" >/dev/null
pass "a second caller in the same queue hears QueuePosition=2 of CurrentQueueSize=2"
w calls hangup "$CA" >/dev/null
task_is "$WT" canceled || fail "ivr: the task is not canceled after the hang-up"
[ "$(w tasks fetch "$WT" | jq -r .reason)" = "hangup" ] || fail "ivr: cancel reason"
call_is "$CA" completed || fail "ivr: call not completed"
wait_for "ivr: the action gets QueueResult=hangup" 10 logged '.path == "/action" and .params.CallSid == "'"$CA"'"
  and .params.QueueResult == "hangup" and .params.TaskSid == "'"$WT"'" and (.params.QueueTime | test("^[0-9]+$"))'
pass "hanging up while queued cancels the task (reason hangup); the action gets QueueResult=hangup"

# ---- 2. <Leave> in the wait document: QueueResult=leave, the action's TwiML runs ----
CA=$(call_digits +15550000002 1)
wait_for "leave: the call leaves the queue" 10 queue_result_is "$CA" leave
logged '.path == "/voice" and .method == "GET" and .params.CallSid == "'"$CA"'"' || fail "leave: voice_method GET"
wait_for "leave: the action runs and hangs up" 10 call_is "$CA" completed
[ "$(call_field "$CA" end_reason)" = "<Hangup>" ] || fail "leave: end reason $(call_field "$CA" end_reason)"
logged '.path == "/action" and .params.CallSid == "'"$CA"'" and .params.QueueResult == "leave"' || fail "leave: action"
WT=$(jq -r -s --arg c "$CA" 'map(select(.path == "/action" and .params.CallSid == $c))[0].params.TaskSid' "$tmp/requests.log")
task_is "$WT" canceled || fail "leave: task not canceled"
pass "<Leave> takes the caller out of the queue (QueueResult=leave), cancels the task and runs the action"

# ---- 3. bad documents end the call with a logged reason ----
CA=$(call_digits +15550000404 1)
wait_for "404: the call ends" 10 call_is "$CA" completed
call_field "$CA" end_reason | grep -q "answered HTTP 404" || fail "404: reason $(call_field "$CA" end_reason)"
CA=$(call_digits +15550000500 1)
wait_for "bad twiml: the call ends" 10 call_is "$CA" completed
call_field "$CA" end_reason | grep -q "unknown verb <Dance>" || fail "bad twiml: reason"
grep -q "unknown verb <Dance>" "$tmp/node.log" || fail "bad twiml: not logged"
pass "an unreachable or bad TwiML document ends the call with a logged reason"

# ---- 4. the default workspace's inline IVR ----
CA=$(ctl calls create --from +15551234567 --to +15559870000 --digits 3 | jq -r .sid)
wait_for "inline ivr: queued" 10 dcall_is "$CA" queued
WT=$(ctl calls fetch "$CA" | jq -r .task_sid)
ctl tasks fetch "$WT" | jq -e '(.attributes | fromjson) as $a | $a.language == "es" and $a.department == "support"
  and .task_queue_friendly_name == "Spanish"' >/dev/null || fail "inline ivr: Spanish: $(ctl tasks fetch "$WT")"
ctl calls hangup "$CA" >/dev/null
CA=$(ctl calls create --from +15551234567 --to +15559870000 --digits 1 | jq -r .sid)
wait_for "inline ivr: queued (sales)" 10 dcall_is "$CA" queued
WT=$(ctl calls fetch "$CA" | jq -r .task_sid)
ctl tasks fetch "$WT" | jq -e '.task_queue_friendly_name == "Sales"' >/dev/null || fail "inline ivr: Sales"
ctl calls hangup "$CA" >/dev/null
pass "the default workspace's inline IVR routes 1 to Sales and 3 to Spanish"

# ---- 5. accept ----
WS=$(mkws accept Available "$base/assign/accept" "")
CA=$(call_digits +15550000001 2)
wait_for "accept: queued" 10 call_is "$CA" queued
WT=$(task_of "$CA")
wait_for "accept: task assigned" 10 task_is "$WT" assigned
WR=$(res_of_task "$WT")
logged '.path == "/assign/accept" and .params.ReservationSid == "'"$WR"'" and .params.TaskSid == "'"$WT"'"
  and (.params.WorkerSid | startswith("WK")) and (.params.WorkflowSid | startswith("WW"))
  and (.params.TaskQueueSid | startswith("WQ")) and (.params.WorkspaceSid == "'"$WS"'")
  and (.params.TaskAttributes | fromjson | .call_sid) == "'"$CA"'"
  and (.params.WorkerAttributes | fromjson | .contact_uri) == "client:amy"
  and .params.TaskPriority == "3" and (.params.TaskAge | test("^[0-9]+$")) and (.params.AccountSid | startswith("AC"))' \
  || fail "accept: the callback's parameters"
call_is "$CA" queued || fail "accept: the call should still wait in the queue"
w calls hangup "$CA" >/dev/null
wait_for "accept: hanging up an assigned call's caller moves the task to wrapping" 5 task_is "$WT" wrapping
pass "accept: the callback gets TaskRouter's parameters; the reservation is accepted, the caller keeps holding"

# ---- 6. reject ----
WS=$(mkws reject Available "$base/assign/reject" "")
CA=$(call_digits +15550000001 2)
wait_for "reject: queued" 10 call_is "$CA" queued
WT=$(task_of "$CA")
wait_for "reject: reservation made" 10 has_res "$WT"
WR=$(res_of_task "$WT")
wait_for "reject: rejected" 10 res_is "$WR" rejected
activity_is Break || fail "reject: activity $(worker_activity)"
task_is "$WT" pending || fail "reject: the task should be pending again"
w calls hangup "$CA" >/dev/null
pass "reject: the reservation is rejected, the worker moves to activity_sid, the task waits again"

# ---- 7. dequeue ----
WS=$(mkws dequeue Available "$base/assign/dequeue" "")
CA=$(call_digits +15550000001 2)
wait_for "dequeue: bridged" 10 call_is "$CA" bridged
WT=$(task_of "$CA")
task_is "$WT" assigned || fail "dequeue: task not assigned"
LEG=$(call_field "$CA" connected_call_sid)
WK=$(w workers fetch amy | jq -r .sid)
w calls fetch "$LEG" | jq -e '.to == "client:amy" and .from == "+15550009999" and .status == "bridged"
  and .direction == "outbound-api" and .parent_call_sid == "'"$CA"'"' >/dev/null || fail "dequeue: the worker's leg"
[ "$(w calls list --worker_sid "$WK" --status bridged | jq '.calls | length')" = 2 ] || fail "dequeue: calls.list worker_sid"
[ "$(call_field "$CA" queue_result)" = bridged ] || fail "dequeue: queue_result"
w calls hangup "$LEG" >/dev/null
task_is "$WT" wrapping || fail "dequeue: task not wrapping after the hang-up"
activity_is Wrap-up || fail "dequeue: post_work_activity_sid not applied: $(worker_activity)"
wait_for "dequeue: status callback" 10 logged '.path == "/status" and .params.CallSid == "'"$LEG"'" and .params.CallStatus == "completed"'
wait_for "dequeue: action QueueResult=bridged" 10 logged '.path == "/action" and .params.CallSid == "'"$CA"'"
  and .params.QueueResult == "bridged" and .params.TaskSid == "'"$WT"'"'
wait_for "dequeue: the caller runs the action and hangs up" 10 call_is "$CA" completed
w tasks complete "$WT" >/dev/null
task_is "$WT" completed || fail "dequeue: complete"
pass "dequeue: the caller is bridged to contact_uri; hang-up -> wrapping + post-work activity, action gets bridged"

# ---- 8. conference ----
WS=$(mkws conference Available "$base/assign/conference" "")
CA=$(call_digits +15550000001 2)
wait_for "conference: bridged" 10 call_is "$CA" bridged
WT=$(task_of "$CA")
LEG=$(call_field "$CA" connected_call_sid)
call_field "$CA" conference_sid | grep -q '^CF' || fail "conference: no conference sid"
w calls hangup "$CA" >/dev/null
task_is "$WT" wrapping || fail "conference: not wrapping"
call_is "$LEG" completed || fail "conference: the worker's leg goes on"
[ "$(call_field "$LEG" end_reason)" = "the caller hung up" ] || fail "conference: leg reason"
wait_for "conference: action" 10 logged '.path == "/action" and .params.CallSid == "'"$CA"'" and .params.QueueResult == "bridged"'
pass "conference: caller and worker meet in a conference; the caller hanging up ends it, task wrapping"

# ---- 9. call ----
WS=$(mkws call Available "$base/assign/call" "")
CA=$(call_digits +15550000001 2)
wait_for "call: the call has a task" 10 has_task "$CA"
WT=$(task_of "$CA")
wait_for "call: reservation accepted" 10 task_is "$WT" assigned
wait_for "call: the worker's leg requests url" 10 logged '.path == "/agent" and .params.Direction == "outbound-api"
  and .params.To == "client:amy" and .params.From == "+15550009999"'
wait_for "call: <Dial><Queue> bridges the caller" 10 call_is "$CA" bridged
LEG=$(call_field "$CA" connected_call_sid)
logged '.path == "/agent" and .params.CallSid == "'"$LEG"'"' || fail "call: CallSid of the leg"
w calls hangup "$CA" >/dev/null
wait_for "call: the leg goes on after <Dial> and hangs up" 10 call_is "$LEG" completed
[ "$(call_field "$LEG" end_reason)" = "<Hangup>" ] || fail "call: leg reason $(call_field "$LEG" end_reason)"
task_is "$WT" wrapping || fail "call: not wrapping"
wait_for "call: status callback" 10 logged '.path == "/status" and .params.CallSid == "'"$LEG"'"'
pass "call: a leg to the worker runs url's TwiML; accept=true accepts; <Dial><Queue reservationSid> bridges"

# ---- 10. redirect ----
WS=$(mkws redirect Available "$base/assign/redirect" "")
CA=$(call_digits +15550000001 2)
wait_for "redirect: the caller runs the new TwiML" 10 logged '.path == "/redirected" and .params.CallSid == "'"$CA"'"'
WT=$(task_of "$CA")
task_is "$WT" assigned || fail "redirect: accept=true"
[ "$(call_field "$CA" queue_result)" = redirected ] || fail "redirect: queue_result"
call_is "$CA" in-progress || fail "redirect: status"
wait_for "redirect: action QueueResult=redirected" 10 logged '.path == "/action" and .params.CallSid == "'"$CA"'"
  and .params.QueueResult == "redirected"'
w calls hangup "$CA" >/dev/null
task_is "$WT" wrapping || fail "redirect: wrapping"
activity_is Wrap-up || fail "redirect: post work activity"
pass "redirect: the queued call leaves with QueueResult=redirected for url's TwiML; accept=true accepts"

# ---- 11. an empty 200 leaves it to the worker's UI ----
WS=$(mkws empty Available "$base/assign/empty" "")
CA=$(call_digits +15550000001 2)
wait_for "empty: queued" 10 call_is "$CA" queued
WT=$(task_of "$CA")
wait_for "empty: reservation made" 10 has_res "$WT"
WR=$(res_of_task "$WT")
wait_for "empty: callback answered" 10 logged '.path == "/assign/empty" and .params.ReservationSid == "'"$WR"'"'
sleep 1
res_is "$WR" pending || fail "empty: the reservation must stay pending"
if w calls instruct "$WR" --instruction accept --bogus 1 >/dev/null 2>&1; then fail "empty: unknown parameter accepted"; fi
WK=$(w workers fetch amy | jq -r .sid)
WTOK=$(ctl token worker "$WK")
ctl --token "$WTOK" calls instruct "$WR" --instruction dequeue --from +15550001111 >/dev/null \
  || fail "empty: the worker's own dequeue"
call_is "$CA" bridged || fail "empty: not bridged"
[ "$(ctl --token "$WTOK" calls list | jq '.calls | length')" = 2 ] || fail "empty: a worker lists its calls"
w calls hangup "$CA" >/dev/null
pass "an empty 200 leaves the reservation to the worker's UI, which can dequeue it itself (calls.instruct)"

# ---- 12. a dead callback falls back; a hanging one never stalls other tasks ----
WS=$(mkws fallback Available "$dead" "$base/assign/accept")
CA=$(call_digits +15550000001 2)
wait_for "fallback: queued" 10 call_is "$CA" queued
WT=$(task_of "$CA")
wait_for "fallback: accepted through the fallback URL" 10 task_is "$WT" assigned
grep -q "trying fallback_assignment_callback_url" "$tmp/node.log" || fail "fallback: not logged"
w calls hangup "$CA" >/dev/null
pass "a refused assignment callback is retried on fallback_assignment_callback_url"

WS_HANG=$(mkws hang Available "$base/assign/hang" "$base/assign/accept")
WS_FAST=$(mkws fast Available "$base/assign/accept" "")
WS=$WS_HANG; CA_HANG=$(call_digits +15550000001 2); t0=$(now_ms)
WS=$WS_FAST; CA_FAST=$(call_digits +15550000001 2)
wait_for "stall: the other workspace's task is assigned while the first callback hangs" 3 assigned_in "$WS_FAST"
WS=$WS_HANG
wait_for "hang: queued" 5 call_is "$CA_HANG" queued
WT=$(task_of "$CA_HANG")
task_is "$WT" reserved || fail "hang: the task should still wait for its callback"
wait_for "hang: the fallback accepts after the timeout" 12 task_is "$WT" assigned
(( $(now_ms) - t0 >= 4500 )) || fail "hang: the fallback came before the 5 s timeout"
pass "an assignment callback that never answers falls back after 5 s and stalls no other task"

WS=$(mkws nofallback Available "$base/assign/fail" "")
CA=$(call_digits +15550000001 2)
wait_for "nofallback: queued" 10 call_is "$CA" queued
WT=$(task_of "$CA")
wait_for "nofallback: callback tried" 10 logged '.path == "/assign/fail"'
sleep 1
task_is "$WT" reserved || fail "nofallback: the reservation must wait for its timeout"
grep -q "no fallback left" "$tmp/node.log" || fail "nofallback: not logged"
w calls hangup "$CA" >/dev/null
task_is "$WT" canceled || fail "nofallback: hang-up while reserved cancels"
pass "a failing callback without a fallback leaves the reservation to its timeout (hang-up still cancels)"

# ---- 13. the example backend runs a UI-less worker end to end ----
python3 "$S/tests/tools/assignment_backend.py" --port 0 --port-file "$tmp/backend.port" --wrap-seconds 0.5 \
  --swbctl "$B/swbctl --url tcp://127.0.0.1:$nport --data $tmp/data" 2>"$tmp/backend.log" &
pids+=($!)
wait_for "the example backend starts" 10 test -s "$tmp/backend.port"
WS=$(mkws backend Available "http://127.0.0.1:$(cat "$tmp/backend.port")/assignment" "")
CA=$(call_digits +15550000001 2)
wait_for "backend: the caller reaches amy's phone" 10 call_is "$CA" bridged
WT=$(task_of "$CA")
[ "$(w calls fetch "$(call_field "$CA" connected_call_sid)" | jq -r .to)" = "client:amy" ] || fail "backend: to"
w calls hangup "$CA" >/dev/null
activity_is Wrap-up || fail "backend: wrap-up activity"
wait_for "backend: the backend completes the task after wrap-up" 10 task_is "$WT" completed
wait_for "backend: amy is available again" 10 activity_is Available
pass "the example assignment backend dequeues to contact_uri, then completes the task after wrap-up"

# ---- the node stops cleanly with calls and callbacks in flight (and, under ASan, leaks nothing) ----
WS=$(mkws last Available "$base/assign/hang" "")
CA=$(call_digits +15550000001 2)
wait_for "last: callback in flight" 10 logged '.path == "/assign/hang"'
kill -TERM "$node_pid"
status=0; wait "$node_pid" || status=$?
[ "$status" = 0 ] || fail "the node exited with $status"
if grep -q "Sanitizer" "$tmp/node.log"; then fail "sanitizer report in the node's log"; fi
pass "the node stops cleanly with a call queued and a callback in flight"

echo "calls_test: all passed"
