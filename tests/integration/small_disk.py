"""A small disk for fault tests: a tmpfs mounted in a mount namespace of its
own (the host's mounts are not touched), kept alive by a sleeping process that
is stopped by PID. Programs run on it through nsenter; the test reaches its
files through /proc/PID/root."""
import errno
import os
import select
import subprocess
import time


class SmallDisk:
    def __init__(self, mountpoint, size="4m"):
        os.makedirs(mountpoint, exist_ok=True)
        self.mountpoint = mountpoint
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o size="$2" tmpfs "$1" && echo ready && exec sleep infinity',
             "sh", mountpoint, size],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError("cannot mount a tmpfs in a mount namespace: %s" %
                               self.proc.stderr.read().decode(errors="replace"))
        self.ballast = self.path("ballast")

    def wrap(self):
        """The command prefix that runs a program on this disk (nsenter execs it in place)."""
        return ["nsenter", "--target", str(self.proc.pid), "--mount", "--"]

    def path(self, name=""):
        """The host's path of a file on this disk."""
        return "/proc/%d/root%s" % (self.proc.pid, os.path.join(self.mountpoint, name))

    def fill(self):
        """Fills every free byte with a ballast file; returns its size."""
        written = 0
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                chunk = b"\0" * size
                while True:
                    try:
                        n = os.write(fd, chunk)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
                    written += n
                    if n < size:
                        break
        finally:
            os.close(fd)
        return written

    def free(self):
        if os.path.exists(self.ballast):
            os.remove(self.ballast)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc = None
