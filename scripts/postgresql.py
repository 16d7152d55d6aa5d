#!/usr/bin/python3
"""A throw-away PostgreSQL 15 server for tests and benches: its own cluster
(initdb) in a directory, listening on a loopback port and on a socket in that
directory, stopped by the PID it wrote.

  scripts/postgresql.py start DIR [--port PORT] [--database mamori] [--user mamori]
      initdb DIR/cluster if it is not there, start it, create the role and the
      database, print the URL (postgresql://USER@127.0.0.1:PORT/DATABASE)
  scripts/postgresql.py stop DIR
      stop the server started in DIR (fast shutdown by PID, SIGKILL after 30 s)

As root the server runs as the `postgres` user (initdb and postgres refuse
root): DIR is handed to it, and every directory above DIR must be searchable
by it (a directory made by tempfile.mkdtemp() under /tmp is). As any other
user it runs as that user.

Imported (tests/integration/pg_peers.py), start() and stop() do the same.
"""
import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

BIN = "/usr/lib/postgresql/15/bin"
RUN_AS = "postgres"  # when started as root


def binaries_present():
    return all(os.access(os.path.join(BIN, b), os.X_OK) for b in ("initdb", "postgres", "psql"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv):
    """argv run as the server's user: as-is, or through setpriv from root."""
    if os.getuid() != 0:
        return argv
    pw = pwd.getpwnam(RUN_AS)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--init-groups",
            "--"] + argv


def _hand_over(path):
    """As root: makes `path` (recursively) the server user's."""
    if os.getuid() != 0:
        return
    pw = pwd.getpwnam(RUN_AS)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def _check_reachable(path):
    if os.getuid() != 0:
        return
    pw = pwd.getpwnam(RUN_AS)
    here = os.path.dirname(os.path.abspath(path))
    while here != "/":
        st = os.stat(here)
        if not (st.st_mode & 0o001 or (st.st_uid == pw.pw_uid and st.st_mode & 0o100)):
            raise RuntimeError("%s is not searchable by the %s user, who runs the server: "
                               "choose a directory under /tmp (tempfile.mkdtemp())" % (here, RUN_AS))
        here = os.path.dirname(here)


def _run(argv, env=None):
    r = subprocess.run(_as_server_user(argv), capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r.stdout


def psql(directory, sql, database="postgres", port=None):
    """Runs `sql` as the superuser over the cluster's socket; returns its output."""
    port = port or read_port(directory)
    return _run([os.path.join(BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                 "-h", os.path.join(directory, "socket"), "-p", str(port), "-U", "postgres",
                 "-d", database, "-c", sql])


def read_port(directory):
    with open(os.path.join(directory, "port")) as f:
        return int(f.read())


def read_pid(directory):
    """The postmaster's PID from its postmaster.pid, or None."""
    try:
        with open(os.path.join(directory, "cluster", "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def _alive(pid):
    """Whether `pid` still runs; a child of this process that ended is reaped."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child (started by another run of this script)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(directory, port=None, database="mamori", user="mamori", timeout=60, fsync=False):
    """Starts (initdb-ing first if needed) the cluster in `directory`; returns its URL.
    Without `fsync` the server does not flush to disk (tests: durable across
    its own restarts, not across a power cut); benches measure with it."""
    directory = os.path.abspath(directory)
    if not binaries_present():
        raise RuntimeError("PostgreSQL 15 is not installed (%s): scripts/deps.sh installs it" % BIN)
    os.makedirs(directory, exist_ok=True)
    _check_reachable(directory)
    cluster = os.path.join(directory, "cluster")
    sockets = os.path.join(directory, "socket")
    os.makedirs(sockets, exist_ok=True)
    fresh = not os.path.exists(os.path.join(cluster, "PG_VERSION"))
    if port is None:
        port = read_port(directory) if os.path.exists(os.path.join(directory, "port")) else free_port()
    with open(os.path.join(directory, "port"), "w") as f:
        f.write(str(port))
    _hand_over(directory)
    if fresh:
        _run([os.path.join(BIN, "initdb"), "-D", cluster, "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
    log = os.path.join(directory, "postgres.log")
    with open(log, "a") as out:
        proc = subprocess.Popen(
            _as_server_user([os.path.join(BIN, "postgres"), "-D", cluster, "-h", "127.0.0.1",
                             "-p", str(port), "-k", sockets, "-c", "fsync=%s" % ("on" if fsync else "off"),
                             "-c", "max_connections=200"]),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _hand_over(log)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            with open(log) as f:
                raise RuntimeError("postgres exited (%d) at start:\n%s" % (proc.returncode, f.read()[-3000:]))
        r = subprocess.run([os.path.join(BIN, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)])
        if r.returncode == 0:
            break
        if time.monotonic() > deadline:
            stop(directory)
            raise RuntimeError("postgres on port %d not ready after %d s" % (port, timeout))
        time.sleep(0.05)
    if fresh:
        psql(directory, "CREATE ROLE %s LOGIN" % user, port=port)
        psql(directory, "CREATE DATABASE %s OWNER %s" % (database, user), port=port)
    return "postgresql://%s@127.0.0.1:%d/%s" % (user, port, database)


def stop(directory, timeout=30):
    """Stops the server started in `directory` by its PID; nothing when none runs."""
    pid = read_pid(os.path.abspath(directory))
    if pid is None or not _alive(pid):
        return
    os.kill(pid, signal.SIGINT)  # fast shutdown: rolls back open transactions
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start")
    s.add_argument("dir")
    s.add_argument("--port", type=int)
    s.add_argument("--database", default="mamori")
    s.add_argument("--user", default="mamori")
    s.add_argument("--fsync", action="store_true", help="flush to disk (benches)")
    t = sub.add_parser("stop")
    t.add_argument("dir")
    args = ap.parse_args()
    try:
        if args.command == "start":
            print(start(args.dir, args.port, args.database, args.user, fsync=args.fsync))
        else:
            stop(args.dir)
    except RuntimeError as e:
        print("postgresql.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
