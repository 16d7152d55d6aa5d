"""The service manager's end of sd_notify(3), for tests: a datagram socket
whose path a daemon gets in $NOTIFY_SOCKET, and the messages it sent there,
each as a dict ({"READY": "1", "STATUS": "listening on ..."})."""
import os
import socket
import time


class NotifySocket:
    def __init__(self, directory):
        self.path = os.path.join(str(directory), "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def env(self, base=None):
        """An environment for the daemon with NOTIFY_SOCKET set."""
        return dict(base if base is not None else os.environ, NOTIFY_SOCKET=self.path)

    def wait_for(self, key, value=None, timeout=30, proc=None):
        """Receives until a message with `key` (equal to `value`, if given)
        arrives, and returns it; fails after `timeout` seconds or once `proc`
        has exited without sending it."""
        for m in self.messages:
            if key in m and (value is None or m[key] == value) and not m.get("_seen_" + key):
                m["_seen_" + key] = True
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(0.2)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                if proc is not None and proc.poll() is not None:
                    break
                continue
            m = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(m)
            if key in m and (value is None or m[key] == value):
                m["_seen_" + key] = True
                return m
        raise AssertionError("no %s%s notification within %s s; got %r" % (
            key, "" if value is None else "=" + value, timeout, self.messages))

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
