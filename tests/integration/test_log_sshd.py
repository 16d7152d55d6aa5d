"""[[logs]] format = "sshd" on the lines a real OpenSSH sshd writes with -E
(no timestamps: time = "read"): brute force against it ends up in the
nftables set within a second of sshd writing the threshold's line, invalid
user stuffing from one address opens an incident, and a key login arrives
as a success. The nftables tests run mamorid, sshd and the clients in a
network namespace of their own (netns.py)."""
import re
import subprocess
import time

import pytest

from conftest import MAMORID
from helpers import activity, incident_accounts, incidents, metric_sum, now_utc, parse_time
from test_firewall_nftables import FIREWALL, FIREWALL_ACCOUNT_IP, netns, v4  # noqa: F401
from test_log_sources import logs_toml, metrics, wait_for
import ssh_peers

SOURCES = ("203.0.113.62", "203.0.113.63")


@pytest.fixture
def sshd_in_netns(netns):  # noqa: F811
    """A real sshd in the test's namespace, reachable from SOURCES (addresses of
    the namespace's own loopback)."""
    ssh_peers.require_sshd()
    for src in SOURCES:
        subprocess.run(["ip", "addr", "add", src + "/32", "dev", "lo"], check=True, timeout=10)
    s = ssh_peers.Sshd.start()
    # sshd listens on 127.0.0.1: let the sources outside 127/8 reach it.
    for conf in ("all", "lo"):
        subprocess.run(["sysctl", "-q", "-w", "net.ipv4.conf.%s.route_localnet=1" % conf],
                       check=True, timeout=10)
    yield s
    s.stop()


@pytest.fixture
def sshd():
    ssh_peers.require_sshd()
    s = ssh_peers.Sshd.start()
    yield s
    s.stop()


def sshd_toml(s):
    return logs_toml(s.log_file, fmt="sshd", time="read")


def events(m, s):
    return metric_sum(metrics(m), "mamori_log_events_total", source=s.log_file)


def timed_into_the_set(s, user, src, line, count):
    """One more password attempt as `user` from `src`; returns the seconds
    from sshd writing its `count`th `line` to `src` being in deny_v4."""
    client = subprocess.Popen([ssh_peers.SSHPASS, "-e", ssh_peers.SSH, "-o",
                               "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
                               "-o", "NumberOfPasswordPrompts=1"] + s._ssh_options(src) +
                              ["%s@127.0.0.1" % user, "true"],
                              env={"SSHPASS": "wrong-password", "PATH": "/usr/bin:/bin"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while s.read_log().count(line) < count:
            assert time.monotonic() < deadline, s.read_log()
            time.sleep(0.002)
        written = time.monotonic()
        wait_for(src + " in deny_v4", lambda: src in v4(), timeout=5)
        took = time.monotonic() - written
        print("%s in deny_v4 %.3f s after sshd wrote its line" % (src, took))
        return took
    finally:
        # Dropped mid-session (sshd logs "Invalid user" before the password):
        # ssh gives up on its own (ServerAliveInterval), else it is stopped.
        try:
            client.wait(timeout=15)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(timeout=15)


def test_brute_force_against_a_real_sshd_is_in_the_set_within_a_second(sshd_in_netns,
                                                                        make_mamorid):
    s = sshd_in_netns
    src = SOURCES[0]
    m = make_mamorid(extra_toml=sshd_toml(s) + FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 5}})
    for i in range(4):
        assert s.password_login("root", source=src) == 255
    s.wait_log("Failed password for root from %s" % src, 4)
    wait_for("4 events", lambda: events(m, s) >= 4)
    assert src not in v4()
    # The threshold's attempt: timed from the moment sshd's line is in its log.
    took = timed_into_the_set(s, "root", src, "Failed password for root from %s" % src, 5)
    assert took < 1.0, "in the set %.3f s after sshd wrote the line" % took
    assert 3500 <= v4()[src] <= 3600, v4()
    assert events(m, s) == 5
    assert metric_sum(metrics(m), "mamori_log_lines_skipped_total", source=s.log_file,
                      reason="bad_time") == 0
    failures = [e for e in activity(m, "root") if e["ip"] == src]
    assert len(failures) == 5 and all(not e["success"] and e["protocol"] == "ssh"
                                      for e in failures), failures
    # The kernel drops the address now: even the key that logs in from
    # elsewhere gets no connection.
    assert s.key_login(source=src) == 255
    assert "Accepted publickey for root from %s" % src not in s.read_log()


