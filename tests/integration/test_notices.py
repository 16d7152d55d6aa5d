"""Owner notices by e-mail through a real SMTP relay (aiosmtpd): the lock
notice in the owner's language and time zone, opt-out, no contact, a relay
that goes away during a burst, and a kill -9 with notices still queued."""
import datetime
import zoneinfo

import pytest

from helpers import assert_error, get_json, metric_sum, parse_metrics, parse_time
from peers import SmtpSink, wait_until

SERVICE = "Test Shop"
HELP = "https://shop.example/help/security"


def notice_toml(sink_port, retry_initial="200ms", retry_max="1s"):
    return """
[notify]
service_name = "%s"
help_url = "%s"
retry_initial = "%s"
retry_max = "%s"

[smtp]
host = "127.0.0.1"
port = %d
starttls = "off"
from = "テストショップ <noreply@shop.example>"
timeout_ms = 5000
""" % (SERVICE, HELP, retry_initial, retry_max, sink_port)


def set_contact(m, account, email, lang="ja", notify=True, time_zone=None):
    body = {"email": email, "lang": lang, "notify": notify}
    if time_zone is not None:
        body["time_zone"] = time_zone
    r = m.app("PUT", "/v1/accounts/%s/contact" % account, body)
    assert r.status_code == 200, r.text
    return r.json()


def lock(m, account, reason="support ticket 42", reset=True):
    r = m.admin("POST", "/v1/accounts/%s/lock" % account,
                {"reason": reason, "require_password_reset": reset})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "locked", body
    return body


def mails_to(sink, address):
    return [msg for msg in sink.messages() if msg.envelope["rcpt_tos"] == [address]]


def metrics(m):
    return parse_metrics(m.request("GET", "/metrics", token=None).text)


