#!/usr/bin/python3
"""A Redis Cluster of six redis-server processes (three primaries, three
replicas) on loopback ports, for the integration tests and the bench.

  scripts/redis_cluster.py start DIR [--base-port P] [--node-timeout MS]
      starts the servers under DIR (one sub-directory each), creates the
      cluster with `redis-cli --cluster create --cluster-replicas 1`, waits for
      cluster_state:ok, writes DIR/cluster.json (ports and PIDs) and prints
      the nodes, "127.0.0.1:P" one a line
  scripts/redis_cluster.py stop DIR
      stops every server of DIR/cluster.json by its PID

Imported, RedisCluster does the same from Python (tests/integration/redis_peers.py).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"


def command(port, *args, timeout=2.0):
    """Sends one command over RESP and returns its reply (bytes, int, list,
    None; an error reply raises RuntimeError)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")
        return _read_reply(f)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_read_reply(f) for _ in range(n)]
    raise RuntimeError("unexpected reply %r" % line)


def _port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def find_base_port(count=6, start=17000):
    """A run of `count` ports whose cluster bus ports (+10000) are free too."""
    for base in range(start, 19000, count):
        if all(_port_free(p) and _port_free(p + 10000) for p in range(base, base + count)):
            return base
    raise RuntimeError("no free run of ports for a Redis Cluster")


def wait_until(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, RuntimeError) as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for %s (%s)" % (what, last))


def cluster_info(port):
    info = command(port, "CLUSTER", "INFO").decode()
    return dict(l.split(":", 1) for l in info.split("\r\n") if ":" in l)


def replication(port):
    info = command(port, "INFO", "replication").decode()
    return dict(l.split(":", 1) for l in info.split("\r\n") if ":" in l)


class RedisCluster:
    def __init__(self, directory, base_port=None, node_timeout_ms=2000, count=6):
        self.dir = os.path.abspath(directory)
        self.base_port = base_port
        self.node_timeout_ms = node_timeout_ms
        self.count = count
        self.procs = {}  # port -> Popen (started here) or pid (read from cluster.json)

    @property
    def ports(self):
        return sorted(self.procs)

    @property
    def nodes(self):
        return ["%s:%d" % (HOST, p) for p in self.ports]

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        base = self.base_port or find_base_port(self.count)
        try:
            for port in range(base, base + self.count):
                self.start_server(port)
            for port in self.ports:
                wait_until("redis-server on %d" % port, lambda p=port: command(p, "PING") == b"PONG")
            subprocess.run(["redis-cli", "--cluster", "create"] + self.nodes +
                           ["--cluster-replicas", "1", "--cluster-yes"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.write_state()
        return self

    def start_server(self, port):
        d = os.path.join(self.dir, str(port))
        os.makedirs(d, exist_ok=True)
        log = open(os.path.join(d, "redis.log"), "ab")
        self.procs[port] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", HOST, "--cluster-enabled", "yes",
             "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(self.node_timeout_ms),
             "--dir", d, "--daemonize", "no", "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--repl-diskless-sync-delay", "0"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def write_state(self):
        with open(os.path.join(self.dir, "cluster.json"), "w") as f:
            json.dump({str(p): self.pid(p) for p in self.ports}, f)

    def pid(self, port):
        p = self.procs[port]
        return p if isinstance(p, int) else p.pid

    def alive(self, port):
        p = self.procs.get(port)
        if p is None:
            return False
        if isinstance(p, int):
            try:
                os.kill(p, 0)
                return True
            except OSError:
                return False
        return p.poll() is None

    def wait_healthy(self, timeout=60.0):
        """Every live node says cluster_state:ok, every slot has a primary that answers,
        and every live replica has synchronised with its primary (a replica that has
        not cannot take over)."""
        def ok():
            live = [p for p in self.ports if self.alive(p)]
            if not all(cluster_info(p).get("cluster_state") == "ok" for p in live):
                return False
            if not all(self.alive(port) for port in self.primaries().values()):
                return False
            replicas = [r for _, _, _, rs in self.slots() for r in rs if self.alive(r)]
            return all(replication(r).get("master_link_status") == "up" for r in replicas)
        wait_until("cluster_state:ok", ok, timeout)

    def slots(self, via=None):
        """[(first, last, primary port, [replica ports])] from CLUSTER SLOTS."""
        port = via or next(p for p in self.ports if self.alive(p))
        out = []
        for r in command(port, "CLUSTER", "SLOTS"):
            out.append((r[0], r[1], r[2][1], [n[1] for n in r[3:]]))
        return out

    def primaries(self):
        """{first slot: primary port}."""
        return {first: primary for first, _, primary, _ in self.slots()}

    def primary_of(self, slot):
        for first, last, primary, _ in self.slots():
            if first <= slot <= last:
                return primary
        raise RuntimeError("slot %d has no primary" % slot)

    def kill9(self, port):
        """kill -9 of one server (by its PID)."""
        os.kill(self.pid(port), signal.SIGKILL)
        p = self.procs[port]
        if not isinstance(p, int):
            p.wait()

    def stop(self):
        for port in list(self.procs):
            p = self.procs[port]
            if isinstance(p, int):
                try:
                    os.kill(p, signal.SIGTERM)
                except OSError:
                    pass
                continue
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for port in list(self.procs):
            p = self.procs[port]
            if isinstance(p, int):
                deadline = time.monotonic() + 10
                while self.alive(port) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if self.alive(port):
                    os.kill(p, signal.SIGKILL)
        self.procs.clear()

    @classmethod
    def load(cls, directory):
        c = cls(directory)
        with open(os.path.join(c.dir, "cluster.json")) as f:
            c.procs = {int(p): pid for p, pid in json.load(f).items()}
        return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["start", "stop"])
    ap.add_argument("dir")
    ap.add_argument("--base-port", type=int)
    ap.add_argument("--node-timeout", type=int, default=2000, help="cluster-node-timeout, ms")
    a = ap.parse_args()
    if a.action == "start":
        c = RedisCluster(a.dir, a.base_port, a.node_timeout).start()
        # The servers outlive this script: stop them with `stop DIR`.
        print("\n".join(c.nodes))
    else:
        RedisCluster.load(a.dir).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
