"""Profiles read off the HTTP workers on PostgreSQL ([store] backend = "postgresql"): a
successful login result for an account whose profile the node has not cached defers its
answer, the profile is read in a batch with the others waiting (one `account = ANY($1)`
round trip), and the decision is made once it is in memory: the same decision as a node
that had it cached, and the worker answers other requests meanwhile.

A real PostgreSQL from scripts/postgresql.py (pg_peers.py) and real mamorid nodes."""
import threading

import requests

import openapi_check
from conftest import APP_TOKEN
from helpers import metric_sum, parse_metrics
from pg_peers import postgresql, store_toml  # noqa: F401 (fixture)

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def metrics(m):
    return parse_metrics(m.session.get(m.url + "/metrics", timeout=10).text)


def login(session, m, account, ip, device):
    r = session.post(m.url + "/v1/login/result", timeout=60,
                     headers={"Authorization": "Bearer " + APP_TOKEN},
                     json={"account": account, "ip": ip, "success": True, "user_agent": UA,
                           "device_id": device})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_node_without_the_profile_decides_as_the_node_that_wrote_it(make_mamorid, postgresql):
    writer = make_mamorid("writer", extra_toml=store_toml(postgresql.url))
    reader = make_mamorid("reader", extra_toml=store_toml(postgresql.url))
    first = login(writer.session, writer, "pg-known", "198.51.100.7", "dev-known")
    assert first["new_device"] is False  # an account's first login teaches, it does not alarm
    # On the other node the profile is not cached: read in a batch, then judged on it.
    before = metrics(reader)
    known = login(reader.session, reader, "pg-known", "198.51.100.7", "dev-known")
    assert known["action"] == "allow" and known["new_device"] is False, known
    other = login(reader.session, reader, "pg-known", "198.51.100.7", "dev-other")
    assert other["new_device"] is True, other  # the profile was the stored one
    after = metrics(reader)
    assert metric_sum(after, "mamori_profile_batch_accounts_total") - \
        metric_sum(before, "mamori_profile_batch_accounts_total") == 1
    assert metric_sum(after, "mamori_profile_batches_total", result="ok") > \
        metric_sum(before, "mamori_profile_batches_total", result="ok")
    assert metric_sum(after, "mamori_http_deferred_answers_total") >= 1


def test_concurrent_first_logins_are_read_in_batches_and_all_answered(make_mamorid, postgresql):
    writer = make_mamorid("writer", extra_toml=store_toml(postgresql.url))
    reader = make_mamorid("reader", extra_toml=store_toml(postgresql.url))
    n = 48
    accounts = ["pg-batch-%02d" % i for i in range(n)]
    for a in accounts:
        login(writer.session, writer, a, "198.51.100.8", "dev-" + a)
    before = metrics(reader)
    barrier = threading.Barrier(n)
    answers = [None] * n

    def one(i):
        session = openapi_check.attach(requests.Session())
        barrier.wait(timeout=30)
        answers[i] = login(session, reader, accounts[i], "198.51.100.8", "dev-" + accounts[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert all(a is not None for a in answers), "a login result got no answer"
    # Every account's stored profile was found: its device is known.
    assert [a["new_device"] for a in answers] == [False] * n, answers
    after = metrics(reader)
    read = metric_sum(after, "mamori_profile_batch_accounts_total") - \
        metric_sum(before, "mamori_profile_batch_accounts_total")
    batches = metric_sum(after, "mamori_profile_batches_total", result="ok") - \
        metric_sum(before, "mamori_profile_batches_total", result="ok")
    assert read == n, (read, n)
    assert 1 <= batches <= n
    assert metric_sum(after, "mamori_http_deferred_answers_pending") == 0
    # Cached now: the next login of each is decided at once.
    again = login(reader.session, reader, accounts[0], "198.51.100.8", "dev-" + accounts[0])
    assert again["new_device"] is False
    assert metric_sum(metrics(reader), "mamori_profile_batch_accounts_total") == \
        metric_sum(after, "mamori_profile_batch_accounts_total")
