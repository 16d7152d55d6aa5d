"""[firewall] nftables = true: blocks and deny-list entries become elements of
the sets deny_v4 / deny_v6 (addresses) and deny_net_v4 / deny_net_v6
(networks) in table inet mamori, with the blocks' own ends as
timeouts. Every test runs mamorid, nft and the HTTP client in a network
namespace of its own (netns.py) and checks that the host's ruleset is the
same afterwards."""
import os
import shutil
import time

import pytest

from helpers import metric_sum
from netns import NetNamespace, host_ruleset, nft, set_elements
from test_log_sources import DovecotLog, logs_toml, metrics, wait_events, wait_for

FIREWALL = "[firewall]\nnftables = true\n"
FIREWALL_ACCOUNT_IP = FIREWALL + "account_ip_blocks = true\n"


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
        pytest.skip("needs root, nft and ip")
    before = host_ruleset()
    ns = NetNamespace().enter()
    try:
        yield ns
    finally:
        ns.leave()
    assert host_ruleset() == before, "the host's ruleset changed"


@pytest.fixture
def log_path(tmp_path):
    d = tmp_path / "var-log"
    d.mkdir()
    return str(d / "mail.log")


def v4():
    return set_elements("deny_v4") or {}


def firewall_metric(m, name):
    return metric_sum(metrics(m), "mamori_firewall_" + name)


def test_brute_force_from_a_log_is_in_the_set_within_a_second(netns, make_mamorid, log_path):
    log = DovecotLog(log_path)
    m = make_mamorid(extra_toml=logs_toml(log_path) + FIREWALL_ACCOUNT_IP)
    # Started: the table exists, empty, with its drop rules.
    for name in ("deny_v4", "deny_v6", "deny_net_v4", "deny_net_v6"):
        assert set_elements(name) == {}, name
    ruleset = nft("list", "table", "inet", "mamori").stdout
    for rule in ("ip saddr @deny_v4 drop", "ip saddr @deny_net_v4 drop",
                 "ip6 saddr @deny_v6 drop", "ip6 saddr @deny_net_v6 drop"):
        assert rule in ruleset, ruleset
    acct, ip = "fw-bf-victim", "203.0.113.70"
    for _ in range(9):
        log.append(acct, ip, False)
    wait_events(m, log_path, 9)
    assert ip not in v4()
    written = time.monotonic()
    log.append(acct, ip, False)  # the threshold's line
    wait_for("%s in deny_v4" % ip, lambda: ip in v4(), timeout=5)
    took = time.monotonic() - written
    assert took < 1.0, "in the set after %.3f s" % took
    # Its timeout is the block's (brute_force: 1 h).
    assert 3500 <= v4()[ip] <= 3600, v4()
    assert firewall_metric(m, "elements_added_total") == 1
    assert firewall_metric(m, "errors_total") == 0


def test_credential_stuffing_from_a_log_is_in_the_set_and_per_account_blocks_are_not(
        netns, make_mamorid, log_path):
    log = DovecotLog(log_path)
    m = make_mamorid(extra_toml=logs_toml(log_path) + FIREWALL)
    bf_ip, cs_ip = "203.0.113.71", "203.0.113.80"
    for _ in range(10):
        log.append("fw-bf-only", bf_ip, False)  # brute_force: one account from one IP
    for i in range(19):
        log.append("fw-cs-%02d@example.com" % i, cs_ip, False)
    wait_events(m, log_path, 29)
    assert v4() == {}  # account_ip blocks stay per account by default
    written = time.monotonic()
    log.append("fw-cs-19@example.com", cs_ip, False)  # the 20th account
    wait_for("%s in deny_v4" % cs_ip, lambda: cs_ip in v4(), timeout=5)
    took = time.monotonic() - written
    assert took < 1.0, "in the set after %.3f s" % took
    assert list(v4()) == [cs_ip]


