"""Durability: what the server acknowledged survives a clean restart and a kill -9 under load:
list entries, operator locks, engine blocks, incidents, the activity log, profiles."""
import threading
import time

import requests

from conftest import ADMIN_TOKEN
from helpers import (Sender, activity, add_list_entry, assert_allow, assert_decision, fail_login,
                     get_json, incident_accounts, incidents, list_entries)

BF_ACCOUNT, BF_IP = "persist-bf", "192.0.2.80"
STUFFER = "192.0.2.90"


def lock(m, account, reason, reset=False):
    r = m.admin("POST", "/v1/accounts/%s/lock" % account,
                {"reason": reason, "require_password_reset": reset})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "locked", body
    return body


def make_durable_state(m):
    st = {}
    st["lists"] = {
        add_list_entry(m, "deny", "203.0.113.5", reason="spam source")["id"]: "203.0.113.5",
        add_list_entry(m, "allow", "198.51.100.0/24", reason="office")["id"]: "198.51.100.0/24",
        add_list_entry(m, "deny", "account:persist-banned")["id"]: "account:persist-banned",
        add_list_entry(m, "deny", "2001:db8:dead::/48")["id"]: "2001:db8:dead::/48",
    }
    lock(m, "persist-locked", "support ticket 42", reset=True)

    for i in range(10):
        a, r = fail_login(m, BF_ACCOUNT, BF_IP, pwhash="g-%d" % i)
    assert_decision(r, "deny", "brute_force", "setup: brute force block")

    st["stuffed"] = ["persist-cs-%d" % i for i in range(25)]
    for i, acct in enumerate(st["stuffed"]):
        fail_login(m, acct, STUFFER, pwhash="leak-%d" % i)
    found = incidents(m, kind="credential_stuffing", source=STUFFER)
    assert len(found) == 1, "setup: no incident"
    st["incident"] = found[0]
    st["bf_results"] = sum(1 for e in activity(m, BF_ACCOUNT) if e.get("success") is not None)
    assert st["bf_results"] >= 10
    return st


def check_durable_state(m, st):
    entries = {e["id"]: e for e in list_entries(m)}
    for id_, target in st["lists"].items():
        assert id_ in entries, "list entry %s (%s) lost" % (id_, target)
        assert entries[id_]["target"] == target, entries[id_]

    acc = get_json(m, "/v1/accounts/persist-locked")
    assert acc["status"] == "locked", acc
    assert acc["password_reset_required"] is True, acc
    assert acc["lock"]["reason"] == "support ticket 42", acc
    assert_decision(m.attempt("persist-locked", "192.0.2.1"), "deny", "account_locked")

    assert_decision(m.attempt("someone", "203.0.113.5"), "deny", "deny_list")
    assert_decision(m.attempt("persist-banned", "192.0.2.1"), "deny", "deny_list")
    assert_decision(m.attempt("someone", "2001:db8:dead:1::1"), "deny", "deny_list")

    assert_decision(m.attempt(BF_ACCOUNT, BF_IP), "deny", "brute_force", "brute force block")
    assert_allow(m.attempt(BF_ACCOUNT, "192.0.2.81"), "other IP for the brute-forced account")
    assert_decision(m.attempt("persist-fresh", STUFFER), "deny", "credential_stuffing",
                    "stuffing block")

    blocked = get_json(m, "/v1/blocked")
    assert any(b["scope"] == "account_ip" and b["reason"] == "brute_force" and BF_IP in b["target"]
               for b in blocked["blocks"]), blocked
    inc_id = st["incident"]["id"]
    assert any(b["reason"] == "credential_stuffing" and b["target"] == STUFFER
               and b["incident_id"] == inc_id for b in blocked["blocks"]), blocked
    assert any(la["account"] == "persist-locked" for la in blocked["locked_accounts"]), blocked

    inc = get_json(m, "/v1/incidents/%s" % inc_id)
    assert inc["kind"] == "credential_stuffing" and STUFFER in inc["sources"], inc
    assert inc["accounts_targeted"] >= len(st["stuffed"]), inc
    assert inc["started"] == st["incident"]["started"], (inc, st["incident"])
    touched = incident_accounts(m, inc_id)
    assert all(a in touched for a in st["stuffed"]), sorted(touched)

    results = sum(1 for e in activity(m, BF_ACCOUNT) if e.get("success") is not None)
    assert results >= st["bf_results"], "activity of %s lost entries" % BF_ACCOUNT


def test_state_survives_clean_restart(mamorid):
    m = mamorid
    st = make_durable_state(m)
    check_durable_state(m, st)
    rc = m.stop()
    assert rc == 0, "SIGTERM should exit 0, got %s:\n%s" % (rc, m.read_log())
    m.start()
    check_durable_state(m, st)
    # Still usable after the restart.
    assert_allow(m.attempt("after-restart", "192.0.2.5"))


