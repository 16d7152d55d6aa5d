"""Backup, restore and schema upgrades of the data dir, with the real binaries:
`mamori backup` beside a daemon under write load, `mamori restore`, a daemon
started on the restored data dir, and every older schema version (the dumps in
tests/data/schema/) opened by this build and by `mamori db migrate`."""
import base64
import hashlib
import hmac
import json
import os
import pwd
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time

import pytest
import requests

import openapi_check
from conftest import ADMIN_TOKEN, APP_TOKEN, MAMORI_CLI, SOURCE_DIR, Mamorid

SCHEMA_DIR = os.path.join(SOURCE_DIR, "tests/data/schema")
# The schema this build writes: the dumps are of the versions before it (from
# 6 on, the activity log and the profiles are journals beside the database).
CURRENT_SCHEMA = 9
STUFFING = {"credential_stuffing": {"threshold": 5}}


def mamori(*args, timeout=120):
    return subprocess.run([MAMORI_CLI] + list(args), capture_output=True, text=True, timeout=timeout)


def hotp(key, counter):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** 6)


def current_step():
    """The current 30 s step, away from a step boundary."""
    while True:
        now = time.time()
        if 2 < now % 30 < 28:
            return int(now // 30)
        time.sleep(0.5)


def ok(r):
    assert r.status_code in (200, 201), "%s %s: %s" % (r.request.method, r.request.url, r.text)
    return r.json()


def enrol_totp(m, account):
    secret = ok(m.app("POST", "/v1/accounts/%s/totp" % account))["secret"]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert ok(m.app("POST", "/v1/accounts/%s/totp/confirm" % account,
                    {"code": hotp(key, current_step() - 1)}))["ok"]
    return key


def assert_totp_verifies(m, account, key):
    r = ok(m.app("POST", "/v1/accounts/%s/totp/verify" % account, {"code": hotp(key, current_step())}))
    assert r["ok"] is True, r


def assert_incidents_consistent(m):
    """Every incident's header counts the accounts listed under it."""
    incidents = ok(m.admin("GET", "/v1/incidents?since=2000-01-01T00:00:00Z"))["incidents"]
    for inc in incidents:
        accounts = ok(m.admin("GET", "/v1/incidents/%s/accounts" % inc["id"]))["accounts"]
        assert inc["accounts_targeted"] == len(accounts), (inc, len(accounts))
        assert inc["accounts_compromised"] == sum(1 for a in accounts if a["login_succeeded"]), inc
    return incidents


class Writer(threading.Thread):
    """Writes list entries and login results (failures and successes from a blocked
    source, which touch its incident) as fast as the daemon answers; records each
    write once it is acknowledged."""

    def __init__(self, m):
        super().__init__(daemon=True)
        self.m = m
        self.session = openapi_check.attach(requests.Session())
        self.lock = threading.Lock()
        self.entries = []     # ids of list entries acknowledged
        self.activity = []    # accounts whose login result was acknowledged
        self.stop_flag = threading.Event()
        self.error = None

    def post(self, path, body, token):
        r = self.session.post(self.m.url + path, json=body, timeout=10,
                              headers={"Authorization": "Bearer " + token})
        assert r.status_code in (200, 201), r.text
        return r.json()

    def run(self):
        try:
            i = 0
            while not self.stop_flag.is_set():
                i += 1
                e = self.post("/v1/lists", {"kind": "deny", "target": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                                            "reason": "load %d" % i}, ADMIN_TOKEN)
                account = "load%d" % i
                self.post("/v1/login/result", {"account": account, "ip": "203.0.113.77",
                                               "success": i % 7 == 0}, APP_TOKEN)
                with self.lock:
                    self.entries.append(e["id"])
                    self.activity.append(account)
        except Exception as ex:  # reported by the test
            self.error = ex

    def acknowledged(self):
        with self.lock:
            return list(self.entries), list(self.activity)


def prepare_state(m):
    """A lock, a contact, a TOTP second factor and an incident; returns the TOTP key."""
    ok(m.admin("POST", "/v1/accounts/alice/lock", {"reason": "before the backup"}))
    ok(m.app("PUT", "/v1/accounts/bob/contact", {"email": "bob@example.com", "lang": "ja"}))
    key = enrol_totp(m, "carol")
    for i in range(6):
        m.result("stuffed%d" % i, "203.0.113.77", False)
    return key


def test_backup_under_write_load_restores_every_acknowledged_write(make_mamorid, tmp_path):
    m = make_mamorid(detections=STUFFING)
    key = prepare_state(m)
    writer = Writer(m)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while len(writer.acknowledged()[0]) < 100 and writer.error is None:
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.05)
        entries_before, activity_before = writer.acknowledged()
        out = str(tmp_path / "backup")
        p = mamori("backup", "--data-dir", m.data_dir, out)
        assert p.returncode == 0, p.stderr
        assert "schema version" in p.stdout and "totp.key" in p.stdout, p.stdout
        # The writer went on during the backup: it ran beside a daemon under load.
        during = len(writer.acknowledged()[0]) - len(entries_before)
        assert writer.error is None, writer.error
    finally:
        writer.stop_flag.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert during > 0, "no write was acknowledged while the backup ran"
    entries_after, _ = writer.acknowledged()
    assert sorted(os.listdir(out)) == ["activity", "mamori.db", "mamori.id", "profiles", "totp.key"]
    for root, dirs, files in os.walk(out):
        for f in dirs + files:
            assert os.stat(os.path.join(root, f)).st_mode & 0o077 == 0, os.path.join(root, f)
    assert os.stat(out).st_mode & 0o077 == 0
    m.stop()

    # Restore into a fresh data dir and start a daemon on it.
    r = make_mamorid("restored", start=False, detections=STUFFING)
    p = mamori("restore", out, "--data-dir", r.data_dir)
    assert p.returncode == 0, p.stderr
    r.start()
    listed = {e["id"] for e in ok(r.admin("GET", "/v1/lists"))["entries"]}
    missing = [i for i in entries_before if i not in listed]
    assert not missing, "%d acknowledged list entries missing, e.g. %s" % (len(missing), missing[:3])
    # Nothing that was never written, and a snapshot: a prefix of the writer's entries.
    load_ids = [i for i in entries_after if i in listed]
    assert load_ids == entries_after[:len(load_ids)]
    # Every login result acknowledged before the backup began (the journal's).
    for account in activity_before:
        events = ok(r.app("GET", "/v1/accounts/%s/activity" % account))["events"]
        assert any(e["type"] == "login_result" for e in events), account
    account = ok(r.app("GET", "/v1/accounts/alice"))
    assert account["status"] == "locked" and account["lock"]["reason"] == "before the backup"
    assert ok(r.app("GET", "/v1/accounts/bob"))["contact"]["email"] == "bob@example.com"
    assert_totp_verifies(r, "carol", key)
    incidents = assert_incidents_consistent(r)
    assert incidents and max(i["accounts_targeted"] for i in incidents) >= 6 + len(activity_before)


