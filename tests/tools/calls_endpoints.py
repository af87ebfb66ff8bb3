#!/usr/bin/env python3
"""calls_endpoints.py - the HTTP endpoints tests/calls_test.sh points swb-node at.

Usage: calls_endpoints.py PORTFILE LOGFILE
Binds 127.0.0.1 on a free port (written to PORTFILE) and appends every request
it gets to LOGFILE as one JSON object a line: {"path", "method", "params"}
(form body and query string merged), so the test can check what swb-node sent.

  /voice[?wait=MODE]   an IVR: <Gather numDigits=1 action=/choice>
  /choice              <Enqueue workflowSid="Calls"> with {"department": ...} from Digits
  /wait[?mode=leave]   the hold document (or <Leave/>)
  /action              the Enqueue action: says goodbye and hangs up
  /assign/MODE         an assignment callback answering with instruction MODE
                       (accept reject dequeue conference call redirect empty fail hang bad)
  /agent?reservation=  TwiML for the worker's leg of the call instruction (<Dial><Queue>)
  /redirected          TwiML the redirect instruction sends the caller to
  /status              status callbacks (204)
  /notfound            404;  /badtwiml  a document with an unknown verb
Threaded, so /assign/hang (never answers in time) stalls nothing else.
"""
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, LOGFILE = sys.argv[1], sys.argv[2]
lock = threading.Lock()
base = ""

DEPARTMENTS = {"1": "sales", "2": "support", "3": "billing"}


def twiml(body):
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>%s</Response>" % body


def assignment(mode, p):
    """The JSON answer (or None for an empty body) of /assign/MODE."""
    if mode == "accept":
        return {"instruction": "accept"}
    if mode == "reject":
        return {"instruction": "reject", "activity_sid": "Break"}
    if mode == "dequeue":
        return {"instruction": "dequeue", "from": "+15550009999", "post_work_activity_sid": "Wrap-up",
                "status_callback_url": base + "/status", "timeout": 20, "record": "do-not-record"}
    if mode == "conference":
        return {"instruction": "conference", "from": "+15550009999", "post_work_activity_sid": "Wrap-up",
                "end_conference_on_exit": True}
    if mode == "call":
        return {"instruction": "call", "url": base + "/agent?reservation=" + p.get("ReservationSid", ""),
                "from": "+15550009999", "accept": "true", "status_callback_url": base + "/status"}
    if mode == "redirect":
        attrs = json.loads(p.get("TaskAttributes", "{}"))
        return {"instruction": "redirect", "call_sid": attrs.get("call_sid", ""), "url": base + "/redirected",
                "accept": True, "post_work_activity_sid": "Wrap-up"}
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, ctype, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            body = self.rfile.read(n).decode()
            for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items():
                params[k] = v[-1]
        with lock:
            with open(LOGFILE, "a") as f:
                f.write(json.dumps({"path": url.path, "method": self.command, "params": params}) + "\n")
        path = url.path
        if path == "/voice":
            wait = "?wait=" + params["wait"] if params.get("wait") else ""
            return self.reply(200, "text/xml", twiml(
                '<Gather numDigits="1" action="/choice%s"><Say>For sales press 1, support 2.</Say></Gather>'
                '<Say>No choice.</Say><Hangup/>' % wait))
        if path == "/choice":
            dept = DEPARTMENTS.get(params.get("Digits", ""), "general")
            mode = "?mode=" + params["wait"] if params.get("wait") else ""
            return self.reply(200, "text/xml", twiml(
                '<Enqueue workflowSid="Calls" waitUrl="/wait%s" action="/action">'
                '<Task priority="3">{"department": "%s", "ivr": true}</Task></Enqueue>' % (mode, dept)))
        if path == "/wait":
            if params.get("mode") == "leave":
                return self.reply(200, "text/xml", twiml("<Leave/>"))
            return self.reply(200, "text/xml", twiml("<Say>Please hold.</Say><Pause length=\"1\"/>"))
        if path == "/action":
            return self.reply(200, "text/xml", twiml("<Say>Goodbye.</Say><Hangup/>"))
        if path.startswith("/assign/"):
            mode = path[len("/assign/"):]
            if mode == "fail":
                return self.reply(500, "text/plain", "broken backend")
            if mode == "hang":
                time.sleep(12)
                return self.reply(200, "application/json", json.dumps({"instruction": "reject"}))
            if mode == "bad":
                return self.reply(200, "application/json", "not json")
            answer = assignment(mode, params)
            return self.reply(200, "application/json", json.dumps(answer) if answer is not None else "")
        if path == "/agent":
            return self.reply(200, "text/xml", twiml(
                '<Dial><Queue reservationSid="%s"/></Dial><Hangup/>' % params.get("reservation", "")))
        if path == "/redirected":
            return self.reply(200, "text/xml", twiml("<Say>You were redirected.</Say><Pause length=\"600\"/>"))
        if path == "/status":
            return self.reply(204, "text/plain", "")
        if path == "/badtwiml":
            return self.reply(200, "text/xml", twiml("<Say>hi</Say><Dance/>"))
        return self.reply(404, "text/plain", "not found")

    do_GET = handle_any
    do_POST = handle_any


def main():
    global base
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = "http://127.0.0.1:%d" % server.server_address[1]
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(PORTFILE + ".tmp", PORTFILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
