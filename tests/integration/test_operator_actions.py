"""Who did what: every operator action through the API is recorded with its
actor (the token's name), time, target, note and details, in GET /v1/audit, in
the account's activity, in an `operator_action` webhook and in `mamori audit`;
and the operator API the console needs: lifting an engine block, closing an
incident, its accounts as CSV, a password reset for every compromised
account, mail senders' quota use and release, list search and bulk import."""
import csv
import hashlib
import io
import json

import pytest

from conftest import ADMIN_TOKEN, APP_TOKEN
from helpers import (activity, add_list_entry, assert_allow, assert_decision, assert_error,
                     fail_login, get_json, incidents, list_entries)
from peers import WebhookReceiver, wait_until

SECRET = "whsec-operator-0123456789"
SUPPORT_TOKEN = "support-desk-token-0123"


def token_name(token):
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:4]


def config(receiver_url=None):
    toml = '\n[[tokens]]\ntoken = "%s"\nrole = "admin"\nname = "support-desk"\n' % SUPPORT_TOKEN
    if receiver_url:
        toml += '\n[notify]\nretry_initial = "200ms"\nretry_max = "1s"\n\n[[webhooks]]\nurl = "%s"\nsecret = "%s"\n' % (
            receiver_url, SECRET)
    return toml


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


def audit(m, **query):
    q = "&".join("%s=%s" % kv for kv in query.items())
    return get_json(m, "/v1/audit" + ("?" + q if q else ""))


def test_lock_and_unlock_with_a_note_leave_who_when_and_why_everywhere(make_mamorid, receiver):
    m = make_mamorid(extra_toml=config(receiver.url))
    r = m.request("POST", "/v1/accounts/carol/lock", SUPPORT_TOKEN,
                  json={"reason": "ticket 4711: spam from this mailbox", "require_password_reset": True})
    assert r.status_code == 200, r.text
    assert r.json()["lock"]["by"] == "support-desk", r.json()
    r = m.admin("POST", "/v1/accounts/carol/unlock", {"note": "owner called, password changed"})
    assert r.status_code == 200, r.text

    entries = audit(m)["entries"]
    assert [e["action"] for e in entries] == ["account_unlock", "account_lock"], entries
    unlock, lock = entries
    assert unlock["actor"] == token_name(ADMIN_TOKEN) and unlock["actor_kind"] == "token"
    assert unlock["note"] == "owner called, password changed"
    assert unlock["target"] == "account:carol"
    assert lock["actor"] == "support-desk"
    assert lock["note"] == "ticket 4711: spam from this mailbox"
    assert lock["details"] == {"require_password_reset": True}
    assert unlock["time"] >= lock["time"]
    # Filters.
    assert [e["action"] for e in audit(m, actor="support-desk")["entries"]] == ["account_lock"]
    assert [e["action"] for e in audit(m, action="account_unlock")["entries"]] == ["account_unlock"]
    assert audit(m, target="account:nobody")["entries"] == []

    # The account's activity shows both, with actor and note.
    ops = [e for e in activity(m, "carol") if e["type"] == "operator_action"]
    assert [(e["reasons"], e["actor"], e["note"]) for e in ops] == [
        (["account_unlock"], token_name(ADMIN_TOKEN), "owner called, password changed"),
        (["account_lock"], "support-desk", "ticket 4711: spam from this mailbox")], ops
    assert ops[0]["event_id"] == unlock["id"]

    # One webhook per action.
    def operator_hooks():
        hooks = [b for _, b in receiver.accepted() if b.get("type") == "operator_action"]
        return hooks if len(hooks) >= 2 else None

    hooks = wait_until(operator_hooks, 30, "two operator_action webhooks")
    by_action = {b["action"]: b for b in hooks}
    assert by_action["account_unlock"]["note"] == "owner called, password changed"
    assert by_action["account_unlock"]["actor"] == token_name(ADMIN_TOKEN)
    assert by_action["account_lock"]["actor"] == "support-desk"
    assert by_action["account_lock"]["id"] == lock["id"]

    # The CLI: a table and --json.
    p = m.cli("audit")
    assert "owner called, password changed" in p.stdout and "support-desk" in p.stdout, p.stdout
    p = m.cli("--json", "audit", "--action", "account_lock")
    assert [e["id"] for e in json.loads(p.stdout)["entries"]] == [lock["id"]]
    p = m.cli("account", "show", "carol")
    assert "locked by" not in p.stdout  # unlocked


