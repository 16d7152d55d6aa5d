"""Distributed stuffing: a wave from thousands of addresses over many networks, one attempt
each, with rotating browser user agents, is caught; what is the attacker's own is denied,
new devices are challenged service-wide while it lasts, honest users on their known devices
are not, and one incident lists every account that failed during it."""
import os
import time

from helpers import assert_allow, assert_decision, assert_error, get_json, incident_accounts, incidents

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
]
TOOL_JA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"
HONEST_USERS = 60


def wave_ip(k):
    """Address k of the wave: 2,000 addresses over 40 /16s (100.64.0.0 - 100.103.255.255)."""
    return "100.%d.%d.%d" % (64 + k % 40, (k // 40) % 250, 1 + k // 10000)


def honest_ip(i):
    # Every fifth honest user sits in one of the wave's /16s.
    if i % 5 == 0:
        return "100.%d.251.%d" % (64 + i % 40, 1 + i)
    return "198.51.%d.%d" % (i % 200, 1 + i)


def honest_login(m, i, ctx):
    """An honest user's login on their known device: attempt, then success."""
    acct, dev, ua = "ds-user-%d" % i, "dev-%d" % i, BROWSERS[i % len(BROWSERS)]
    a = m.attempt(acct, honest_ip(i), device_id=dev, user_agent=ua)
    assert_allow(a, ctx + " honest attempt " + acct)
    r = m.result(acct, honest_ip(i), True, device_id=dev, user_agent=ua)
    assert r["action"] == "allow" and "distributed_stuffing" not in r["reasons"], (ctx, acct, r)


def learn_devices(m):
    for i in range(HONEST_USERS):
        honest_login(m, i, "first login")


def run_wave(m, n, **fields):
    """n failed logins, one per address and account; honest logins between. Returns the
    attempts' answers."""
    answers = []
    for k in range(n):
        acct, ua = "ds-leaked-%d" % k, BROWSERS[k % len(BROWSERS)]
        answers.append(m.attempt(acct, wave_ip(k), user_agent=ua, **fields))
        r = m.result(acct, wave_ip(k), False, user_agent=ua, **fields)
        assert "credential_stuffing" not in r["reasons"], (k, r)
        if k % 10 == 0:
            honest_login(m, (k // 10) % HONEST_USERS, "during the wave (k=%d)" % k)
    return answers


def test_wave_over_2000_addresses_is_caught(mamorid):
    m = mamorid
    learn_devices(m)
    answers = run_wave(m, 2000, client_fingerprint=TOOL_JA4)
    refused = [a["action"] in ("challenge", "deny") for a in answers]
    # Its tool's fingerprint is denied from its 50th account (fingerprint_threshold) on.
    assert all(refused[60:]), [i for i, x in enumerate(refused) if not x][:10]
    assert_decision(answers[-1], "deny", "distributed_stuffing")

    blocked = get_json(m, "/v1/blocked")["blocks"]
    fingerprints = [b for b in blocked if b["scope"] == "fingerprint"]
    assert [b["target"] for b in fingerprints] == ["client:" + TOOL_JA4], blocked
    assert fingerprints[0]["reason"] == "distributed_stuffing", fingerprints
    # Never a wide prefix: at most the attacker's /24s.
    for b in blocked:
        if b["scope"] == "network":
            assert b["target"].endswith("/24"), b

    # The tool is denied from any address, whatever user agent it shows.
    assert_decision(m.attempt("ds-someone", "203.0.113.9", user_agent=BROWSERS[3],
                              client_fingerprint=TOOL_JA4), "deny", "distributed_stuffing")
    # A browser's client fingerprint, shared with honest users, is not.
    assert_allow(m.attempt("ds-user-1", honest_ip(1), device_id="dev-1", user_agent=BROWSERS[1],
                           client_fingerprint="t13d1517h2_8daaf6152771_b0da82dd1658"))

    found = incidents(m, kind="distributed_stuffing")
    assert len(found) == 1, get_json(m, "/v1/incidents")
    inc = found[0]
    assert inc["accounts_targeted"] >= 2000, inc
    assert "fingerprint:client:" + TOOL_JA4 in inc["sources"], inc
    touched = incident_accounts(m, inc["id"])
    missing = ["ds-leaked-%d" % k for k in range(2000) if "ds-leaked-%d" % k not in touched]
    assert not missing, "incident misses %d accounts, e.g. %s" % (len(missing), missing[:5])

    # Service-wide while the wave lasts: a new device is challenged, anywhere.
    phone = m.result("ds-user-3", honest_ip(3), True, device_id="new-phone", user_agent=BROWSERS[5])
    assert_decision(phone, "challenge", "distributed_stuffing")
    attempt = m.attempt("ds-user-4", "192.0.2.44", device_id="someone-elses", user_agent=BROWSERS[0])
    assert_decision(attempt, "challenge", "distributed_stuffing")
    # A second factor passed in the login lifts it.
    assert_allow(m.result("ds-user-5", honest_ip(5), True, device_id="new-tablet", mfa=True,
                          user_agent=BROWSERS[2]))


def test_wave_without_its_own_fingerprint_raises_protection_and_denies_nothing(mamorid):
    m = mamorid
    learn_devices(m)
    answers = run_wave(m, 1000)
    assert "distributed_stuffing" in answers[-1]["reasons"] or answers[-1]["action"] == "allow"
    blocked = get_json(m, "/v1/blocked")["blocks"]
    assert blocked == [], blocked
    # A stolen password tried on an honest user's account from the wave's networks.
    assert_decision(m.attempt("ds-user-7", wave_ip(7), user_agent=BROWSERS[0]),
                    "challenge", "distributed_stuffing")
    stolen = m.result("ds-user-7", wave_ip(7), True, user_agent=BROWSERS[0])
    assert_decision(stolen, "challenge", "distributed_stuffing")
    inc = incidents(m, kind="distributed_stuffing")
    assert len(inc) == 1, get_json(m, "/v1/incidents")
    touched = incident_accounts(m, inc[0]["id"])
    assert touched["ds-user-7"]["login_succeeded"] is True, touched["ds-user-7"]
    assert inc[0]["accounts_targeted"] >= 1000, inc
    assert any(s.endswith("/16") for s in inc[0]["sources"]), inc


def test_client_fingerprint_is_validated(mamorid):
    m = mamorid
    r = m.app("POST", "/v1/login/result", {"account": "ds-v", "ip": "192.0.2.1", "success": False,
                                            "client_fingerprint": "ja4\n"})
    assert_error(r, 400, "invalid_field", "client_fingerprint")
    r = m.app("POST", "/v1/login/attempt", {"account": "ds-v", "ip": "192.0.2.1",
                                             "client_fingerprint": "x" * 257})
    assert_error(r, 400, "field_too_long", "client_fingerprint")
    r = m.app("POST", "/v1/login/attempt", {"account": "ds-v", "ip": "192.0.2.1",
                                             "client_fingerprint": 7})
    assert_error(r, 400, "invalid_field", "client_fingerprint")
    # Nothing was recorded of the refused calls.
    assert get_json(m, "/v1/accounts/ds-v/activity")["events"] == []
    assert_allow(m.attempt("ds-v", "192.0.2.1", client_fingerprint=TOOL_JA4))


def usual_baseline(ratio, unknown_per_minute):
    """A baseline file of every hour of the week at these levels."""
    return "mamori-baseline 1\n" + "".join("%d 4 %s %s\n" % (s, ratio, unknown_per_minute)
                                           for s in range(168))


def test_failures_for_unknown_accounts_far_above_the_usual_rate_start_a_wave(make_mamorid):
    # The failure ratio alone would need 100,000 results here: the rate of
    # unknown accounts is what starts the wave.
    m = make_mamorid(start=False, detections={"distributed_stuffing": {
        "baseline_min_unknown": 30, "baseline_min_results": 100000}})
    os.makedirs(m.data_dir, exist_ok=True)
    with open(os.path.join(m.data_dir, "baseline"), "w") as f:
        f.write(usual_baseline(0.05, 0.1))
    m.start()
    assert "failure baseline restored from" in m.read_log()
    learn_devices(m)
    # Failures the app says are for real accounts: no source stands out and
    # too few results for the ratio to count: nothing is raised.
    for k in range(40):
        r = m.result("ds-real-%d" % k, "%d.%d.1.1" % (30 + k, k), False, user_agent=BROWSERS[k % 6],
                     account_known=True)
        assert r["action"] == "allow", r
    assert_allow(m.attempt("ds-user-4", "192.0.2.44", device_id="someone-elses",
                           user_agent=BROWSERS[0]))
    # Failures for accounts the app never had, each from its own /16 and
    # without a user agent (no source of the wave is hot): 30 in the window
    # are far over the usual 0.1 a minute. The judgement is renewed at most
    # once a second: go on until the wave is on.
    deadline, k = time.monotonic() + 20, 0
    while True:
        m.result("ds-unknown-%d" % k, "%d.%d.2.2" % (80 + k % 100, k // 100), False,
                 account_known=False)
        k += 1
        a = m.attempt("ds-user-4", "192.0.2.44", device_id="someone-elses", user_agent=BROWSERS[0])
        if a["action"] == "challenge":
            break
        assert time.monotonic() < deadline and k < 2000, "no wave after %d unknown accounts" % k
    assert k >= 30, "a wave before baseline_min_unknown failures (%d)" % k
    assert_decision(a, "challenge", "distributed_stuffing")
    assert get_json(m, "/v1/blocked")["blocks"] == []
    inc = incidents(m, kind="distributed_stuffing")
    assert len(inc) == 1, get_json(m, "/v1/incidents")
    assert any(s.startswith("service: ") and "unknown accounts" in s for s in inc[0]["sources"]), inc[0]["sources"]
    touched = incident_accounts(m, inc[0]["id"])
    assert "ds-unknown-%d" % (k - 1) in touched, sorted(touched)[:10]


def test_a_bad_baseline_file_is_set_aside_and_account_known_is_validated(make_mamorid):
    m = make_mamorid(start=False)
    os.makedirs(m.data_dir, exist_ok=True)
    path = os.path.join(m.data_dir, "baseline")
    with open(path, "w") as f:
        f.write("mamori-baseline 1\n400 1 0.05 0\n")
    m.start()
    log = m.read_log()
    assert "slot 400 is not 0-167" in log and "learnt anew" in log, log
    assert os.path.exists(path + ".bad") and not os.path.exists(path)
    r = m.app("POST", "/v1/login/result", {"account": "ds-v", "ip": "192.0.2.1", "success": False,
                                            "account_known": "no"})
    assert_error(r, 400, "invalid_field", "account_known")
    assert get_json(m, "/v1/accounts/ds-v/activity")["events"] == []
