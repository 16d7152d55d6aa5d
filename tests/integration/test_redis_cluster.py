"""Many nodes: three mamorid nodes share their hot state over a real Redis Cluster
(six redis-server, three primaries and three replicas). An attack spread round-robin
over the nodes is caught at the same request as on one node, when each request comes
after the previous one's observation has been shared (settle(): about two sync
intervals, 2 x 50 ms here); a primary killed under load leaves every node answering;
a restarted node needs no warm-up."""
import os
import threading
import time

import redis_peers
from helpers import metric_sum
from redis_peers import (baseline, make_nodes, metrics, redis_cluster_own,  # noqa: F401
                         redis_cluster_shared, settle)

# Small thresholds keep the runs short; one node and three judge by the same ones.
DETECTIONS = {
    "credential_stuffing": {"threshold": 8, "network_threshold": 12},
    "brute_force": {"threshold": 6},
    "password_spray": {"threshold": 5},
    "mail_volume": {"threshold": 60},
    "message_fanout": {"threshold": 12},
}


def run_scenario(nodes, steps, shared):
    """Sends `steps` (callables taking a node, returning (answer, observations made)),
    step i to node i % len(nodes); with `shared`, waits for the hot state to be shared
    before each step. Returns the answers' (action, reasons)."""
    answers, produced = [], 0
    for i, step in enumerate(steps):
        if shared:
            settle(nodes, produced)
        answer, made = step(nodes[i % len(nodes)])
        produced += made
        answers.append((answer["action"], tuple(sorted(answer["reasons"]))))
    return answers


def first_refusal(answers):
    for i, (action, reasons) in enumerate(answers):
        if action != "allow":
            return i, action, reasons
    return None


def failed(account, ip, pwhash=None):
    def step(m):
        fields = {"pwhash": pwhash} if pwhash else {}
        return m.result(account, ip, False, **fields), 1
    return step


def mail(account, ip, recipients):
    def step(m):
        a = m.event("mail_sent", account, ip, recipients=recipients)
        return a, (1 if a["action"] == "allow" else 0)
    return step


def message(account, ip, recipients):
    def step(m):
        return m.event("message_sent", account, ip, recipients=recipients), 1
    return step


def one_node_and_three(make_mamorid, cluster, steps):
    """The same steps on one node (the embedded backend) and round-robin on three."""
    single = make_mamorid("single", detections=DETECTIONS)
    alone = run_scenario([single], steps, shared=False)
    nodes = make_nodes(make_mamorid, cluster, 3, detections=DETECTIONS)
    spread = run_scenario(nodes, steps, shared=True)
    return alone, spread, nodes


def assert_caught_as_on_one_node(alone, spread, reason):
    want = first_refusal(alone)
    assert want is not None and reason in want[2], alone
    assert first_refusal(spread) == want, (alone, spread)
    # Every later step is refused on whichever node it reaches.
    for i in range(want[0], len(spread)):
        assert spread[i][0] != "allow", (i, spread)


def test_s3_stuffing_from_one_ip_round_robin(make_mamorid, redis_cluster_shared):
    steps = [failed("cs1-user-%02d" % i, "203.0.113.77", "leak-%d" % i) for i in range(14)]
    alone, spread, _ = one_node_and_three(make_mamorid, redis_cluster_shared, steps)
    assert_caught_as_on_one_node(alone, spread, "credential_stuffing")
    assert first_refusal(spread)[0] == 7  # the 8th distinct account


def test_s3_stuffing_from_one_24_round_robin(make_mamorid, redis_cluster_shared):
    # Each address fails once (no per-IP count): only the /24 adds up.
    steps = [failed("cs24-user-%02d" % i, "198.51.100.%d" % (10 + i), "leak-%d" % i)
             for i in range(18)]
    alone, spread, _ = one_node_and_three(make_mamorid, redis_cluster_shared, steps)
    assert_caught_as_on_one_node(alone, spread, "credential_stuffing")
    assert first_refusal(spread)[0] == 11  # the 12th account from the network


def test_s4_brute_force_round_robin(make_mamorid, redis_cluster_shared):
    steps = [failed("bf-victim", "192.0.2.44", "guess-%d" % i) for i in range(10)]
    alone, spread, _ = one_node_and_three(make_mamorid, redis_cluster_shared, steps)
    assert_caught_as_on_one_node(alone, spread, "brute_force")
    assert first_refusal(spread)[0] == 5


def test_password_spray_round_robin(make_mamorid, redis_cluster_shared):
    # One password on many accounts, each from an address in another /16.
    steps = [failed("ps-user-%02d" % i, "10.%d.0.1" % (i + 1), "Summer2026!") for i in range(9)]
    alone, spread, _ = one_node_and_three(make_mamorid, redis_cluster_shared, steps)
    assert_caught_as_on_one_node(alone, spread, "password_spray")
    assert first_refusal(spread)[0] == 4