def test_the_audit_log_survives_a_restart_and_pages(make_mamorid):
    m = make_mamorid()
    for n in range(5):
        assert m.admin("POST", "/v1/accounts/dave/unlock", {"note": "n%d" % n}).status_code == 200
    m.kill9()
    m.start()
    page = audit(m, limit=2)
    assert [e["note"] for e in page["entries"]] == ["n4", "n3"]
    page2 = audit(m, limit=2, before=page["next"])
    assert [e["note"] for e in page2["entries"]] == ["n2", "n1"]
    page3 = audit(m, limit=2, before=page2["next"])
    assert [e["note"] for e in page3["entries"]] == ["n0"] and page3["next"] is None
    assert_error(m.admin("GET", "/v1/audit?limit=0"), 400, "invalid_query", "limit")
    assert_error(m.admin("GET", "/v1/audit?since=yesterday"), 400, "invalid_query", "since")
    assert_error(m.app("GET", "/v1/audit"), 403, "forbidden")


def test_list_changes_and_totp_reset_are_audited(make_mamorid):
    m = make_mamorid()
    e = add_list_entry(m, "deny", "account:erin", reason="fraud ring")
    r = m.admin("DELETE", "/v1/lists/" + e["id"], {"note": "cleared by support"})
    assert r.status_code == 200, r.text
    enrol = m.app("POST", "/v1/accounts/erin/totp")
    assert enrol.status_code == 200, enrol.text
    assert m.admin("DELETE", "/v1/accounts/erin/totp").status_code == 200
    entries = audit(m)["entries"]
    assert [(x["action"], x["target"]) for x in entries] == [
        ("totp_reset", "account:erin"), ("list_remove", "account:erin"), ("list_add", "account:erin")]
    assert entries[1]["note"] == "cleared by support"
    assert entries[1]["details"]["reason"] == "fraud ring"
    assert entries[2]["details"] == {"kind": "deny", "ttl_s": 0}
    assert [x["reasons"][0] for x in activity(m, "erin") if x["type"] == "operator_action"] == [
        "totp_reset", "list_remove", "list_add"]


def test_unblock_lifts_a_brute_force_block(make_mamorid):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}})
    ip = "203.0.113.77"
    for n in range(3):
        _, r = fail_login(m, "frank", ip, pwhash="wrong-%d" % n)
    assert_decision(r, "deny", "brute_force")
    assert_decision(m.attempt("frank", ip), "deny", "brute_force", "blocked before the lift")
    blocks = [b for b in get_json(m, "/v1/blocked")["blocks"] if b["target"] == "frank|" + ip]
    assert blocks and blocks[0]["scope"] == "account_ip", blocks

    # An unknown block: 404, nothing recorded.
    assert_error(m.admin("DELETE", "/v1/blocked/account_ip/frank%7C192.0.2.1"), 404, "not_found")
    p = m.cli("unblock", "account_ip", "frank|" + ip, "--note", "owner typed the old password")
    assert "Lifted" in p.stdout, p.stdout

    assert_allow(m.attempt("frank", ip), "after the lift")
    assert not [b for b in get_json(m, "/v1/blocked")["blocks"] if b["target"] == "frank|" + ip]
    (entry,) = audit(m, action="block_lift")["entries"]
    assert entry["target"] == "account_ip:frank|" + ip
    assert entry["note"] == "owner typed the old password"
    assert entry["details"]["reason"] == "brute_force"
    assert any(x["type"] == "operator_action" and x["reasons"] == ["block_lift"] for x in activity(m, "frank"))
    # Lifted for good: a restart does not bring it back.
    m.kill9()
    m.start()
    assert_allow(m.attempt("frank", ip), "after a restart")


def stuffing(m, ip, accounts, succeed=()):
    for a in accounts:
        fail_login(m, a, ip)
    for a in succeed:
        m.result(a, ip, True)
    (i,) = incidents(m, kind="credential_stuffing", source=ip)
    return i