def test_backup_of_a_stopped_daemon_starts_as_it_was(make_mamorid, tmp_path):
    m = make_mamorid(detections=STUFFING)
    key = prepare_state(m)
    ok(m.admin("POST", "/v1/lists", {"kind": "deny", "target": "192.0.2.99", "reason": "kept"}))
    m.stop()
    before = sorted(os.listdir(m.data_dir))
    out = str(tmp_path / "cold")
    p = mamori("backup", "--data-dir", m.data_dir, out)
    assert p.returncode == 0, p.stderr
    # The backup left the data dir as it was (no side files behind).
    assert sorted(os.listdir(m.data_dir)) == before
    # A backup is itself a data dir mamorid starts from.
    r = make_mamorid("direct", start=False, detections=STUFFING)
    shutil.copytree(out, r.data_dir)
    r.start()
    assert ok(r.app("GET", "/v1/accounts/alice"))["status"] == "locked"
    assert "192.0.2.99" in [e["target"] for e in ok(r.admin("GET", "/v1/lists"))["entries"]]
    assert_totp_verifies(r, "carol", key)
    assert_incidents_consistent(r)
    # The original starts again too.
    m.start()
    assert ok(m.app("GET", "/v1/accounts/alice"))["status"] == "locked"


def test_backup_refuses_an_existing_target_and_a_missing_database(mamorid, tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    p = mamori("backup", "--data-dir", mamorid.data_dir, str(out))
    assert p.returncode == 1 and "exists already" in p.stderr, p.stderr
    p = mamori("backup", "--data-dir", str(tmp_path / "nothing"), str(tmp_path / "new"))
    assert p.returncode == 1 and "not a directory" in p.stderr, p.stderr
    assert not (tmp_path / "new").exists()
    assert [f for f in os.listdir(tmp_path) if ".tmp-" in f] == []
    p = mamori("backup", str(tmp_path / "a"), str(tmp_path / "b"))
    assert p.returncode == 2 and "unexpected argument" in p.stderr


def test_restore_refuses_a_data_dir_in_use_and_changes_nothing(make_mamorid, tmp_path):
    m = make_mamorid()
    ok(m.admin("POST", "/v1/accounts/alice/lock", {"reason": "in the backup"}))
    out = str(tmp_path / "b")
    assert mamori("backup", "--data-dir", m.data_dir, out).returncode == 0
    ok(m.admin("POST", "/v1/accounts/alice/unlock", {}))
    ok(m.admin("POST", "/v1/accounts/dave/lock", {"reason": "after the backup"}))
    db = os.path.join(m.data_dir, "mamori.db")
    before = os.stat(db).st_ino
    p = mamori("restore", out, "--data-dir", m.data_dir, "--force")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "in use by another process (PID %d)" % m.proc.pid in p.stderr, p.stderr
    assert "nothing was changed" in p.stderr
    assert os.stat(db).st_ino == before
    assert [f for f in os.listdir(m.data_dir) if f.endswith(".restore")] == []
    assert ok(m.app("GET", "/v1/accounts/dave"))["status"] == "locked"

    # Stopped: without --force a data dir with a database is refused, with it replaced.
    m.stop()
    p = mamori("restore", out, "--data-dir", m.data_dir)
    assert p.returncode == 1 and "--force" in p.stderr, p.stderr
    assert os.stat(db).st_ino == before
    p = mamori("restore", out, "--data-dir", m.data_dir, "--force")
    assert p.returncode == 0, p.stderr
    m.start()
    assert ok(m.app("GET", "/v1/accounts/alice"))["status"] == "locked"
    assert ok(m.app("GET", "/v1/accounts/dave"))["status"] != "locked"


def test_run_as_root_the_tools_leave_the_service_users_files_its_own():
    """Backup and restore run as root on a data dir owned by the service's user:
    every file they make there is that user's, so the daemon (as that user)
    starts on the restored data dir."""
    if os.geteuid() != 0:
        pytest.skip("runs the daemon as another user: needs root")
    nobody = pwd.getpwnam("nobody")
    as_nobody = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid, "--clear-groups"]
    base = tempfile.mkdtemp(prefix="mamori-owner-", dir="/tmp")
    os.chmod(base, 0o755)
    daemons = []
    try:
        def daemon(name):
            os.makedirs(os.path.join(base, name, "data"))
            os.chown(os.path.join(base, name, "data"), nobody.pw_uid, nobody.pw_gid)
            m = Mamorid(os.path.join(base, name))
            daemons.append(m)
            return m

        def not_nobodys(data_dir):
            return [f for f in os.listdir(data_dir) if os.stat(os.path.join(data_dir, f)).st_uid != nobody.pw_uid]

        m = daemon("live")
        m.start(wrap=as_nobody)
        ok(m.admin("POST", "/v1/accounts/alice/lock", {"reason": "as nobody"}))
        out = os.path.join(base, "backup")
        p = mamori("backup", "--data-dir", m.data_dir, out)
        assert p.returncode == 0, p.stderr
        assert os.stat(os.path.join(out, "mamori.db")).st_uid == 0
        m.stop()
        before = sorted(os.listdir(m.data_dir))
        p = mamori("backup", "--data-dir", m.data_dir, out + "-cold")
        assert p.returncode == 0, p.stderr
        assert sorted(os.listdir(m.data_dir)) == before and not_nobodys(m.data_dir) == []

        r = daemon("restored")
        p = mamori("restore", out, "--data-dir", r.data_dir)
        assert p.returncode == 0, p.stderr
        assert not_nobodys(r.data_dir) == [], "made as root: %s" % not_nobodys(r.data_dir)
        assert "mamori.lock" in os.listdir(r.data_dir)
        r.start(wrap=as_nobody)
        assert ok(r.app("GET", "/v1/accounts/alice"))["status"] == "locked"
    finally:
        for m in daemons:
            m.stop()
        shutil.rmtree(base, ignore_errors=True)


