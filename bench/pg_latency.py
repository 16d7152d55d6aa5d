#!/usr/bin/python3
"""What the PostgreSQL store adds to a decision: p50 and p99 of login/attempt
and login/result on a node with [store] backend = "postgresql" against a
node on the embedded store, side by side in one run (rounds alternate
between the two, so both see the same machine load), and PostgreSQL round
trips per decision from the node's own metrics.

  bench/pg_latency.py [--requests N] [--clients C] [--rounds R]

Starts a throw-away PostgreSQL 15 (scripts/postgresql.py, fsync on) and two
mamorid (MAMORID, default build/mamorid) on loopback ports; stops them by
PID at the end. Prints the load average beside the figures."""
import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
os.environ.setdefault("MAMORID", os.path.join(SOURCE, "build", "mamorid"))
os.environ.setdefault("MAMORI_SOURCE_DIR", SOURCE)

import requests  # noqa: E402

from conftest import APP_TOKEN, Mamorid  # noqa: E402
from helpers import metric_sum, parse_metrics  # noqa: E402
from pg_peers import PostgreSQL, store_toml  # noqa: E402

# Thresholds out of reach: every request is judged the same way throughout.
QUIET = {"brute_force": {"threshold": 10000}, "account_under_attack": {"threshold": 10000},
         "ip_failures": {"threshold": 10000, "deny_threshold": 10000},
         "credential_stuffing": {"threshold": 10000, "network_threshold": 10000},
         "network_failures": {"threshold": 10000, "deny_threshold": 10000}}


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def run(node, route, n, clients, seed):
    """n requests over `clients` keep-alive connections; returns the latencies (s)."""
    lat = []
    lock = threading.Lock()
    rng = random.Random(seed)
    bodies = []
    for _ in range(n):
        body = {"account": "u%d" % rng.randrange(10**9),
                "ip": "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))}
        if route == "result":
            body["success"] = rng.random() < 0.5
        bodies.append(body)

    def client(part):
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + APP_TOKEN
        mine = []
        for body in part:
            t0 = time.perf_counter()
            r = s.post(node.url + "/v1/login/" + route, json=body, timeout=10)
            mine.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat


def pg_trips(node):
    m = parse_metrics(requests.get(node.url + "/metrics", timeout=10).text)
    return (metric_sum(m, "mamori_pg_round_trips_total", op="commit"),
            metric_sum(m, "mamori_pg_round_trips_total", op="read"),
            metric_sum(m, "mamori_store_writes_total"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000, help="per route, backend and round")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-fsync", action="store_true",
                    help="PostgreSQL without fsync: the round trip without the disk flush")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mamori-pg-bench-")
    pg = PostgreSQL(fsync=not args.no_fsync)
    nodes = []
    try:
        pg.start()
        for name, extra in (("embedded", ""), ("postgresql", store_toml(pg.url))):
            d = os.path.join(work, name)
            os.makedirs(d)
            nodes.append(Mamorid(d, detections=QUIET, extra_toml=extra).start())
        embedded, onpg = nodes
        lat = {(b, r): [] for b in ("embedded", "postgresql") for r in ("attempt", "result")}
        trips = {}
        for rnd in range(args.rounds):
            for route in ("attempt", "result"):
                order = [("embedded", embedded), ("postgresql", onpg)]
                if rnd % 2:
                    order.reverse()
                for backend, node in order:
                    before = pg_trips(onpg) if backend == "postgresql" else None
                    lat[(backend, route)] += run(node, route, args.requests, args.clients,
                                                 seed=rnd * 7 + len(route))
                    if before:
                        after = pg_trips(onpg)
                        t = trips.setdefault(route, [0, 0, 0, 0])
                        t[0] += after[0] - before[0]
                        t[1] += after[1] - before[1]
                        t[2] += after[2] - before[2]
                        t[3] += args.requests
        print("load average: %.2f %.2f %.2f" % os.getloadavg())
        print("clients %d, %d requests per route and backend, PostgreSQL fsync %s"
              % (args.clients, args.requests * args.rounds, "off" if args.no_fsync else "on"))
        print("%-8s %-11s %9s %9s" % ("route", "backend", "p50 ms", "p99 ms"))
        for route in ("attempt", "result"):
            q = {}
            for backend in ("embedded", "postgresql"):
                v = sorted(lat[(backend, route)])
                q[backend] = (percentile(v, 0.5) * 1e3, percentile(v, 0.99) * 1e3)
                print("%-8s %-11s %9.3f %9.3f" % (route, backend, *q[backend]))
            print("%-8s %-11s %+9.3f %+9.3f" % (route, "added", q["postgresql"][0] - q["embedded"][0],
                                               q["postgresql"][1] - q["embedded"][1]))
        for route, (commits, reads, writes, n) in trips.items():
            print("login/%s: %.3f commit round trips, %.3f read round trips, %.2f writes per "
                  "decision" % (route, commits / n, reads / n, writes / n))
    finally:
        for n in nodes:
            n.stop()
        pg.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
