"""A real OpenSSH server for the integration tests: /usr/sbin/sshd (Debian's
OpenSSH 9.2) on a free loopback port with its own host key, config and log
file (`sshd -D -f CONFIG -E LOGFILE`) in a temp dir, stopped by PID. The
host's /etc/ssh and its users are left alone: root logs in with a key made
here (PermitRootLogin prohibit-password, AuthorizedKeysFile in the temp
dir), and password attempts, for root or for a user the host does not have,
fail ("Failed password for root", "Invalid user NAME").

sshd -E writes its lines without a timestamp ("Failed password for root from
127.0.0.1 port 59250 ssh2"): a `[[logs]]` source reads them with
time = "read".

The client is OpenSSH's ssh in batch mode with a temp known_hosts; the
password attempts go through sshpass. Runs as root (sshd needs it for
privilege separation, in /run/sshd)."""
import os
import shutil
import subprocess
import time

from conftest import terminate
from mail_peers import free_port, make_workdir, started, wait_port

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SSHPASS = "/usr/bin/sshpass"


def available():
    """None when sshd can run here, else why not."""
    for p in (SSHD, SSH, SSH_KEYGEN, SSHPASS):
        if not os.path.exists(p):
            return "%s is not installed (scripts/deps.sh installs it)" % p
    if os.geteuid() != 0:
        return "sshd needs root"
    return None


def require_sshd():
    """Fails the test when sshd cannot run here, or skips it when
    MAMORI_SKIP_MAIL=1 (the switch of the other real-peer tests)."""
    import pytest
    why = available()
    if why is None:
        return
    if os.environ.get("MAMORI_SKIP_MAIL") == "1":
        pytest.skip("MAMORI_SKIP_MAIL=1: " + why)
    pytest.fail("sshd cannot run: %s (set MAMORI_SKIP_MAIL=1 to skip on purpose)" % why)


class Sshd:
    """sshd on 127.0.0.1 (and `listen`, addresses of the caller's network
    namespace) at a free port, logging to `log_file`. Use Sshd.start(...) to
    retry when the port was taken meanwhile."""

    @classmethod
    def start(cls, *args, **kwargs):
        return started(lambda: cls(*args, **kwargs))

    def __init__(self, listen=()):
        self.dir = make_workdir("mamori-sshd-")
        self.port = free_port()
        self.log_file = os.path.join(self.dir, "sshd.log")
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.host_key = os.path.join(self.dir, "ssh_host_ed25519_key")
        self.client_key = os.path.join(self.dir, "client_ed25519")
        for key in (self.host_key, self.client_key):
            subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "mamori-test",
                            "-f", key], check=True, capture_output=True, timeout=30)
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        shutil.copyfile(self.client_key + ".pub", self.authorized_keys)
        os.chmod(self.authorized_keys, 0o600)
        # Privilege separation's empty directory (the Debian package makes it
        # at boot through tmpfiles.d; a fresh container may not have it).
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.conf = os.path.join(self.dir, "sshd_config")
        addresses = "".join("ListenAddress %s\n" % a for a in ("127.0.0.1",) + tuple(listen))
        with open(self.conf, "w") as f:
            f.write(f"""Port {self.port}
{addresses}HostKey {self.host_key}
PidFile {self.dir}/sshd.pid
AuthorizedKeysFile {self.authorized_keys}
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
LogLevel INFO
""")
        self.out = open(os.path.join(self.dir, "sshd.out"), "wb")
        self.proc = None
        check = subprocess.run([SSHD, "-t", "-f", self.conf], capture_output=True, text=True,
                               timeout=30)
        if check.returncode != 0:
            self.stop()
            raise AssertionError("sshd -t: " + check.stderr)
        self.proc = subprocess.Popen([SSHD, "-D", "-f", self.conf, "-E", self.log_file],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, self.proc, "sshd")
        except Exception as e:
            log = self.read_log()
            self.stop()
            raise RuntimeError("%s:\n%s" % (e, log)) from e

    def _ssh_options(self, source):
        opts = ["-p", str(self.port), "-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=5",
                # A client whose address the kernel starts dropping mid-session
                # gives up within seconds.
                "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3",
                "-o", "LogLevel=ERROR", "-F", "/dev/null"]
        if source:
            opts += ["-b", source]
        return opts

    def key_login(self, user="root", source=None, host="127.0.0.1"):
        """Logs in with the key made here and runs `true`; returns ssh's exit code."""
        r = subprocess.run([SSH, "-o", "BatchMode=yes", "-i", self.client_key,
                            "-o", "IdentitiesOnly=yes"] + self._ssh_options(source) +
                           ["%s@%s" % (user, host), "true"],
                           capture_output=True, text=True, timeout=30)
        return r.returncode

    def password_login(self, user, password="wrong-password", source=None, host="127.0.0.1"):
        """One password attempt (one "Failed password" line when it is
        wrong); returns ssh's exit code (255: refused or not connected)."""
        env = dict(os.environ, SSHPASS=password)
        r = subprocess.run([SSHPASS, "-e", SSH, "-o", "PubkeyAuthentication=no",
                            "-o", "PreferredAuthentications=password",
                            "-o", "NumberOfPasswordPrompts=1"] + self._ssh_options(source) +
                           ["%s@%s" % (user, host), "true"],
                           capture_output=True, text=True, timeout=30, env=env)
        return r.returncode

    def wait_log(self, text, count=1, timeout=10):
        """Waits until sshd's log holds `text` `count` times."""
        deadline = time.monotonic() + timeout
        while self.read_log().count(text) < count:
            if time.monotonic() > deadline:
                raise AssertionError("sshd never logged %r %d times:\n%s" %
                                     (text, count, self.read_log()))
            time.sleep(0.02)

    def read_log(self):
        try:
            with open(self.log_file, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            terminate(self.proc, 15)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)
