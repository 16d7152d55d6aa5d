#!/usr/bin/python3
"""mamori and fail2ban 1.0 side by side, in one run, on the same inputs:

1. line rate: the same generated Dovecot log (1,000,000 lines by default)
   through `fail2ban-regex` with its stock dovecot filter and through
   `mamori logs replay --format dovecot` (the whole engine and a store), one
   process each, one after the other: wall time, lines/s, CPU time (the
   ratio to read on a loaded machine), peak RSS (wait4), and the failures
   each found;
2. threshold to kernel drop on a live file: mamorid following a log
   ([firewall] nftables) and fail2ban-server (its dovecot jail, the
   nftables-allports action, the pyinotify backend), each in a network
   namespace of its own: the time from appending the threshold's last line
   to the address being in the nftables set;
3. restore after a restart: mamorid with BANS live blocks in its store
   (default 100,000), time from its exec to the kernel's set holding them
   all (the end of its one restore batch, as its log stamps it), and to
   mamorid reporting them over HTTP (after its hot windows are warmed and
   its listener is up);
   fail2ban with F2B_BANS bans in its database (default 2,000: each ban is
   one `nft` process, 100,000 would take a long time), time from its start
   to the set holding them.

Needs root (network namespaces, nftables), fail2ban and python3-pyinotify
(scripts/deps.sh bench), and a build (build/mamorid, build/mamori).

  bench/fail2ban_compare.py [--lines N] [--bans N] [--f2b-bans N] [--trials N] [--restarts N]
                            [--skip rate,live,restore]
"""
import argparse
import calendar
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import functools
import time

print = functools.partial(print, flush=True)  # noqa: A001 (progress while it runs)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from netns import NetNamespace, nft  # noqa: E402

MAMORID = os.environ.get("MAMORID", os.path.join(ROOT, "build", "mamorid"))
MAMORI = os.environ.get("MAMORI_CLI", os.path.join(ROOT, "build", "mamori"))
LIP = "192.0.2.1"


def stamp(t):
    return time.strftime("%b %e %H:%M:%S", time.localtime(t))


def fail_line(t, account, ip, session):
    return ("%s mail dovecot: imap-login: Disconnected: Connection closed (auth failed, 1 attempts "
            "in 2 secs): user=<%s>, method=PLAIN, rip=%s, lip=%s, TLS, session=<s%08x>\n"
            % (stamp(t), account, ip, LIP, session))


def login_line(t, account, ip, session):
    return ("%s mail dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, "
            "mpid=%d, TLS, session=<s%08x>\n" % (stamp(t), account, ip, LIP, session, session))