def test_a_lifted_block_leaves_the_set_and_an_ended_one_expires_there(netns, make_mamorid):
    m = make_mamorid(extra_toml=FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 2, "block": "3s"},
                                 "credential_stuffing": {"threshold": 1000}})
    for _ in range(2):
        m.result("fw-lift", "203.0.113.90", False)
        m.result("fw-expire", "203.0.113.91", False)
    wait_for("both in the set", lambda: {"203.0.113.90", "203.0.113.91"} <= set(v4()))
    r = m.admin("POST", "/v1/accounts/fw-lift/unlock", {"note": "it was the owner"})
    assert r.status_code == 200, r.text
    wait_for("the lifted block out", lambda: "203.0.113.90" not in v4(), timeout=2)
    assert firewall_metric(m, "elements_removed_total") == 1
    # The other one ends in the kernel on its own (3 s), with no batch.
    batches = firewall_metric(m, "batches_total")
    wait_for("the ended block expired", lambda: "203.0.113.91" not in v4(), timeout=6)
    assert firewall_metric(m, "batches_total") == batches


def test_deny_list_networks_are_one_interval_element_and_leave_when_removed(netns, make_mamorid):
    m = make_mamorid(extra_toml=FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 1}})
    m.result("fw-inside", "198.51.100.7", False)  # a block inside the network below
    wait_for("the address", lambda: "198.51.100.7" in v4())
    r = m.admin("POST", "/v1/lists", {"kind": "deny", "target": "198.51.100.0/24",
                                      "reason": "abuse", "ttl_s": 600})
    assert r.status_code == 201, r.text
    net_id = r.json()["id"]
    r = m.admin("POST", "/v1/lists", {"kind": "deny", "target": "2001:db8:5::/48",
                                      "reason": "abuse"})
    assert r.status_code == 201, r.text
    # The /24 is one element; the address inside it is left out while the
    # network lasts, the /48 has no timeout.
    wait_for("the /24", lambda: list(set_elements("deny_net_v4")) == ["198.51.100.0/24"])
    assert 590 <= set_elements("deny_net_v4")["198.51.100.0/24"] <= 600
    wait_for("the address out", lambda: v4() == {})
    wait_for("the /48", lambda: set_elements("deny_net_v6") == {"2001:db8:5::/48": None})
    assert set_elements("deny_v6") == {}
    assert m.admin("DELETE", "/v1/lists/" + net_id).status_code in (200, 204)
    # The network gone, the address block is back on its own.
    wait_for("the address again", lambda: list(v4()) == ["198.51.100.7"])
    assert set_elements("deny_net_v4") == {}


