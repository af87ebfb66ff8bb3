#!/usr/bin/env python3
"""Connects to a Unix socket COUNT times and hangs up during the SP handshake.

Used by tests/ipc_watchdog_test.sh: with nng 1.5.2 such peers can stop an ipc
listener from serving; the node's watchdog must notice and recreate it.
Usage: ipc_hangups.py PATH COUNT
"""
import socket
import sys

path, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        if i % 2:
            s.send(b"\x00SP\x00")  # half a handshake header
    except OSError:
        pass
    s.close()
