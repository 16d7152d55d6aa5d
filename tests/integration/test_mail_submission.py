"""Mail clients on the submission (587, STARTTLS) and smtps (465, TLS)
ports of a real Postfix 3.7, configured from the shipped
examples/postfix/master.cf and main.cf with SASL through a real Dovecot 2.3
(examples/dovecot/95-mamori-2.3.conf): mamorid's policy applies there, and
the operator's own restrictions stay in force."""
import os
import smtplib
import ssl
import subprocess

import pytest

from conftest import APP_TOKEN
import mail_peers as mail


@pytest.fixture(scope="module", autouse=True)
def _mail_peers_here():
    mail.require_peers()


USERS = {"sub@example.test": "sub-pw", "other@example.test": "other-pw"}
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate


@pytest.fixture
def submission_host(make_mamorid):
    policy_port = mail.free_port()
    m = make_mamorid(detections={"mail_volume": {"threshold": 3}},
                     extra_toml='[postfix]\nlisten = "127.0.0.1:%d"\n' % policy_port)
    d = mail.Dovecot.start(m.url + "/dovecot/policy", APP_TOKEN, USERS)
    try:
        p = mail.Postfix.start(d.auth_port, policy_port, submission=True)
    except Exception:
        d.stop()
        raise
    yield m, d, p
    p.stop()
    d.stop()


def submission(p, user=None, password=None):
    s = smtplib.SMTP("127.0.0.1", p.submission_port, timeout=30)
    s.ehlo("client.test")
    s.starttls(context=TLS)
    s.ehlo("client.test")
    if user:
        s.login(user, password)
    return s


def smtps(p, user, password):
    s = smtplib.SMTP_SSL("127.0.0.1", p.smtps_port, timeout=30, context=TLS)
    s.ehlo("client.test")
    s.login(user, password)
    return s


def send(s, sender, rcpts):
    body = "From: %s\r\nTo: %s\r\nSubject: t\r\n\r\nhi\r\n" % (sender, ", ".join(rcpts))
    return s.sendmail(sender, rcpts, body)


def test_the_shipped_snippets_keep_the_operators_restrictions(submission_host):
    _, _, p = submission_host
    r = subprocess.run([mail.POSTFIX.replace("postfix", "postconf"), "-c", p.etc, "-h",
                        "smtpd_relay_restrictions"], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "$mamori_policy, permit_sasl_authenticated, reject_unauth_destination", r
    # Running the script again changes nothing.
    again = subprocess.run([os.path.join(mail.EXAMPLES, "postfix", "add-policy.sh"), p.etc],
                           capture_output=True, text=True, timeout=30)
    assert again.returncode == 0, again.stderr
    r2 = subprocess.run([mail.POSTFIX.replace("postfix", "postconf"), "-c", p.etc, "-h",
                         "smtpd_relay_restrictions"], capture_output=True, text=True, timeout=30)
    assert r2.stdout == r.stdout
    # Without SASL the submission port refuses to relay (the snippet's own restrictions).
    s = submission(p)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(s, "sub@example.test", ["x@example.com"])
    code, _ = e.value.recipients["x@example.com"]
    assert code == 554, e.value.recipients
    s.quit()


def test_quota_applies_on_submission_and_smtps_and_says_when_to_retry(submission_host):
    m, _, p = submission_host
    s = submission(p, "sub@example.test", "sub-pw")
    assert send(s, "sub@example.test", ["a@example.com", "b@example.com"]) == {}
    s.quit()
    t = smtps(p, "sub@example.test", "sub-pw")
    assert send(t, "sub@example.test", ["c@example.com"]) == {}  # 3 of 3 across both ports
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(t, "sub@example.test", ["d@example.com"])
    code, text = e.value.recipients["d@example.com"]
    assert code == 450 and b"4.7.1" in text and b"sending quota" in text, e.value.recipients
    assert b"try again in 60 minutes" in text, text
    t.quit()
    # Both ports' logins went through mamori's Dovecot policy: SMTP AUTH logins recorded.
    events = m.app("GET", "/v1/accounts/sub@example.test/activity").json()["events"]
    assert sum(1 for e in events if e["type"] == "login_result" and e["success"]) >= 2, events
    # Another mailbox still sends.
    o = submission(p, "other@example.test", "other-pw")
    assert send(o, "other@example.test", ["x@example.com"]) == {}
    o.quit()


def test_a_locked_mailbox_cannot_log_in_or_send(submission_host):
    m, _, p = submission_host
    s = submission(p, "sub@example.test", "sub-pw")  # logged in before the lock
    assert m.admin("POST", "/v1/accounts/sub@example.test/lock",
                   {"reason": "spam"}).status_code == 200
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(s, "sub@example.test", ["a@example.com"])
    code, text = e.value.recipients["a@example.com"]
    assert code == 554 and b"is locked" in text, e.value.recipients
    s.quit()
    # A new login is refused by Dovecot's policy check.
    with pytest.raises(smtplib.SMTPAuthenticationError):
        submission(p, "sub@example.test", "sub-pw")
