"""A network namespace of the test's own, so that nftables changes never reach
the host. Entered by the calling thread only (unshare(2) with CLONE_NEWNET):
the processes it starts (mamorid, nft) and the sockets it opens (the HTTP
client) live in it; leaving sets the thread back into the host's namespace.
Needs root (CAP_SYS_ADMIN); tests skip without it."""
import ctypes
import json
import os
import subprocess

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def nft(*args, check=True):
    """Runs nft in the current thread's namespace; returns CompletedProcess."""
    p = subprocess.run(["nft"] + list(args), capture_output=True, text=True, timeout=30)
    if check:
        assert p.returncode == 0, "nft %s: %s" % (" ".join(args), p.stderr)
    return p


def host_ruleset():
    return nft("list", "ruleset").stdout


def set_elements(name, table="mamori"):
    """The elements of `inet TABLE NAME` as {text: timeout_s or None}; None
    for the whole answer when the set does not exist."""
    p = nft("-j", "list", "set", "inet", table, name, check=False)
    if p.returncode != 0:
        return None
    out = {}
    for item in json.loads(p.stdout)["nftables"]:
        for e in item.get("set", {}).get("elem", []):
            timeout = None
            if isinstance(e, dict) and "elem" in e:
                timeout = e["elem"].get("timeout")
                e = e["elem"]["val"]
            if isinstance(e, dict) and "prefix" in e:
                e = "%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"])
            out[e] = timeout
    return out


class NetNamespace:
    def __init__(self):
        self.host_fd = None

    def enter(self):
        self.host_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        if _libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            os.close(self.host_fd)
            self.host_fd = None
            raise OSError(err, "unshare(CLONE_NEWNET): " + os.strerror(err))
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
        return self

    def leave(self):
        if self.host_fd is None:
            return
        if _libc.setns(self.host_fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns back to the host: " + os.strerror(err))
        os.close(self.host_fd)
        self.host_fd = None