def random_ip(rng):
    while True:
        a = rng.randrange(1, 224)
        if a not in (10, 127, 100, 172, 192):
            return "%d.%d.%d.%d" % (a, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


def generate(path, n, seed=7):
    """A mail host's day: a quarter logins, a tenth failures (users' typos,
    brute force on one account, stuffing over many), the rest other Dovecot
    lines. Returns (logins, failures, attacker IPs)."""
    rng = random.Random(seed)
    users = ["user%d@example.com" % i for i in range(20000)]
    user_ip = {u: random_ip(rng) for u in users}
    brute = [random_ip(rng) for _ in range(50)]
    stuffers = [random_ip(rng) for _ in range(50)]
    start = time.time() - 86400
    logins = failures = 0
    with open(path, "w") as f:
        for i in range(n):
            t = start + 86400.0 * i / n
            r = rng.random()
            if r < 0.25:
                u = rng.choice(users)
                f.write(login_line(t, u, user_ip[u], i))
                logins += 1
            elif r < 0.35:
                k = rng.random()
                if k < 0.3:
                    u = rng.choice(users)
                    f.write(fail_line(t, u, user_ip[u], i))
                elif k < 0.65:
                    ip = rng.choice(brute)
                    f.write(fail_line(t, "victim%d@example.com" % (hash(ip) % 100), ip, i))
                else:
                    f.write(fail_line(t, rng.choice(users), rng.choice(stuffers), i))
                failures += 1
            elif r < 0.7:
                u = rng.choice(users)
                f.write("%s mail dovecot: imap(%s)<%d><s%08x>: Logged out in=%d out=%d "
                        "deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 "
                        "body_bytes=0\n" % (stamp(t), u, i, i, rng.randrange(9999),
                                            rng.randrange(99999)))
            elif r < 0.9:
                u = rng.choice(users)
                f.write("%s mail dovecot: lmtp(%s)<%d><L%08x>: msgid=<%08x@example.net>: saved "
                        "mail to INBOX\n" % (stamp(t), u, i, i, i))
            else:
                f.write("%s mail dovecot: imap-login: Disconnected (no auth attempts in 0 secs): "
                        "user=<>, rip=%s, lip=%s, TLS handshaking: Connection closed, "
                        "session=<s%08x>\n" % (stamp(t), random_ip(rng), LIP, i))
    return logins, failures, brute + stuffers


def run_measured(args, **kw):
    """Runs `args` to its end: (stdout, wall seconds, peak RSS in MB, CPU
    seconds: user + system, which the machine's other load changes far less
    than the wall time)."""
    start = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kw)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s" % (args[0], p.returncode, out[-2000:]))
    return out, wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def line_rate(log, lines):
    f2b_out, f2b_wall, f2b_rss, f2b_cpu = run_measured(
        ["fail2ban-regex", "--print-no-missed", log, "/etc/fail2ban/filter.d/dovecot.conf"])
    m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", f2b_out)
    f2b_matched = int(m.group(3))
    env = dict(os.environ, TMPDIR=tempfile.gettempdir())
    out, m_wall, m_rss, m_cpu = run_measured(
        [MAMORI, "logs", "replay", log, "--format", "dovecot", "--json"], env=env)
    doc = json.loads(out)
    return dict(f2b_wall=f2b_wall, f2b_rss=f2b_rss, f2b_matched=f2b_matched, f2b_cpu=f2b_cpu,
                m_wall=m_wall, m_rss=m_rss, m_cpu=m_cpu, m_matched=doc["matched"],
                m_events=doc["events"],
                m_seconds=doc["seconds"], m_refused=len(doc["refused"]), lines=lines)


# ---- live: mamorid and fail2ban-server in network namespaces --------------

def set_count(table, name):
    p = nft("-j", "list", "set", "inet", table, name, check=False)
    if p.returncode != 0:
        return -1
    n = 0
    for item in json.loads(p.stdout)["nftables"]:
        n += len(item.get("set", {}).get("elem", []))
    return n


def in_set(table, name, ip):
    p = nft("list", "set", "inet", table, name, check=False)
    return p.returncode == 0 and re.search(r"[{ ,]%s[ ,}\n]" % re.escape(ip), p.stdout) is not None


