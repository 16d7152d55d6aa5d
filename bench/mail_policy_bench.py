#!/usr/bin/python3
"""Postfix policy servers side by side, doing the same quota job (300
recipients an hour and 1000 a day per SASL user):

  mamorid            [postfix] listener, [detections.mail_volume]
  policyd-rate-limit Debian's, sqlite backend, limits by sasl_username
  postfwd2           Debian's, rcpt(sasl_username/300/3600) rules

1. bench/postfix_policy_load (built with the project): many connections,
   each a stream of RCPT + END-OF-MESSAGE requests of 10,000 SASL users;
   requests/s and latency percentiles.
2. smtp-source through a real Postfix whose check_policy_service points at
   each server in turn (and at none, the baseline). smtp-source cannot
   authenticate, so this measures the whole SMTP path with each policy
   server answering unauthenticated requests.

Usage: bench/mail_policy_bench.py [BUILD_DIR] [--seconds N] [--messages N]
Runs as root; every process is started here on loopback and stopped by PID.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import mail_peers as mail  # noqa: E402


def wait_tcp(port, what):
    mail.wait_port(port, None, what, timeout=20)


def stop_pid(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        if not os.path.exists("/proc/%d" % pid):
            return
        try:
            if open("/proc/%d/stat" % pid).read().split()[2] == "Z":
                return
        except OSError:
            return
        time.sleep(0.05)


class Mamorid:
    def __init__(self, build, work):
        self.http = mail.free_port()
        self.port = mail.free_port()
        conf = os.path.join(work, "mamori.toml")
        with open(conf, "w") as f:
            f.write('[server]\nlisten = "127.0.0.1:%d"\ndata_dir = "%s/data"\nthreads = 2\n'
                    '[[tokens]]\ntoken = "bench-app-token"\nrole = "app"\n'
                    '[postfix]\nlisten = "127.0.0.1:%d"\nthreads = 1\n' % (self.http, work, self.port))
        self.log = open(os.path.join(work, "mamorid.log"), "wb")
        self.proc = subprocess.Popen([os.path.join(build, "mamorid"), "--config", conf],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_tcp(self.port, "mamorid")

    def stop(self):
        stop_pid(self.proc.pid)
        self.proc.wait()


class PolicydRateLimit:
    def __init__(self, work):
        self.port = mail.free_port()
        d = os.path.join(work, "prl")
        os.makedirs(d)
        shutil.chown(d, "policyd-rate-limit")
        conf = os.path.join(d, "prl.yaml")
        with open(conf, "w") as f:
            f.write(f"""debug: False
user: "policyd-rate-limit"
group: "policyd-rate-limit"
pidfile: "{d}/pid"
sqlite_config:
    database: "{d}/db.sqlite3"
backend: 0
SOCKET: ["127.0.0.1", {self.port}]
limits:
    - [300, 3600]
    - [1000, 86400]
