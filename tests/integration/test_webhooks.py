"""Signed webhook alerts to a real HTTP receiver: every decision above allow
is POSTed with X-Mamori-Timestamp and an HMAC-SHA256 X-Mamori-Signature the
receiver verifies; a tampered body fails the check; a receiver that fails is
retried with the same delivery id until it accepts."""
import time

import pytest
import requests

from helpers import assert_allow, assert_decision, fail_login, metric_sum, parse_metrics
from peers import WebhookReceiver, verify_signature, wait_until

SECRET = "whsec-integration-0123456789"


def hook_toml(url, secret=SECRET):
    return """
[notify]
retry_initial = "200ms"
retry_max = "1s"

[[webhooks]]
url = "%s"
secret = "%s"
""" % (url, secret)


@pytest.fixture
def receiver():
    r = WebhookReceiver(SECRET).start()
    yield r
    r.stop()


def brute_force(m, account, ip):
    for i in range(3):
        _, r = fail_login(m, account, ip, pwhash="wrong-%d" % i)
    assert_decision(r, "deny", "brute_force", "third failure")
    return r


def test_brute_force_deny_is_alerted_with_a_valid_signature(make_mamorid, receiver):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}}, extra_toml=hook_toml(receiver.url))
    allowed = m.attempt("webhook-victim", "203.0.113.50")
    assert_allow(allowed)
    deny = brute_force(m, "webhook-victim", "203.0.113.50")

    hooks = wait_until(lambda: [b for h, b in receiver.accepted() if b["event_id"] == deny["event_id"]],
                       30, "the alert for the deny")
    alert = hooks[0]
    assert alert["type"] == "decision"
    assert alert["event_type"] == "login_result"
    assert alert["account"] == "webhook-victim"
    assert alert["ip"] == "203.0.113.50"
    assert alert["action"] == "deny"
    assert "brute_force" in alert["reasons"]
    assert alert["risk"] == deny["risk"]
    assert all(valid for valid, _, _, _ in receiver.all()), "a request failed the signature check"
    headers = [h for h, b in receiver.accepted() if b["event_id"] == deny["event_id"]][0]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Mamori-Signature"].startswith("sha256=")
    assert abs(int(headers["X-Mamori-Timestamp"]) - time.time()) < 120
    assert headers["X-Mamori-Delivery"]
    # Allowed events send nothing.
    assert not [b for h, b in receiver.accepted() if b["event_id"] == allowed["event_id"]]
    # Counted once the receiver's answer is in, a moment after it was received.
    wait_until(lambda: metric_sum(parse_metrics(m.request("GET", "/metrics", token=None).text),
                                  "mamori_webhooks_sent_total") >= 1, 30, "the sent count")


def test_tampered_body_or_wrong_secret_fails_verification(make_mamorid, receiver):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}}, extra_toml=hook_toml(receiver.url))
    deny = brute_force(m, "tamper-victim", "203.0.113.51")
    wait_until(lambda: [1 for h, b in receiver.accepted() if b["event_id"] == deny["event_id"]], 30,
               "the alert")
    valid, headers, body, _ = [x for x in receiver.all() if x[0]][0]
    assert verify_signature(SECRET, headers, body)
    tampered = body.replace(b'"deny"', b'"allow"')
    assert tampered != body
    assert not verify_signature(SECRET, headers, tampered)
    assert not verify_signature("another-secret-0123456789", headers, body)
    # Replayed to the receiver as an attacker would: refused.
    r = requests.post(receiver.url, data=tampered, headers={
        "X-Mamori-Timestamp": headers["X-Mamori-Timestamp"],
        "X-Mamori-Signature": headers["X-Mamori-Signature"]}, timeout=10)
    assert r.status_code == 401
    r = requests.post(receiver.url, data=body, headers={
        "X-Mamori-Timestamp": headers["X-Mamori-Timestamp"],
        "X-Mamori-Signature": headers["X-Mamori-Signature"]}, timeout=10)
    assert r.status_code == 200


def test_failing_receiver_is_retried_with_the_same_delivery_id(make_mamorid):
    receiver = WebhookReceiver(SECRET, fail_first=2).start()
    try:
        m = make_mamorid(detections={"brute_force": {"threshold": 3}},
                         extra_toml=hook_toml(receiver.url))
        deny = brute_force(m, "retry-victim", "203.0.113.52")
        wait_until(lambda: [1 for h, b in receiver.accepted() if b["event_id"] == deny["event_id"]],
                   30, "the alert after retries")
        tries = [h["X-Mamori-Delivery"] for v, h, b, s in receiver.all()
                 if v and b"retry-victim" in b and deny["event_id"].encode() in b]
        # Two 500s, then the accepted one: all the same delivery.
        assert len(tries) >= 3 and len(set(tries)) == 1, tries
        wait_until(lambda: metric_sum(parse_metrics(m.request("GET", "/metrics", token=None).text),
                                      "mamori_outbox_failures_total", channel="webhook") >= 2,
                   30, "the two failures counted")
    finally:
        receiver.stop()


def test_an_attack_sends_one_alert_per_source_and_reason_not_one_per_request(make_mamorid, receiver):
    m = make_mamorid(detections={"brute_force": {"threshold": 3}}, extra_toml=hook_toml(receiver.url))
    brute_force(m, "flood-victim", "203.0.113.60")
    # The source goes on: every attempt is denied, but the operator hears of it once a minute.
    for _ in range(50):
        assert m.attempt("flood-victim", "203.0.113.60")["action"] == "deny"
    wait_until(lambda: metric_sum(parse_metrics(m.request("GET", "/metrics", token=None).text),
                                  "mamori_alerts_suppressed_total") >= 50, 30, "suppressed repeats")
    # A fence: alerts go out one at a time in the order they were queued, so
    # once another source's alert is in, any from the flood would be too.
    fence = brute_force(m, "fence-victim", "203.0.113.61")
    wait_until(lambda: [b for h, b in receiver.accepted() if b["event_id"] == fence["event_id"]],
               30, "the fence alert")
    from_source = [b for h, b in receiver.accepted() if b["ip"] == "203.0.113.60"]
    assert len(from_source) == 1, [(b["event_type"], b["reasons"]) for b in from_source]
