"""TOTP second factor: enrolment with QR code, confirmation with recovery
codes, verification (once per code), lock-out, removal, secrets at rest."""
import base64
import hashlib
import hmac
import os
import json
import shutil
import socket
import struct
import subprocess
import time
import urllib.parse

import pytest

from conftest import APP_TOKEN
from helpers import activity, assert_error, get_json

ISSUER = "Example Shop"
TOTP_TOML = '[totp]\nissuer = "%s"\n' % ISSUER


# An independent RFC 6238 implementation (hmac + hashlib).
def hotp(key, counter, digits=6):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return "%0*d" % (digits, code)


def current_step():
    """The current 30 s step, away from a step boundary (so a code computed
    now is judged in the same step by the server)."""
    while True:
        now = time.time()
        if 2 < now % 30 < 28:
            return int(now // 30)
        time.sleep(30 - now % 30 + 2.1 if now % 30 >= 28 else 2.1 - now % 30)


def b32decode(secret):
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def enrol(m, account):
    r = m.app("POST", "/v1/accounts/%s/totp" % account)
    assert r.status_code == 200, r.text
    return r.json()


def post_code(m, account, what, code, **extra):
    return m.app("POST", "/v1/accounts/%s/totp/%s" % (account, what), dict(code=code, **extra))


def enrol_confirmed(m, account):
    """Enrols and confirms with the previous step's code; returns (key, recovery codes, step)."""
    e = enrol(m, account)
    key = b32decode(e["secret"])
    step = current_step()
    r = post_code(m, account, "confirm", hotp(key, step - 1))
    assert r.status_code == 200 and r.json()["ok"], r.text
    return key, r.json()["recovery_codes"], step


@pytest.fixture
def m(make_mamorid):
    return make_mamorid(extra_toml=TOTP_TOML)


def test_enrol_confirm_verify_and_replay_refused(m):
    account = "alice@example.com"
    e = enrol(m, account)
    assert set(e) >= {"secret", "otpauth_uri", "qr_svg"}
    assert len(b32decode(e["secret"])) == 20  # 160 bits
    assert e["otpauth_uri"] == (
        "otpauth://totp/Example%20Shop:alice%40example.com?secret=" + e["secret"] +
        "&issuer=Example%20Shop&algorithm=SHA1&digits=6&period=30")
    assert get_json(m, "/v1/accounts/" + account, APP_TOKEN)["mfa"] == {"totp": False}
    # Pending: verify refuses until confirmed.
    assert_error(post_code(m, account, "verify", "123456"), 404, "totp_not_enabled")

    key = b32decode(e["secret"])
    step = current_step()
    wrong = post_code(m, account, "confirm", hotp(key, step + 5))
    assert wrong.status_code == 200 and wrong.json()["ok"] is False
    r = post_code(m, account, "confirm", hotp(key, step - 1))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True
    codes = body["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert get_json(m, "/v1/accounts/" + account, APP_TOKEN)["mfa"] == {"totp": True}

    ok = post_code(m, account, "verify", hotp(key, step), ip="203.0.113.9")
    assert ok.status_code == 200 and ok.json()["ok"] is True and ok.json()["method"] == "totp"
    replay = post_code(m, account, "verify", hotp(key, step))
    assert replay.status_code == 200
    assert replay.json()["ok"] is False and replay.json()["reason"] == "code_reused"
    # The confirming code's step is used too.
    assert post_code(m, account, "verify", hotp(key, step - 1)).json()["ok"] is False
    assert post_code(m, account, "verify", hotp(key, step + 1)).json()["ok"] is True

    types = [ev["type"] for ev in activity(m, account)]
    assert "mfa_enabled" in types and "challenge_passed" in types and "challenge_failed" in types
    passed = [ev for ev in activity(m, account) if ev["type"] == "challenge_passed"]
    assert "203.0.113.9" in [ev["ip"] for ev in passed]


def test_lockout_after_five_wrong_codes_and_findings_in_activity(m):
    key, _, step = enrol_confirmed(m, "bob")
    wrong = hotp(key, step + 7)
    for i in range(5):
        r = post_code(m, "bob", "verify", wrong)
        assert r.status_code == 200 and r.json()["ok"] is False, (i, r.text)
    # Even the right code is refused now.
    r = post_code(m, "bob", "verify", hotp(key, step))
    assert_error(r, 429, "too_many_attempts")
    # Retry-After: when the oldest wrong code leaves the 15-minute window.
    assert 880 <= int(r.headers["Retry-After"]) <= 900, r.headers
    failed = [ev for ev in activity(m, "bob") if ev["type"] == "challenge_failed"]
    assert len(failed) == 5
    # The lock-out is durable: a restart does not lift it.
    m.restart()
    assert_error(post_code(m, "bob", "verify", hotp(key, step + 1)), 429, "too_many_attempts")


def test_recovery_code_works_once(m):
    key, codes, step = enrol_confirmed(m, "carol")
    r = post_code(m, "carol", "verify", codes[0].upper())
    assert r.json() == {**r.json(), "ok": True, "method": "recovery_code", "recovery_codes_left": 9}
    again = post_code(m, "carol", "verify", codes[0])
    assert again.json()["ok"] is False and again.json()["reason"] == "code_reused"
    assert post_code(m, "carol", "verify", codes[1].replace("-", "")).json()["ok"] is True


def test_bad_inputs_are_refused_and_change_nothing(m):
    key, _, step = enrol_confirmed(m, "dave")
    for bad in ["12345", "1234567", "12a456", "", "x" * 65, "not-a-code"]:
        r = post_code(m, "dave", "verify", bad)
        assert r.status_code == 400, (bad, r.text)
        want = "field_too_long" if len(bad) > 64 else "invalid_code"
        assert r.json()["error"]["code"] == want, (bad, r.text)
    assert_error(m.app("POST", "/v1/accounts/dave/totp/verify", {}), 400, "missing_field", "code")
    assert_error(m.app("POST", "/v1/accounts/dave/totp/verify", {"code": 123456}), 400, "invalid_field")
    assert_error(m.request("POST", "/v1/accounts/dave/totp/verify", APP_TOKEN, data="{nope"), 400, "invalid_json")
    assert_error(post_code(m, "dave", "verify", "123456", ip="999.1.1.1"), 400, "invalid_ip")
    assert_error(post_code(m, "nobody", "verify", "123456"), 404, "totp_not_enabled")
    assert_error(post_code(m, "nobody", "confirm", "123456"), 404, "totp_not_enabled")
    assert_error(m.request("POST", "/v1/accounts/dave/totp/verify", None, json={"code": "123456"}), 401, "unauthorized")
    assert_error(m.app("POST", "/v1/accounts/dave/totp"), 409, "totp_already_enabled")
    # None of that counted as a wrong code or used anything: the next code works.
    assert not [ev for ev in activity(m, "dave") if ev["type"] == "challenge_failed"]
    assert post_code(m, "dave", "verify", hotp(key, step)).json()["ok"] is True
    assert get_json(m, "/v1/accounts/nobody", APP_TOKEN)["mfa"] == {"totp": False}


def test_remove_needs_a_code_from_an_app_but_not_from_an_operator(m):
    key, _, step = enrol_confirmed(m, "erin")
    assert_error(m.app("DELETE", "/v1/accounts/erin/totp"), 403, "forbidden", "code")
    assert_error(m.app("DELETE", "/v1/accounts/erin/totp", {"code": hotp(key, step + 9)}), 403, "wrong_code")
    assert get_json(m, "/v1/accounts/erin", APP_TOKEN)["mfa"] == {"totp": True}
    r = m.app("DELETE", "/v1/accounts/erin/totp", {"code": hotp(key, step)})
    assert r.status_code == 200 and r.json()["deleted"] is True, r.text
    assert get_json(m, "/v1/accounts/erin", APP_TOKEN)["mfa"] == {"totp": False}
    assert "mfa_disabled" in [ev["type"] for ev in activity(m, "erin")]
    assert_error(m.app("DELETE", "/v1/accounts/erin/totp", {"code": hotp(key, step + 1)}), 404, "totp_not_enabled")

    enrol_confirmed(m, "frank")
    r = m.admin("DELETE", "/v1/accounts/frank/totp")
    assert r.status_code == 200, r.text
    assert get_json(m, "/v1/accounts/frank", APP_TOKEN)["mfa"] == {"totp": False}


def test_qr_svg_decodes_to_the_otpauth_uri(m, tmp_path):
    if not shutil.which("rsvg-convert") or not shutil.which("zbarimg"):
        pytest.fail("rsvg-convert (librsvg2-bin) and zbarimg (zbar-tools) are needed; run scripts/deps.sh")
    # Accounts are compared lower-cased; the label carries the normalized name.
    e = enrol(m, urllib.parse.quote("Hanako Kurosawa+shop@example.jp", safe=""))
    svg = tmp_path / "qr.svg"
    png = tmp_path / "qr.png"
    svg.write_text(e["qr_svg"])
    subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], check=True, timeout=30)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip("\n") == e["otpauth_uri"]
    assert "Example%20Shop:hanako%20kurosawa%2Bshop%40example.jp?" in e["otpauth_uri"]


