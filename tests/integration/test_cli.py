"""The `mamori` command-line tool against a real mamorid: tables by default,
the server's JSON with --json, errors as `mamori: MESSAGE (CODE, HTTP STATUS)`,
and the exit codes of `mamori --help`: 0 ok, 1 server refused, 2 usage error,
3 cannot connect, 4 an answer that is not the API."""
import datetime
import http.server
import json
import os
import re
import subprocess
import threading
from urllib.parse import quote

from conftest import APP_TOKEN, MAMORI_CLI, MAMORID, SOURCE_DIR


def run_cli(*args, env_extra=None):
    """Runs the tool without the fixture's environment (for usage and help checks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env.update(env_extra or {})
    return subprocess.run([MAMORI_CLI] + list(args), env=env, capture_output=True, text=True,
                          timeout=30)


# ---- lists -------------------------------------------------------------------

def test_lists_add_ls_rm_round_trip(mamorid):
    p = mamorid.cli("lists", "add", "deny", "203.0.113.5", "--reason", "scanner", "--ttl", "1h")
    assert "203.0.113.5" in p.stdout and "scanner" in p.stdout

    table = mamorid.cli("lists", "ls").stdout
    header = table.splitlines()[0].split()
    assert header[:3] == ["ID", "KIND", "TARGET"]
    assert "203.0.113.5" in table and "deny" in table

    entries = json.loads(mamorid.cli("lists", "ls", "--json").stdout)["entries"]
    entry = next(e for e in entries if e["target"] == "203.0.113.5")
    assert entry["kind"] == "deny" and entry["reason"] == "scanner"
    assert entry["expires"] is not None  # --ttl 1h became ttl_s

    # The entry's ID is in the table row, as the server gave it.
    assert str(entry["id"]) in table

    mamorid.cli("lists", "rm", str(entry["id"]))
    entries = json.loads(mamorid.cli("--json", "lists", "ls").stdout)["entries"]
    assert all(e["target"] != "203.0.113.5" for e in entries)
    assert "203.0.113.5" not in mamorid.cli("lists", "ls").stdout


def test_lists_add_json_is_the_entry_and_kind_filter(mamorid):
    added = json.loads(mamorid.cli("--json", "lists", "add", "allow", "account:carol").stdout)
    assert added["kind"] == "allow" and added["target"] == "account:carol"
    assert added["expires"] is None
    mamorid.cli("lists", "add", "deny", "198.51.100.0/24", "--reason", "botnet")

    deny_only = mamorid.cli("lists", "ls", "--kind", "deny").stdout
    assert "198.51.100.0/24" in deny_only and "account:carol" not in deny_only
    allow_only = json.loads(mamorid.cli("lists", "ls", "--kind=allow", "--json").stdout)
    assert [e["target"] for e in allow_only["entries"]] == ["account:carol"]


def test_lists_add_bad_target_is_refused_by_the_server(mamorid):
    p = mamorid.cli("lists", "add", "deny", "999.0.0.0/8", check=False)
    assert p.returncode == 1
    assert "(invalid_target, HTTP 400)" in p.stderr
    assert p.stderr.startswith("mamori: ")


def test_lists_rm_unknown_id_is_not_found(mamorid):
    p = mamorid.cli("lists", "rm", "no-such-id", check=False)
    assert p.returncode == 1
    assert "(not_found, HTTP 404)" in p.stderr


def test_lists_add_bad_ttl_is_a_usage_error(mamorid):
    p = mamorid.cli("lists", "add", "deny", "203.0.113.9", "--ttl", "soon", check=False)
    assert p.returncode == 2
    assert "bad duration" in p.stderr
    assert "203.0.113.9" not in mamorid.cli("lists", "ls").stdout  # nothing was sent


# ---- accounts ----------------------------------------------------------------

def test_account_lock_show_unlock(mamorid):
    name = "Alice Example"
    p = mamorid.cli("account", "lock", name, "--reason", "stolen session",
                    "--require-password-reset")
    assert "locked" in p.stdout and "stolen session" in p.stdout

    shown = json.loads(mamorid.cli("account", "show", name, "--json").stdout)
    assert shown["status"] == "locked"
    assert shown["password_reset_required"] is True
    assert shown["lock"]["reason"] == "stolen session"

    table = mamorid.cli("account", "show", name).stdout
    assert "locked" in table and "stolen session" in table

    # The server now denies that account's logins.
    assert mamorid.attempt(name, "192.0.2.10")["action"] == "deny"

    blocked = mamorid.cli("blocked").stdout
    assert "stolen session" in blocked
    blocked_json = json.loads(mamorid.cli("blocked", "--json").stdout)
    assert any(a["reason"] == "stolen session" for a in blocked_json["locked_accounts"])

    p = mamorid.cli("account", "unlock", name, "--note", "owner verified")
    assert "active" in p.stdout
    assert json.loads(mamorid.cli("--json", "account", "show", name).stdout)["status"] == "active"
    assert mamorid.attempt(name, "192.0.2.10")["action"] == "allow"


def test_account_names_are_percent_encoded(mamorid):
    name = "bob/../x y?z#%+"
    mamorid.cli("account", "lock", name, "--reason", "test")
    # The lock landed on exactly that account (the app API reads it back).
    r = mamorid.app("GET", "/v1/accounts/" + quote(name, safe=""))
    assert r.status_code == 200 and r.json()["status"] == "locked"
    assert json.loads(mamorid.cli("account", "show", name, "--json").stdout)["status"] == "locked"


def test_account_lock_needs_a_reason(mamorid):
    p = mamorid.cli("account", "lock", "dave", check=False)
    assert p.returncode == 2
    assert "--reason" in p.stderr
    assert json.loads(mamorid.cli("account", "show", "dave", "--json").stdout)["status"] == "active"


# ---- activity ----------------------------------------------------------------

def test_activity_after_login_results(mamorid):
    mamorid.result("erin", "198.51.100.20", False, user_agent="curl/8.0")
    mamorid.result("erin", "198.51.100.20", False, user_agent="curl/8.0")
    mamorid.result("erin", "198.51.100.21", True, user_agent="Mozilla/5.0", device_id="phone-1")

    events = json.loads(mamorid.cli("activity", "erin", "--json").stdout)["events"]
    assert len(events) == 3
    assert events[0]["success"] is True and events[0]["ip"] == "198.51.100.21"  # newest first
    assert [e["success"] for e in events[1:]] == [False, False]

    table = mamorid.cli("activity", "erin").stdout
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["TIME", "TYPE"]
    assert len(lines) == 4
    assert "198.51.100.21" in lines[1] and "phone-1" in lines[1]
    assert "198.51.100.20" in lines[2] and "198.51.100.20" in lines[3]

    limited = json.loads(mamorid.cli("activity", "erin", "--limit", "1", "--json").stdout)
    assert len(limited["events"]) == 1 and limited["events"][0]["ip"] == "198.51.100.21"

    # An RFC 3339 offset ('+') survives the query string.
    later = json.loads(mamorid.cli("activity", "erin", "--since", "2999-01-01T00:00:00+09:00",
                                   "--json").stdout)
    assert later["events"] == []
    assert "No activity" in mamorid.cli("activity", "nobody-here").stdout


def test_activity_bad_limit_is_a_usage_error(mamorid):
    p = mamorid.cli("activity", "erin", "--limit", "lots", check=False)
    assert p.returncode == 2
    assert "usage: mamori activity" in p.stderr


def test_activity_bad_since_is_refused_by_the_server(mamorid):
    p = mamorid.cli("activity", "erin", "--since", "yesterday", check=False)
    assert p.returncode == 1
    assert "(invalid_query, HTTP 400)" in p.stderr


def test_activity_control_characters_are_not_sent_to_the_terminal(mamorid):
    mamorid.result("frank", "198.51.100.30", False, user_agent="evil\x1b[2J\x1b]0;pwned\x07")
    out = mamorid.cli("activity", "frank").stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1B[2J" in out
    # --json keeps the server's answer (escaped inside JSON strings).
    events = json.loads(mamorid.cli("activity", "frank", "--json").stdout)["events"]
    assert events[0]["user_agent"] == "evil\x1b[2J\x1b]0;pwned\x07"


# ---- incidents, status -------------------------------------------------------

def test_incidents_empty(mamorid):
    assert json.loads(mamorid.cli("incidents", "--json").stdout) == {"incidents": []}
    assert "No incidents" in mamorid.cli("incidents").stdout


def test_incident_unknown_id_is_not_found(mamorid):
    p = mamorid.cli("incidents", "999999", check=False)
    assert p.returncode == 1
    assert "(not_found, HTTP 404)" in p.stderr


def test_status(mamorid):
    mamorid.cli("lists", "add", "deny", "203.0.113.77")
    out = mamorid.cli("status").stdout
    assert "health" in out and "ok" in out
    assert "list entries" in out
    both = json.loads(mamorid.cli("status", "--json").stdout)
    assert both["healthz"] == {"status": "ok"}
    assert both["status"]["list_entries"] == 1
    assert both["status"]["replay"] is False


# ---- errors and exit codes ---------------------------------------------------

def test_bad_token_exits_1_with_the_servers_message(mamorid):
    p = mamorid.cli("lists", "ls", token="wrong-token-123", check=False)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.startswith("mamori: ")
    assert "(unauthorized, HTTP 401)" in p.stderr


def test_missing_token_says_how_to_give_one(mamorid):
    p = mamorid.cli("lists", "ls", token="", check=False)
    assert p.returncode == 1
    assert "(unauthorized, HTTP 401)" in p.stderr
    assert "MAMORI_TOKEN" in p.stderr


def test_app_token_on_admin_command_is_forbidden(mamorid):
    p = mamorid.cli("blocked", token=APP_TOKEN, check=False)
    assert p.returncode == 1
    assert "(forbidden, HTTP 403)" in p.stderr


def test_token_and_server_options_override_the_environment(mamorid):
    p = run_cli("--server", mamorid.url, "lists", "ls", "--token", "test-admin-token",
                env_extra={"MAMORI_SERVER": "http://127.0.0.1:1", "MAMORI_TOKEN": "wrong-token"})
    assert p.returncode == 0, p.stderr


def test_unreachable_server_exits_3(make_mamorid):
    m = make_mamorid(start=False)  # a free port nobody listens on
    p = m.cli("status", check=False)
    assert p.returncode == 3
    assert p.stderr.startswith("mamori: cannot reach http://127.0.0.1:%d" % m.port)


def test_an_unknown_url_scheme_is_a_usage_error():
    p = run_cli("--server", "ftp://127.0.0.1:8425", "status")
    assert p.returncode == 2
    assert "unsupported URL scheme 'ftp://'; use http:// or https://" in p.stderr


def test_usage_errors_exit_2():
    for args in (["frobnicate"], ["lists", "ls", "--bogus"], ["lists", "add", "deny"],
                 ["lists", "add", "maybe", "203.0.113.1"], ["account"], ["incidents", "1", "2"],
                 []):
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert p.stderr.startswith("mamori: "), (args, p.stderr)
        assert "usage" in p.stderr, (args, p.stderr)
        assert p.stdout == ""


def test_help_and_version():
    p = run_cli("--help")
    assert p.returncode == 0
    for word in ("status", "lists add", "account lock", "activity", "incidents", "blocked",
                 "MAMORI_SERVER", "MAMORI_TOKEN", "exit status"):
        assert word in p.stdout, word

    p = run_cli("lists", "add", "--help")
    assert p.returncode == 0 and "usage: mamori lists add" in p.stdout and "--ttl" in p.stdout
    assert run_cli("help", "activity").stdout.startswith("usage: mamori activity")

    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout.startswith("mamori ")


def test_incident_list_and_its_accounts(make_mamorid):
    m = make_mamorid(detections={"credential_stuffing": {"threshold": 3}})
    for account in ("u1", "u2", "u3"):
        m.result(account, "203.0.113.66", False)

    incidents = json.loads(m.cli("incidents", "--json").stdout)["incidents"]
    assert len(incidents) == 1 and incidents[0]["kind"] == "credential_stuffing"
    incident_id = str(incidents[0]["id"])
    table = m.cli("incidents").stdout
    assert incident_id in table and "credential_stuffing" in table and "203.0.113.66" in table

    one = json.loads(m.cli("incidents", incident_id, "--json").stdout)
    assert sorted(a["account"] for a in one["accounts"]) == ["u1", "u2", "u3"]
    out = m.cli("incidents", incident_id).stdout
    assert "credential_stuffing" in out
    assert all(a in out for a in ("u1", "u2", "u3"))

    blocked = m.cli("blocked").stdout
    assert "203.0.113.66" in blocked


# ---- exit codes, suggestions, time zones, never-seen accounts, mamorid --help ----

def test_an_answer_that_is_not_the_api_exits_4(tmp_path):
    """A web server that is not mamorid: 200 with a body that is not JSON."""
    (tmp_path / "healthz").write_text("<html>hello</html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        p = run_cli("--server", "http://127.0.0.1:%d" % server.server_port, "status")
    finally:
        server.shutdown()
        server.server_close()
    assert p.returncode == 4, (p.stdout, p.stderr)
    assert "not JSON" in p.stderr


def test_help_documents_every_exit_code():
    text = run_cli("--help").stdout
    table = text[text.index("exit status:"):]
    for code in ("0", "1", "2", "3", "4", "70"):
        assert re.search(r"^  %s +\S" % code, table, re.M), (code, table)


def test_a_bare_name_as_list_target_suggests_the_prefix(mamorid):
    p = mamorid.cli("lists", "add", "deny", "alice", check=False)
    assert p.returncode == 2
    assert "did you mean account:alice?" in p.stderr, p.stderr
    p = mamorid.cli("lists", "add", "deny", "JP", check=False)
    assert p.returncode == 2 and "did you mean country:JP?" in p.stderr, p.stderr
    assert json.loads(mamorid.cli("lists", "ls", "--json").stdout)["entries"] == []  # nothing sent


def test_mistyped_commands_and_options_get_the_closest_one():
    for args, hint in ((["stauts"], "did you mean 'status'?"),
                       (["lists", "sl"], "did you mean 'lists ls'?"),
                       (["acount", "show", "x"], "did you mean 'account'?"),
                       (["help", "incidnets"], "did you mean 'incidents'?"),
                       (["lists", "add", "deny", "192.0.2.1", "--reaso", "x"],
                        "did you mean '--reason'?")):
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert hint in p.stderr, (args, p.stderr)
    p = run_cli("zzzzzzzz")
    assert p.returncode == 2 and "did you mean" not in p.stderr, p.stderr


def test_times_are_shown_in_the_zone_of_tz(mamorid):
    mamorid.cli("lists", "add", "deny", "203.0.113.77", "--ttl", "1h")
    entry = json.loads(mamorid.cli("lists", "ls", "--json").stdout)["entries"][0]
    created = datetime.datetime.fromisoformat(entry["created"].replace("Z", "+00:00"))

    def shown(text, offset_h, abbreviation):
        local = (created + datetime.timedelta(hours=offset_h)).strftime("%Y-%m-%d %H:%M:%S")
        return (local + " " + abbreviation) in text

    utc = mamorid.cli("lists", "ls").stdout
    assert shown(utc, 0, "UTC"), utc
    tokyo = mamorid.cli("--tz", "Asia/Tokyo", "lists", "ls").stdout
    assert shown(tokyo, 9, "JST"), tokyo
    # TZ from the environment, and the option wins over it.
    env = dict(os.environ, MAMORI_SERVER=mamorid.url, MAMORI_TOKEN="test-admin-token")
    env["TZ"] = "Asia/Tokyo"
    p = subprocess.run([MAMORI_CLI, "lists", "ls"], env=env, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0 and shown(p.stdout, 9, "JST"), p.stdout + p.stderr
    p = subprocess.run([MAMORI_CLI, "lists", "ls", "--tz", "UTC"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and shown(p.stdout, 0, "UTC"), p.stdout + p.stderr
    # --json keeps the server's times.
    assert entry["created"] in mamorid.cli("--tz", "Asia/Tokyo", "lists", "ls", "--json").stdout
    p = mamorid.cli("--tz", "Mars/Olympus", "lists", "ls", check=False)
    assert p.returncode == 2 and "unknown time zone 'Mars/Olympus'" in p.stderr, p.stderr


def test_account_show_says_when_an_account_was_never_seen(mamorid):
    p = mamorid.cli("account", "show", "never-here")
    assert "never-here was never seen" in p.stdout, p.stdout
    assert json.loads(mamorid.cli("account", "show", "never-here", "--json").stdout)["known"] is False
    # A failed login is enough to be seen.
    mamorid.result("seen-once", "192.0.2.44", False, pwhash="x")
    shown = mamorid.cli("account", "show", "seen-once").stdout
    assert "never seen" not in shown and "seen-once" in shown, shown
    assert json.loads(mamorid.cli("account", "show", "seen-once", "--json").stdout)["known"] is True


def test_mamorid_help_lists_every_flag_it_accepts():
    p = subprocess.run([MAMORID, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    usage = p.stdout[:p.stdout.index("\n\n")]  # the synopsis
    with open(os.path.join(SOURCE_DIR, "src", "server", "daemon.cc")) as f:
        accepted = set(re.findall(r'a == "(--?[a-z-]+)"', f.read()))
    assert {"--config", "--listen", "--data-dir", "--replay", "--check-config", "--help",
            "--version"} <= accepted, accepted
    for flag in accepted:
        assert re.search(r"^\s+%s\b" % re.escape(flag), p.stdout, re.M) or \
            re.search(r"^\s+-h, %s\b" % re.escape(flag), p.stdout, re.M), (flag, p.stdout)
        if flag != "-h":
            assert flag in usage, (flag, usage)
