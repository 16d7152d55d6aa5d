"""S3 — credential stuffing: one IP (or one /24, /64 network) failing logins on many
distinct accounts is denied, and an incident records every account it touched."""
from conftest import APP_TOKEN
from helpers import (assert_allow, assert_decision, assert_error, fail_login, get_json,
                     incident_accounts, incidents)

STUFFER = "203.0.113.7"
THRESHOLD = 20          # default credential_stuffing.threshold
NETWORK_THRESHOLD = 100  # default credential_stuffing.network_threshold


def affected(m, account):
    return get_json(m, "/v1/incidents/affected?account=" + account, token=APP_TOKEN)


def test_one_ip_on_500_accounts_is_denied_and_recorded(mamorid):
    m = mamorid
    accounts = ["cs-user-%03d" % i for i in range(500)]
    for i, acct in enumerate(accounts):
        a, r = fail_login(m, acct, STUFFER, pwhash="leaked-%d" % i)
        ctx = "account #%d" % (i + 1)
        if i < THRESHOLD - 1:
            assert_allow(a, ctx + " attempt")
            assert_allow(r, ctx + " result")
        elif i == THRESHOLD - 1:
            # 19 distinct accounts failed so far: the attempt still passes; this result reaches 20.
            assert_allow(a, ctx + " attempt")
            assert_decision(r, "deny", "credential_stuffing", ctx + " result (reaches threshold)")
        else:
            assert_decision(a, "deny", "credential_stuffing", ctx + " attempt")
            assert_decision(r, "deny", "credential_stuffing", ctx + " result")
            assert a["risk"] >= 90, a

    found = incidents(m, kind="credential_stuffing", source=STUFFER)
    assert len(found) == 1, get_json(m, "/v1/incidents")
    inc = found[0]
    assert inc["accounts_targeted"] >= 500, inc
    assert inc["accounts_compromised"] == 0, inc
    assert get_json(m, "/v1/incidents/%s" % inc["id"])["id"] == inc["id"]

    touched = incident_accounts(m, inc["id"])
    missing = [a for a in accounts if a not in touched]
    assert not missing, "incident misses %d accounts, e.g. %s" % (len(missing), missing[:5])
    assert not any(e["login_succeeded"] for e in touched.values())
    for e in touched.values():
        assert e["first_seen"] and e["last_seen"], e

    # The app ignored the advice and the leaked password worked for one account.
    victim = accounts[250]
    m.result(victim, STUFFER, True, pwhash="leaked-250")
    touched = incident_accounts(m, inc["id"])
    assert touched[victim]["login_succeeded"] is True, touched[victim]
    assert not touched[accounts[251]]["login_succeeded"], touched[accounts[251]]
    inc2 = get_json(m, "/v1/incidents/%s" % inc["id"])
    assert inc2["accounts_compromised"] >= 1, inc2

    # "Was my ID affected?" (app token).
    yes = affected(m, accounts[42])
    assert yes["affected"] is True, yes
    assert inc["id"] in [i["id"] for i in yes["incidents"]], yes
    assert affected(m, victim)["affected"] is True
    no = affected(m, "cs-never-touched")
    assert no["affected"] is False, no
    assert no["incidents"] == [], no
    assert_error(m.app("GET", "/v1/incidents/affected"), 400, "missing_field", "account")

    # Other sources are not affected: an IP in another network logs in fine.
    assert_allow(m.attempt(accounts[1], "192.0.2.10"), "other IP, touched account")
    assert_allow(m.result(accounts[1], "192.0.2.10", True), "other IP, success")
    assert_allow(m.attempt("cs-someone-else", "192.0.2.10"), "other IP, other account")
    # ... while the source stays denied, also for accounts it never tried before.
    assert_decision(m.attempt("cs-fresh", STUFFER), "deny", "credential_stuffing")


def run_network(m, ips_accounts, threshold, ctx):
    """Fails each (ip, account) once; checks allow before the network threshold, deny after."""
    seen = 0
    for ip, acct in ips_accounts:
        a, r = fail_login(m, acct, ip, pwhash="pw-" + acct)
        here = "%s: %s on %s with %d accounts failed before" % (ctx, ip, acct, seen)
        if seen < threshold:
            assert_allow(a, here + " (attempt)")
        else:
            assert_decision(a, "deny", "credential_stuffing", here + " (attempt)")
        seen += 1
        if seen < threshold:
            assert_allow(r, here + " (result)")
        else:
            assert_decision(r, "deny", "credential_stuffing", here + " (result)")
    return seen


def test_low_and_slow_ipv4_network_is_caught(mamorid):
    m = mamorid
    plan = []
    for host in range(1, 201):  # 198.51.100.1 .. 200, one or two accounts each (far below 20)
        ip = "198.51.100.%d" % host
        for k in range(1 if host % 2 else 2):
            plan.append((ip, "ls-%d-%d" % (host, k)))
    assert len(plan) == 300
    run_network(m, plan, NETWORK_THRESHOLD, "ipv4 /24")

    # A fresh IP of the same /24 is denied, even on an untouched account.
    assert_decision(m.attempt("ls-fresh", "198.51.100.250"), "deny", "credential_stuffing")
    assert_decision(m.result("ls-fresh", "198.51.100.251", False), "deny", "credential_stuffing")
    # Neighbouring networks are not.
    assert_allow(m.attempt("ls-fresh", "198.51.101.250"), "neighbour /24")
    assert_allow(m.attempt("ls-1-0", "198.51.99.1"), "neighbour /24 below")

    found = incidents(m, kind="credential_stuffing", source="198.51.100.0/24")
    assert len(found) == 1, get_json(m, "/v1/incidents")
    assert found[0]["accounts_targeted"] >= 300, found[0]
    touched = incident_accounts(m, found[0]["id"])
    missing = [a for _, a in plan if a not in touched]
    assert not missing, missing[:5]


def test_low_and_slow_ipv6_64_is_caught(make_mamorid):
    net_threshold = 10
    m = make_mamorid(detections={"credential_stuffing": {"network_threshold": net_threshold}})
    plan = [("2001:db8:1:2::%x" % (i + 1), "v6-user-%d" % i) for i in range(15)]
    run_network(m, plan, net_threshold, "ipv6 /64")

    assert_decision(m.attempt("v6-fresh", "2001:db8:1:2:ffff:ffff:ffff:fffe"), "deny",
                    "credential_stuffing")
    # The same network written in full, uncompressed form.
    assert_decision(m.attempt("v6-fresh", "2001:0db8:0001:0002:0000:0000:0000:00ff"), "deny",
                    "credential_stuffing")
    assert_allow(m.attempt("v6-fresh", "2001:db8:1:3::1"), "neighbour /64")
    assert_allow(m.attempt("v6-fresh", "192.0.2.1"), "an IPv4 source")

    found = incidents(m, kind="credential_stuffing", source="2001:db8:1:2::/64")
    assert len(found) == 1, get_json(m, "/v1/incidents")
    assert found[0]["accounts_targeted"] >= 15, found[0]
