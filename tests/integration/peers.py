"""Real peers for the notice and webhook tests: an SMTP relay (smtp_sink.py
on aiosmtpd, a subprocess stopped by PID) and a webhook receiver
(http.server on a thread) that checks mamori's signatures."""
import email
import email.policy
import hashlib
import hmac
import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import free_port, terminate

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_until(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class SmtpSink:
    """The relay: start(), stop(), messages() as parsed email.message objects."""

    def __init__(self, workdir, port=None):
        self.port = port or free_port()
        self.path = os.path.join(str(workdir), "smtp-sink.jsonl")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "smtp_sink.py"),
                                      str(self.port), self.path])

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("smtp_sink.py exited with %s" % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    return s.recv(64).startswith(b"220")
            except OSError:
                return False

        wait_until(ready, 30, "the SMTP relay to listen")
        return self

    def stop(self):
        terminate(self.proc, 10)
        self.proc = None

    def records(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def messages(self):
        out = []
        for r in self.records():
            m = email.message_from_string(r["data"], policy=email.policy.default)
            m.envelope = r
            out.append(m)
        return out

    def wait_for(self, n, timeout=30):
        return wait_until(lambda: len(self.messages()) >= n and self.messages(), timeout,
                          "%d messages at the relay (have %d)" % (n, len(self.records())))


def verify_signature(secret, headers, body):
    """The receiver's check, as README.md shows it: HMAC-SHA256 over
    "<timestamp>.<body>" with the webhook's secret, compared in constant time,
    and a timestamp no more than 5 minutes off."""
    ts = headers.get("X-Mamori-Timestamp", "")
    sig = headers.get("X-Mamori-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sig)


class WebhookReceiver:
    """Accepts POSTs whose signature verifies (200) and refuses the others
    (401); `fail_first` makes the first N valid requests answer 500."""

    def __init__(self, secret, fail_first=0):
        self.secret = secret
        self.fail_first = fail_first
        self.requests = []  # (valid, headers dict, body bytes, status)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                valid = verify_signature(receiver.secret, headers, body)
                with receiver.lock:
                    status = 200 if valid else 401
                    if valid and receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        status = 500
                    receiver.requests.append((valid, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/mamori" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self):
        with self.lock:
            return [(h, json.loads(b)) for v, h, b, s in self.requests if s == 200]

    def all(self):
        with self.lock:
            return list(self.requests)
