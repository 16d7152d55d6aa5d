"""Hot state under a flood (issue 17, defect 5): with a small hot-state budget, a
flood of one-shot failures from many addresses of one IPv6 /64 evicted alice's
brute-force count, so her attacker was denied at the 19th wrong password
instead of the 10th, and the flood itself was never blocked.

The flood here is sent over many keep-alive connections, each with its
requests pipelined, so that it turns the smallest budget over several times
in a few seconds."""
import json
import socket
import selectors
import time

from conftest import APP_TOKEN
from helpers import assert_allow, assert_decision, get_json, metric_sum, parse_metrics

FLOOD_NETWORK = "2001:db8:77:1::/64"
ATTACKER = "203.0.113.5"


def flood_ip(i):
    """The (i+1)th address of FLOOD_NETWORK, for i below 2**32 - 1."""
    return "2001:db8:77:1::%x:%x" % ((i + 1) >> 16, (i + 1) & 0xffff)


def metrics(m):
    r = m.request("GET", "/metrics", None)
    assert r.status_code == 200, r.text
    return parse_metrics(r.text)


def _request(port, path, body):
    data = json.dumps(body).encode()
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (path, port, APP_TOKEN, len(data)))
    return head.encode() + data


def _take_response(buf):
    """(status, body, rest) for the first whole response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if len(buf) < end + 4 + length:
        return None
    status = int(head[0].split(" ")[1])
    return status, buf[end + 4:end + 4 + length], buf[end + 4 + length:]


def pipelined(m, path, bodies, connections=16, timeout=120):
    """POSTs each body to `path` over `connections` keep-alive connections,
    each sending all of its requests at once (pipelined) and reading the
    answers in order. Returns, for each connection, the list of
    (index into bodies, parsed answer) in the order it was answered."""
    port = m.port
    sel = selectors.DefaultSelector()
    conns = []
    for c in range(connections):
        idx = list(range(c, len(bodies), connections))
        if not idx:
            continue
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        state = {"sock": s, "idx": idx, "out": b"".join(_request(port, path, bodies[i]) for i in idx),
                 "sent": 0, "in": b"", "answers": []}
        conns.append(state)
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, state)
    deadline = time.monotonic() + timeout
    open_conns = len(conns)
    try:
        while open_conns:
            assert time.monotonic() < deadline, "the flood was not answered within %d s" % timeout
            for key, events in sel.select(timeout=1):
                st = key.data
                if events & selectors.EVENT_WRITE and st["sent"] < len(st["out"]):
                    try:
                        st["sent"] += st["sock"].send(st["out"][st["sent"]:st["sent"] + (1 << 16)])
                    except BlockingIOError:
                        pass
                    if st["sent"] == len(st["out"]):
                        sel.modify(st["sock"], selectors.EVENT_READ, st)
                if events & selectors.EVENT_READ:
                    try:
                        chunk = st["sock"].recv(1 << 16)
                    except BlockingIOError:
                        continue
                    assert chunk, "mamorid closed a connection after %d of %d answers" % (
                        len(st["answers"]), len(st["idx"]))
                    st["in"] += chunk
                    while True:
                        r = _take_response(st["in"])
                        if r is None:
                            break
                        status, body, st["in"] = r
                        i = st["idx"][len(st["answers"])]
                        assert status == 200, "request %d: %d %s" % (i, status, body[:200])
                        st["answers"].append((i, json.loads(body)))
                    if len(st["answers"]) == len(st["idx"]):
                        sel.unregister(st["sock"])
                        open_conns -= 1
    finally:
        for st in conns:
            st["sock"].close()
        sel.close()
    return [st["answers"] for st in conns]


def test_a_flood_from_one_slash64_neither_resets_a_brute_force_count_nor_goes_unblocked(
        make_mamorid):
    # The smallest budget the config allows: 1 MiB holds the windows of about
    # 5,000 flood addresses.
    m = make_mamorid(extra_toml="[state]\nmemory_budget_mb = 1\n")
    for i in range(9):
        assert_allow(m.result("alice", ATTACKER, False, pwhash="guess-%d" % i),
                     "alice's failure %d" % (i + 1))
    before = metrics(m)

    # 30,000 one-shot failures on a dummy account, each from a new address of
    # one /64.
    n = 30000
    bodies = [dict(account="flood-dummy", ip=flood_ip(i), success=False) for i in range(n)]
    per_connection = pipelined(m, "/v1/login/result", bodies)
    after = metrics(m)

    # The flood turned the budget over several times: what the hot state
    # holds now was evicted more than three times over.
    entries = metric_sum(after, "mamori_hot_state_entries")
    evicted = (metric_sum(after, "mamori_hot_state_evictions_total")
               - metric_sum(before, "mamori_hot_state_evictions_total"))
    assert metric_sum(after, "mamori_hot_state_budget_bytes") == 1 << 20
    assert metric_sum(after, "mamori_hot_state_bytes") <= 1 << 20
    assert entries > 0 and evicted > 3 * entries, (evicted, entries)

    # Alice's count survived it: her attacker is denied at the 10th failure.
    assert_decision(m.result("alice", ATTACKER, False, pwhash="guess-9"), "deny", "brute_force",
                    "alice's 10th failure after the flood")
    assert_decision(m.attempt("alice", ATTACKER), "deny", "brute_force", "the attacker's next attempt")
    assert_allow(m.attempt("alice", "198.51.100.20"), "alice from elsewhere")

    # The flood was delayed from its 2,000th counted failure and denied from
    # its 10,000th (network_failures' defaults; the network's first address
    # is not counted): on each connection no answer, then delay, then deny.
    # Across the two worker threads the counts may differ by the failures in
    # flight when a block was set.
    plain = delayed = denied = 0
    for answers in per_connection:
        stage = 0
        for i, a in answers:
            if "network_failures" not in a["reasons"]:
                now = 0
                plain += 1
            elif a["action"] != "deny":
                # delay, or challenge: the dummy account is under attack too
                assert a["action"] in ("delay", "challenge"), (i, a)
                now = 1
                delayed += 1
            else:
                now = 2
                denied += 1
            assert now >= stage, "flood failure %d went back from stage %d to %d: %r" % (i, stage, now, a)
            stage = now
    assert plain + delayed + denied == n
    assert 1990 <= plain <= 2000, (plain, delayed, denied)
    assert 7950 <= delayed <= 8010, (plain, delayed, denied)
    assert 19990 <= denied <= 20050, (plain, delayed, denied)

    # Every address of the network is denied now, for any account; other
    # networks are not.
    assert_decision(m.attempt("bob", "2001:db8:77:1::beef"), "deny", "network_failures")
    assert_allow(m.attempt("bob", "2001:db8:77:2::1"), "the neighbouring /64")
    blocks = get_json(m, "/v1/blocked")["blocks"]
    net = [b for b in blocks if b["reason"] == "network_failures" and b["target"] == FLOOD_NETWORK]
    assert {b["scope"] for b in net} == {"network", "network_delay"}, blocks
    assert metric_sum(after, "mamori_decisions_total", action="deny", reason="network_failures") >= 19990