def poll(what, pred, timeout, step=0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    raise RuntimeError("timed out: " + what)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mamorid:
    def __init__(self, work, log, threshold, extra=""):
        self.work = work
        self.port = free_port()
        self.config = os.path.join(work, "mamori.toml")
        with open(self.config, "w") as f:
            f.write('[server]\nlisten = "127.0.0.1:%d"\ndata_dir = "%s"\nthreads = 1\n\n'
                    '[[tokens]]\ntoken = "bench-admin"\nrole = "admin"\n\n'
                    '[detections.brute_force]\nthreshold = %d\n\n'
                    '[firewall]\nnftables = true\naccount_ip_blocks = true\n\n'
                    '[[logs]]\npath = "%s"\nformat = "dovecot"\n%s'
                    % (self.port, os.path.join(work, "data"), threshold, log, extra))
        self.proc = None

    def start(self, restore=False):
        """Starts mamorid and waits until it answers; returns the time of its
        exec, and with `restore` also the seconds from its exec to the end of
        its restore batch (the time of its "restored with N elements in one
        batch" line: nft has returned, the kernel holds them all)."""
        log = os.path.join(self.work, "mamorid.log")
        self.out = open(log, "ab")
        offset = self.out.tell()
        t0 = time.monotonic()
        exec_wall = time.time()
        self.proc = subprocess.Popen([MAMORID, "--config", self.config], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        poll("mamorid ready", lambda: self.metric("mamori_firewall_batches_total") is not None, 120,
             0.01)
        if not restore:
            return t0
        with open(log) as f:
            f.seek(offset)
            self.start_log = f.read()
        m = re.search(r"^(\S+) info  firewall: table inet \S+ restored with \d+ elements",
                      self.start_log, re.M)
        restored = calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S"))
        restored += float("0." + m.group(1)[20:23])
        return t0, restored - exec_wall

    def restore_phases(self):
        """mamorid's own account of its last start (its log): ms to read the
        blocks from the store, to fill the engine's block table, to plan the
        batch and to apply it (the netlink batch)."""
        m = re.search(r"blocks: \d+ read from the store in (\d+) ms, the block table filled in "
                      r"(\d+) ms", self.start_log)
        b = re.search(r"restored with (\d+) elements in one batch \((\d+) ms; planned in (\d+) "
                      r"ms\)", self.start_log)
        return dict(read_ms=int(m.group(1)), fill_ms=int(m.group(2)), elements=int(b.group(1)),
                    batch_ms=int(b.group(2)), plan_ms=int(b.group(3)))

    def metric(self, name):
        import urllib.request
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        total = None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total = (total or 0) + float(line.rsplit(" ", 1)[1])
        return total

    def rss_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.proc = None


class Fail2ban:
    def __init__(self, work, log, maxretry):
        self.conf = os.path.join(work, "f2b")
        shutil.copytree("/etc/fail2ban", self.conf)
        shutil.rmtree(os.path.join(self.conf, "jail.d"))
        os.mkdir(os.path.join(self.conf, "jail.d"))
        self.sock = os.path.join(work, "f2b.sock")
        with open(os.path.join(self.conf, "fail2ban.local"), "w") as f:
            f.write("[Definition]\nloglevel = INFO\nlogtarget = %s\nsocket = %s\npidfile = %s\n"
                    "dbfile = %s\ndbpurgeage = 1d\n"
                    % (os.path.join(work, "fail2ban.log"), self.sock,
                       os.path.join(work, "f2b.pid"), os.path.join(work, "f2b.sqlite3")))
        with open(os.path.join(self.conf, "jail.local"), "w") as f:
            f.write("[DEFAULT]\nbanaction = nftables-allports\nbanaction_allports = "
                    "nftables-allports\nbackend = pyinotify\n\n[dovecot]\nenabled = true\n"
                    "logpath = %s\nmaxretry = %d\nfindtime = 1h\nbantime = 1h\n" % (log, maxretry))
        self.proc = None

    def client(self, *args):
        return subprocess.run(["fail2ban-client", "-c", self.conf, "-s", self.sock] + list(args),
                              capture_output=True, text=True, timeout=600)

    def start(self):
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["fail2ban-server", "-f", "-x", "-c", self.conf, "-s",
                                      self.sock], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        poll("fail2ban ready", lambda: self.client("status", "dovecot").returncode == 0, 120, 0.05)
        return t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.client("stop")
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


F2B_TABLE, F2B_SET = "f2b-table", "addr-set-dovecot"
RUNNING = []  # daemons started, stopped by PID at the end even on failure


def started(daemon):
    RUNNING.append(daemon)
    return daemon


def live_latency(work, trials, threshold=10):
    """Seconds from the threshold's line to the element, per trial, for each."""
    results = {}
    for who in ("mamori", "fail2ban"):
        d = os.path.join(work, "live-" + who)
        os.mkdir(d)
        log = os.path.join(d, "mail.log")
        open(log, "w").close()
        ns = NetNamespace().enter()
        try:
            daemon = started(Mamorid(d, log, threshold) if who == "mamori" else
                             Fail2ban(d, log, threshold))
            daemon.start()
            table, name = ("mamori", "deny_v4") if who == "mamori" else (F2B_TABLE, F2B_SET)
            times = []
            rng = random.Random(11)
            for trial in range(trials):
                ip = random_ip(rng)
                with open(log, "a") as f:
                    for _ in range(threshold - 1):
                        f.write(fail_line(time.time(), "live%d@example.com" % trial, ip, trial))
                time.sleep(1.5)  # both have read the lines before the threshold's
                assert not in_set(table, name, ip)
                with open(log, "a") as f:
                    t0 = time.monotonic()
                    f.write(fail_line(time.time(), "live%d@example.com" % trial, ip, trial))
                poll(ip + " in the set", lambda: in_set(table, name, ip), 30)
                times.append(time.monotonic() - t0)
            results[who] = times
            daemon.stop()
        finally:
            ns.leave()
    return results


def restore(work, bans, f2b_bans, restarts):
    out = {}
    rng = random.Random(13)
    ips = set()
    while len(ips) < max(bans, f2b_bans):
        ips.add(random_ip(rng))
    ips = sorted(ips)
    # mamori: bans blocks from a log (brute_force threshold 1), then a restart.
    d = os.path.join(work, "restore-mamori")
    os.mkdir(d)
    log = os.path.join(d, "mail.log")
    now = time.time()
    with open(log, "w") as f:
        for i, ip in enumerate(ips[:bans]):
            f.write(fail_line(now, "r%d@example.com" % i, ip, i))
    ns = NetNamespace().enter()
    try:
        m = started(Mamorid(d, log, 1))
        m.start()
        poll("%d elements" % bans, lambda: m.metric("mamori_firewall_elements") == bans, 600, 0.2)
        out["m_rss_blocks"] = m.rss_mb()
        m.stop()
        runs = []
        for _ in range(restarts):  # each: the table gone (a reboot), then a start
            nft("delete", "table", "inet", "mamori")
            t0, kernel = m.start(restore=True)
            poll("restored", lambda: m.metric("mamori_firewall_elements") == bans, 120, 0.005)
            run = dict(kernel=kernel, ready=time.monotonic() - t0, in_set=set_count("mamori",
                                                                                    "deny_v4"),
                       batches=m.metric("mamori_firewall_batches_total"), rss=m.rss_mb())
            run.update(m.restore_phases())
            runs.append(run)
            m.stop()
        runs.sort(key=lambda r: r["kernel"])
        med = runs[len(runs) // 2]
        out["m_runs"] = runs
        out["m_restore_kernel"], out["m_restore"] = med["kernel"], med["ready"]
        out["m_in_set"], out["m_batches"] = med["in_set"], med["batches"]
        out["m_batch_ms"], out["m_rss_restored"] = med["batch_ms"], med["rss"]
    finally:
        ns.leave()
    # fail2ban: f2b_bans bans through its client, then a restart (it bans
    # again from its database).
    d = os.path.join(work, "restore-f2b")
    os.mkdir(d)
    log = os.path.join(d, "mail.log")
    open(log, "w").close()
    ns = NetNamespace().enter()
    try:
        f2b = started(Fail2ban(d, log, 10))
        f2b.start()
        t = time.monotonic()
        for i in range(0, f2b_bans, 500):
            r = f2b.client("set", "dovecot", "banip", *ips[i:min(i + 500, f2b_bans)])
            assert r.returncode == 0, r.stderr
        poll("%d bans" % f2b_bans, lambda: set_count(F2B_TABLE, F2B_SET) == f2b_bans, 3600, 0.5)
        out["f2b_ban_seconds"] = time.monotonic() - t
        f2b.stop()
        if set_count(F2B_TABLE, F2B_SET) >= 0:
            nft("delete", "table", "inet", F2B_TABLE)
        t0 = f2b.start()
        poll("restored", lambda: set_count(F2B_TABLE, F2B_SET) == f2b_bans, 3600, 0.05)
        out["f2b_restore"] = time.monotonic() - t0
        f2b.stop()
    finally:
        ns.leave()
    out["bans"], out["f2b_bans"] = bans, f2b_bans
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--bans", type=int, default=100_000)
    ap.add_argument("--f2b-bans", type=int, default=2_000)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--restarts", type=int, default=5,
                    help="mamorid restarts with the blocks (the median is reported)")
    ap.add_argument("--skip", default="", help="comma list of rate,live,restore to leave out")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("fail2ban_compare: needs root (network namespaces, nftables)")
    skip = set(filter(None, a.skip.split(",")))
    fv = subprocess.run(["fail2ban-client", "--version"], capture_output=True, text=True).stdout
    print("fail2ban %s; load average %.2f %.2f %.2f; %d cores"
          % (fv.strip().splitlines()[0] if fv else "?", *os.getloadavg(), os.cpu_count()))
    work = tempfile.mkdtemp(prefix="f2b-compare-")
    try:
        if "rate" not in skip:
            log = os.path.join(work, "dovecot.log")
            logins, failures, _ = generate(log, a.lines)
            print("log: %d lines (%d logins, %d failures), %.1f MB"
                  % (a.lines, logins, failures, os.path.getsize(log) / 1e6))
            r = line_rate(log, a.lines)
            f2b_rate, m_rate = a.lines / r["f2b_wall"], a.lines / r["m_wall"]
            print("\n| line rate (one process each) | fail2ban-regex | mamori logs replay | ratio |")
            print("|---|---|---|---|")
            print("| wall time | %.1f s | %.1f s | |" % (r["f2b_wall"], r["m_wall"]))
            print("| lines/s | %s | %s | %.1fx |" % (f"{f2b_rate:,.0f}", f"{m_rate:,.0f}",
                                                   m_rate / f2b_rate))
            print("| CPU time (user + system) | %.1f s | %.2f s | |" % (r["f2b_cpu"], r["m_cpu"]))
            print("| lines per CPU second | %s | %s | %.1fx |"
                  % (f"{a.lines / r['f2b_cpu']:,.0f}", f"{a.lines / r['m_cpu']:,.0f}",
                     r["f2b_cpu"] / r["m_cpu"]))
            print("| peak RSS | %.0f MB | %.0f MB | |" % (r["f2b_rss"], r["m_rss"]))
            print("| failures found (generated: %d) | %d | %d (%d login lines matched, %d events) | |"
                  % (failures, r["f2b_matched"], r["m_matched"] - logins, r["m_matched"],
                     r["m_events"]))
            print("load average after: %.2f" % os.getloadavg()[0])
        if "live" not in skip:
            lat = live_latency(work, a.trials)
            med = {k: sorted(v)[len(v) // 2] for k, v in lat.items()}
            print("\n| threshold's line to the nftables element (%d trials) | fail2ban | mamorid |"
                  % a.trials)
            print("|---|---|---|")
            print("| median | %.0f ms | %.1f ms |" % (med["fail2ban"] * 1e3, med["mamori"] * 1e3))
            print("| all | %s | %s |" % (", ".join("%.0f" % (x * 1e3) for x in lat["fail2ban"]),
                                         ", ".join("%.1f" % (x * 1e3) for x in lat["mamori"])))
            print("load average after: %.2f" % os.getloadavg()[0])
        if "restore" not in skip:
            r = restore(work, a.bans, a.f2b_bans, a.restarts)
            print("\n| restore after a restart | fail2ban | mamorid |")
            print("|---|---|---|")
            print("| bans | %d | %d |" % (r["f2b_bans"], r["bans"]))
            print("| exec to the kernel's set holding them | %.2f s | %.2f s |"
                  % (r["f2b_restore"], r["m_restore_kernel"]))
            print("| exec to the daemon reporting them (mamorid: hot windows warmed too) "
                  "| - | %.2f s |" % r["m_restore"])
            print("| per 1,000 bans, exec to the kernel | %.3f s | %.4f s |"
                  % (r["f2b_restore"] / r["f2b_bans"] * 1e3,
                     r["m_restore_kernel"] / r["bans"] * 1e3))
            print("| the nftables batch (netlink) | - | %d ms, %d batch(es), %d elements |"
                  % (r["m_batch_ms"], r["m_batches"], r["m_in_set"]))
            print("| mamorid RSS with the blocks | - | %.0f MB (restored: %.0f MB) |"
                  % (r["m_rss_blocks"], r["m_rss_restored"]))
            print("| fail2ban: banning them live | %.1f s | - |" % r["f2b_ban_seconds"])
            print("load average after: %.2f" % os.getloadavg()[0])
            print("\nmamorid's restarts with %d blocks, fastest first (ms; \"start\": exec to "
                  "the blocks' read, the store opened)" % r["bans"])
            print("| exec to the kernel | start | read blocks | fill table | plan | netlink batch "
                  "| exec to answering |")
            print("|---|---|---|---|---|---|---|")
            for run in r["m_runs"]:
                rest = run["read_ms"] + run["fill_ms"] + run["plan_ms"] + run["batch_ms"]
                print("| %d | %d | %d | %d | %d | %d | %d |"
                      % (run["kernel"] * 1e3, run["kernel"] * 1e3 - rest, run["read_ms"],
                         run["fill_ms"], run["plan_ms"], run["batch_ms"], run["ready"] * 1e3))
    finally:
        for daemon in RUNNING:
            if daemon.proc and daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