def read_answers(sock, n):
    """The status, headers and body of the next `n` answers on `sock` (Content-Length framing)."""
    data, answers = b"", []
    while len(answers) < n:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            headers = {k.lower(): v for k, v in (h.split(": ", 1) for h in head[1:])}
            end = head_end + 4 + int(headers["content-length"])
            if len(data) >= end:
                answers.append((head[0], headers, data[head_end + 4:end]))
                data = data[end:]
                continue
        chunk = sock.recv(65536)
        assert chunk, "connection closed after %d answers" % len(answers)
        data += chunk
    return answers


def test_a_pipelined_request_behind_an_enrolment_is_answered_after_it(m):
    # The enrolment's answer (over 16 KiB with a long account name's QR code) waits for its
    # commit; the request pipelined behind it was answered between its header and its body.
    account = "k" * 250
    with socket.create_connection(("127.0.0.1", m.port), timeout=10) as s:
        s.sendall(("POST /v1/accounts/%s/totp HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                   "Content-Length: 0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                   % (account, APP_TOKEN)).encode())
        (status1, _, body1), (status2, _, body2) = read_answers(s, 2)
    assert status1 == "HTTP/1.1 200 OK", status1
    assert len(body1) > 16 * 1024
    assert json.loads(body1)["account"] == account
    assert status2 == "HTTP/1.1 200 OK" and json.loads(body2) == {"status": "ok"}, (status2, body2)


