#!/usr/bin/env bash
# eventbridge_test.sh - Twilio's own twilio-taskrouter Worker SDK against a real
# swb-node's EventBridge (tests/js/eventbridge.test.js: ready, reservations,
# accept, reject with an activity, activity changes, wrap-up, complete, bad
# tokens and bad requests, heartbeats, token expiry, sessions, offline on
# disconnect, reconnect across a node restart), then the browser agent page in
# headless chromium (tests/js/agent_page.test.js).
#
# npm packages (twilio-taskrouter@2.1.1, twilio@6 for jwt.AccessToken,
# playwright-core to drive /usr/bin/chromium, esbuild to make the SDK's browser
# bundle) are installed once into $SWB_BUILD/npm-cache/eb. The node runs in a temporary data directory on free
# loopback ports with --disconnect-grace 500. Exit 77 (skipped) when node, npm
# or chromium is missing or npm cannot install. Env: SWB_BUILD, SWB_SRC.
set -u

B=${SWB_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
SRC=${SWB_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
CACHE="$B/npm-cache/eb"
T=$(mktemp -d /tmp/swb-eb-test.XXXXXX)
PIDFILE="$T/node.pid"

cleanup() {
	if [ -f "$PIDFILE" ]; then
		local pid
		pid=$(cat "$PIDFILE")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {
	echo "skipped: $1"
	exit 77
}

for tool in node npm; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/deps --test)"
done
[ -x "$B/swb-node" ] || { echo "no $B/swb-node: build first"; exit 1; }

# ---- npm packages, once per build tree ----
have() { [ -f "$CACHE/node_modules/$1/package.json" ]; }
if ! have twilio-taskrouter || ! have twilio || ! have playwright-core || ! have esbuild ||
	! grep -q '"version": "2.1.1"' "$CACHE/node_modules/twilio-taskrouter/package.json"; then
	mkdir -p "$CACHE"
	[ -f "$CACHE/package.json" ] || echo '{"name":"swb-npm-cache","private":true}' >"$CACHE/package.json"
	(cd "$CACHE" && npm install --no-audit --no-fund twilio-taskrouter@2.1.1 twilio@6 playwright-core@1 esbuild@0.24 \
		>"$T/npm.log" 2>&1) || { tail -20 "$T/npm.log"; skip "npm install failed (offline?)"; }
fi
# The agent page and the SDK's browser bundle, as the agent_web / agent_sdk targets make them.
mkdir -p "$B/web/agent"
cp "$SRC"/client/web/agent/* "$B/web/agent/"
cmake -DCACHE="$CACHE" -DOUT="$B/web/agent" -P "$SRC/scripts/agent_sdk.cmake" || exit 1
[ -f "$B/web/agent/twilio-taskrouter.js" ] || { echo "no browser bundle in $B/web/agent"; exit 1; }

free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
HTTP_PORT=$(free_port)
NNG_PORT=$(free_port)
while [ "$NNG_PORT" = "$HTTP_PORT" ]; do NNG_PORT=$(free_port); done
mkdir -p "$T/data"

ARGS=(--data "$T/data" --config "$SRC/tests/data/eventbridge/workspace.json"
	--listen "tcp://127.0.0.1:$NNG_PORT" --http "127.0.0.1:$HTTP_PORT"
	--web "$B/web/agent" --disconnect-grace 500 --log-level debug)
"$B/swb-node" "${ARGS[@]}" >>"$T/node.log" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 100); do
	[ -f "$T/data/credentials.json" ] && [ -f "$T/data/default" ] &&
		node -e "fetch('http://127.0.0.1:$HTTP_PORT/v1/wschannels',{method:'POST',body:'{}'}).then(()=>process.exit(0),()=>process.exit(1))" 2>/dev/null &&
		break
	sleep 0.1
done

export SWB_BUILD="$B" SWB_SRC="$SRC" SWB_DATA="$T/data" SWB_HTTP="127.0.0.1:$HTTP_PORT"
export SWB_NNG="tcp://127.0.0.1:$NNG_PORT" SWB_NODE_PIDFILE="$PIDFILE" SWB_NODE_LOG="$T/node.log"
export EB_NODE_MODULES="$CACHE/node_modules"
SWB_NODE_ARGS=$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "${ARGS[@]}")
export SWB_NODE_ARGS

rc=0
node --test --test-force-exit --test-concurrency=1 "$SRC/tests/js/eventbridge.test.js" || rc=1

if [ -x /usr/bin/chromium ]; then
	export CHROMIUM=/usr/bin/chromium
	node --test --test-force-exit --test-concurrency=1 "$SRC/tests/js/agent_page.test.js" || rc=1
else
	echo "skipped: the agent page test (no /usr/bin/chromium; scripts/deps --test installs it)"
fi

# Stop the node the way an operator does; under ASan/UBSan its reports (leaks included) land in the log.
pid=$(cat "$PIDFILE")
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	echo "not ok - swb-node did not stop on SIGTERM"
	rc=1
fi
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/node.log"; then
	echo "not ok - sanitizer reports in the swb-node log"
	grep -E -A20 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/node.log" | head -80
	rc=1
fi
if [ $rc -ne 0 ]; then
	echo "---- swb-node log (last 80 lines) ----"
	tail -80 "$T/node.log"
fi
exit $rc
