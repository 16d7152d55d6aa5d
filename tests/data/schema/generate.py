#!/usr/bin/python3
"""Makes the schema fixtures in this directory: v1.sql ... vN.sql, SQL text
dumps of a data dir's database at each schema version, with totp.key (the key
that seals the TOTP secret in them) and fixture.json (what the tests need to
know that the database cannot tell: the TOTP secret).

The dumps are committed and are the fixtures: do not regenerate the old
versions. When a migration is added, build the new mamorid and run this with
--only N for the new version alone:

    MAMORID=build/mamorid tests/data/schema/generate.py --only 6

--only enrols a new TOTP secret, which fixture.json does not name: copy the
totp row of the previous dump into the new one (same key file, same
columns since version 3).

How: a real mamorid on a fresh data dir is given a lock, a contact, list
entries, logins (activity, a profile, the last login), a TOTP second factor,
a credential-stuffing incident (with its blocks) and an owner notice in the
outbox. Version N's schema is made by running the first N migrations of
src/store/sqlite/sqlite_schema.cc; the rows of every table that version has
are copied in (the columns it has). A test creates a database from each dump
and opens it with the current build.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "../../.."))
sys.path.insert(0, os.path.join(SOURCE, "tests/integration"))

from conftest import Mamorid  # noqa: E402


def migrations():
    text = open(os.path.join(SOURCE, "src/store/sqlite/sqlite_schema.cc")).read()
    block = text[text.index("kMigrations = {"):text.index("// The last version with the tables")]
    return re.findall(r'R"sql\((.*?)\)sql"', block, re.S)


def hotp(key, counter):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** 6)


def populate(m):
    def ok(r):
        assert r.status_code in (200, 201), r.text
        return r.json()

    ok(m.admin("POST", "/v1/accounts/alice/lock",
               {"reason": "fixture lock", "require_password_reset": True}))
    ok(m.app("PUT", "/v1/accounts/bob/contact",
             {"email": "bob@example.com", "lang": "ja", "time_zone": "Asia/Tokyo"}))
    ok(m.admin("POST", "/v1/lists", {"kind": "deny", "target": "203.0.113.9", "reason": "fixture deny"}))
    ok(m.admin("POST", "/v1/lists", {"kind": "allow", "target": "198.51.100.0/24", "reason": "office"}))
    ok(m.admin("POST", "/v1/lists",
               {"kind": "deny", "target": "account:mallory", "reason": "fixture ttl", "ttl_s": 10 * 365 * 86400}))
    m.attempt("bob", "192.0.2.10", user_agent="FixtureBrowser/1.0", device_id="bob-laptop")
    m.result("bob", "192.0.2.10", True, user_agent="FixtureBrowser/1.0", device_id="bob-laptop")
    m.result("bob", "192.0.2.11", True, user_agent="OtherBrowser/2.0", device_id="bob-phone")
    e = ok(m.app("POST", "/v1/accounts/carol/totp"))
    secret = e["secret"]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int(time.time() // 30)
    assert ok(m.app("POST", "/v1/accounts/carol/totp/confirm", {"code": hotp(key, step - 1)}))["ok"]
    for i in range(1, 7):
        m.attempt("stuffed%d" % i, "203.0.113.50")
        m.result("stuffed%d" % i, "203.0.113.50", False)
    incidents = ok(m.admin("GET", "/v1/incidents"))["incidents"]
    assert len(incidents) == 1, incidents
    return {"totp_account": "carol", "totp_secret": secret}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", type=int, help="write this version's dump alone")
    args = ap.parse_args()
    steps = migrations()
    work = tempfile.mkdtemp(prefix="mamori-schema-")
    try:
        key = os.path.join(work, "totp.key")
        shutil.copy(os.path.join(HERE, "totp.key"), key)
        os.chmod(key, 0o600)
        m = Mamorid(work, detections={"credential_stuffing": {"threshold": 5}},
                    extra_toml='[totp]\nkey_file = "%s"\n' % key)
        m.start()
        try:
            facts = populate(m)
        finally:
            m.stop()
        current = sqlite3.connect(os.path.join(m.data_dir, "mamori.db"))
        assert current.execute("PRAGMA user_version").fetchone()[0] == len(steps)
        for version in range(1, len(steps) + 1):
            if args.only and version != args.only:
                continue
            db = sqlite3.connect(":memory:")
            for sql in steps[:version]:
                db.executescript(sql)
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                cols = [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)]
                names = ", ".join(cols)
                rows = current.execute("SELECT %s FROM %s" % (names, table)).fetchall()
                db.executemany("INSERT INTO %s (%s) VALUES (%s)" % (table, names, ", ".join("?" * len(cols))), rows)
            db.commit()
            with open(os.path.join(HERE, "v%d.sql" % version), "w") as f:
                f.write("-- mamori.db at schema version %d (tests/data/schema/generate.py)\n" % version)
                for line in db.iterdump():
                    f.write(line + "\n")
                f.write("PRAGMA user_version=%d;\n" % version)
        if not args.only:
            with open(os.path.join(HERE, "fixture.json"), "w") as f:
                json.dump(facts, f, indent=2)
                f.write("\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