def test_invalid_user_stuffing_from_one_address_is_in_the_set_and_an_incident(sshd_in_netns, make_mamorid):
    s = sshd_in_netns
    src = SOURCES[1]
    m = make_mamorid(extra_toml=sshd_toml(s) + FIREWALL,
                     detections={"credential_stuffing": {"threshold": 8}})
    users = ["stuff%02d" % i for i in range(8)]
    for u in users[:7]:
        assert s.password_login(u, source=src) == 255
    s.wait_log("Invalid user ", 7)
    wait_for("7 events", lambda: events(m, s) >= 7)
    assert src not in v4() and not incidents(m, "credential_stuffing", src)
    took = timed_into_the_set(s, users[7], src, "Invalid user ", 8)
    assert took < 1.0, "in the set %.3f s after sshd wrote the line" % took
    wait_for("an incident", lambda: incidents(m, "credential_stuffing", src), timeout=10)
    # One event per attempt: at the "Invalid user" line, not again at its
    # "Failed password for invalid user" line. The eighth attempt's password
    # line exists only when sshd read the password before the kernel dropped
    # the address, so seven or eight of them.
    assert s.read_log().count("Invalid user ") == 8
    assert s.read_log().count("Failed password for invalid user ") in (7, 8), s.read_log()
    assert events(m, s) == 8
    incident = incidents(m, "credential_stuffing", src)[0]
    touched = sorted(incident_accounts(m, incident["id"]))
    assert touched == users, touched


def test_an_accepted_key_login_arrives_as_a_success(sshd, make_mamorid):
    m = make_mamorid(extra_toml=sshd_toml(sshd))
    assert sshd.key_login(source="127.0.0.7") == 0
    assert sshd.password_login("root", source="127.0.0.8") == 255
    sshd.wait_log("Accepted publickey for root from 127.0.0.7")
    wait_for("2 events", lambda: events(m, sshd) >= 2)
    got = sorted((e["ip"], e["success"], e["protocol"]) for e in activity(m, "root"))
    assert got == [("127.0.0.7", True, "ssh"), ("127.0.0.8", False, "ssh")], got
    # The lines' time is when mamorid read them: now, give or take the test.
    for e in activity(m, "root"):
        assert abs((now_utc() - parse_time(e["time"])).total_seconds()) < 60, e


def test_without_time_read_sshds_lines_are_skipped_as_bad_time(sshd, make_mamorid):
    m = make_mamorid(extra_toml=logs_toml(sshd.log_file, fmt="sshd"))
    assert sshd.password_login("root", source="127.0.0.9") == 255
    sshd.wait_log("Failed password for root from 127.0.0.9")
    wait_for("the skipped line", lambda: metric_sum(
        metrics(m), "mamori_log_lines_skipped_total", source=sshd.log_file,
        reason="bad_time") == 1)
    assert events(m, sshd) == 0


@pytest.mark.parametrize("toml, why", [
    ('[[logs]]\njournal = "sshd"\nformat = "sshd"\ntime = "read"\n',
     r"logs\[0\]\.time is for files"),
    ('[[logs]]\npath = "a.log"\nformat = "nginx"\nlogin_path = "/login"\ntime = "read"\n',
     r"logs\[0\]\.time = \"read\" is for the dovecot, postfix and sshd formats"),
    ('[[logs]]\npath = "a.log"\nformat = "sshd"\ntime = "now"\n',
     r"logs\[0\]\.time must be \"line\""),
])
def test_time_read_is_refused_where_it_makes_no_sense(make_mamorid, toml, why):
    m = make_mamorid(start=False, extra_toml=toml)
    r = subprocess.run([MAMORID, "--config", m.config_path, "--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert re.search(r"mamori\.toml:\d+: " + why, r.stderr), r.stderr