def test_incident_export_require_reset_and_close(make_mamorid, tmp_path):
    m = make_mamorid(detections={"credential_stuffing": {"threshold": 3}})
    ip = "198.51.100.23"
    i = stuffing(m, ip, ["=cmd|calc", "gina", "hank", "ivan"], succeed=["gina", "hank"])

    r = m.admin("GET", "/v1/incidents/%s/accounts.csv" % i["id"])
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.text.startswith("incident,kind,account,first_seen,last_seen,login_succeeded\r\n")
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    by_account = {row["account"]: row for row in rows}
    assert set(by_account) == {"'=cmd|calc", "gina", "hank", "ivan"}, by_account
    assert by_account["gina"]["login_succeeded"] == "true"
    assert by_account["ivan"]["login_succeeded"] == "false"
    assert all(row["incident"] == i["id"] and row["kind"] == "credential_stuffing" for row in rows)
    out = tmp_path / "accounts.csv"
    m.cli("incident", "export", i["id"], "--output", str(out))
    assert out.read_bytes() == r.content

    r = m.admin("POST", "/v1/incidents/%s/require-reset" % i["id"], {"note": "S3 clean-up"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["compromised"], body["locked"], body["already_locked"]) == (2, 0, 2) or \
        (body["compromised"], body["locked"]) == (2, 2), body
    for a in ("gina", "hank"):
        acct = get_json(m, "/v1/accounts/" + a)
        assert acct["status"] == "locked" and acct["password_reset_required"] is True, acct
    assert get_json(m, "/v1/accounts/ivan")["status"] == "active"
    # Idempotent: nothing more to lock.
    again = m.admin("POST", "/v1/incidents/%s/require-reset" % i["id"]).json()
    assert again["locked"] == 0 and again["already_locked"] == 2, again
    bulk = audit(m, action="incident_require_reset")["entries"]
    assert bulk[-1]["details"] == {"compromised": 2, "locked": body["locked"]}
    assert bulk[-1]["note"] == "S3 clean-up" and bulk[-1]["target"] == "incident:" + i["id"]

    r = m.admin("POST", "/v1/incidents/%s/close" % i["id"], {"note": "done"})
    assert r.status_code == 200, r.text
    assert r.json()["closed"] is not None
    assert get_json(m, "/v1/incidents/" + i["id"])["closed"] == r.json()["closed"]
    assert m.admin("POST", "/v1/incidents/%s/close" % i["id"]).status_code == 200
    assert len(audit(m, action="incident_close")["entries"]) == 1
    # Closed: it collects no more accounts, across a restart too.
    m.kill9()
    m.start()
    for a in ["j1", "j2", "j3"]:
        fail_login(m, a, ip)
    after = get_json(m, "/v1/incidents/%s/accounts" % i["id"])
    assert after["incident"]["accounts_targeted"] == 4, after["incident"]
    assert not {"j1", "j2", "j3"} & {a["account"] for a in after["accounts"]}
    assert_error(m.admin("POST", "/v1/incidents/nope/close"), 404, "not_found")


def test_mail_senders_and_release(make_mamorid):
    m = make_mamorid(detections={"mail_volume": {"threshold": 5}})
    ip = "192.0.2.10"
    assert m.event("mail_sent", "kate", ip, recipients=4, protocol="smtp")["action"] == "allow"
    assert m.event("mail_sent", "kate", ip, recipients=3, protocol="smtp")["action"] == "deny"
    assert m.event("mail_sent", "liam", ip, recipients=1, protocol="smtp")["action"] == "allow"
    s = get_json(m, "/v1/mail/senders")
    assert s["hourly_quota"] == 5
    assert [(x["account"], x["recipients_hour"], x["deferred_hour"], x["locked"]) for x in s["senders"]] == [
        ("kate", 4, 1, False), ("liam", 1, 0, False)], s
    p = m.cli("senders", "release", "kate", "--note", "owner cleaned up")
    assert "Released" in p.stdout
    assert m.event("mail_sent", "kate", ip, recipients=3, protocol="smtp")["action"] == "allow"
    (entry,) = audit(m, action="quota_release")["entries"]
    assert entry["target"] == "account:kate" and entry["note"] == "owner cleaned up"


def test_list_search(make_mamorid):
    m = make_mamorid()
    for target, reason in [("203.0.113.5", "scanner"), ("203.0.113.0/24", "bad net"),
                           ("account:Mallory", "fraud"), ("country:KP", "policy")]:
        add_list_entry(m, "deny", target, reason=reason)
    add_list_entry(m, "allow", "198.51.100.1", reason="office")
    found = get_json(m, "/v1/lists?q=203.0.113")
    assert sorted(e["target"] for e in found["entries"]) == ["203.0.113.0/24", "203.0.113.5"]
    assert found["total"] == 2
    assert [e["target"] for e in get_json(m, "/v1/lists?q=MALL")["entries"]] == ["account:mallory"]
    assert [e["target"] for e in get_json(m, "/v1/lists?q=office&kind=allow")["entries"]] == ["198.51.100.1"]
    assert get_json(m, "/v1/lists?q=office&kind=deny")["entries"] == []
    page = get_json(m, "/v1/lists?limit=2&offset=1")
    assert len(page["entries"]) == 2 and page["total"] == 5
    assert "account:mallory" in m.cli("lists", "ls", "--search", "mall").stdout


def test_list_import_is_all_or_nothing(make_mamorid, tmp_path):
    m = make_mamorid()
    bad = "kind,target,reason,ttl_s\ndeny,203.0.113.9,scanner\n\n# a comment\nallow,not-an-ip,oops\n"
    r = m.request("POST", "/v1/lists/import", data=bad.encode(), headers={"Content-Type": "text/csv"})
    assert_error(r, 400, "invalid_line", "line 5")
    assert list_entries(m) == []
    assert audit(m)["entries"] == []
    path = tmp_path / "bad.csv"
    path.write_text(bad)
    p = m.cli("lists", "import", str(path), check=False)
    assert p.returncode != 0 and "line 5" in p.stderr, (p.stdout, p.stderr)
    assert list_entries(m) == []

    good = 'deny,203.0.113.9,scanner\ndeny,"198.51.100.0/24","net, from abuse report",3600\nallow,account:newsletter\n'
    path.write_text(good)
    p = m.cli("lists", "import", str(path), "--note", "abuse feed 2024-05")
    assert "Imported 3" in p.stdout, p.stdout
    got = {e["target"]: e for e in list_entries(m)}
    assert set(got) == {"203.0.113.9", "198.51.100.0/24", "account:newsletter"}
    assert got["198.51.100.0/24"]["reason"] == "net, from abuse report"
    assert got["198.51.100.0/24"]["expires"] is not None and got["203.0.113.9"]["expires"] is None
    (entry,) = audit(m, action="list_import")["entries"]
    assert entry["details"] == {"entries": 3} and entry["note"] == "abuse feed 2024-05"
    assert_error(m.request("POST", "/v1/lists/import", data=b"", headers={"Content-Type": "text/csv"}),
                 400, "invalid_body")


def test_a_schema_7_data_dir_gets_the_audit_log_and_keeps_its_records(make_mamorid):
    """Schema 8 adds the audit table and incidents' `closed` (and 9 the operator accounts); a
    data dir of schema 7 (journals beside the database) is upgraded in place at the next start."""
    import sqlite3
    m = make_mamorid(detections={"credential_stuffing": {"threshold": 3}})
    (i,) = [stuffing(m, "198.51.100.60", ["o1", "o2", "o3"])]
    add_list_entry(m, "deny", "203.0.113.61", reason="before the upgrade")
    m.stop()
    db = sqlite3.connect(m.data_dir + "/mamori.db")
    db.executescript("DROP TABLE operators; DROP TABLE audit; ALTER TABLE incidents DROP COLUMN closed_ms;"
                     " PRAGMA user_version=7;")
    db.close()
    m.start()
    assert get_json(m, "/v1/incidents/" + i["id"])["closed"] is None
    assert [e["target"] for e in list_entries(m)] == ["203.0.113.61"]
    assert [x["account"] for x in get_json(m, "/v1/incidents/%s/accounts" % i["id"])["accounts"]] == ["o1", "o2", "o3"]
    assert m.admin("POST", "/v1/incidents/%s/close" % i["id"], {"note": "after"}).status_code == 200
    assert [e["note"] for e in audit(m)["entries"]] == ["after"]
    m.stop()
    db = sqlite3.connect(m.data_dir + "/mamori.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 9
    db.close()
