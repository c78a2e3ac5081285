#!/usr/bin/env python3
"""A probe target on 127.0.0.1 that misbehaves on purpose, for bench/chaos.d/probes.sh.

    faulty_http.py --port-file FILE --stats FILE [--max-seconds N]

Paths (any other path answers 404):
  /ok        200 at once
  /hang      reads the request and never answers (until the client goes away)
  /reset     promises Content-Length 100, sends 3 bytes, then resets (SO_LINGER 0: RST)
  /slow      answers 200 after --slow-ms (longer than the probe's timeout)
  /slower    answers 200 after --slower-ms (longer than the probe's interval, within its timeout)
  /flap      200 and 503 in turn
  /switch    200 until the file --switch-file exists, 503 from then on

Every response closes its connection, so one connection is one request. Per path it counts
the requests, the most requests in flight at once (a request is in flight from its first
byte until the answer is sent or the client closes its connection, whichever is first), and
for /flap the statuses sent in order, and each request's span (first byte to end, in ms since
the server started, at most 5000 a path). The figures are written to --stats as JSON after every
request, and the server ends after --max-seconds (default 180) or on SIGTERM/SIGINT.
"""

import argparse
import json
import os
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

LOCK = threading.Lock()
STATS = {}
FLAP = {"next": 200, "sent": []}


def stat(path):
    return STATS.setdefault(
        path, {"requests": 0, "in_flight": 0, "max_in_flight": 0, "spans_ms": []}
    )


def save(stats_file):
    with LOCK:
        data = dict(STATS)
        data["/flap-sequence"] = "".join("u" if s == 200 else "d" for s in FLAP["sent"])
        text = json.dumps(data, sort_keys=True)
    tmp = stats_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, stats_file)


def wait_or_gone(conn, seconds):
    """Waits `seconds` (None: until the server ends) unless the client closes first.
    Returns True when the client went away."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
        if left <= 0:
            return False
        r, _, _ = select.select([conn], [], [], left)
        if r:
            try:
                if conn.recv(4096, socket.MSG_PEEK) == b"":
                    return True
                conn.recv(4096)  # more request bytes: drop them
            except OSError:
                return True
        if STOP.is_set():
            return True


STOP = threading.Event()
T0 = time.monotonic()


def ms():
    """Milliseconds since the server started."""
    return round((time.monotonic() - T0) * 1000)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        conn.settimeout(None)
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        path = parts[1] if len(parts) > 1 else "/"
        with LOCK:
            s = stat(path)
            s["requests"] += 1
            s["in_flight"] += 1
            s["max_in_flight"] = max(s["max_in_flight"], s["in_flight"])
        start = ms()
        try:
            self.answer(conn, path)
        except OSError:
            pass
        finally:
            with LOCK:
                s = stat(path)
                s["in_flight"] -= 1
                if len(s["spans_ms"]) < 5000:
                    s["spans_ms"].append([start, ms()])
            save(self.server.stats_file)

    def answer(self, conn, path):
        srv = self.server
        if path == "/hang":
            wait_or_gone(conn, None)
            return
        if path == "/reset":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nhel")
            time.sleep(0.05)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # an RST, not a FIN (the server's own shutdown would send a FIN first)
            return
        if path == "/slow":
            if wait_or_gone(conn, srv.slow_ms / 1000):
                return
            return reply(conn, 200)
        if path == "/slower":
            if wait_or_gone(conn, srv.slower_ms / 1000):
                return
            return reply(conn, 200)
        if path == "/flap":
            with LOCK:
                status = FLAP["next"]
                FLAP["next"] = 503 if status == 200 else 200
                FLAP["sent"].append(status)
            return reply(conn, status)
        if path == "/switch":
            down = srv.switch_file and os.path.exists(srv.switch_file)
            return reply(conn, 503 if down else 200)
        if path == "/ok":
            return reply(conn, 200)
        reply(conn, 404)


def reply(conn, status):
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    body = b"ok\n" if status == 200 else b"no\n"
    conn.sendall(
        b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (status, reason.encode(), len(body), body)
    )


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--max-seconds", type=float, default=180)
    ap.add_argument("--slow-ms", type=int, default=1500)
    ap.add_argument("--slower-ms", type=int, default=800)
    ap.add_argument("--switch-file", default="")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.stats_file = a.stats
    srv.slow_ms = a.slow_ms
    srv.slower_ms = a.slower_ms
    srv.switch_file = a.switch_file
    save(a.stats)

    def stop(*_):
        STOP.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(a.max_seconds, stop)
    timer.daemon = True
    timer.start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        STOP.set()
        srv.server_close()
        save(a.stats)


if __name__ == "__main__":
    sys.exit(main())
