"""Shared fixture for integration tests: writes a config, starts the real
`mamorid` on a free loopback port, waits for /healthz, and stops it by PID in
teardown (also when the test failed).

Environment (set by CTest): MAMORID (path of the daemon), MAMORI_CLI (path of
the `mamori` tool), MAMORI_SOURCE_DIR (the repository).
"""
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

import openapi_check

MAMORID = os.environ.get("MAMORID", os.path.join(os.path.dirname(__file__), "../../build/mamorid"))
MAMORI_CLI = os.environ.get("MAMORI_CLI", os.path.join(os.path.dirname(__file__), "../../build/mamori"))
SOURCE_DIR = os.environ.get("MAMORI_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))

ADMIN_TOKEN = "test-admin-token"
APP_TOKEN = "test-app-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return '"%s"' % v


def terminate(proc, timeout=15, sig=signal.SIGTERM):
    """Stops a peer process by PID: `sig`, then SIGKILL after `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Mamorid:
    """One mamorid process with its own data dir and config.

    `detections` overrides detection settings, e.g.
    {"brute_force": {"threshold": 3}}; `server` overrides [server] keys.
    """

    def __init__(self, workdir, detections=None, server=None, extra_toml="", replay=False):
        self.workdir = str(workdir)
        self.data_dir = os.path.join(self.workdir, "data")
        self.config_path = os.path.join(self.workdir, "mamori.toml")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.replay = replay
        # For an https:// url ([server.tls]): the CA file to verify the
        # server with, and a (cert, key) pair for mutual TLS.
        self.verify = True
        self.client_cert = None
        self.proc = None
        self.log_path = os.path.join(self.workdir, "mamorid.log")
        # Every answer it receives is checked against docs/openapi.json.
        self.session = openapi_check.attach(requests.Session())
        lines = ["[server]", 'listen = "127.0.0.1:%d"' % self.port,
                 'data_dir = "%s"' % self.data_dir, "threads = 2"]
        for k, v in (server or {}).items():
            lines.append("%s = %s" % (k, toml_value(v)))
        lines += ["", "[[tokens]]", 'token = "%s"' % ADMIN_TOKEN, 'role = "admin"',
                  "", "[[tokens]]", 'token = "%s"' % APP_TOKEN, 'role = "app"', ""]
        for name, settings in (detections or {}).items():
            lines.append("[detections.%s]" % name)
            for k, v in settings.items():
                lines.append("%s = %s" % (k, toml_value(v)))
            lines.append("")
        lines.append(extra_toml)
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # ---- process control -------------------------------------------------
    def start(self, extra_args=(), wrap=()):
        """Starts the daemon and waits for /healthz. `wrap` prefixes the command
        (e.g. nsenter into a mount namespace); it must exec mamorid in place, so
        that the PID stopped in teardown is the daemon's."""
        args = list(wrap) + [MAMORID, "--config", self.config_path]
        if self.replay:
            args.append("--replay")
        args += list(extra_args)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mamorid exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                if requests.get(self.url + "/healthz", timeout=0.5, verify=self.verify,
                                cert=self.client_cert).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("mamorid did not become ready:\n" + self.read_log())

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the process by PID; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def read_log_all(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-5000:]
        except OSError:
            return ""

    # ---- HTTP ------------------------------------------------------------
    def request(self, method, path, token=ADMIN_TOKEN, json=None, data=None, headers=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        return self.session.request(method, self.url + path, json=json, data=data, headers=h, timeout=10,
                                    verify=self.verify, cert=self.client_cert)

    def admin(self, method, path, json=None):
        return self.request(method, path, ADMIN_TOKEN, json=json)

    def app(self, method, path, json=None):
        return self.request(method, path, APP_TOKEN, json=json)

    def attempt(self, account, ip, **fields):
        body = dict(account=account, ip=ip, **fields)
        r = self.app("POST", "/v1/login/attempt", body)
        assert r.status_code == 200, r.text
        return r.json()

    def result(self, account, ip, success, **fields):
        body = dict(account=account, ip=ip, success=success, **fields)
        r = self.app("POST", "/v1/login/result", body)
        assert r.status_code == 200, r.text
        return r.json()

    def event(self, type_, account, ip, **fields):
        body = dict(type=type_, account=account, ip=ip, **fields)
        r = self.app("POST", "/v1/events", body)
        assert r.status_code == 200, r.text
        return r.json()

    def cli(self, *args, token=ADMIN_TOKEN, check=True):
        """Runs the `mamori` tool against this server; returns CompletedProcess."""
        env = dict(os.environ, MAMORI_SERVER=self.url, MAMORI_TOKEN=token)
        p = subprocess.run([MAMORI_CLI] + list(args), env=env, capture_output=True, text=True, timeout=30)
        if check:
            assert p.returncode == 0, "mamori %s failed (%d): %s%s" % (args, p.returncode, p.stdout, p.stderr)
        return p


@pytest.fixture
def make_mamorid(tmp_path):
    """Factory: make_mamorid(detections=..., server=..., replay=...) -> started Mamorid.
    Every instance is stopped in teardown."""
    started = []

    def make(name="node", start=True, **kwargs):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        m = Mamorid(d, **kwargs)
        started.append(m)
        return m.start() if start else m

    yield make
    for m in started:
        m.stop()


@pytest.fixture
def mamorid(make_mamorid):
    """One started mamorid with the default detections."""
    return make_mamorid()


# ---- answers against docs/openapi.json (openapi_check.py) ----------------------------
@pytest.fixture(autouse=True)
def openapi_answers():
    """Fails a test that received an answer docs/openapi.json does not describe, also when
    the test caught the error and went on."""
    before = len(openapi_check.failures)
    yield
    missed = openapi_check.failures[before:]
    assert not missed, "answers docs/openapi.json does not describe:\n" + "\n".join(missed)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(openapi_check.summary())


@pytest.fixture
def sink(tmp_path):
    """A real SMTP relay on loopback receiving the owners' notices (peers.SmtpSink),
    stopped in teardown."""
    from peers import SmtpSink  # peers imports this module: imported when used
    s = SmtpSink(tmp_path).start()
    yield s
    s.stop()
