"""TLS to Redis ([redis] tls = true, ca_file, cert_file, key_file,
server_name): nodes share their hot state over a TLS-only Redis Cluster
(scripts/redis_cluster.py --tls: clients, replication and the cluster bus on
TLS, certificates made with `openssl req` in the test's directory); a node
given the wrong CA refuses the servers with a clear error and decides on its
own counts; bad TLS settings stop a node at start."""
import os
import subprocess
import time

import pytest

import redis_peers
from helpers import metric_sum
from peers import wait_until
from redis_peers import baseline, metrics, redis_toml, settle

DETECTIONS = {"brute_force": {"threshold": 6}}


@pytest.fixture
def tls_cluster(tmp_path):
    c = redis_peers.RedisCluster(str(tmp_path / "redis"), node_timeout_ms=2000, tls=True).start()
    yield c
    c.stop()


def tls_toml(ca, cert=None, key=None, server_name=None):
    lines = ['tls = true', 'ca_file = "%s"' % ca]
    if cert:
        lines += ['cert_file = "%s"' % cert, 'key_file = "%s"' % key]
    if server_name:
        lines.append('server_name = "%s"' % server_name)
    return "\n".join(lines) + "\n"


def test_nodes_share_their_hot_state_over_a_tls_only_cluster(make_mamorid, tls_cluster):
    certs = tls_cluster.certs
    # The servers' plain port is off: only TLS answers.
    with pytest.raises(Exception):
        redis_peers.redis_cluster.command(tls_cluster.ports[0], "PING")
    extra = redis_toml(tls_cluster, "tls", tls_toml(certs["ca.crt"], certs["redis.crt"],
                                                     certs["redis.key"]))
    # One node checks the certificates' IP address (the default), the other a name.
    nodes = [make_mamorid("tls1", detections=DETECTIONS, extra_toml=extra),
             make_mamorid("tls2", detections=DETECTIONS, extra_toml=extra.replace(
                 "tls = true\n", 'tls = true\nserver_name = "localhost"\n'))]
    base = baseline(nodes)
    answers = []
    for i in range(6):
        settle(nodes, i, base)
        answers.append(nodes[i % 2].result("tls-victim", "192.0.2.140", False, pwhash="t%d" % i))
    assert [a["action"] for a in answers] == ["allow"] * 5 + ["deny"], answers
    assert "brute_force" in answers[-1]["reasons"]
    for m in nodes:
        s = metrics(m)
        assert metric_sum(s, "mamori_redis_degraded") == 0
        assert metric_sum(s, "mamori_hot_state_observations_total", what="applied") >= 2
    # Written through TLS: the streams are in the cluster (the last answer's
    # observation is published at its node's next interval).
    def stream_lengths():
        return [tls_cluster.command(tls_cluster.primary_of(
            tls_cluster.command(tls_cluster.ports[0], "CLUSTER", "KEYSLOT", "tls:obs:{%d}" % s)),
            "XLEN", "tls:obs:{%d}" % s) for s in range(16)]
    wait_until(lambda: sum(stream_lengths()) >= 6, timeout=10,
               what="the six observations in the cluster's streams")


def test_a_node_with_the_wrong_ca_refuses_the_servers(make_mamorid, tls_cluster, tmp_path):
    other = redis_peers.redis_cluster.make_certs(str(tmp_path / "other-ca"))
    certs = tls_cluster.certs
    m = make_mamorid("wrong-ca", detections=DETECTIONS, extra_toml=redis_toml(
        tls_cluster, "wrong", tls_toml(other["ca.crt"], certs["redis.crt"], certs["redis.key"])))
    deadline = time.monotonic() + 20
    while "certificate verify failed" not in m.read_log_all():
        assert time.monotonic() < deadline, m.read_log_all()[-2000:]
        time.sleep(0.05)
    log = m.read_log_all()
    assert "TLS handshake failed: certificate verify failed: " in log, log[-2000:]
    assert "redis: hot state not shared (" in log, log[-2000:]
    # It keeps deciding on its own counts, and says it is not sharing.
    assert metric_sum(metrics(m), "mamori_redis_degraded") == 1
    for i in range(6):
        a = m.result("wrong-ca-victim", "192.0.2.141", False, pwhash="w%d" % i)
    assert a["action"] == "deny" and "brute_force" in a["reasons"], a
    assert metric_sum(metrics(m), "mamori_redis_degraded") == 1
    # A server name its certificate does not carry is refused too.
    n = make_mamorid("wrong-name", extra_toml=redis_toml(tls_cluster, "wrong-name", tls_toml(
        certs["ca.crt"], certs["redis.crt"], certs["redis.key"], server_name="redis.example")))
    deadline = time.monotonic() + 20
    while "TLS handshake failed" not in n.read_log_all():
        assert time.monotonic() < deadline, n.read_log_all()[-2000:]
        time.sleep(0.05)
    assert metric_sum(metrics(n), "mamori_redis_degraded") == 1


def check_config(make_mamorid, extra):
    m = make_mamorid(start=False, extra_toml=extra)
    return subprocess.run([os.environ.get("MAMORID", "mamorid"), "--config", m.config_path,
                           "--check-config"], capture_output=True, text=True, timeout=30)


def test_bad_tls_settings_stop_a_node_at_start(make_mamorid, tmp_path):
    nodes = '[state]\nbackend = "redis"\n\n[redis]\nnodes = ["127.0.0.1:7000"]\n'
    missing = tmp_path / "missing-ca.crt"
    p = check_config(make_mamorid, nodes + tls_toml(str(missing)))
    assert p.returncode != 0
    assert "redis.tls" in p.stderr and str(missing) in p.stderr, p.stderr
    not_pem = tmp_path / "not-a-cert.pem"
    not_pem.write_text("hello\n")
    p = check_config(make_mamorid, nodes + 'tls = true\ncert_file = "%s"\nkey_file = "%s"\n'
                     % (not_pem, not_pem))
    assert p.returncode != 0 and "redis.tls" in p.stderr and str(not_pem) in p.stderr, p.stderr
    p = check_config(make_mamorid, nodes + 'ca_file = "%s"\n' % not_pem)
    assert p.returncode != 0 and "need tls = true" in p.stderr, p.stderr