def test_operator_lock_mails_the_owner_in_japanese(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    set_contact(m, "taro", "taro@example.jp", lang="ja")
    answer = lock(m, "taro")
    assert answer["notified"] is True, answer
    since = parse_time(answer["lock"]["since"])

    [msg] = sink.wait_for(1)
    assert msg.envelope["mail_from"] == "noreply@shop.example"
    assert msg.envelope["rcpt_tos"] == ["taro@example.jp"]
    assert msg["To"] == "taro@example.jp"
    assert msg["From"].addresses[0].addr_spec == "noreply@shop.example"
    assert msg["From"].addresses[0].display_name == "テストショップ"
    raw = msg.envelope["data"]
    assert "\nSubject: =?UTF-8?B?" in raw, raw[:600]
    assert str(msg["Subject"]) == "【Test Shop】アカウントをロックしました"
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "base64"
    assert msg["Message-ID"].endswith("@shop.example>")
    assert msg["X-Mamori-Notice"] == "account_locked"
    sent = email_date(msg)
    assert abs((sent - since).total_seconds()) < 1

    body = msg.get_content()
    local = since.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    when = "%d年%d月%d日" % (local.year, local.month, local.day)
    assert "・日時：" + when in body, body
    assert local.strftime("%H:%M") + " JST" in body, body
    assert "taro 様" in body
    assert "・担当者からの連絡事項：support ticket 42" in body
    assert "パスワードの再設定が必要です" in body
    assert HELP in body


def email_date(msg):
    return msg["Date"].datetime.astimezone(datetime.timezone.utc)


def test_english_notice_uses_the_owners_time_zone(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    account = set_contact(m, "jane", "jane@example.com", lang="en", time_zone="America/New_York")
    assert account["contact"]["time_zone"] == "America/New_York"
    since = parse_time(lock(m, "jane", reason="chargeback review", reset=False)["lock"]["since"])
    [msg] = sink.wait_for(1)
    assert str(msg["Subject"]) == "Your Test Shop account has been locked"
    body = msg.get_content()
    local = since.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert "When:    " + local.strftime("%A, ") + str(local.day) + local.strftime(" %B %Y, %H:%M ") + \
        local.tzname() in body, body
    assert "Why:     our support team locked the account to protect it" in body
    assert "Note:    chargeback review" in body
    assert "reset your password" not in body


def test_opted_out_owner_gets_no_mail(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    set_contact(m, "quiet", "quiet@example.jp", notify=False)
    set_contact(m, "loud", "loud@example.jp")
    assert lock(m, "quiet")["notified"] is False
    assert lock(m, "loud")["notified"] is True
    sink.wait_for(1)
    assert [msg.envelope["rcpt_tos"] for msg in sink.messages()] == [["loud@example.jp"]]


def test_no_contact_is_not_notified(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    assert lock(m, "nobody")["notified"] is False
    assert metric_sum(metrics(m), "mamori_outbox_pending", channel="email") == 0
    assert get_json(m, "/v1/accounts/nobody")["status"] == "locked"


def test_without_a_relay_nobody_is_notified(make_mamorid):
    m = make_mamorid()
    set_contact(m, "taro", "taro@example.jp")
    assert lock(m, "taro")["notified"] is False


def test_contact_time_zone_is_validated_and_shown(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    assert get_json(m, "/v1/accounts/taro")["contact"]["time_zone"] == "UTC"  # en by default
    assert set_contact(m, "taro", "taro@example.jp", lang="ja")["contact"]["time_zone"] == "Asia/Tokyo"
    for bad in ["Mars/Olympus", "../../etc/passwd", "asia/tokyo"]:
        r = m.app("PUT", "/v1/accounts/taro/contact",
                  {"email": "other@example.jp", "lang": "en", "time_zone": bad})
        assert_error(r, 400, "invalid_time_zone")
    r = m.app("PUT", "/v1/accounts/taro/contact", {"email": "x@example.jp\r\nBcc: y@example.jp"})
    assert_error(r, 400, "invalid_field", "email")
    contact = get_json(m, "/v1/accounts/taro")["contact"]
    assert contact == {"email": "taro@example.jp", "lang": "ja", "notify": True,
                       "time_zone": "Asia/Tokyo"}, contact
    assert set_contact(m, "taro", "taro@example.jp", time_zone="Europe/Berlin")["contact"][
        "time_zone"] == "Europe/Berlin"


def test_relay_down_during_a_burst_loses_no_notice(make_mamorid, sink):
    m = make_mamorid(extra_toml=notice_toml(sink.port))
    accounts = ["burst-%02d" % i for i in range(20)]
    for a in accounts:
        set_contact(m, a, a + "@example.jp")
    for a in accounts[:10]:
        lock(m, a)
    sink.stop()
    for a in accounts[10:]:
        lock(m, a)
    # The relay is gone: deliveries fail and wait for their retry.
    wait_until(lambda: metric_sum(metrics(m), "mamori_outbox_failures_total", channel="email") > 0,
               30, "a failed delivery")
    sink.start()
    wait_until(lambda: {r["rcpt_tos"][0] for r in sink.records()} >= {a + "@example.jp" for a in accounts},
               60, "every notice after the relay came back")
    msgs = sink.messages()
    ids = {msg["Message-ID"] for msg in msgs}
    events = {msg["X-Mamori-Event"] for msg in msgs}
    assert len(ids) == 20 and len(events) == 20, (len(ids), len(events))
    wait_until(lambda: metric_sum(metrics(m), "mamori_outbox_pending", channel="email") == 0, 30,
               "an empty outbox")
    assert metric_sum(metrics(m), "mamori_notices_sent_total") >= 20
    assert "owner e-mail delivery failed" in m.read_log()
    assert "owner e-mail delivery works again" in m.read_log()


def test_notices_queued_at_kill9_arrive_after_restart(make_mamorid, tmp_path):
    sink = SmtpSink(tmp_path)  # its port is chosen, nothing listens yet
    m = make_mamorid(extra_toml=notice_toml(sink.port, retry_initial="200ms", retry_max="500ms"))
    try:
        for a in ("k1", "k2", "k3"):
            set_contact(m, a, a + "@example.jp", lang="en")
            assert lock(m, a)["notified"] is True
        wait_until(lambda: metric_sum(metrics(m), "mamori_outbox_failures_total", channel="email") >= 3,
                   30, "failed deliveries")
        assert metric_sum(metrics(m), "mamori_outbox_pending", channel="email") == 3
        m.kill9()
        sink.start()
        m.start()
        sink.wait_for(3)
        assert sorted(msg.envelope["rcpt_tos"][0] for msg in sink.messages()) == \
            ["k1@example.jp", "k2@example.jp", "k3@example.jp"]
        assert len({msg["Message-ID"] for msg in sink.messages()}) == 3
    finally:
        sink.stop()