def test_mail_quota_round_robin(make_mamorid, redis_cluster_shared):
    steps = [mail("newsletter-shop", "192.0.2.%d" % (i + 1), 10) for i in range(9)]
    alone, spread, _ = one_node_and_three(make_mamorid, redis_cluster_shared, steps)
    assert_caught_as_on_one_node(alone, spread, "mail_volume")
    assert first_refusal(spread)[0] == 6  # 60 recipients sent, the 7th send is over


def test_message_fanout_round_robin(make_mamorid, redis_cluster_shared):
    # Two new recipients a message and one already counted: distinct ones add up.
    steps = [message("fan-user", "192.0.2.%d" % (30 + i),
                     ["friend-%d" % (2 * i), "friend-%d" % (2 * i + 1), "friend-0"])
             for i in range(9)]
    alone, spread, _ = one_node_and_three(make_mamorid, redis_cluster_shared, steps)
    assert_caught_as_on_one_node(alone, spread, "message_fanout")
    assert first_refusal(spread)[0] == 5  # 12 distinct recipients


def test_without_sharing_the_spread_attack_is_missed(make_mamorid, redis_cluster_shared):
    """The control: three nodes on the memory backend see a third each and miss it."""
    nodes = [make_mamorid("solo%d" % i, detections=DETECTIONS) for i in range(3)]
    steps = [failed("bf-solo", "192.0.2.45", "guess-%d" % i) for i in range(10)]
    spread = run_scenario(nodes, steps, shared=False)
    assert first_refusal(spread) is None, spread


def test_restarted_node_judges_the_attack_as_if_it_had_not(make_mamorid, redis_cluster_shared):
    nodes = make_nodes(make_mamorid, redis_cluster_shared, 2, detections=DETECTIONS)
    produced = 0
    for i in range(5):  # brute_force threshold 6: one short
        settle(nodes, produced)
        assert nodes[i % 2].result("rs-victim", "192.0.2.90", False, pwhash="g%d" % i)["action"] == "allow"
        produced += 1
    settle(nodes, produced)
    nodes[1].kill9()
    nodes[1].start()  # a new node id: it replays every observation, its own too
    log = nodes[1].read_log_all()
    assert "hot state replayed from the cluster: " in log, log[-2000:]
    a = nodes[1].result("rs-victim", "192.0.2.90", False, pwhash="g5")
    assert a["action"] == "deny" and "brute_force" in a["reasons"], a


def test_primary_killed_under_load_every_node_keeps_answering(make_mamorid, redis_cluster_own):
    cluster = redis_cluster_own
    nodes = make_nodes(make_mamorid, cluster, 3, detections=DETECTIONS)
    answers, problems = [], []
    stop = threading.Event()

    def load(m, n):
        i = 0
        while not stop.is_set():
            try:
                r = m.app("POST", "/v1/login/result",
                          dict(account="load-%d-%d" % (n, i % 50), ip="100.64.%d.%d" % (n, i % 200),
                               success=False, pwhash="p%d" % i))
                answers.append(r.status_code)
                if r.status_code != 200:
                    problems.append((n, r.status_code, r.text[:200]))
            except Exception as e:  # a refused connection or a timeout is a failure too
                problems.append((n, repr(e)))
            i += 1

    threads = [threading.Thread(target=load, args=(m, n)) for n, m in enumerate(nodes)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 10
        while len(answers) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = cluster.primary_of(0)
        cluster.kill9(victim)
        # The replica is promoted (cluster-node-timeout 2 s) and the slots move to it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and cluster.primary_of(0) == victim:
            time.sleep(0.05)
        assert cluster.primary_of(0) != victim, "no failover"
        cluster.wait_healthy()
        # Load goes on until every node shares its state again.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
                metric_sum(metrics(m), "mamori_redis_degraded") != 0 for m in nodes):
            time.sleep(0.05)
        during = len(answers)
        deadline = time.monotonic() + 10  # answers after the recovery too
        while len(answers) < during + 30 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not problems, problems[:5]
    assert len(answers) > during > 150, (len(answers), during)
    samples = [metrics(m) for m in nodes]
    assert all(metric_sum(s, "mamori_redis_degraded") == 0 for s in samples)
    assert sum(metric_sum(s, "mamori_redis_failovers_total") for s in samples) >= 1, samples
    # Six of the 16 streams were on the killed primary: every node went degraded
    # for the failover, said so once, and said when it was sharing again.
    for m, s in zip(nodes, samples):
        assert metric_sum(s, "mamori_redis_degraded_episodes_total") >= 1
        log = m.read_log_all()
        assert "redis: hot state not shared (" in log, log[-2000:]
        assert log.rindex("redis: hot state shared again") > log.index("redis: hot state not shared ("), log[-2000:]
    # Every node still shares: a brute force spread over them is caught as before.
    deadline = time.monotonic() + 20  # the load's last batches published
    while time.monotonic() < deadline and any(
            metric_sum(metrics(m), "mamori_hot_state_observations_queued") for m in nodes):
        time.sleep(0.01)
    # The load's last batches read by every node: the counts stop moving for
    # three sync intervals (a batch the killed primary lost is never read, so
    # "everything published was applied" may never hold). A late batch would
    # otherwise count as one of the next failures' below.
    deadline, last, still_since = time.monotonic() + 20, None, time.monotonic()
    while True:
        now = baseline(nodes)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= 0.3:
            break
        assert time.monotonic() < deadline, "the nodes' counts kept moving: %s" % now
        time.sleep(0.02)
    base = baseline(nodes)
    after = []
    for i in range(6):
        settle(nodes, i, base, timeout=20)
        r = nodes[i % 3].result("after-failover", "192.0.2.99", False, pwhash="x%d" % i)
        after.append(r["action"])
    assert after == ["allow"] * 5 + ["deny"], after