limits_by_id: {{}}
limit_by_sasl: True
limit_by_sender: False
limit_by_ip: False
limited_networks: []
success_action: "dunno"
fail_action: "defer_if_permit Rate limit reach, retry later"
db_error_action: "dunno"
report: False
delay_to_close: 300
""")
        self.log = open(os.path.join(d, "log"), "wb")
        self.proc = subprocess.Popen(["/usr/bin/policyd-rate-limit", "-f", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_tcp(self.port, "policyd-rate-limit")

    def stop(self):
        stop_pid(self.proc.pid)
        self.proc.wait()


class Postfwd:
    def __init__(self, work):
        self.port = mail.free_port()
        d = os.path.join(work, "postfwd")
        os.makedirs(d)
        rules = os.path.join(d, "postfwd.cf")
        with open(rules, "w") as f:
            f.write("id=QUOTA; protocol_state==END-OF-MESSAGE; sasl_username=~/./; "
                    "action=rcpt(sasl_username/300/3600/DEFER_IF_PERMIT over quota)\n"
                    "id=QUOTADAY; protocol_state==END-OF-MESSAGE; sasl_username=~/./; "
                    "action=rcpt(sasl_username/1000/86400/DEFER_IF_PERMIT over quota)\n")
        self.pidfile = os.path.join(d, "pid")
        # postfwd2 puts itself in the background and writes its master's PID.
        subprocess.run(["/usr/sbin/postfwd2", "-f", rules,
                        "--server_socket", "tcp:127.0.0.1:%d" % self.port,
                        "--cache_socket", "tcp:127.0.0.1:%d" % mail.free_port(),
                        "--pidfile", self.pidfile, "-u", "nobody", "-g", "nogroup",
                        "--nodns", "-c", "0"], check=True, capture_output=True)
        wait_tcp(self.port, "postfwd2")

    def stop(self):
        try:
            pid = int(open(self.pidfile).read().strip())
        except (OSError, ValueError):
            return
        stop_pid(pid)
        time.sleep(0.5)  # the master stops its children


def load(build, port, connections, seconds):
    r = subprocess.run([os.path.join(build, "bench", "postfix_policy_load"), "--port", str(port),
                        "--connections", str(connections), "--seconds", str(seconds)],
                       capture_output=True, text=True)
    return (r.stdout + r.stderr).strip()


def quota_check(port):
    """Sends 302 one-recipient messages of one SASL user over one connection;
    returns the first refusal (message number and action): every server must
    refuse the 301st."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rwb")
        for n in range(1, 303):
            for stage in ("RCPT", "END-OF-MESSAGE"):
                f.write(("request=smtpd_access_policy\nprotocol_state=%s\nclient_address=192.0.2.9\n"
                         "sasl_username=quota-check\nsender=quota-check@example.jp\n"
                         "recipient=%s\nrecipient_count=%d\ninstance=q.%d\n\n"
                         % (stage, "a@example.com" if stage == "RCPT" else "",
                            0 if stage == "RCPT" else 1, n)).encode())
                f.flush()
                reply = f.readline().decode().strip()
                f.readline()
                if not reply.lower().startswith("action=dunno"):
                    return "refuses message %d at %s: %s" % (n, stage, reply[:80])
    return "never refused"


def smtp_source(port, messages):
    t = time.monotonic()
    r = subprocess.run(["/usr/sbin/smtp-source", "-s", "10", "-m", str(messages), "-l", "1000",
                        "-f", "load@elsewhere.test", "-t", "carol@example.com",
                        "127.0.0.1:%d" % port], capture_output=True, text=True)
    dt = time.monotonic() - t
    return "%d messages in %.2f s: %.0f messages/s%s" % (
        messages, dt, messages / dt, (" (smtp-source: %s)" % r.stderr.strip()[:200]) if r.returncode else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--messages", type=int, default=2000)
    a = ap.parse_args()
    why = mail.available()
    if why:
        sys.exit("cannot run: " + why)
    if not (os.path.exists("/usr/bin/policyd-rate-limit") and os.path.exists("/usr/sbin/postfwd2")):
        # The two servers compared with, from Debian (not needed to build or test).
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "policyd-rate-limit", "postfwd"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    for p in ("/usr/bin/policyd-rate-limit", "/usr/sbin/postfwd2", "/usr/sbin/smtp-source"):
        if not os.path.exists(p):
            sys.exit("cannot run: %s missing" % p)
    build = os.path.abspath(a.build)
    work = mail.make_workdir("mamori-bench-")
    os.chmod(work, 0o777)
    servers = []
    try:
        m = Mamorid(build, work)
        servers.append(("mamorid", m))
        servers.append(("policyd-rate-limit", PolicydRateLimit(work)))
        servers.append(("postfwd2", Postfwd(work)))
        print("## quota check (one user, one-recipient messages; 300 an hour allowed)")
        for name, s in servers:
            print("%-20s %s" % (name, quota_check(s.port)), flush=True)
        print("## policy requests (postfix_policy_load, %d s each, RCPT + END-OF-MESSAGE of "
              "10,000 SASL users)" % a.seconds)
        for name, s in servers:
            for c in (10, 50):
                print("%-20s %s" % (name, load(build, s.port, c, a.seconds)), flush=True)
        print("## smtp-source -s 10 -m %d through Postfix 3.7 (no AUTH)" % a.messages)
        dovecot = mail.Dovecot.start("http://127.0.0.1:%d/dovecot/policy" % m.http, "bench-app-token", {})
        try:
            for name, s in [("no policy service", None)] + servers:
                p = mail.Postfix.start(dovecot.auth_port, s.port if s else None)
                try:
                    print("%-20s %s" % (name, smtp_source(p.smtp_port, a.messages)), flush=True)
                finally:
                    p.stop()
        finally:
            dovecot.stop()
    finally:
        for _, s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
