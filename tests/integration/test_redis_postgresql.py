"""Nodes with both shared backends: the hot windows over a Redis Cluster
([state] backend = "redis") and the durable records in PostgreSQL
([store] backend = "postgresql"). A lock written through one node is enforced
by the other through PostgreSQL, failures spread over both are counted
through Redis and the block they bring is enforced everywhere, and a
restarted node starts from the database."""
import time

from helpers import assert_decision, metric_sum, parse_metrics
from pg_peers import postgresql, store_toml  # noqa: F401 (fixture)
from redis_peers import redis_cluster_own, redis_toml  # noqa: F401 (fixture)


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
