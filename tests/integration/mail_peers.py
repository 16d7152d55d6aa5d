"""Real mail peers for the integration tests: Dovecot 2.3 (IMAP, SASL for
Postfix, auth policy pointed at mamorid), Postfix 3.7 (policy service pointed
at mamorid's Postfix listener) and dnsmasq (a DNS blocklist zone), each on
free loopback ports with its own config directory, stopped by PID.

The mamori parts of their configs are the shipped snippets of examples/
(dovecot/95-mamori-2.3.conf, postfix/main.cf, postfix/master.cf and
postfix/add-policy.sh), read from the files with only their documented
placeholders (address, token, nonce, service ports) filled in.

Runs as root (Postfix's master and Dovecot drop privileges themselves).
Dovecot's own delays after failed logins are turned off in its config here
(auth_failure_delay, anvil's auth penalty): production keeps them.
"""
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from conftest import SOURCE_DIR, terminate

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
POSTFIX = "/usr/sbin/postfix"
DNSMASQ = "/usr/sbin/dnsmasq"
NONCE = "mamori-test-nonce"
OPENSSL = "/usr/bin/openssl"
EXAMPLES = os.path.join(SOURCE_DIR, "examples")


def example(path):
    with open(os.path.join(EXAMPLES, path)) as f:
        return f.read()


def filled(text, replacements):
    """`text` with each placeholder replaced; a placeholder the snippet no
    longer has fails the test (the snippet and the test went apart)."""
    for old, new in replacements.items():
        assert old in text, "the snippet has no %r any more" % old
        text = text.replace(old, new)
    return text


def dovecot_policy_conf(policy_url, token, nonce=NONCE):
    """examples/dovecot/95-mamori-2.3.conf for mamorid at `policy_url`."""
    return filled(example("dovecot/95-mamori-2.3.conf"), {
        "http://127.0.0.1:8425/dovecot/policy": policy_url,
        "REPLACE-WITH-AN-APP-TOKEN": token,
        "REPLACE-WITH-A-RANDOM-SECRET": nonce,
    })


def available():
    """None when the peers can run here, else why not. The mail tests fail when
    they cannot run (scripts/deps.sh installs the peers), unless
    MAMORI_SKIP_MAIL=1 says to skip them on purpose."""
    for p in (DOVECOT, DOVEADM, POSTFIX, DNSMASQ, OPENSSL):
        if not os.path.exists(p):
            return "%s is not installed (scripts/deps.sh installs it)" % p
    if os.geteuid() != 0:
        return "the mail peers need root"
    return None


def require_peers():
    """For a test module's autouse fixture: fails the test when the peers cannot
    run here, or skips it when MAMORI_SKIP_MAIL=1."""
    import pytest
    why = available()
    if why is None:
        return
    if os.environ.get("MAMORI_SKIP_MAIL") == "1":
        pytest.skip("MAMORI_SKIP_MAIL=1: " + why)
    pytest.fail("the mail peers cannot run: %s (set MAMORI_SKIP_MAIL=1 to skip on purpose)" % why)


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_and_tcp_port():
    """A port free for both UDP and TCP (dnsmasq binds both), below the
    kernel's ephemeral range: there, the client sockets of busy tests (and
    their TIME_WAIT) never hold it, as they hold ports the kernel hands out."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free for both UDP and TCP below %d" % low)


def wait_port(port, proc=None, what="", timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s never listened on port %d" % (what, port))


def pwhash(login, password, nonce=NONCE, bits=12):
    """Dovecot 2.3's auth policy pwhash: the first `bits` bits of
    SHA-256(nonce || login || NUL || password), hex."""
    d = hashlib.sha256(nonce.encode() + login.encode() + b"\0" + password.encode()).digest()
    nbytes = (bits + 7) // 8
    v = int.from_bytes(d[:nbytes], "big") >> (nbytes * 8 - bits)
    return v.to_bytes(nbytes, "big").hex()


def make_workdir(prefix):
    # Not under pytest's 0700 tmp dir: Dovecot's and Postfix's unprivileged
    # processes must reach their files.
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    return d


def started(make, attempts=3):
    """make() with a retry: a free port may be taken by another test between
    choosing it and the server binding it."""
    for i in range(attempts):
        try:
            return make()
        except RuntimeError:
            if i == attempts - 1:
                raise


class Dovecot:
    """Dovecot with an IMAP listener, an auth listener for Postfix SASL and
    the auth policy pointed at `policy_url` with `token`. Use
    Dovecot.start(...) to retry when a port was taken meanwhile."""

    @classmethod
    def start(cls, *args, **kwargs):
        return started(lambda: cls(*args, **kwargs))

    def __init__(self, policy_url, token, users, reject_on_fail=False):
        """`policy_url` None: no auth policy (mamorid reads Dovecot's log instead)."""
        self.dir = make_workdir("mamori-dovecot-")
        # Dovecot's own log file (log_path): "Dec 07 04:41:34 imap-login: Info: ...".
        self.log_file = os.path.join(self.dir, "dovecot.log")
        self.imap_port = free_port()
        self.auth_port = free_port()
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, sub))
        os.chmod(os.path.join(self.dir, "mail"), 0o1777)
        with open(os.path.join(self.dir, "users"), "w") as f:
            for user, password in users.items():
                f.write("%s:{PLAIN}%s::::::\n" % (user, password))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {d}/run
