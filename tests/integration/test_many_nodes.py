"""The whole picture: three mamorid nodes on one Redis Cluster (six
redis-server) and one PostgreSQL 15, under a steady load of login attempts,
login results and account events spread round-robin over the nodes. A Redis
primary is killed (its replica takes over: every node keeps answering, no
attempt fails), then PostgreSQL is stopped (writes are answered 503
store_unavailable, never an ok; attempts and cached reads go on) and started
again (every node recovers by itself). At the end every acknowledged write is
in PostgreSQL and a lock made on node 1 during the run is enforced on node 3.

Every wait polls with a deadline; nothing is timed."""
import itertools
import threading
import time

from helpers import metric_sum
from pg_peers import postgresql, store_toml  # noqa: F401 (fixture)
from redis_peers import metrics, redis_cluster_own, redis_toml  # noqa: F401 (fixture)


def until(what, check, within):
    deadline = time.monotonic() + within
    while True:
        v = check()
        if v:
            return v
        assert time.monotonic() < deadline, "%s: not within %.0f s" % (what, within)
        time.sleep(0.02)


class Load:
    """Threads that send, round-robin over the nodes, a login attempt (allowed:
    it writes nothing), then a login result or an account event (each a write,
    its activity entry), and keep what each answer said."""

    def __init__(self, nodes, threads=3):
        self.nodes = nodes
        self.counter = itertools.count()
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged = {}  # event_id -> (account, node index)
        self.refused = 0  # writes answered 503 store_unavailable
        self.attempts = 0
        self.problems = []
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()

    def counts(self):
        with self.lock:
            return len(self.acknowledged), self.refused, self.attempts

    def write(self, n, node, i):
        account = "load-%d" % (i % 97)
        ip = "100.64.%d.%d" % (i % 7, i % 211)
        if i % 3 == 2:
            body = dict(type="logout", account=account, ip=ip)
            path = "/v1/events"
        else:
            # Successes: no detection refuses the load's own attempts (a
            # refused attempt is recorded in the activity log, a write).
            body = dict(account=account, ip=ip, success=True)
            path = "/v1/login/result"
        r = node.app("POST", path, body)
        if r.status_code == 200:
            with self.lock:
                self.acknowledged[r.json()["event_id"]] = (account, n)
        elif r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable":
            with self.lock:
                self.refused += 1
        else:
            self.problems.append((n, path, r.status_code, r.text[:200]))

    def run(self):
        while not self.stop_flag.is_set():
            i = next(self.counter)
            n = i % len(self.nodes)
            node = self.nodes[n]
            try:
                r = node.app("POST", "/v1/login/attempt",
                             dict(account="load-%d" % (i % 97), ip="100.64.%d.%d" % (i % 7, i % 211)))
                if r.status_code != 200:
                    self.problems.append((n, "attempt", r.status_code, r.text[:200]))
                with self.lock:
                    self.attempts += 1
                self.write(n, node, i)
            except Exception as e:  # a refused connection or a timeout is a failure too
                self.problems.append((n, repr(e)))


def test_three_nodes_through_a_redis_failover_and_a_postgresql_outage(make_mamorid, postgresql,
                                                                      redis_cluster_own):
    pg, cluster = postgresql, redis_cluster_own
    extra = store_toml(pg.url) + redis_toml(cluster, "whole")
    nodes = [make_mamorid("node%d" % i, extra_toml=extra) for i in (1, 2, 3)]
    n1, n3 = nodes[0], nodes[2]
    load = Load(nodes).start()
    try:
        until("load under way", lambda: load.counts()[0] >= 150, 30)

        # A lock on node 1 during the run.
        r = n1.admin("POST", "/v1/accounts/whole-locked/lock", {"reason": "support"})
        assert r.status_code == 200, r.text

        # ---- a Redis primary killed: its replica takes over ----
        victim = cluster.primary_of(0)
        cluster.kill9(victim)
        until("failover", lambda: cluster.primary_of(0) != victim, 30)
        cluster.wait_healthy()
        until("every node sharing again",
              lambda: all(metric_sum(metrics(m), "mamori_redis_degraded") == 0 for m in nodes), 30)
        acked = load.counts()[0]
        until("load after the failover", lambda: load.counts()[0] >= acked + 60, 30)
        assert sum(metric_sum(metrics(m), "mamori_redis_failovers_total") for m in nodes) >= 1
        assert load.counts()[1] == 0, "a write refused while PostgreSQL was up"

        # ---- PostgreSQL stopped: writes refused, attempts and reads go on ----
        pg.stop()
        refused = load.counts()[1]
        until("writes refused", lambda: load.counts()[1] >= refused + 30, 30)
        until("every node sees PostgreSQL down",
              lambda: all(metric_sum(metrics(m), "mamori_pg_available") == 0 for m in nodes), 30)
        acked, _, attempts = load.counts()
        until("attempts while PostgreSQL is down", lambda: load.counts()[2] >= attempts + 30, 30)
        for m in nodes:  # cached reads: the lock made on node 1
            r = m.admin("GET", "/v1/blocked")
            assert r.status_code == 200, r.text
            assert "whole-locked" in [a["account"] for a in r.json()["locked_accounts"]]

        # ---- started again: every node recovers by itself ----
        pg.start()
        until("every node stores again",
              lambda: all(metric_sum(metrics(m), "mamori_pg_available") == 1 for m in nodes), 30)
        acked = load.counts()[0]
        until("writes acknowledged again", lambda: load.counts()[0] >= acked + 60, 30)
    finally:
        load.stop()

    assert not load.problems, load.problems[:5]
    acknowledged, refused, attempts = load.counts()
    assert refused >= 30 and attempts > acknowledged, (acknowledged, refused, attempts)
    # Every acknowledged write is in PostgreSQL, whichever node took it.
    stored = {r[0] for r in pg.psql("SELECT event_id FROM activity")}
    missing = set(load.acknowledged) - stored
    assert not missing, "%d of %d acknowledged writes lost, e.g. %s" % (
        len(missing), acknowledged, sorted(missing)[:3])
    by_node = {n: sum(1 for _, m in load.acknowledged.values() if m == n) for n in range(3)}
    assert all(by_node[n] > 0 for n in range(3)), by_node
    # The lock made on node 1 is enforced on node 3, and is in PostgreSQL.
    d = n3.attempt("whole-locked", "192.0.2.50")
    assert d["action"] == "deny" and "account_locked" in d["reasons"], d
    assert pg.value("SELECT locked FROM accounts WHERE account = 'whole-locked'") == "t"
    for m in nodes:
        s = metrics(m)
        assert metric_sum(s, "mamori_redis_degraded") == 0
        assert metric_sum(s, "mamori_pg_available") == 1
        assert "connected again" in m.read_log_all()