def test_secret_is_unreadable_at_rest_and_useless_without_the_key_file(m, make_mamorid, tmp_path):
    e = enrol(m, "gina")
    secret = e["secret"]
    key = b32decode(secret)
    step = current_step()
    assert post_code(m, "gina", "confirm", hotp(key, step - 1)).json()["ok"] is True
    m.stop()
    data = m.data_dir
    key_file = os.path.join(data, "totp.key")
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    for root, _, files in os.walk(data):
        for f in files:
            if f == "totp.key":
                continue
            blob = open(os.path.join(root, f), "rb").read()
            for needle in (secret.encode(), secret.lower().encode(), key, key.hex().encode()):
                assert needle not in blob, "secret found in %s" % f

    # A copy of the data dir without its key file cannot use the secret.
    copy = make_mamorid("copy", start=False, extra_toml=TOTP_TOML)
    shutil.copytree(data, copy.data_dir)
    os.remove(os.path.join(copy.data_dir, "totp.key"))
    copy.start()
    r = post_code(copy, "gina", "verify", hotp(key, step))
    assert_error(r, 500, "secret_wrong_key")
    assert "key file" in r.json()["error"]["message"]

    # The original, with its key, still verifies after the restart.
    m.start()
    assert post_code(m, "gina", "verify", hotp(key, step)).json()["ok"] is True