def test_a_restart_restores_every_block_in_one_batch(netns, make_mamorid):
    n = 300
    m = make_mamorid(extra_toml=FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 1},
                                 "credential_stuffing": {"threshold": 1000},
                                 "ip_failures": {"threshold": 100000, "deny_threshold": 100000}})
    # Each in a /24 of its own: no network detection joins them.
    ips = ["10.%d.%d.1" % (i // 256, i % 256) for i in range(n)]
    for i, ip in enumerate(ips):
        m.result("fw-restore-%d" % i, ip, False)
    wait_for("%d elements" % n, lambda: len(v4()) == n)
    m.stop()
    nft("delete", "table", "inet", "mamori")  # what a reboot does
    m.start()
    # Ready means restored: the set is whole before the listener answers.
    assert set(v4()) == set(ips)
    assert firewall_metric(m, "batches_total") == 1
    assert firewall_metric(m, "elements_added_total") == n
    assert "restored with %d elements in one batch" % n in m.read_log()
    # The batch goes out once the blocks are loaded, before the hot windows
    # are warmed from the activity log (its n failures here), which is
    # logged as the state loaded.
    log = m.read_log()
    assert log.rindex("restored with %d elements" % n) < log.rindex("state loaded from"), log


def test_a_restart_restores_20000_blocks_and_networks_read_back_with_nft(netns, make_mamorid,
                                                                         log_path):
    """20,000 IPv4 and 100 IPv6 blocks from a log, and two deny-list networks:
    after a restart (the table gone, as after a reboot) one netlink batch
    puts them all back, each with its own timeout, and nft reads them."""
    n4, n6 = 20000, 100
    log = DovecotLog(log_path)
    m = make_mamorid(extra_toml=logs_toml(log_path) + FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 1},
                                 "credential_stuffing": {"threshold": 1000},
                                 "ip_failures": {"threshold": 100000, "deny_threshold": 100000}})
    # Each in a /24 or /64 of its own: no network detection joins them.
    ips4 = ["10.%d.%d.1" % (i // 256, i % 256) for i in range(n4)]
    ips6 = ["2001:db8:%x::1" % i for i in range(1, n6 + 1)]  # as nft prints them
    with open(log_path, "a") as f:
        for i, ip in enumerate(ips4 + ips6):
            f.write(log.line("fw-many-%d" % i, ip, False))
    for target in ("198.51.100.0/24", "2001:db8:ffff::/48"):
        r = m.admin("POST", "/v1/lists", {"kind": "deny", "target": target, "reason": "abuse",
                                          "ttl_s": 7200})
        assert r.status_code == 201, r.text
    wait_for("every block in the sets", lambda: firewall_metric(m, "elements") == n4 + n6 + 2,
             timeout=120)
    m.stop()
    nft("delete", "table", "inet", "mamori")  # what a reboot does
    m.start()
    # Ready means restored, in one batch.
    assert firewall_metric(m, "batches_total") == 1
    assert firewall_metric(m, "elements_added_total") == n4 + n6 + 2
    assert "restored with %d elements in one batch" % (n4 + n6 + 2) in m.read_log()
    got4, got6 = v4(), set_elements("deny_v6")
    assert sorted(got4) == sorted(ips4)
    assert sorted(got6) == sorted(ips6)
    # brute_force's hour, counted down from the block's own start.
    assert all(3000 <= t <= 3600 for t in list(got4.values()) + list(got6.values()))
    net4, net6 = set_elements("deny_net_v4"), set_elements("deny_net_v6")
    assert list(net4) == ["198.51.100.0/24"] and 7000 <= net4["198.51.100.0/24"] <= 7200, net4
    assert list(net6) == ["2001:db8:ffff::/48"], net6
    # The restored table is whole: its drop rules too.
    ruleset = nft("list", "table", "inet", "mamori").stdout
    for chain in ("input", "forward"):
        assert "chain %s" % chain in ruleset
    assert ruleset.count("ip saddr @deny_v4 drop") == 2, ruleset[:2000]
    assert ruleset.count("ip6 saddr @deny_net_v6 drop") == 2


def test_a_table_deleted_behind_its_back_is_restored_whole(netns, make_mamorid):
    """A batch that finds the table gone fails with the kernel's reason, is
    counted, and the next one restores the table with every element."""
    m = make_mamorid(extra_toml=FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 1}})
    m.result("fw-gone-1", "203.0.113.101", False)
    wait_for("the first address", lambda: "203.0.113.101" in v4())
    nft("delete", "table", "inet", "mamori")
    m.result("fw-gone-2", "203.0.113.102", False)
    wait_for("both back", lambda: set(v4()) == {"203.0.113.101", "203.0.113.102"}, timeout=10)
    assert firewall_metric(m, "errors_total") == 1
    log = m.read_log()
    assert ("firewall: nftables table inet mamori: add elements to deny_v4: No such file or "
            "directory (the table or one of its sets is missing)") in log, log
    assert "firewall: nftables batches apply again" in log


def test_without_cap_net_admin_errors_are_counted_and_answers_go_on(netns, make_mamorid):
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv")
    m = make_mamorid(start=False, extra_toml=FIREWALL)
    m.start(wrap=["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"])
    assert m.attempt("fw-nocap", "203.0.113.5")["action"] == "allow"
    assert firewall_metric(m, "errors_total") >= 1
    assert firewall_metric(m, "batches_total") == 0
    assert "firewall: nftables table inet mamori: " in m.read_log()
    assert "Operation not permitted" in m.read_log()
    assert set_elements("deny_v4") is None  # nothing was made