# ---- schema versions -------------------------------------------------------

def schema_versions():
    return sorted(int(f[1:-4]) for f in os.listdir(SCHEMA_DIR) if f.startswith("v") and f.endswith(".sql"))


def data_dir_from_dump(version, data_dir):
    os.makedirs(data_dir)
    db = sqlite3.connect(os.path.join(data_dir, "mamori.db"))
    with open(os.path.join(SCHEMA_DIR, "v%d.sql" % version)) as f:
        db.executescript(f.read())
    db.close()
    # From 6 on the activity log and the profiles are journals beside the
    # database, which the dumps do not hold.
    if version >= 6:
        for journal in ("activity", "profiles"):
            os.makedirs(os.path.join(data_dir, journal))
    key = os.path.join(data_dir, "totp.key")
    shutil.copy(os.path.join(SCHEMA_DIR, "totp.key"), key)
    os.chmod(key, 0o600)


def user_version(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "mamori.db"))
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def fresh_schema(make_mamorid):
    """Table and column lists of a database this build creates."""
    m = make_mamorid("fresh")
    m.stop()
    return table_columns(m.data_dir)


def table_columns(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "mamori.db"))
    try:
        out = {}
        for name, type_ in db.execute("SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"):
            cols = [tuple(r[1:]) for r in db.execute("PRAGMA table_info(%s)" % name)] if type_ == "table" else []
            out[(type_, name)] = cols
        return out
    finally:
        db.close()


