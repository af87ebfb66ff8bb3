#!/usr/bin/env bash
# swb-node over tls+tcp://: a client that trusts the node's certificate gets answers; one without a
# CA is refused before dialing, and one trusting another certificate never gets through.
set -u
build=${SWB_BUILD:-build}
dir=$(mktemp -d)
pass=0 fail=0
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; fi; }
cert() { # $1: name
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -keyout "$dir/$1.key" -out "$dir/$1.pem" >/dev/null 2>&1
}
cert node
cert other
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="tls+tcp://127.0.0.1:$port"
"$build/swb-node" --data "$dir/data" --listen "$url" --tls-cert "$dir/node.pem" --tls-key "$dir/node.key" \
  --http none >"$dir/node.log" 2>&1 &
pid=$!
export SWB_TLS_SERVER_NAME=localhost
hello() { timeout 10 "$build/swbctl" --url "$url" --data "$dir/data" --call-timeout 3000 hello; }
ok=false
for _ in $(seq 50); do
  if SWB_TLS_CA="$dir/node.pem" hello >"$dir/hello.json" 2>/dev/null; then ok=true; break; fi
  sleep 0.2
done
check $ok
check grep -q '"scope": "admin"' "$dir/hello.json"
SWB_TLS_CA= hello >/dev/null 2>"$dir/noca.err"
check grep -q "SWB_TLS_CA" "$dir/noca.err"
if SWB_TLS_CA="$dir/other.pem" hello >/dev/null 2>&1; then check false; else check true; fi
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
check [ "$rc" -eq 0 ]
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
