"""A real Redis Cluster (scripts/redis_cluster.py: six redis-server on loopback
ports, three primaries and three replicas) and mamorid nodes sharing their hot
state over it. Every process is stopped by PID in teardown."""
import importlib.util
import itertools
import os
import time

import pytest

from conftest import SOURCE_DIR
from helpers import metric_sum, parse_metrics

_spec = importlib.util.spec_from_file_location(
    "redis_cluster", os.path.join(SOURCE_DIR, "scripts", "redis_cluster.py"))
redis_cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(redis_cluster)
RedisCluster = redis_cluster.RedisCluster

SYNC_EVERY_MS = 50
_prefixes = itertools.count()


def start_cluster(directory):
    return RedisCluster(str(directory), node_timeout_ms=2000).start()


@pytest.fixture(scope="module")
def redis_cluster_shared(tmp_path_factory):
    """One cluster for a module's tests; each test writes under its own key prefix."""
    c = start_cluster(tmp_path_factory.mktemp("redis"))
    yield c
    c.stop()


@pytest.fixture
def redis_cluster_own(tmp_path):
    """A cluster of the test's own (for tests that kill its servers)."""
    c = start_cluster(tmp_path / "redis")
    yield c
    c.stop()


def redis_toml(cluster, prefix, extra=""):
    nodes = ", ".join('"%s"' % n for n in cluster.nodes[:3])
    return ('[state]\nbackend = "redis"\n\n[redis]\nnodes = [%s]\nkey_prefix = "%s"\n'
            'sync_every = "%dms"\n%s\n' % (nodes, prefix, SYNC_EVERY_MS, extra))


def make_nodes(make_mamorid, cluster, count, detections=None, prefix=None):
    """`count` mamorid nodes, each with its own data dir, sharing hot state under one prefix."""
    prefix = prefix or "t%d-%d" % (os.getpid(), next(_prefixes))
    return [make_mamorid("node%d" % i, detections=detections,
                         extra_toml=redis_toml(cluster, prefix)) for i in range(count)]


def metrics(m):
    return parse_metrics(m.session.get(m.url + "/metrics", timeout=10).text)


def observations(m, what):
    return metric_sum(metrics(m), "mamori_hot_state_observations_total", what=what)


def baseline(nodes):
    """What the nodes have published and applied so far, for settle()."""
    return [(observations(m, "published"), observations(m, "applied")) for m in nodes]


def settle(nodes, produced, base=None, timeout=10.0):
    """Waits until the nodes have published the `produced` observations their events
    made since `base` (a failed login result, a counted send: one each; base None:
    since they started) and every node has applied the others', so the next request
    on any node is judged on all the traffic so far, as on one node."""
    base = base or [(0.0, 0.0)] * len(nodes)
    deadline = time.monotonic() + timeout
    while True:
        now = baseline(nodes)
        published = [now[i][0] - base[i][0] for i in range(len(nodes))]
        applied = [now[i][1] - base[i][1] for i in range(len(nodes))]
        total = sum(published)
        if total >= produced and all(applied[i] >= total - published[i] for i in range(len(nodes))):
            return
        if time.monotonic() > deadline:
            raise AssertionError("hot state not shared within %ss: published %s, applied %s"
                                 % (timeout, published, applied))
        time.sleep(0.01)