state_dir = {d}/state
instance_name = mamori-test-{os.path.basename(d)}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
mail_location = maildir:{d}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
  default_fields = uid=65534 gid=65534 home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  inet_listener sasl {{
    address = 127.0.0.1
    port = {self.auth_port}
  }}
}}
# Tests only: answer failed logins at once, and no growing per-IP delay
# (anvil's auth penalty) between the failures of a scenario.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""")
            # mamori's part: the shipped snippet.
            if policy_url is not None:
                f.write(dovecot_policy_conf(policy_url, token))
            if reject_on_fail:
                f.write("auth_policy_reject_on_fail = yes\n")
        self.log = open(os.path.join(d, "dovecot.out"), "wb")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(self.imap_port, self.proc, "dovecot")
            wait_port(self.auth_port, self.proc, "dovecot")
        except Exception as e:
            log = self.read_log()
            self.stop()
            raise RuntimeError("%s:\n%s" % (e, log)) from e

    def auth_test(self, user, password, rip, service="imap"):
        """`doveadm auth test` from `rip`: the whole policy sequence of one
        login through the real auth process. Returns (ok, output)."""
        r = subprocess.run([DOVEADM, "-c", self.conf, "auth", "test", "-x", "service=" + service,
                            "-x", "rip=" + rip, user, password],
                           capture_output=True, text=True, timeout=60)
        return r.returncode == 0, r.stdout + r.stderr

    def imap_login(self, user, password, source):
        """A real IMAP LOGIN from `source` (a 127.0.0.x); returns the tagged reply."""
        s = socket.create_connection(("127.0.0.1", self.imap_port), timeout=30,
                                     source_address=(source, 0))
        try:
            f = s.makefile("rwb")
            f.readline()
            f.write(b'a1 LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
            f.flush()
            while True:
                line = f.readline().decode("utf-8", "replace").rstrip()
                if not line or line.startswith("a1 "):
                    return line
        finally:
            s.close()

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        terminate(self.proc, 15)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Postfix:
    """Postfix's smtpd on a loopback port: SASL through `dovecot`, the policy
    service at `policy_port` (none: no policy service), relaying for
    example.com to a discard transport. The policy is added as an operator
    would: examples/postfix/main.cf appended to main.cf, add-policy.sh run
    on it (in front of the relay restrictions and at the end of each
    message). With `submission`, also examples/postfix/master.cf's
    submission (STARTTLS) and smtps (TLS) services on their own ports, with a
    certificate made here. Use Postfix.start(...) to retry when a port was
    taken meanwhile."""

    @classmethod
    def start(cls, *args, **kwargs):
        return started(lambda: cls(*args, **kwargs))

    def __init__(self, dovecot_auth_port, policy_port, submission=False):
        self.dir = make_workdir("mamori-postfix-")
        self.smtp_port = free_port()
        self.submission_port = free_port() if submission else None
        self.smtps_port = free_port() if submission else None
        etc, spool, data = (os.path.join(self.dir, x) for x in ("etc", "spool", "data"))
        for p in (etc, spool, data):
            os.makedirs(p)
        shutil.chown(data, "postfix")
        tls = ""
        if submission:
            key, cert = os.path.join(etc, "key.pem"), os.path.join(etc, "cert.pem")
            subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=mx.example.test", "-keyout", key, "-out", cert],
                           check=True, capture_output=True, timeout=60)
            tls = "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n" % (cert, key)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {spool}
