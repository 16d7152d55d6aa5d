#!/usr/bin/python3
"""A Redis Cluster of six redis-server processes (three primaries, three
replicas) on loopback ports, for the integration tests and the bench.

  scripts/redis_cluster.py start DIR [--base-port P] [--node-timeout MS] [--tls]
      starts the servers under DIR (one sub-directory each), creates the
      cluster with `redis-cli --cluster create --cluster-replicas 1`, waits for
      cluster_state:ok, writes DIR/cluster.json (ports and PIDs) and prints
      the nodes, "127.0.0.1:P" one a line. With --tls the servers speak TLS
      only (clients, replication and the cluster bus), with a CA and a
      certificate for 127.0.0.1 made by `openssl req` in DIR/tls: ca.crt,
      redis.crt and redis.key (also a client certificate the servers accept)
  scripts/redis_cluster.py stop DIR
      stops every server of DIR/cluster.json by its PID

Imported, RedisCluster does the same from Python (tests/integration/redis_peers.py).
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

HOST = "127.0.0.1"


def command(port, *args, timeout=2.0, tls=None):
    """Sends one command over RESP and returns its reply (bytes, int, list,
    None; an error reply raises RuntimeError); `tls`: an ssl.SSLContext."""
    with socket.create_connection((HOST, port), timeout=timeout) as plain:
        s = tls.wrap_socket(plain, server_hostname=HOST) if tls else plain
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


def cluster_info(port, tls=None):
    info = command(port, "CLUSTER", "INFO", tls=tls).decode()
    return dict(l.split(":", 1) for l in info.split("\r\n") if ":" in l)


def replication(port, tls=None):
    info = command(port, "INFO", "replication", tls=tls).decode()
    return dict(l.split(":", 1) for l in info.split("\r\n") if ":" in l)


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_certs(directory):
    """A CA (ca.crt, ca.key) and a certificate it signs for 127.0.0.1 and
    localhost (redis.crt, redis.key: the servers', also the client certificate
    they present on the cluster bus and accept from clients), P-256 keys valid
    for two days, made by `openssl req` in `directory`. Returns the paths."""
    os.makedirs(directory, exist_ok=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=mamori test Redis CA", cwd=directory)
    _openssl("req", "-new", *key, "-keyout", "redis.key", "-out", "redis.csr",
             "-subj", "/CN=localhost", cwd=directory)
    with open(os.path.join(directory, "redis.ext"), "w") as f:
        f.write("basicConstraints = critical, CA:FALSE\n"
                "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                "extendedKeyUsage = serverAuth, clientAuth\n")
    _openssl("x509", "-req", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "redis.crt", "-days", "2", "-extfile", "redis.ext",
             cwd=directory)
    return {n: os.path.join(directory, n) for n in ("ca.crt", "redis.crt", "redis.key")}


class RedisCluster:
    def __init__(self, directory, base_port=None, node_timeout_ms=2000, count=6, tls=False):
        self.dir = os.path.abspath(directory)
        self.tls = tls
        self.certs = None  # with tls: make_certs()'s paths
        self.tls_context = None  # with tls: an ssl.SSLContext trusting the CA
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

    def command(self, port, *args, timeout=2.0):
        return command(port, *args, timeout=timeout, tls=self.tls_context)

    def cli_tls_args(self):
        """redis-cli's options to reach these servers."""
        if not self.tls:
            return []
        return ["--tls", "--cacert", self.certs["ca.crt"], "--cert", self.certs["redis.crt"],
                "--key", self.certs["redis.key"]]

    def _use_tls(self):
        self.certs = make_certs(os.path.join(self.dir, "tls"))
        self.tls_context = ssl.create_default_context(cafile=self.certs["ca.crt"])
        self.tls_context.load_cert_chain(self.certs["redis.crt"], self.certs["redis.key"])

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if self.tls:
            self._use_tls()
        base = self.base_port or find_base_port(self.count)
        try:
            for port in range(base, base + self.count):
                self.start_server(port)
            for port in self.ports:
                wait_until("redis-server on %d" % port,
                           lambda p=port: self.command(p, "PING") == b"PONG")
            subprocess.run(["redis-cli"] + self.cli_tls_args() + ["--cluster", "create"] + self.nodes +
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
        listen = ["--port", str(port)]
        if self.tls:
            listen = ["--port", "0", "--tls-port", str(port), "--tls-cluster", "yes",
                      "--tls-replication", "yes", "--tls-cert-file", self.certs["redis.crt"],
                      "--tls-key-file", self.certs["redis.key"],
                      "--tls-ca-cert-file", self.certs["ca.crt"]]
        self.procs[port] = subprocess.Popen(
            ["redis-server"] + listen + ["--bind", HOST, "--cluster-enabled", "yes",
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
            if not all(cluster_info(p, self.tls_context).get("cluster_state") == "ok" for p in live):
                return False
            if not all(self.alive(port) for port in self.primaries().values()):
                return False
            replicas = [r for _, _, _, rs in self.slots() for r in rs if self.alive(r)]
            return all(replication(r, self.tls_context).get("master_link_status") == "up"
                       for r in replicas)
        wait_until("cluster_state:ok", ok, timeout)

    def slots(self, via=None):
        """[(first, last, primary port, [replica ports])] from CLUSTER SLOTS."""
        port = via or next(p for p in self.ports if self.alive(p))
        out = []
        for r in self.command(port, "CLUSTER", "SLOTS"):
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
    ap.add_argument("--tls", action="store_true", help="TLS only, certificates in DIR/tls")
    a = ap.parse_args()
    if a.action == "start":
        c = RedisCluster(a.dir, a.base_port, a.node_timeout, tls=a.tls).start()
        # The servers outlive this script: stop them with `stop DIR`.
        print("\n".join(c.nodes))
    else:
        RedisCluster.load(a.dir).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
