#!/usr/bin/env python3
"""assignment_backend.py - an example backend: UI-less workers through the assignment callback.

TaskRouter's first agent "UI" was a phone: a workflow's assignment_callback_url
answers each reservation with an instruction, and the worker just picks up. This
server is that backend for Switchboard, in one file with no dependencies:

  POST /assignment   (the workflow's assignment_callback_url)
      Answers {"instruction": "dequeue"} (or "conference", --instruction): the caller
      waiting in the queue is connected to the worker's contact_uri attribute, the
      reservation is accepted, and when the call ends the worker moves to
      --wrap-activity. Tasks that are not calls (no call_sid attribute) are simply
      accepted. A worker whose attributes say "ui": true gets an empty answer: its
      own console decides.
  POST /call-status  (the instruction's status_callback_url)
      The worker's leg ended: after --wrap-seconds of wrap-up the task is completed
      and the worker made available again (through swbctl, or any TaskRouter client).

Run it next to a node, and point a workflow at it:
  tests/tools/assignment_backend.py --port 8080 \\
      --swbctl "build/swbctl --url tcp://127.0.0.1:7411 --data ~/.local/share/switchboard"
  "workflows": [{"friendly_name": "Inbound Calls", "assignment_callback_url": "http://127.0.0.1:8080/assignment",
                 "fallback_assignment_callback_url": "http://backup-host:8080/assignment", ...}]

TaskRouter gives a backend 5 seconds to answer, so the answer is computed from the
request alone; slow work (completing tasks) happens on a timer thread.
"""
import argparse
import json
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

opts = None


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def swbctl(workspace, *args):
    """Runs one swbctl command in workspace; returns its JSON output (None on failure)."""
    cmd = shlex.split(opts.swbctl) + ["--json", "--workspace", workspace] + list(args)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        log("swbctl %s failed: %s" % (" ".join(args), done.stderr.strip()))
        return None
    return json.loads(done.stdout or "null")


def decide(p, base):
    """The instruction for one assignment callback (p: TaskRouter's form parameters)."""
    task = json.loads(p.get("TaskAttributes") or "{}")
    worker = json.loads(p.get("WorkerAttributes") or "{}")
    if worker.get("ui"):
        return None  # an empty 200: the worker's console answers the reservation
    if "call_sid" not in task:
        return {"instruction": "accept"}
    query = urllib.parse.urlencode({"task": p["TaskSid"], "worker": p["WorkerSid"], "workspace": p["WorkspaceSid"]})
    answer = {"instruction": opts.instruction,
              "from": opts.caller_id or task.get("to") or "+15550000000",
              "post_work_activity_sid": opts.wrap_activity,
              "status_callback_url": base + "/call-status?" + query}
    if "contact_uri" not in worker:
        answer["to"] = opts.default_to
    return answer


def finish(workspace, task, worker):
    """After wrap-up: the task is completed and the worker available again."""
    time.sleep(opts.wrap_seconds)
    if swbctl(workspace, "tasks", "complete", task, "--reason", "handled by " + worker) is not None:
        log("task %s completed" % task)
    if opts.available_activity:
        swbctl(workspace, "workers", "update", worker, "--activity", opts.available_activity)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        p = {k: v[-1] for k, v in urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True).items()}
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == "/assignment":
            base = opts.public_url or "http://127.0.0.1:%d" % self.server.server_address[1]
            answer = decide(p, base)
            log("reservation %s of task %s for worker %s: %s" % (p.get("ReservationSid"), p.get("TaskSid"),
                                                                  p.get("WorkerSid"),
                                                                  answer["instruction"] if answer else "(UI)"))
            return self.reply(200, json.dumps(answer).encode() if answer else b"")
        if url.path == "/call-status":
            if p.get("CallStatus") == "completed" and q.get("task"):
                log("call %s with worker %s ended after %ss" % (p.get("CallSid"), q["worker"], p.get("CallDuration")))
                threading.Thread(target=finish, args=(q["workspace"], q["task"], q["worker"]), daemon=True).start()
            return self.reply(204)
        return self.reply(404, b"not found", "text/plain")


def main():
    global opts
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8080, help="0: any free port")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--public-url", help="how the node reaches this server (default http://127.0.0.1:PORT)")
    ap.add_argument("--swbctl", default="swbctl", help="how to run swbctl against the node (with --url, --data)")
    ap.add_argument("--instruction", choices=("dequeue", "conference"), default="dequeue")
    ap.add_argument("--caller-id", help="the caller ID workers see (default: the number the customer called)")
    ap.add_argument("--default-to", default="client:operator", help="for workers without a contact_uri")
    ap.add_argument("--wrap-activity", default="Wrap-up", help="the worker's activity while wrapping up")
    ap.add_argument("--wrap-seconds", type=float, default=10)
    ap.add_argument("--available-activity", default="Available", help="after wrap-up ('' to leave it)")
    opts = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if opts.port_file:
        with open(opts.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(opts.port_file + ".tmp", opts.port_file)
    log("assignment backend on http://127.0.0.1:%d/assignment (%s)" % (port, opts.instruction))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