def test_a_bad_table_name_is_refused_with_file_and_line(make_mamorid, tmp_path):
    m = make_mamorid(start=False, extra_toml='[firewall]\nnftables = true\ntable = "x; flush ruleset"\n')
    with pytest.raises(RuntimeError) as e:
        m.start()
    assert "mamori.toml" in str(e.value) and "table" in str(e.value)



@pytest.fixture
def postfix_in_netns(netns):
    """A real Postfix (SASL through a real Dovecot with no auth policy) that
    writes its own log (maillog_file), and a client address of the
    namespace's own: (postfix, fail_once(account, src))."""
    import smtplib
    import subprocess
    import mail_peers
    mail_peers.require_peers()
    for src in ("203.0.113.60", "203.0.113.61"):
        subprocess.run(["ip", "addr", "add", src + "/32", "dev", "lo"], check=True, timeout=10)
    # Postfix listens on 127.0.0.1 only: let a source outside 127/8 reach it.
    for conf in ("all", "lo"):
        subprocess.run(["sysctl", "-q", "-w", "net.ipv4.conf.%s.route_localnet=1" % conf],
                       check=True, timeout=10)
    d = mail_peers.Dovecot.start(None, None, {"pf@example.test": "right-pw"})
    try:
        p = mail_peers.Postfix.start(d.auth_port, None)
    except Exception:
        d.stop()
        raise

    def fail_once(account, src):
        s = smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10, source_address=(src, 0))
        try:
            s.ehlo("client.example.test")
            s.user, s.password = account, "wrong-pw"
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.auth("PLAIN", s.auth_plain)  # one attempt (login() tries each mechanism)
        finally:
            s.close()

    yield p, fail_once
    p.stop()
    d.stop()


def test_sasl_failures_a_real_postfix_logs_end_up_dropped_by_the_kernel(postfix_in_netns,
                                                                         make_mamorid):
    """mamorid reads only Postfix's log. Once the address is in the set, the
    kernel drops its next connection."""
    import socket
    p, fail_once = postfix_in_netns
    src = "203.0.113.60"
    maillog = os.path.join(p.dir, "maillog")
    m = make_mamorid(extra_toml=logs_toml(maillog, fmt="postfix") + FIREWALL_ACCOUNT_IP,
                     detections={"brute_force": {"threshold": 5}})
    for _ in range(5):
        fail_once("pf@example.test", src)
    wait_for(src + " in deny_v4", lambda: src in v4(), timeout=10)
    assert 3500 <= v4()[src] <= 3600
    assert metric_sum(metrics(m), "mamori_log_events_total", source=maillog) == 5
    # The kernel drops it now: the connection is never answered.
    with pytest.raises((socket.timeout, OSError)):
        socket.create_connection(("127.0.0.1", p.smtp_port), timeout=1, source_address=(src, 0))


def test_stuffing_a_real_postfix_logs_ends_up_in_the_set(postfix_in_netns, make_mamorid):
    """Credential stuffing over SMTP AUTH, seen in Postfix's log alone: the
    source is denied whole (default: no per-account blocks in the kernel)."""
    p, fail_once = postfix_in_netns
    src = "203.0.113.61"
    maillog = os.path.join(p.dir, "maillog")
    m = make_mamorid(extra_toml=logs_toml(maillog, fmt="postfix") + FIREWALL,
                     detections={"credential_stuffing": {"threshold": 8}})
    for i in range(8):
        fail_once("cs%02d@example.test" % i, src)
    wait_for(src + " in deny_v4", lambda: src in v4(), timeout=10)
    assert metric_sum(metrics(m), "mamori_log_events_total", source=maillog) == 8
    assert [b for b in m.admin("GET", "/v1/blocked").json()["blocks"]
            if b["reason"] == "credential_stuffing" and src in str(b)]
