"""Account names are normalized alike on every path (NFKC, full case folding,
default-ignorable code points removed, Unicode white space trimmed): the
spellings an application maps to one user get one brute-force allowance, one
lock and one list entry, over HTTP, the Dovecot policy and the Postfix
policy."""
import json
import socket
import urllib.parse

from conftest import APP_TOKEN, free_port
from helpers import add_list_entry, assert_allow, assert_decision, fail_login, get_json

# Five spellings of one user: plain, fullwidth, a zero-width space inside, a
# no-break space before, upper case.
VARIANTS = ["alice", "\uff41\uff4c\uff49\uff43\uff45", "ali\u200bce", "\u00a0alice", "ALICE"]
COMPOSED = "jos\u00e9"      # é U+00E9
DECOMPOSED = "jose\u0301"   # e + U+0301


def path(name):
    return urllib.parse.quote(name, safe="")


def utf8_body(obj):
    """JSON with the characters as UTF-8 bytes, not \\u escapes."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def failures(m, names, ip):
    """One failed login (attempt + result, a new wrong password each) per name;
    the (action, reasons) of each failed result."""
    out = []
    for i, name in enumerate(names):
        _, r = fail_login(m, name, ip, pwhash="wrong-%d" % i)
        out.append((r["action"], tuple(sorted(r["reasons"]))))
    return out


def test_ten_failures_over_spellings_of_one_name_are_denied_at_the_tenth(mamorid):
    m = mamorid
    plain = failures(m, ["alice"] * 10, "203.0.113.1")
    spread = failures(m, [VARIANTS[i % len(VARIANTS)] for i in range(10)], "203.0.113.2")
    assert spread == plain, "variants: %r\nplain: %r" % (spread, plain)
    assert all(a == "allow" for a, _ in spread[:9]), spread
    assert spread[9][0] == "deny" and "brute_force" in spread[9][1], spread
    # Every spelling is refused from that IP now; another IP is not.
    for name in VARIANTS:
        assert_decision(m.attempt(name, "203.0.113.2"), "deny", "brute_force", repr(name))
    assert_allow(m.attempt("\uff21\uff2c\uff29\uff23\uff25", "203.0.113.3"), "other IP")
    # One account, one block per source: nothing was counted under a spelling.
    acc = get_json(m, "/v1/accounts/" + path("\uff41\uff4c\uff49\uff43\uff45"))
    assert acc["account"] == "alice", acc
    blocks = [b for b in get_json(m, "/v1/blocked")["blocks"] if b["reason"] == "brute_force"]
    assert sorted(b["target"] for b in blocks) == ["alice|203.0.113.1", "alice|203.0.113.2"], blocks
    events = get_json(m, "/v1/accounts/alice/activity?limit=1000")["events"]
    assert sum(1 for e in events if e["type"] == "login_result") == 20, events


def test_utf8_bytes_and_json_escapes_are_one_name(mamorid):
    m = mamorid
    for i in range(9):
        body = {"account": VARIANTS[i % len(VARIANTS)], "ip": "203.0.113.9", "success": False,
                "pwhash": "raw-%d" % i}
        # Alternately as UTF-8 bytes and as \u escapes.
        data = utf8_body(body) if i % 2 else json.dumps(body).encode()
        r = m.request("POST", "/v1/login/result", APP_TOKEN, data=data,
                      headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and r.json()["action"] == "allow", (i, r.text)
    assert_decision(m.result("Alice", "203.0.113.9", False, pwhash="raw-9"), "deny", "brute_force")


def test_composed_and_decomposed_e_acute_are_one_account(mamorid):
    m = mamorid
    r = m.admin("POST", "/v1/accounts/%s/lock" % path(COMPOSED), {"reason": "support ticket 9"})
    assert r.status_code == 200, r.text
    assert r.json()["account"] == COMPOSED, r.json()
    acc = get_json(m, "/v1/accounts/" + path(DECOMPOSED))
    assert acc["account"] == COMPOSED and acc["status"] == "locked", acc
    assert_decision(m.attempt("JOSE\u0301", "192.0.2.7"), "deny", "account_locked")
    # Unlocked through the other spelling.
    r = m.admin("POST", "/v1/accounts/%s/unlock" % path("JOS\u00c9"), {"note": "done"})
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    assert get_json(m, "/v1/accounts/" + path(COMPOSED))["status"] == "active"


def test_the_cli_names_the_account_as_the_api_does(mamorid):
    m = mamorid
    m.cli("account", "lock", "\uff23\uff21\uff32\uff2f\uff2c", "--reason", "ticket 12")  # ＣＡＲＯＬ
    acc = get_json(m, "/v1/accounts/carol")
    assert acc["status"] == "locked" and acc["lock"]["reason"] == "ticket 12", acc
    out = m.cli("account", "show", "caro\u200bl").stdout
    assert "carol" in out and "locked" in out, out


def test_an_account_list_entry_covers_every_spelling(mamorid):
    m = mamorid
    e = add_list_entry(m, "deny", "account:\u3000\uff2d\uff41\uff4c\uff4c\uff4f\uff52\uff59")
    assert e["target"] == "account:mallory", e
    for name in ["mallory", "MALLORY", "mal\u00adlory", "mallory\u200d", "\u00a0Mallory"]:
        assert_decision(m.attempt(name, "192.0.2.1"), "deny", "deny_list", repr(name))
    assert_allow(m.attempt("mallory2", "192.0.2.1"), "other account")


def test_names_that_normalize_to_nothing_or_too_long_are_refused(mamorid):
    m = mamorid
    for name, code in [("\u200b", "invalid_account"), ("\u00a0\u3000", "invalid_account"),
                       ("a\u2028b", "invalid_account"), ("\ufdfa" * 85, "field_too_long"),
                       ("a" * 128 + "\u200b\u200b" + "a" * 127, "field_too_long")]:
        r = m.app("POST", "/v1/login/attempt", {"account": name, "ip": "192.0.2.1"})
        assert r.status_code == 400 and r.json()["error"]["code"] == code, (name[:8], r.text)
    # Padding of white space and ignorables does not count towards the limit.
    name = "\u00a0\u200b" * 200 + "b" * 256 + "\u3000" * 200
    r = m.app("POST", "/v1/login/attempt", {"account": name, "ip": "192.0.2.1"})
    assert r.status_code == 200, r.text


def dovecot(m, command, login, session, ip, **extra):
    body = dict(login=login, remote=ip, protocol="imap", session_id=session, **extra)
    r = m.request("POST", "/dovecot/policy?command=" + command, APP_TOKEN, data=utf8_body(body),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


def test_dovecot_logins_of_every_spelling_share_one_brute_force_count(mamorid):
    m = mamorid
    ip = "198.51.100.20"
    for i in range(10):
        login = VARIANTS[i % len(VARIANTS)]
        session = "s%d" % i
        assert dovecot(m, "allow", login, session, ip, pwhash="%04x" % i)["status"] == 0, i
        dovecot(m, "report", login, session, ip, pwhash="%04x" % i, success=False,
                policy_reject=False)
    for login in VARIANTS:
        r = dovecot(m, "allow", login, "late-" + login, ip)
        assert r["status"] == -1 and "too many failed logins" in r["msg"], (login, r)
    assert dovecot(m, "allow", "alice", "other-ip", "198.51.100.21")["status"] == 0


def postfix_ask(port, sasl_username, client="192.0.2.50"):
    req = ("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
           "sasl_username=%s\n\n" % (client, sasl_username)).encode("utf-8")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req)
        out = b""
        while not out.endswith(b"\n\n"):
            chunk = s.recv(4096)
            assert chunk, "connection closed after %r" % out
            out += chunk
    return out.decode("utf-8")


def test_postfix_sasl_usernames_of_every_spelling_are_one_account(make_mamorid):
    port = free_port()
    m = make_mamorid(extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n' % port)
    r = m.admin("POST", "/v1/accounts/bob/lock", {"reason": "spam"})
    assert r.status_code == 200, r.text
    for name in ["bob", "\uff22\uff2f\uff22", "b\u200bob", "\u00a0Bob", "BOB"]:
        answer = postfix_ask(port, name)
        assert answer.startswith("action=REJECT mamori: account bob is locked"), (name, answer)
    assert postfix_ask(port, "bobby") == "action=DUNNO\n\n"
