#!/usr/bin/env bash
# tests/console_test.sh - swb-console end to end: a real swb-node on a free
# port and a temporary ipc path, the consoles in a detached tmux (their own
# tmux server), driven with send-keys and read with capture-pane; swbctl
# makes tasks and asks the node what happened.
#
#   SWB_BUILD=build SWB_SRC=. bash tests/console_test.sh [-v]
#
# Prints "N passed, M failed" and exits non-zero when something failed.
set -u
B=${SWB_BUILD:-$(pwd)/build}
SRC=${SWB_SRC:-$(pwd)}
VERBOSE=${1:-}

if ! command -v tmux >/dev/null; then
	echo "console_test: tmux is not installed; skipped"
	echo "0 passed, 0 failed"
	exit 0
fi

TMP=$(mktemp -d /tmp/swb-console-test.XXXXXX)
DATA=$TMP/data
mkdir -p "$DATA" "$TMP/xdg"
IPC="ipc://$TMP/n.ipc"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + RANDOM % 30000)))
TMUX_CMD=(tmux -L "swb-console-test-$$" -f /dev/null)
CTL=("$B/swbctl" --url "$IPC" --data "$DATA")
NODE_PID=
PASSED=0
FAILED=0

cleanup() {
	"${TMUX_CMD[@]}" kill-server 2>/dev/null
	[ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - $1"
	if [ -n "${2:-}" ]; then
		echo "---- screen of $2 ----"
		cap "$2"
		echo "----"
	fi
}
note() { [ -n "$VERBOSE" ] && echo "     $*"; return 0; }

# The test's own workspace, so changes to the demo workspace cannot move its ground. Sales orders
# workers by level: with alice (3) and bob (2) available, a sales task goes to alice, then to bob.
cat >"$TMP/ws.json" <<'EOF'
{
  "friendly_name": "Console Test",
  "activities": [
    {"friendly_name": "Offline", "available": false},
    {"friendly_name": "Available", "available": true},
    {"friendly_name": "Unavailable", "available": false},
    {"friendly_name": "Break", "available": false}
  ],
  "default_activity_sid": "Offline",
  "timeout_activity_sid": "Offline",
  "task_queues": [
    {"friendly_name": "Sales", "target_workers": "skills HAS \"sales\""},
    {"friendly_name": "Support", "target_workers": "skills HAS \"support\""},
    {"friendly_name": "Everyone", "target_workers": "1==1"}
  ],
  "workers": [
    {"friendly_name": "alice", "activity_sid": "Available", "attributes": {"skills": ["sales", "support"], "level": 3}},
    {"friendly_name": "bob", "activity_sid": "Available", "attributes": {"skills": ["sales"], "level": 2}},
    {"friendly_name": "carla", "activity_sid": "Available", "attributes": {"skills": ["support"], "level": 2}},
    {"friendly_name": "erin", "activity_sid": "Available", "attributes": {"skills": ["support"], "level": 1}}
  ],
  "workflows": [
    {
      "friendly_name": "Inbound",
      "task_reservation_timeout": 60,
      "configuration": {"task_routing": {
        "filters": [
          {"filter_friendly_name": "Sales", "expression": "department == \"sales\"",
           "targets": [{"queue": "Sales", "order_by": "worker.level DESC"}]},
          {"filter_friendly_name": "Support", "expression": "department == \"support\"",
           "targets": [{"queue": "Support"}]}
        ],
        "default_filter": {"queue": "Everyone"}
      }}
    }
  ]
}
EOF

start_node() {
	"$B/swb-node" --config "$TMP/ws.json" --data "$DATA" --listen "tcp://127.0.0.1:$PORT" --listen "$IPC" --http none \
		>>"$TMP/node.log" 2>&1 &
	NODE_PID=$!
	for _ in $(seq 100); do
		"${CTL[@]}" hello >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "console_test: the node did not start:"
	cat "$TMP/node.log"
	exit 1
}

stop_node() {
	kill -9 "$NODE_PID" 2>/dev/null
	wait "$NODE_PID" 2>/dev/null
	NODE_PID=
}

cap() { "${TMUX_CMD[@]}" capture-pane -p -t "$1" 2>/dev/null; }
keys() { "${TMUX_CMD[@]}" send-keys -t "$@"; }

# Starts a console in a detached tmux session: console SESSION COLS ROWS ARGS...
console() {
	local s=$1 x=$2 y=$3
	shift 3
	"${TMUX_CMD[@]}" new-session -d -s "$s" -x "$x" -y "$y" \
		"env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_CONFIG_HOME=$TMP/xdg $B/swb-console --url $IPC --data $DATA $*; echo \"console exited: \$?\"; sleep 600"
}

# wait_screen SESSION REGEX [SECONDS]: true once the screen matches.
wait_screen() {
	local s=$1 re=$2 t=${3:-10}
	for _ in $(seq $((t * 10))); do
		cap "$s" | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	return 1
}

# wait_gone SESSION REGEX [SECONDS]: true once the screen no longer matches.
wait_gone() {
	local s=$1 re=$2 t=${3:-10}
	for _ in $(seq $((t * 10))); do
		cap "$s" | grep -Eq -- "$re" || return 0
		sleep 0.1
	done
	return 1
}

# wait_node REGEX SECONDS CMD...: true once the swbctl command's output matches.
wait_node() {
	local re=$1 t=$2
	shift 2
	for _ in $(seq $((t * 10))); do
		"${CTL[@]}" "$@" 2>/dev/null | tr -d ' \n' | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	return 1
}

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

new_task() { "${CTL[@]}" --json tasks create --attributes "$1" | json_field 'd["sid"]'; }

start_node
note "node on tcp://127.0.0.1:$PORT and $IPC, data in $DATA"


# ---- smoke: --frames exits by itself ----
"${TMUX_CMD[@]}" new-session -d -s frames -x 100 -y 30 \
	"$B/swb-console --url $IPC --data $DATA --worker carla --frames 3; echo \"rc=\$?\" > $TMP/frames.rc; sleep 600"
for _ in $(seq 100); do [ -s "$TMP/frames.rc" ] && break; sleep 0.1; done
if grep -q "rc=0" "$TMP/frames.rc" 2>/dev/null; then pass "--frames 3 draws and exits 0"; else fail "--frames 3 draws and exits 0" frames; fi

# ---- the agent's console ----
console agent 120 40 --worker alice --show-attrs customer,department
if wait_screen agent "Switchboard.*alice.*Available.*online"; then
	pass "agent header: worker, activity, connection"
else
	fail "agent header: worker, activity, connection" agent
fi
if cap agent | grep -q "a Accept" && cap agent | grep -q "q Quit" && cap agent | grep -q "1-9 Activity"; then
	pass "function bar shows the keys"
else
	fail "function bar shows the keys" agent
fi
if wait_screen agent "Sales +[0-9]+ +[-0-9:]+ +[0-9]+/[0-9]+"; then pass "queue stats for the worker's queues"; else fail "queue stats for the worker's queues" agent; fi

T1=$(new_task '{"department":"sales","customer":"Grace Hopper"}')
note "task $T1"
if wait_screen agent "(NEW|PENDING) +Sales .*customer=Grace Hopper department=sales"; then
	pass "a task created with swbctl appears in the reservations panel"
else
	fail "a task created with swbctl appears in the reservations panel" agent
fi
if cap agent | grep -Eq "reservation\.created"; then pass "events pane lists the worker's events"; else fail "events pane lists the worker's events" agent; fi

keys agent Enter
if wait_screen agent "Attributes" 5 && cap agent | grep -q '"customer": "Grace Hopper"'; then
	pass "Enter shows the full task"
else
	fail "Enter shows the full task" agent
fi
keys agent Escape
wait_gone agent "Attributes" 5

keys agent a
if wait_node "\"task_sid\":\"$T1\".*\"reservation_status\":\"accepted\"" 10 reservations list --task_sid "$T1" --json; then
	pass "a: the node reports the reservation accepted"
else
	fail "a: the node reports the reservation accepted" agent
fi
if wait_screen agent "ASSIGNED +Sales"; then pass "accepted task shows as assigned"; else fail "accepted task shows as assigned" agent; fi

keys agent w
if wait_node "\"assignment_status\":\"wrapping\"" 10 tasks fetch "$T1" --json && wait_screen agent "WRAPPING +Sales"; then
	pass "w: wrapping on the node and on screen"
else
	fail "w: wrapping on the node and on screen" agent
fi
keys agent c
if wait_node "\"assignment_status\":\"completed\"" 10 tasks fetch "$T1" --json && wait_gone agent "WRAPPING +Sales"; then
	pass "c: completed on the node, gone from the panel"
else
	fail "c: completed on the node, gone from the panel" agent
fi

# reject, moving to Unavailable (3rd activity): the task goes to bob
T2=$(new_task '{"department":"sales","customer":"Alan Turing"}')
wait_screen agent "customer=Alan Turing" || fail "second task appears" agent
keys agent r
if wait_screen agent "Reject task .*then go to" 5; then pass "r opens the activity menu"; else fail "r opens the activity menu" agent; fi
keys agent 3
if wait_node "\"reservation_status\":\"rejected\".*\"worker_name\":\"alice\"|\"worker_name\":\"alice\".*\"reservation_status\":\"rejected\"" 10 \
	reservations list --task_sid "$T2" --json &&
	wait_node "\"worker_name\":\"bob\"" 10 reservations list --task_sid "$T2" --json; then
	pass "r: the node moves the task to another worker"
else
	fail "r: the node moves the task to another worker" agent
fi
if wait_node "\"activity_name\":\"Unavailable\"" 10 workers fetch alice --json && wait_screen agent "Unavailable .*for"; then
	pass "reject moved alice to the chosen activity"
else
	fail "reject moved alice to the chosen activity" agent
fi
"${CTL[@]}" tasks cancel "$T2" >/dev/null 2>&1

# activity switch with a digit
keys agent 2
if wait_node "\"activity_name\":\"Available\"" 10 workers fetch alice --json && wait_screen agent "alice .*Available .*for"; then
	pass "a digit switches the activity on the node"
else
	fail "a digit switches the activity on the node" agent
fi
keys agent m
if wait_screen agent "Switch activity to" 5; then
	keys agent Down Down Enter
	if wait_node "\"activity_name\":\"Unavailable\"" 10 workers fetch alice --json; then pass "m: the activity menu switches"; else fail "m: the activity menu switches" agent; fi
else
	fail "m: the activity menu switches" agent
fi
keys agent 2
wait_node "\"activity_name\":\"Available\"" 10 workers fetch alice --json

keys agent '?'
if wait_screen agent "Help: keys" 5 && cap agent | grep -q "accept the selected reservation"; then pass "? shows the help overlay"; else fail "? shows the help overlay" agent; fi
keys agent Escape
wait_gone agent "Help: keys" 5

# a mouse click on the bottom bar presses that key (X10 mouse report: ESC [ M button x y)
bar=$(cap agent | tail -1)
prefix=${bar%%\? Help*}
col=$(( ${#prefix} + 1 ))
keys agent -l $'\e[M'" $(printf "\\$(printf '%03o' $((32 + col)))")$(printf "\\$(printf '%03o' $((32 + 40)))")"
if wait_screen agent "Help: keys" 5; then pass "a mouse click on the bar presses its key"; else fail "a mouse click on the bar presses its key" agent; fi
keys agent Escape

# resizing: below 80x24 it says so, at 80x24 it draws again
"${TMUX_CMD[@]}" resize-window -t agent -x 70 -y 20
if wait_screen agent "Terminal too small: 70x20" 5; then pass "below 80x24 the console says so"; else fail "below 80x24 the console says so" agent; fi
"${TMUX_CMD[@]}" resize-window -t agent -x 80 -y 24
if wait_screen agent "Reservations" 5 && wait_screen agent "q Quit" 5 && ! cap agent | grep -q "too small"; then
	pass "at 80x24 the whole console fits"
else
	fail "at 80x24 the whole console fits" agent
fi
"${TMUX_CMD[@]}" resize-window -t agent -x 120 -y 40

# ---- the supervisor's view ----
console super 120 40 --supervisor
if wait_screen super "Switchboard supervisor" && wait_screen super "Sales" && wait_screen super "[0-9]+/[0-9]+ workers available"; then
	pass "supervisor view: queue panels and workspace totals"
else
	fail "supervisor view: queue panels and workspace totals" super
fi
if wait_screen super "alice +. Available" && cap super | grep -q "Worker"; then pass "supervisor view: worker grid"; else fail "supervisor view: worker grid" super; fi
# make Sales tasks wait: nobody with the skill is available
for w in alice bob; do "${CTL[@]}" workers update "$w" --activity Unavailable >/dev/null; done
# the Sales tile is the first in its row: its "Waiting N" is the first on the line under its title
waiting() { cap super | awk '/Sales.*SL/ { getline; print; exit }' | grep -oE "Waiting [0-9]+" | head -1 | grep -oE "[0-9]+"; }
wait_screen super "Waiting 0 " 10
before=$(waiting)
T3=$(new_task '{"department":"sales"}')
T4=$(new_task '{"department":"sales"}')
ok=
for _ in $(seq 100); do
	now=$(waiting)
	if [ -n "$now" ] && [ -n "$before" ] && [ "$now" -ge $((before + 2)) ]; then ok=1; break; fi
	sleep 0.1
done
if [ -n "$ok" ]; then pass "supervisor view: queue counts change (waiting $before -> $now)"; else fail "supervisor view: queue counts change ($before -> ${now:-?})" super; fi
"${CTL[@]}" tasks cancel "$T4" >/dev/null
if wait_screen super "Out +[^0-9]*[1-9]" 10; then pass "supervisor view: abandons sparkline counts the canceled task"; else fail "supervisor view: abandons sparkline" super; fi
# change a worker's activity from the grid: filter to erin, then press 3 (Unavailable)
keys super /
keys super -l erin
keys super Enter
wait_screen super "erin +. Available" 5
keys super 3
if wait_node "\"activity_name\":\"Unavailable\"" 10 workers fetch erin --json && wait_screen super "erin +. Unavailable" 5; then
	pass "supervisor view: change a worker's activity"
else
	fail "supervisor view: change a worker's activity" super
fi
keys super /
keys super Escape
keys super s
if wait_screen super "sort: activity" 5; then pass "supervisor view: sort key"; else fail "supervisor view: sort key" super; fi
keys super f
if wait_screen super "filter: available" 5; then pass "supervisor view: filter key"; else fail "supervisor view: filter key" super; fi
keys super f f f f

# ---- node restart ----
"${CTL[@]}" workers update alice --activity Available >/dev/null
"${CTL[@]}" tasks cancel "$T3" >/dev/null
T5=$(new_task '{"department":"sales","customer":"Katherine Johnson"}')
wait_screen agent "customer=Katherine Johnson" 10
keys agent a
wait_node "\"reservation_status\":\"accepted\"" 10 reservations list --task_sid "$T5" --json
wait_screen agent "ASSIGNED .*Katherine" 5
stop_node
if wait_screen agent "Reconnecting to the node" 15 && wait_screen super "Reconnecting to the node" 15; then
	pass "node down: both consoles show the reconnecting banner"
else
	fail "node down: both consoles show the reconnecting banner" agent
fi
if wait_screen agent "reconnecting" 2; then pass "node down: header says reconnecting"; else fail "node down: header says reconnecting" agent; fi
keys agent 3
if wait_screen agent "needs the node, which is unreachable" 5; then pass "node down: keys that need the node say why"; else fail "node down: keys that need the node say why" agent; fi
keys agent j k
if cap agent | grep -q "ASSIGNED .*Katherine"; then pass "node down: the screen keeps the last known state"; else fail "node down: the screen keeps the last known state" agent; fi
start_node
if wait_gone agent "Reconnecting to the node" 20 && wait_screen agent "online" 5 && wait_screen agent "Resynced with" 5; then
	pass "node back: banner gone, console resynced"
else
	fail "node back: banner gone, console resynced" agent
fi
if cap agent | grep -q "ASSIGNED .*Katherine"; then pass "node back: the accepted reservation stays accepted"; else fail "node back: the accepted reservation stays accepted" agent; fi
if wait_gone super "Reconnecting to the node" 20 && wait_screen super "online" 5; then pass "node back: supervisor view resynced"; else fail "node back: supervisor view resynced" super; fi
keys agent c
if wait_node "\"assignment_status\":\"completed\"" 10 tasks fetch "$T5" --json; then pass "node back: actions work again"; else fail "node back: actions work again" agent; fi

# ---- themes ----
cat >"$TMP/bad.theme" <<'EOF'
# a theme with a typo
header = fg=white,bg=blue
queue_ok = fg=grene
EOF
console badtheme 150 30 --worker carla --theme "$TMP/bad.theme"
if wait_screen badtheme "using the default theme: .*bad.theme:3: queue_ok: unknown colour 'grene'" 10; then
	pass "a bad theme file: the message names the line, the default is used"
else
	fail "a bad theme file: the message names the line, the default is used" badtheme
fi
console colors 100 30 --worker carla --theme light
"${TMUX_CMD[@]}" new-session -d -s nocolor -x 100 -y 30 \
	"env LANG=C.UTF-8 NO_COLOR=1 $B/swb-console --url $IPC --data $DATA --worker carla; sleep 600"
wait_screen colors "online" 10
wait_screen nocolor "online" 10
sleep 0.5
if "${TMUX_CMD[@]}" capture-pane -e -p -t colors | grep -q $'\e\\[[0-9;]*\\(38\\|48\\|3[0-7]\\|4[0-7]\\)[;m]' &&
	! "${TMUX_CMD[@]}" capture-pane -e -p -t nocolor | grep -q $'\e\\[[0-9;]*\\(38\\|48\\|3[0-7]\\|4[0-7]\\)[;m]'; then
	pass "themes color the screen; NO_COLOR turns colors off"
else
	fail "themes color the screen; NO_COLOR turns colors off" nocolor
fi

# ---- tokens: a minted one is renewed, a given one that expires says so ----
# a 3 s token is renewed at 2.4 s: after 8 s (two expiries) the console still acts, and nothing was refused
console renew 120 40 --worker carla --token-ttl 3
if wait_screen renew "carla.*online" 10; then
	sleep 8
	keys renew 3
	if wait_node "\"activity_name\":\"Unavailable\"" 10 workers fetch carla --json && wait_screen renew "carla .*Unavailable .*for" 5 &&
		! cap renew | grep -Eqi "refuse|expired|unauthorized|cannot renew"; then
		pass "--token-ttl 3: after 8 s a digit still switches the activity (the token was renewed)"
	else
		fail "--token-ttl 3: after 8 s a digit still switches the activity (the token was renewed)" renew
	fi
	keys renew 2
	if wait_node "\"activity_name\":\"Available\"" 10 workers fetch carla --json && wait_screen renew "online" 5 &&
		! cap renew | grep -Eqi "refuse|expired|unauthorized|cannot renew"; then
		pass "--token-ttl 3: and again, still online"
	else
		fail "--token-ttl 3: and again, still online" renew
	fi
else
	fail "--token-ttl 3: the console starts" renew
fi
keys renew q
if wait_screen renew "console exited: 0" 5; then pass "--token-ttl 3: quits cleanly after renewals"; else fail "--token-ttl 3: quits cleanly after renewals" renew; fi
# a renewal that fails keeps the old token and says why: this console mints from a copy of the data
# directory whose secret goes away under it, and comes back
mkdir -p "$TMP/data2"
cp "$DATA/secret" "$TMP/data2/secret"
console norenew 160 40 --data "$TMP/data2" --worker carla --token-ttl 4
if wait_screen norenew "carla.*online" 10; then
	rm -f "$TMP/data2/secret"
	if wait_screen norenew "Cannot renew this console's token .*retrying" 8; then
		pass "a failed renewal shows the reason on the message line"
	else
		fail "a failed renewal shows the reason on the message line" norenew
	fi
	# the node refuses the next pull after the expiry (a held pull lasts up to 10 s)
	if wait_screen norenew "This console's token expired at .*renew" 20; then
		pass "then the banner says the token expired"
	else
		fail "then the banner says the token expired" norenew
	fi
	cp "$DATA/secret" "$TMP/data2/secret"
	if wait_gone norenew "This console's token expired" 15 && wait_screen norenew "carla.*online" 5; then
		pass "a later renewal brings the console back"
	else
		fail "a later renewal brings the console back" norenew
	fi
else
	fail "a console with its own data dir starts" norenew
fi
keys norenew q
# a given token is not renewed: when it expires the banner says so and what to do
TOK=$("${CTL[@]}" token worker carla --ttl 3)
console given 160 40 --token "$TOK"
if wait_screen given "carla.*online" 10 && wait_screen given "This console's token expired at .*new token" 20; then
	pass "a given token that expires: the banner names it and the remedy"
else
	fail "a given token that expires: the banner names it and the remedy" given
fi
keys given 3
if wait_screen given "needs the node, which refuses this console's token expired" 5; then
	pass "an expired token: keys that need the node say so"
else
	fail "an expired token: keys that need the node say so" given
fi
keys given q

# ---- quitting ----
keys agent q
if wait_screen agent "console exited: 0" 5; then pass "q quits cleanly"; else fail "q quits cleanly" agent; fi
keys super F10
if wait_screen super "console exited: 0" 5; then pass "F10 quits cleanly"; else fail "F10 quits cleanly" super; fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