data_directory = {data}
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {self.dir}
myhostname = mx.example.test
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
relay_domains = example.com
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
default_transport = discard:
relay_transport = discard:
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{dovecot_auth_port}
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_client_connection_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
{tls}""")
            # No policy_port: Postfix alone (a baseline for measurements).
            if policy_port:
                f.write(filled(example("postfix/main.cf"),
                               {"inet:127.0.0.1:10040": "inet:127.0.0.1:%d" % policy_port}))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{self.smtp_port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
""")
            if submission:
                f.write(filled(example("postfix/master.cf"), {
                    "\nsubmission inet": "\n127.0.0.1:%d inet" % self.submission_port,
                    "\nsmtps     inet": "\n127.0.0.1:%d inet" % self.smtps_port}))
        if policy_port:
            r = subprocess.run([os.path.join(EXAMPLES, "postfix", "add-policy.sh"), etc],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
        self.etc = etc
        self.spool = spool
        self.log = open(os.path.join(self.dir, "postfix.out"), "wb")
        # start-fg runs postfix-script, whose child is the master.
        self.proc = subprocess.Popen([POSTFIX, "-c", etc, "start-fg"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            for port in (self.smtp_port, self.submission_port, self.smtps_port):
                if port:
                    wait_port(port, self.proc, "postfix")
        except Exception as e:
            log = self.read_log()
            self.stop()
            raise RuntimeError("%s:\n%s" % (e, log)) from e

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if pid:  # the master stops its children before it exits
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists("/proc/%d" % pid):
                time.sleep(0.05)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Dnsmasq:
    """dnsmasq answering for one DNSBL zone: each name in `listed` (an IP)
    gets 127.0.0.2 with a TTL of 300 s, every other name in the zone NXDOMAIN."""

    def __init__(self, zone, listed):
        self.dir = make_workdir("mamori-dnsmasq-")
        # A free port can be taken by another process before dnsmasq binds it
        # (parallel test runs): then dnsmasq exits, and another port is tried.
        why = ""
        for _ in range(3):
            self.port = free_udp_and_tcp_port()
            args = [DNSMASQ, "--keep-in-foreground", "--port=%d" % self.port,
                    "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                    "--local=/%s/" % zone, "--local-ttl=300",
                    "--pid-file=" + os.path.join(self.dir, "pid"),
                    "--log-facility=" + os.path.join(self.dir, "log"), "--log-queries"]
            for ip in listed:
                rev = ".".join(reversed(ip.split(".")))
                args.append("--address=/%s.%s/127.0.0.2" % (rev, zone))
            self.stderr = os.path.join(self.dir, "stderr")
            with open(self.stderr, "wb") as err:
                self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
            deadline = time.monotonic() + 10
            while not self.answers():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            else:
                return
            with open(self.stderr, errors="replace") as f:
                why = "exit %s: %s" % (self.proc.poll(), f.read().strip()[-500:])
            terminate(self.proc, 10)
        self.stop()
        raise RuntimeError("dnsmasq did not start on three ports (%s)" % why)

    def answers(self):
        """True once a query gets any answer."""
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            s.sendto(q, ("127.0.0.1", self.port))
            try:
                return len(s.recv(512)) > 0
            except OSError:
                return False

    def queries(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return [l for l in f if "query[A]" in l]
        except OSError:
            return []

    def stop(self):
        terminate(self.proc, 10)
        shutil.rmtree(self.dir, ignore_errors=True)