class LoadThread(threading.Thread):
    """Sends requests in a loop until stopped or the server goes away; keeps what was acked."""

    def __init__(self, m, make_request, max_requests):
        super().__init__(daemon=True)
        self.sender = Sender(m)
        self.make_request = make_request
        self.max_requests = max_requests
        self.acked = []  # (request index, response body) for every 2xx answer
        self.stop_flag = threading.Event()
        self.error = None

    def run(self):
        for i in range(self.max_requests):
            if self.stop_flag.is_set():
                return
            path, body, token = self.make_request(i)
            try:
                r = self.sender.post(path, body, token=token, timeout=5)
            except requests.RequestException:
                return  # the server was killed
            if r.status_code // 100 != 2:
                self.error = "%s -> %d %s" % (path, r.status_code, r.text[:200])
                return
            self.acked.append((i, r.json()))


LOAD_ACCOUNTS = 8


def test_state_survives_kill9_under_load(mamorid):
    m = mamorid
    st = make_durable_state(m)
    setup_done = time.monotonic()

    def login_result(i):
        body = {"account": "load-acct-%d" % (i % LOAD_ACCOUNTS), "ip": "192.0.2.150",
                "success": True, "user_agent": "loadtest/1.0", "device_id": "load-device"}
        return "/v1/login/result", body, "test-app-token"

    def list_add(i):
        body = {"kind": "deny", "target": "2001:db8:77::%x" % (i + 1), "reason": "load %d" % i}
        return "/v1/lists", body, ADMIN_TOKEN

    logins = LoadThread(m, login_result, LOAD_ACCOUNTS * 900)
    lists = LoadThread(m, list_add, 3000)
    logins.start()
    lists.start()
    try:
        # Let the load run; blocks made during setup are then more than a second old.
        deadline = time.monotonic() + 60
        while not (len(logins.acked) >= 300 and len(lists.acked) >= 30
                   and time.monotonic() - setup_done >= 1.5):
            assert logins.is_alive() and lists.is_alive(), (logins.error, lists.error)
            assert time.monotonic() < deadline, "load did not get going"
            time.sleep(0.02)
        # Acknowledged right before the kill, while the load is still running.
        lock(m, "persist-last-lock", "locked just before the crash")
        last_entry = add_list_entry(m, "deny", "203.0.113.250", reason="just before the crash")
        assert logins.is_alive() and lists.is_alive(), "load ended before the kill"
        m.kill9()
    finally:
        logins.stop_flag.set()
        lists.stop_flag.set()
        logins.join(10)
        lists.join(10)
    assert logins.error is None and lists.error is None, (logins.error, lists.error)

    m.start()
    check_durable_state(m, st)

    acc = get_json(m, "/v1/accounts/persist-last-lock")
    assert acc["status"] == "locked" and acc["lock"]["reason"] == "locked just before the crash", acc

    entries = {e["id"]: e for e in list_entries(m)}
    assert last_entry["id"] in entries, "list entry acked right before kill -9 lost"
    lost = [b["id"] for _, b in lists.acked if b["id"] not in entries]
    assert not lost, "%d of %d acked list entries lost, e.g. %s" % (len(lost), len(lists.acked),
                                                                    lost[:3])

    # Every acknowledged login result is in the activity log of its account.
    for k in range(LOAD_ACCOUNTS):
        name = "load-acct-%d" % k
        acked_ids = [b["event_id"] for i, b in logins.acked if i % LOAD_ACCOUNTS == k]
        logged = activity(m, name, limit=1000)
        logged_ids = {e["event_id"] for e in logged}
        assert len(logged) >= len(acked_ids), "%s: %d acked, %d logged" % (
            name, len(acked_ids), len(logged))
        missing = [x for x in acked_ids if x not in logged_ids]
        assert not missing, "%s: %d acked results missing after kill -9" % (name, len(missing))
        # Its profile (the profile journal) learnt the device of its first login.
        if acked_ids:
            devices = [d["device_id"] for d in get_json(m, "/v1/accounts/" + name)["devices"]]
            assert "load-device" in devices, (name, devices)
    assert_allow(m.attempt("after-crash", "192.0.2.5"))


def test_failure_counts_survive_a_restart(make_mamorid):
    """The hot windows are rebuilt from the activity log at start: nine failures
    before a kill -9 and one after still make ten."""
    m = make_mamorid()
    for i in range(9):
        r = m.result("warm-alice", "198.51.100.77", False, pwhash="w%d" % i)
        assert_allow(r, "failure %d" % (i + 1))
    m.kill9()
    m.start()
    r = m.result("warm-alice", "198.51.100.77", False, pwhash="w9")
    assert_decision(r, "deny", "brute_force", "10th failure, after the restart")
    assert_allow(m.attempt("warm-alice", "198.51.100.78"), "another IP")
