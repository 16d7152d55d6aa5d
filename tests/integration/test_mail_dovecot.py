"""Dovecot's auth policy (POST /dovecot/policy) against a real Dovecot 2.3:
IMAP logins are judged by the same engine as the HTTP API (S4)."""
import os
import subprocess

import pytest

from conftest import APP_TOKEN
from helpers import get_json
import mail_peers as mail



@pytest.fixture(scope="module", autouse=True)
def _mail_peers_here():
    mail.require_peers()


@pytest.fixture
def dovecot_peer(make_mamorid):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}})
    d = mail.Dovecot.start(m.url + "/dovecot/policy", APP_TOKEN,
                     {"alice": "wonderland", "bob": "builder"})
    yield m, d
    d.stop()


def activity(m, account):
    return get_json(m, "/v1/accounts/%s/activity" % account)["events"]


def test_S4_wrong_imap_passwords_are_refused_with_mamoris_message(dovecot_peer):
    m, d = dovecot_peer
    # Three different wrong passwords from one IP, through the real auth process.
    for i in range(3):
        ok, out = d.auth_test("alice", "wrong-%d" % i, "127.0.0.10")
        assert not ok, out
    # Now even the right password from that IP is refused, and the IMAP
    # client is shown mamori's reason.
    reply = d.imap_login("alice", "wonderland", "127.0.0.10")
    assert reply.startswith("a1 NO"), reply
    assert "mamori: too many failed logins" in reply, reply
    # ... and when to try again: the brute-force block lasts an hour.
    assert "try again in 60 minutes" in reply, reply
    # The owner, from elsewhere, still logs in.
    reply = d.imap_login("alice", "wonderland", "127.0.0.11")
    assert reply.startswith("a1 OK"), reply + "\n" + d.read_log()

    events = activity(m, "alice")
    failures = [e for e in events if e["type"] == "login_result" and e["success"] is False]
    assert len(failures) == 3, events
    assert all(e["protocol"] == "imap" and e["ip"] == "127.0.0.10" for e in failures), failures
    refused = [e for e in events if "brute_force" in e["reasons"] and e["action"] == "deny"]
    assert refused, events
    # The good login was judged once: Dovecot's second "allow" after the
    # password check and its report are one login result, not two.
    ok = [e for e in events if e["type"] == "login_result" and e["success"] is True]
    assert len(ok) == 1, events
    assert ok[0]["ip"] == "127.0.0.11"


def test_S4_a_deny_listed_ip_is_refused_at_once(dovecot_peer):
    m, d = dovecot_peer
    r = m.admin("POST", "/v1/lists", {"kind": "deny", "target": "127.0.0.12", "reason": "abuse"})
    assert r.status_code == 201, r.text
    reply = d.imap_login("bob", "builder", "127.0.0.12")
    assert reply.startswith("a1 NO"), reply
    assert "mamori: logins from your address are refused" in reply, reply
    assert d.imap_login("bob", "builder", "127.0.0.13").startswith("a1 OK")


def test_dovecot_policy_needs_the_token_and_well_formed_requests(dovecot_peer):
    m, _ = dovecot_peer
    body = {"login": "alice", "remote": "192.0.2.1", "protocol": "imap", "session_id": "s1"}
    r = m.request("POST", "/dovecot/policy?command=allow", token=None, json=body)
    assert r.status_code == 401
    r = m.request("POST", "/dovecot/policy?command=erase", token=APP_TOKEN, json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_command"
    r = m.request("POST", "/dovecot/policy?command=allow", token=APP_TOKEN,
                  json=dict(body, remote="not-an-ip"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_ip"
    r = m.request("POST", "/dovecot/policy?command=allow", token=APP_TOKEN, data=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = m.request("POST", "/dovecot/policy?command=allow", token=APP_TOKEN, json=body)
    assert r.status_code == 200 and r.json() == {"status": 0, "msg": ""}
    assert activity(m, "alice") == []  # an allowed attempt leaves no record; the bad ones none either


def test_the_shipped_dovecot_snippets_pass_doveconf(tmp_path):
    """examples/dovecot/95-mamori-2.3.conf as Dovecot 2.3 reads it; of the 2.4
    file, the settings 2.3 shares (its flat lines; the blocks and the 2.4
    variable names cannot be checked with 2.3)."""
    def doveconf(snippet, *args):
        conf = tmp_path / "dovecot.conf"
        conf.write_text("base_dir = %s\nlog_path = /dev/null\n%s" % (tmp_path, snippet))
        return subprocess.run(["/usr/bin/doveconf", "-c", str(conf)] + list(args),
                              capture_output=True, text=True, timeout=30)

    snippet = mail.dovecot_policy_conf("http://127.0.0.1:9/dovecot/policy", "t0ken")
    p = doveconf(snippet, "-h", "auth_policy_server_url", "auth_policy_request_attributes")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "http://127.0.0.1:9/dovecot/policy", p.stdout
    assert "remote=%{rip}" in p.stdout and "session_id=%{session}" in p.stdout, p.stdout
    # doveconf refuses what it does not know (so the checks here can fail).
    assert doveconf(snippet + "auth_policy_no_such_setting = 1\n", "-n").returncode != 0

    flat, depth = [], 0
    with open(os.path.join(mail.EXAMPLES, "dovecot", "95-mamori-2.4.conf")) as f:
        for line in f:
            s = line.strip()
            if s.endswith("{"):
                depth += 1
            elif s == "}":
                depth -= 1
            elif depth == 0 and s and not s.startswith("#"):
                flat.append(s)
    assert any(l.startswith("auth_policy_server_url") for l in flat), flat
    p = doveconf("\n".join(flat) + "\n", "-n")
    assert p.returncode == 0, p.stderr
