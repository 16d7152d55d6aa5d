"""mamorid under a service manager: with $NOTIFY_SOCKET (systemd's
Type=notify) it says READY=1 only once it answers, RELOADING=1 and READY=1
around a SIGHUP reload, STOPPING=1 when it shuts down, with STATUS= lines;
a notify socket that cannot be reached costs a warning, never the service."""
import os
import signal
import subprocess
import time

import requests

from conftest import MAMORID
from notify_socket import NotifySocket


def start_notifying(m, notify):
    """Starts `m` (a Mamorid not yet started) with NOTIFY_SOCKET set, without
    polling it: the notifications alone say when it is ready."""
    m.log = open(m.log_path, "ab")
    m.proc = subprocess.Popen([MAMORID, "--config", m.config_path], stdout=m.log,
                              stderr=subprocess.STDOUT, env=notify.env())
    return m


def test_ready_only_once_it_answers_then_reloading_and_stopping(make_mamorid, tmp_path):
    notify = NotifySocket(tmp_path)
    m = start_notifying(make_mamorid(start=False), notify)
    try:
        ready = notify.wait_for("READY", "1", proc=m.proc)
        # READY=1 is sent once the listener accepts: it answers at once.
        assert requests.get(m.url + "/healthz", timeout=5).status_code == 200
        assert ready["STATUS"] == "listening on http://127.0.0.1:%d" % m.port, ready
        statuses = [x.get("STATUS", "") for x in notify.messages]
        assert statuses[0] == "loading state from " + m.data_dir, notify.messages

        before = time.monotonic()
        m.proc.send_signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING", "1", proc=m.proc)
        # MONOTONIC_USEC is CLOCK_MONOTONIC when the reload began, as systemd reads it.
        began = int(reloading["MONOTONIC_USEC"]) / 1e6
        assert before - 1 <= began <= time.monotonic() + 1, (before, reloading)
        assert reloading["STATUS"] == "reloading (SIGHUP)"
        again = notify.wait_for("READY", "1", proc=m.proc)
        assert again["STATUS"] == "listening on http://127.0.0.1:%d, reloaded" % m.port
        assert requests.get(m.url + "/healthz", timeout=5).status_code == 200

        m.proc.send_signal(signal.SIGTERM)
        stopping = notify.wait_for("STOPPING", "1", proc=m.proc)
        assert stopping["STATUS"].startswith("shutting down"), stopping
        assert m.proc.wait(timeout=30) == 0
        assert "stopped cleanly" in m.read_log_all()
    finally:
        m.stop()
        notify.close()


def test_an_unreachable_notify_socket_costs_a_warning_not_the_service(make_mamorid, tmp_path,
                                                                      monkeypatch):
    missing = os.path.join(str(tmp_path), "no-such-dir", "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", missing)
    m = make_mamorid()  # polls /healthz: it serves
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while "cannot notify the service manager (RELOADING=1)" not in m.read_log_all():
        assert time.monotonic() < deadline, m.read_log()
        time.sleep(0.05)
    assert m.attempt("alice", "203.0.113.5")["action"] == "allow"
    assert m.stop() == 0
    log = m.read_log_all()
    # Each kind of message is reported once, with the system's reason.
    assert log.count("cannot notify the service manager (READY=1)") == 1, log
    assert "No such file or directory" in log, log
