#!/usr/bin/env bash
# rest_twilio_test.sh - Twilio's own twilio-node 6 against a real swb-node's
# TaskRouter v1 REST API (tests/js/rest.test.js): a workspace's whole life,
# paging, statistics, events and every error path.
#
# npm `twilio@6` is installed once into $SWB_BUILD/npm-cache/rest. The node runs
# in a temporary data directory on free loopback ports (never the defaults) and
# is stopped on exit. Prints node's test summary; exits non-zero on failure
# (77 when node or npm is missing or npm cannot install). Env: SWB_BUILD, SWB_SRC.
set -u

B=${SWB_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
SRC=${SWB_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
CACHE="$B/npm-cache/rest"
T=$(mktemp -d /tmp/swb-rest-test.XXXXXX)
PID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
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

if [ ! -f "$CACHE/node_modules/twilio/package.json" ]; then
	mkdir -p "$CACHE"
	npm install --prefix "$CACHE" twilio@6 --no-audit --no-fund >"$T/npm.log" 2>&1 ||
		{ tail -20 "$T/npm.log"; skip "npm install twilio@6 failed (offline?)"; }
fi

free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
HTTP_PORT=$(free_port)
NNG_PORT=$(free_port)
while [ "$NNG_PORT" = "$HTTP_PORT" ]; do NNG_PORT=$(free_port); done
mkdir -p "$T/data"

"$B/swb-node" --data "$T/data" --listen "tcp://127.0.0.1:$NNG_PORT" --http "127.0.0.1:$HTTP_PORT" \
	--log-level debug >"$T/node.log" 2>&1 &
PID=$!
up=
for _ in $(seq 100); do
	if [ -f "$T/data/credentials.json" ] &&
		node -e "fetch('http://127.0.0.1:$HTTP_PORT/v1/Workspaces').then(()=>process.exit(0),()=>process.exit(1))" 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.1
done
[ -n "$up" ] || { echo "swb-node did not come up"; cat "$T/node.log"; exit 1; }

cred() { node -e "console.log(require('$T/data/credentials.json')['$1'])"; }
export SWB_REST_URL="http://127.0.0.1:$HTTP_PORT"
SWB_ACCOUNT_SID=$(cred account_sid)
SWB_AUTH_TOKEN=$(cred auth_token)
SWB_API_KEY_SID=$(cred api_key_sid)
SWB_API_KEY_SECRET=$(cred api_key_secret)
SWB_SECRET_HEX=$(tr -d '\n' <"$T/data/secret")
export SWB_ACCOUNT_SID SWB_AUTH_TOKEN SWB_API_KEY_SID SWB_API_KEY_SECRET SWB_SECRET_HEX
export TWILIO_MODULE="$CACHE/node_modules/twilio"
# twilio-node reads these; a stray one would rewrite 127.0.0.1 (the test passes region/edge "" too).
unset TWILIO_REGION TWILIO_EDGE TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN

rc=0
node --test --test-concurrency=1 "$SRC/tests/js/rest.test.js" || rc=1
if ! kill -0 "$PID" 2>/dev/null; then
	echo "swb-node died during the test"
	rc=1
fi
if [ $rc -ne 0 ]; then
	echo "---- swb-node log (last 60 lines) ----"
	tail -60 "$T/node.log"
fi
exit $rc
