"""Nodes with both shared backends: the hot windows over a Redis Cluster
([state] backend = "redis") and the durable records in PostgreSQL
([store] backend = "postgresql"). A lock written through one node is enforced
by the other through PostgreSQL, failures spread over both are counted
through Redis and the block they bring is enforced everywhere, and a
restarted node starts from the database. An account's profile is one
profile behind a round-robin balancer: a device one node learns is known to
the others once its change has gone round (within the sync interval, about
twice), and logins of one account on two nodes at once keep every device."""
import itertools
import json
import os
import threading
import time

from helpers import assert_decision, metric_sum, parse_metrics
from pg_peers import postgresql, store_toml  # noqa: F401 (fixture)
from redis_peers import redis_cluster_own, redis_cluster_shared, redis_toml  # noqa: F401 (fixture)

_prefixes = itertools.count()


def metrics(node):
    return parse_metrics(node.session.get(node.url + "/metrics", timeout=10).text)


def until_denied(node, account, ip, within=5.0):
    deadline = time.monotonic() + within
    while True:
        d = node.attempt(account, ip)
        if d["action"] == "deny":
            return d
        assert time.monotonic() < deadline, (account, d)
        time.sleep(0.02)


def test_a_node_on_redis_and_postgresql_shares_both(make_mamorid, postgresql, redis_cluster_own):
    extra = store_toml(postgresql.url) + redis_toml(redis_cluster_own, "both")
    n1, n2 = [make_mamorid("node%d" % i, extra_toml=extra,
                           detections={"brute_force": {"threshold": 4}}) for i in (1, 2)]
    assert n1.admin("POST", "/v1/accounts/both-lock/lock", {"reason": "x"}).status_code == 200
    assert "account_locked" in until_denied(n2, "both-lock", "192.0.2.9")["reasons"]
    assert postgresql.value("SELECT count(*) FROM accounts WHERE locked") == "1"

    # Three failures spread over the nodes, then the fourth on node 2: over
    # the threshold only with node 1's two, shared through Redis.
    for i in range(3):
        assert (n1, n2)[i % 2].result("both-bf", "192.0.2.10", False,
                                      pwhash="p%d" % i)["action"] == "allow"
    deadline = time.monotonic() + 5
    while metric_sum(metrics(n2), "mamori_hot_state_observations_total", what="applied") < 2:
        assert time.monotonic() < deadline, "node 1's failures not applied on node 2"
        time.sleep(0.02)
    assert_decision(n2.result("both-bf", "192.0.2.10", False, pwhash="p3"), "deny", "brute_force")
    # Its block, a durable record, is enforced on node 1 through PostgreSQL.
    until_denied(n1, "both-bf", "192.0.2.10")
    for n in (n1, n2):
        m = metrics(n)
        assert metric_sum(m, "mamori_pg_available") == 1
        assert metric_sum(m, "mamori_redis_degraded") == 0

    # Restarted: the lock and the block from PostgreSQL.
    n1.restart()
    assert_decision(n1.attempt("both-lock", "192.0.2.11"), "deny", "account_locked")
    assert_decision(n1.attempt("both-bf", "192.0.2.10"), "deny", "brute_force")


# ---- one profile behind a round-robin balancer ----------------------------------------

def nodes_on_both(make_mamorid, postgresql, cluster, count):
    prefix = "profiles%d-%d" % (os.getpid(), next(_prefixes))
    extra = store_toml(postgresql.url) + redis_toml(cluster, prefix)
    return [make_mamorid("node%d" % i, extra_toml=extra) for i in range(1, count + 1)]


def login(node, account, device):
    return node.result(account, "192.0.2.60", True, device_id=device, user_agent="ShopApp/4.2")


def devices_seen_by(node, account):
    r = node.app("GET", "/v1/accounts/" + account)
    assert r.status_code == 200, r.text
    return {d["device_id"] for d in r.json()["devices"]}


def stored_devices(pg, account):
    data = pg.value("SELECT data FROM profiles WHERE account = '%s'" % account)
    return {d["i"] for d in json.loads(data)["d"]} if data else set()


def until_known(nodes, account, wanted, within=5.0):
    """Polls each node's view of the account (read-only: the profile it would
    judge a login by) until it lists every device in `wanted`."""
    deadline = time.monotonic() + within
    for i, n in enumerate(nodes):
        while True:
            seen = devices_seen_by(n, account)
            if wanted <= seen:
                break
            assert time.monotonic() < deadline, "node %d still sees %s, not %s" % (i, seen, wanted)
            time.sleep(0.02)


def assert_familiar(r):
    assert r["action"] == "allow" and not r["new_device"], r
    assert "new_device" not in r["reasons"] and not r["notified"], r


def test_a_device_learnt_through_one_node_is_known_through_the_others(
        make_mamorid, postgresql, redis_cluster_shared):
    n1, n2, n3 = nodes_on_both(make_mamorid, postgresql, redis_cluster_shared, 3)
    account = "roamer"
    # The account's first device, then a login from it through every node:
    # each node now holds the profile in memory.
    assert not login(n1, account, "phone")["new_device"]
    for n in (n2, n3):
        assert_familiar(login(n, account, "phone"))

    # Node 1 learns the laptop; nodes 2 and 3 hear of it.
    r = login(n1, account, "laptop")
    assert r["new_device"] and "new_device" in r["reasons"], r
    until_known([n2, n3], account, {"phone", "laptop"})
    assert_familiar(login(n3, account, "laptop"))
    assert_familiar(login(n2, account, "laptop"))

    # And the other way round: node 2 learns the tablet.
    assert login(n2, account, "tablet")["new_device"]
    until_known([n1, n3], account, {"phone", "laptop", "tablet"})
    assert_familiar(login(n1, account, "tablet"))
    assert_familiar(login(n3, account, "tablet"))
    assert stored_devices(postgresql, account) == {"phone", "laptop", "tablet"}


def test_logins_of_one_account_on_two_nodes_at_once_keep_every_device(
        make_mamorid, postgresql, redis_cluster_shared):
    n1, n2 = nodes_on_both(make_mamorid, postgresql, redis_cluster_shared, 2)
    account = "busy"
    login(n1, account, "home")
    assert_familiar(login(n2, account, "home"))
    expected = {"home"}
    problems = []
    for i in range(6):
        # Both nodes learn a device of their own at the same instant, each on
        # the copy it holds: neither has heard of the other's yet.
        start = threading.Barrier(2)

        def one(node, device):
            start.wait()
            r = login(node, account, device)
            if not r["new_device"]:
                problems.append((device, r))

        threads = [threading.Thread(target=one, args=(n, "%s%d" % (side, i)))
                   for n, side in ((n1, "a"), (n2, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expected |= {"a%d" % i, "b%d" % i}
    assert not problems, problems
    # Every answer came after its writes (merged ones too) were committed.
    assert stored_devices(postgresql, account) == expected
    until_known([n1, n2], account, expected)
    for n, device in ((n1, "b5"), (n2, "a5"), (n1, "b0"), (n2, "a0")):
        assert_familiar(login(n, account, device))