def assert_fixture_state(m, version):
    """What tests/data/schema/generate.py put into the dump of `version`."""
    facts = json.load(open(os.path.join(SCHEMA_DIR, "fixture.json")))
    alice = ok(m.app("GET", "/v1/accounts/alice"))
    assert alice["status"] == "locked" and alice["lock"]["reason"] == "fixture lock"
    assert alice["password_reset_required"] is True
    bob = ok(m.app("GET", "/v1/accounts/bob"))
    assert bob["contact"]["email"] == "bob@example.com" and bob["contact"]["lang"] == "ja"
    targets = {e["target"]: e for e in ok(m.admin("GET", "/v1/lists"))["entries"]}
    assert targets["203.0.113.9"]["reason"] == "fixture deny"
    assert targets["198.51.100.0/24"]["kind"] == "allow"
    assert targets["account:mallory"]["expires"] is not None
    if version < 6:  # later dumps hold no journal
        events = ok(m.app("GET", "/v1/accounts/bob/activity"))["events"]
        assert [e["ip"] for e in events if e["type"] == "login_result"] == ["192.0.2.11", "192.0.2.10"]
    incidents = assert_incidents_consistent(m)
    assert [(i["kind"], i["accounts_targeted"]) for i in incidents] == [("credential_stuffing", 6)]
    accounts = ok(m.admin("GET", "/v1/incidents/%s/accounts" % incidents[0]["id"]))["accounts"]
    assert sorted(a["account"] for a in accounts) == ["stuffed%d" % i for i in range(1, 7)]
    if version >= 3:  # TOTP came with schema version 3
        secret = facts["totp_secret"]
        assert_totp_verifies(m, facts["totp_account"], base64.b32decode(secret + "=" * (-len(secret) % 8)))
    else:
        assert ok(m.app("GET", "/v1/accounts/carol"))["mfa"] == {"totp": False}


@pytest.mark.parametrize("version", schema_versions())
def test_every_schema_version_opens_with_every_record(make_mamorid, version):
    current = fresh_schema(make_mamorid)
    m = make_mamorid("v%d" % version, start=False)
    data_dir_from_dump(version, m.data_dir)
    assert user_version(m.data_dir) == version
    m.start()
    assert_fixture_state(m, version)
    m.stop()
    assert table_columns(m.data_dir) == current
    assert user_version(m.data_dir) == CURRENT_SCHEMA


def test_db_migrate_upgrades_a_stopped_data_dir_and_refuses_a_running_one(make_mamorid):
    m = make_mamorid("old", start=False)
    data_dir_from_dump(1, m.data_dir)
    latest = CURRENT_SCHEMA
    p = mamori("db", "migrate", "--config", m.config_path)
    assert p.returncode == 0, p.stderr
    assert "upgraded from version 1 to %d" % latest in p.stdout
    assert user_version(m.data_dir) == latest
    p = mamori("db", "migrate", "--data-dir", m.data_dir)
    assert p.returncode == 0 and "is current" in p.stdout, p.stdout + p.stderr
    m.start()
    assert_fixture_state(m, 1)
    p = mamori("db", "migrate", "--data-dir", m.data_dir)
    assert p.returncode == 1 and "in use by another process" in p.stderr, p.stderr

    # A database newer than this build is refused and left as it was.
    m.stop()
    db = sqlite3.connect(os.path.join(m.data_dir, "mamori.db"))
    db.execute("PRAGMA user_version=%d" % (latest + 1))
    db.commit()
    db.close()
    p = mamori("db", "migrate", "--data-dir", m.data_dir)
    assert p.returncode == 1 and "newer than this build" in p.stderr, p.stderr
    assert user_version(m.data_dir) == latest + 1