def test_sharing_follows_a_slot_migrating_then_moved(make_mamorid, redis_cluster_own):
    """A stream's slot migrated to another primary: while it migrates the node
    follows ASK (with ASKING), once it has moved it follows MOVED and reads the
    slot map again; the attack spread over the nodes is caught as before."""
    cluster = redis_cluster_own
    command = redis_peers.redis_cluster.command
    prefix = "mig"
    nodes = make_nodes(make_mamorid, cluster, 2, detections=DETECTIONS, prefix=prefix)
    base = baseline(nodes)
    answers = []

    def step():
        i = len(answers)
        settle(nodes, i, base)
        answers.append(nodes[i % 2].result("mig-victim", "192.0.2.120", False, pwhash="m%d" % i)["action"])

    step()
    step()
    key = "%s:obs:{0}" % prefix
    slot = command(cluster.ports[0], "CLUSTER", "KEYSLOT", key)
    src = cluster.primary_of(slot)
    dst = next(p for p in set(cluster.primaries().values()) if p != src)
    src_id = command(src, "CLUSTER", "MYID").decode()
    dst_id = command(dst, "CLUSTER", "MYID").decode()
    command(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    keys = command(src, "CLUSTER", "GETKEYSINSLOT", slot, 1000)
    assert key.encode() in keys, keys
    command(src, "MIGRATE", "127.0.0.1", dst, "", 0, 5000, "KEYS", *keys)
    step()
    step()
    assert sum(metric_sum(metrics(m), "mamori_redis_redirects_total", kind="ask") for m in nodes) > 0
    for p in set(cluster.primaries().values()):
        command(p, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    step()
    step()
    assert sum(metric_sum(metrics(m), "mamori_redis_redirects_total", kind="moved") for m in nodes) > 0
    assert answers == ["allow"] * 5 + ["deny"], answers


def observation_kinds(blob):
    """The kinds of the observations in a batch (src/state/observation.h's form)."""
    kinds, at = set(), 0
    while at < len(blob):
        start = at
        kinds.add(blob[at])
        at += 1 + 8
        at += 1 + (4 if blob[at] == 4 else 16)
        for _ in range(4):  # account, pwhash, fingerprint, country
            at += 2 + int.from_bytes(blob[at:at + 2], "little")
        count = int.from_bytes(blob[at + 4:at + 8], "little")
        at += 8  # asn, count
        if blob[start] == 5:  # a message: its recipients
            for _ in range(count):
                at += 2 + int.from_bytes(blob[at:at + 2], "little")
    assert at == len(blob)
    return kinds


def test_successes_have_streams_of_their_own(make_mamorid, redis_cluster_shared):
    """Successful logins, most of the traffic, go to streams kept only as long as
    the windows that count them (an hour by default, not the day failures are kept)."""
    command = redis_peers.redis_cluster.command
    prefix = "fam-%d" % os.getpid()
    nodes = make_nodes(make_mamorid, redis_cluster_shared, 2, detections=DETECTIONS, prefix=prefix)
    for i in range(4):
        nodes[i % 2].result("fam-ok-%d" % i, "192.0.2.%d" % (150 + i), True)
        nodes[i % 2].result("fam-bad-%d" % i, "192.0.2.%d" % (160 + i), False)
    settle(nodes, 8)
    kinds = {"obs": set(), "ok": set()}
    for family in kinds:
        for shard in range(16):
            key = "%s:%s:{%d}" % (prefix, family, shard)
            port = redis_cluster_shared.primary_of(command(redis_cluster_shared.ports[0], "CLUSTER", "KEYSLOT", key))
            for _, fields in command(port, "XRANGE", key, "-", "+"):
                blob = dict(zip(fields[::2], fields[1::2]))[b"d"]
                kinds[family] |= observation_kinds(blob)
    assert kinds == {"obs": {1}, "ok": {2}}, kinds
