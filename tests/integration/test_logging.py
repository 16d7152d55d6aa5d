"""[log]: the level and format of mamorid's own lines (text, json, and
journald's priority prefixes when stderr is the journal), and the decision
log: one JSON line per decision above allow, to a file reopened on SIGUSR1,
written from a queue that drops (and counts) rather than hold up a request."""
import json
import os
import re
import signal
import subprocess
import time

import requests

from conftest import MAMORID


def wait_until(what, check, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("not within %s s: %s" % (timeout, what))


def lines_of(path):
    try:
        with open(path) as f:
            return [l for l in f.read().splitlines() if l]
    except FileNotFoundError:
        return []


def metric(m, name):
    text = m.request("GET", "/metrics").text
    found = re.search(r"^%s (\d+)$" % re.escape(name), text, flags=re.M)
    assert found, "no %s in /metrics" % name
    return int(found.group(1))


def test_json_lines_parse_with_time_level_message_and_fields(make_mamorid):
    m = make_mamorid(extra_toml='[log]\nformat = "json"\nlevel = "debug"\n')
    m.proc.send_signal(signal.SIGHUP)
    wait_until("the reload's line", lambda: "config reloaded" in m.read_log_all())
    m.stop()
    lines = lines_of(m.log_path)
    assert len(lines) >= 4, lines
    records = [json.loads(l) for l in lines]  # every line is one JSON object
    for r in records:
        assert set(r) >= {"time", "level", "message"}, r
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["time"]), r
        assert r["level"] in ("debug", "info", "warn", "error"), r
    reloaded = [r for r in records if r["message"].startswith("SIGHUP: config reloaded")]
    assert reloaded and reloaded[0]["tokens"] == 2 and reloaded[0]["webhooks"] == 0, reloaded
    assert any(r["message"].startswith("stopped cleanly") for r in records), records


def test_level_warn_leaves_info_lines_out(make_mamorid):
    m = make_mamorid(extra_toml='[log]\nlevel = "warn"\n')
    m.stop()
    log = m.read_log_all()
    assert " info " not in log and "listening on" not in log, log


def test_text_lines_for_the_journal_carry_priorities_not_times(make_mamorid):
    m = make_mamorid(start=False)
    log = open(m.log_path, "ab")
    st = os.fstat(log.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    m.log = log
    m.proc = subprocess.Popen([MAMORID, "--config", m.config_path], stdout=log,
                              stderr=subprocess.STDOUT, env=env)
    wait_until("mamorid answers", lambda: m.proc.poll() is None and _answers(m))
    m.stop()
    lines = lines_of(m.log_path)
    assert lines and all(re.match(r"^<[3-7]>", l) for l in lines), lines
    assert any(l.startswith("<6>") and "listening on" in l for l in lines), lines
    assert not any(re.search(r"\d{4}-\d\d-\d\dT", l) for l in lines), lines


def _answers(m):
    try:
        return requests.get(m.url + "/healthz", timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def test_decision_log_has_one_line_per_decision_above_allow(make_mamorid):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}},
                     extra_toml='[log]\ndecisions = "decisions.jsonl"\n')
    path = os.path.join(m.workdir, "decisions.jsonl")  # relative: from the config's directory
    answers = []
    for i in range(5):
        answers.append(m.result("alice", "203.0.113.9", False, pwhash="w%d" % i, protocol="imap"))
    answers.append(m.attempt("alice", "203.0.113.9"))
    answers.append(m.attempt("bob", "203.0.113.10"))
    above_allow = [a for a in answers if a["action"] != "allow"]
    assert len(above_allow) == 4, answers  # the 3rd to 5th failures and the attempt
    lines = wait_until("4 decision lines", lambda: len(lines_of(path)) >= 4 and lines_of(path))
    records = [json.loads(l) for l in lines]
    assert len(records) == 4, records
    assert [r["event_id"] for r in records] == [a["event_id"] for a in above_allow]
    first = records[0]
    assert set(first) >= {"time", "event_id", "type", "account", "ip", "action", "reasons",
                          "risk"}, first
    assert first["type"] == "login_result" and first["account"] == "alice", first
    assert first["ip"] == "203.0.113.9" and first["protocol"] == "imap", first
    assert first["action"] == "deny" and "brute_force" in first["reasons"], first
    assert first["risk"] == above_allow[0]["risk"], (first, above_allow[0])
    assert records[3]["type"] == "login_attempt" and records[3]["action"] == "deny", records[3]
    assert metric(m, "mamori_decision_log_lines_total") == 4
    assert metric(m, "mamori_decision_log_dropped_total") == 0


def test_sigusr1_after_a_rename_writes_a_new_file(make_mamorid):
    m = make_mamorid(extra_toml='[log]\ndecisions = "decisions.jsonl"\n')
    path = os.path.join(m.workdir, "decisions.jsonl")
    assert m.admin("POST", "/v1/lists", {"kind": "deny", "target": "203.0.113.50", "reason": "test"}).status_code in (
        200, 201)
    m.attempt("alice", "203.0.113.50")
    wait_until("the first line", lambda: len(lines_of(path)) == 1)
    os.rename(path, path + ".1")
    m.attempt("bob", "203.0.113.50")  # written to the renamed file: the daemon holds it open
    wait_until("the second line in the renamed file", lambda: len(lines_of(path + ".1")) == 2)
    m.proc.send_signal(signal.SIGUSR1)
    wait_until("the reopen", lambda: "SIGUSR1: decision log reopened" in m.read_log_all())
    m.attempt("carol", "203.0.113.50")
    new = wait_until("a line in the new file", lambda: lines_of(path))
    assert [json.loads(l)["account"] for l in new] == ["carol"]
    assert len(lines_of(path + ".1")) == 2


def test_a_full_queue_counts_drops_and_never_holds_a_request(make_mamorid, tmp_path):
    fifo = str(tmp_path / "decisions.fifo")
    os.mkfifo(fifo)
    # A reader that never reads: the writer blocks once the pipe is full.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        m = make_mamorid(extra_toml='[log]\ndecisions = "%s"\ndecisions_queue = 4\n' % fifo)
        assert m.admin("POST", "/v1/lists", {"kind": "deny", "target": "203.0.113.60", "reason": "test"}).status_code \
            in (200, 201)
        sent = 0
        started = time.monotonic()
        while metric(m, "mamori_decision_log_dropped_total") == 0:
            assert sent < 20000, "no drop after %d decisions" % sent
            for _ in range(100):
                assert m.attempt("a%d" % sent, "203.0.113.60")["action"] == "deny"
                sent += 1
        # Every request was answered while the writer was stuck.
        assert time.monotonic() - started < 60
        written = metric(m, "mamori_decision_log_lines_total")
        dropped = metric(m, "mamori_decision_log_dropped_total")
        assert dropped > 0 and written + dropped <= sent, (written, dropped, sent)
    finally:
        os.close(reader)  # the stuck write fails (EPIPE): the daemon can stop
