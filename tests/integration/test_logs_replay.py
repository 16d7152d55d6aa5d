"""`mamori logs replay`: a log through the whole engine with its lines' own
times, printing what would have been refused and why, like fail2ban-regex
with every detection."""
import json
import os
import subprocess
import time

from conftest import MAMORI_CLI

FAIL = ("Dec  7 %s mail dovecot: imap-login: Disconnected: Connection closed (auth failed, 1 "
        "attempts in 2 secs): user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, TLS, session=<s%d>\n")
OK = ("Dec  7 %s mail dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=%s, "
      "lip=192.0.2.1, mpid=1, TLS, session=<s%d>\n")
NOISE = "Dec  7 %s mail dovecot: imap(x)<1><s>: Logged out in=1 out=2\n"


def write_log(path):
    """Line numbers: 1-5 noise, 6-17 brute force on one account from one IP
    (its 10th failure, line 15, crosses the threshold), 18 a success, 19-43
    stuffing 25 accounts from another IP, 44 a bad line."""
    lines = []
    t = lambda i: "10:%02d:%02d" % (i // 60, i % 60)
    for i in range(5):
        lines.append(NOISE % t(i))
    for i in range(12):
        lines.append(FAIL % (t(10 + i), "rp-victim", "203.0.113.40", i))
    lines.append(OK % (t(30), "rp-owner", "192.0.2.50", 99))
    for i in range(25):
        lines.append(FAIL % (t(40 + i), "rp-cs-%02d" % i, "198.51.100.60", 100 + i))
    lines.append(FAIL.replace("Dec  7", "Dez 77") % (t(70), "rp-bad-time", "192.0.2.9", 999))
    with open(path, "w") as f:
        f.writelines(lines)
    return len(lines)


def replay(*args, tmpdir=None):
    env = dict(os.environ)
    if tmpdir:
        env["TMPDIR"] = tmpdir
    return subprocess.run([MAMORI_CLI, "logs", "replay"] + list(args), capture_output=True,
                          text=True, timeout=120, env=env)


def test_replay_shows_what_would_have_been_refused_and_why(tmp_path):
    log = str(tmp_path / "mail.log")
    n = write_log(log)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    r = replay(log, "--format", "dovecot", "--json", tmpdir=str(scratch))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["lines"] == n == 44
    assert doc["matched"] == 39 and doc["not_matched"] == 5
    assert doc["events"] == 38
    assert doc["skipped"]["bad_time"] == 1
    refused = {(f["reason"], f["ip"]): f for f in doc["refused"]}
    bf = refused[("brute_force", "203.0.113.40")]
    assert bf["account"] == "rp-victim"
    assert bf["action"] == "deny"
    assert (bf["first_line"], bf["last_line"], bf["events"]) == (15, 17, 3)
    cs = refused[("credential_stuffing", "198.51.100.60")]
    # the 20th distinct account (line 38) crosses the threshold
    assert (cs["first_line"], cs["last_line"], cs["accounts"]) == (38, 43, 6)
    # Its line's own time: local "Dec  7 10:00:59" of the file's year.
    year = time.localtime(os.path.getmtime(log)).tm_year
    want = time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                         time.gmtime(time.mktime((year, 12, 7, 10, 0, 59, 0, 0, -1))))
    assert cs["first_time"] == want, cs
    assert not [f for f in doc["refused"] if f["ip"] == "192.0.2.50"]
    # The throwaway data dir is gone.
    assert os.listdir(scratch) == []


def test_replay_takes_the_detections_from_the_config(tmp_path):
    log = str(tmp_path / "mail.log")
    write_log(log)
    config = tmp_path / "mamori.toml"
    config.write_text("[detections.brute_force]\nthreshold = 3\n")
    r = replay(log, "--format", "dovecot", "--json", "--config", str(config))
    assert r.returncode == 0, r.stderr
    bf = [f for f in json.loads(r.stdout)["refused"] if f["reason"] == "brute_force"]
    assert bf and bf[0]["first_line"] == 8, bf


def test_replay_prints_a_table_and_a_summary(tmp_path):
    log = str(tmp_path / "mail.log")
    write_log(log)
    r = replay(log, "--format", "dovecot")
    assert r.returncode == 0, r.stderr
    assert "would have been refused (2)" in r.stdout
    assert "brute_force" in r.stdout and "credential_stuffing" in r.stdout
    assert "lines read    44" in r.stdout
    assert "bad_time 1" in r.stdout


def test_replay_of_an_access_log_needs_its_login_path(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(
        '203.0.113.9 - - [07/Dec/2024:04:41:%02d +0000] "POST /login HTTP/1.1" 401 1 "-" "ua"\n' % i
        for i in range(12)))
    r = replay(str(log), "--format", "nginx")
    assert r.returncode == 2 and "login_path" in r.stderr, r.stderr
    r = replay(str(log), "--format", "nginx", "--login-path", "/login", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["events"] == 12
    assert [f["reason"] for f in doc["refused"]] == ["brute_force"]


def test_replay_errors_and_help(tmp_path):
    r = replay(str(tmp_path / "missing.log"), "--format", "dovecot")
    assert r.returncode == 1 and "missing.log" in r.stderr
    r = replay(str(tmp_path / "x.log"))
    assert r.returncode == 2 and "--format" in r.stderr
    r = subprocess.run([MAMORI_CLI, "logs", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "usage: mamori logs replay FILE --format NAME" in r.stdout


# ---- the report of a fixed log, as checked in --------------------------------------

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "logs",
                      "replay_golden.json")


def golden_log(path, n=160_000, seed=23):
    """A deterministic Dovecot log of two days (RFC 3339 stamps in UTC, so
    neither the time zone nor the file's year matters): logins, users'
    typos, and every eighth stretch of 4,000 lines an attack (brute force on
    7 accounts from 20 IPs, stuffing from 3 IPs, and from 39 addresses of one
    /24), with multi-attempt lines, lines without an account and bad IPs.
    Over 65,536 events, so the replay's maintenance runs too."""
    import random
    rng = random.Random(seed)
    start = 1733443200  # 2024-12-06T00:00:00Z

    def ip4(a=None):
        return "%d.%d.%d.%d" % (a or rng.randrange(11, 99), rng.randrange(256),
                                rng.randrange(256), rng.randrange(1, 255))
    users = ["u%d@example.org" % i for i in range(3000)]
    home = {u: ip4() for u in users}
    brute = [ip4(120) for _ in range(20)]
    stuffers = [ip4(130) for _ in range(3)]
    lines = []
    for i in range(n):
        t = start + 2 * 86400 * i // n
        stamp = "2024-12-%02dT%02d:%02d:%02d.%03dZ" % (
            6 + (t - start) // 86400, (t % 86400) // 3600, (t % 3600) // 60, t % 60, i % 1000)
        r = rng.random()
        if r < 0.30:
            u = rng.choice(users)
            ip = home[u] if rng.random() < 0.97 else ip4()
            lines.append("%s mail dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, "
                         "lip=192.0.2.1, mpid=%d, TLS, session=<s%d>"
                         % (stamp, rng.choice(("imap", "pop3")), u, ip, i, i))
            continue
        attack = (i // 4000) % 8 == 3
        if r < 0.44 or (attack and r < 0.9):
            k = rng.random() if attack else 0
            if k < 0.1 or not attack:
                u = rng.choice(users)
                ip = home[u]
            elif k < 0.35:
                b = rng.randrange(len(brute))
                ip, u = brute[b], "victim%d@example.org" % (b % 7)
            elif k < 0.6:
                ip, u = rng.choice(stuffers), rng.choice(users)
            else:
                ip, u = "140.7.9." + str(rng.randrange(1, 40)), rng.choice(users)
            attempts = 1 if rng.random() < 0.9 else rng.randrange(2, 5)
            lines.append("%s mail dovecot: imap-login: Disconnected: Connection closed (auth "
                         "failed, %d attempts in 2 secs): user=<%s>, method=PLAIN, rip=%s, "
                         "lip=192.0.2.1, TLS, session=<s%d>" % (stamp, attempts, u, ip, i))
            continue
        if r < 0.4405:
            lines.append("%s mail dovecot: imap-login: Disconnected: Connection closed (auth "
                         "failed, 1 attempts in 2 secs): user=<>, method=PLAIN, rip=%s, "
                         "lip=192.0.2.1, TLS" % (stamp, ip4()))
        elif r < 0.441:
            lines.append("%s mail dovecot: imap-login: Login: user=<x@example.org>, "
                         "method=PLAIN, rip=300.1.2.3, lip=192.0.2.1, TLS" % stamp)
        elif r < 0.70:
            lines.append("%s mail dovecot: imap(%s)<%d><s%d>: Logged out in=%d out=%d deleted=0 "
                         "expunged=0 trashed=0" % (stamp, rng.choice(users), i, i,
                                                   rng.randrange(9999), rng.randrange(99999)))
        elif r < 0.9:
            lines.append("%s mail dovecot: lmtp(%s)<%d><L%d>: msgid=<%d@example.net>: saved "
                         "mail to INBOX" % (stamp, rng.choice(users), i, i, i))
        else:
            lines.append("%s mail dovecot: imap-login: Disconnected (no auth attempts in 0 "
                         "secs): user=<>, rip=%s, lip=192.0.2.1, TLS handshaking: Connection "
                         "closed" % (stamp, ip4()))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def report_of(doc):
    """The decisions of a --json report, without what varies between runs."""
    return {k: v for k, v in doc.items() if k not in ("file", "seconds", "lines_per_second")}


def test_replay_of_a_fixed_log_reports_exactly_the_checked_in_decisions(tmp_path):
    log = str(tmp_path / "golden.log")
    golden_log(log)
    r = replay(log, "--format", "dovecot", "--json")
    assert r.returncode == 0, r.stderr
    got = report_of(json.loads(r.stdout))
    with open(GOLDEN) as f:
        want = json.load(f)
    # Every kind of refusal the log holds is in the report.
    assert {f["reason"] for f in want["refused"]} == {
        "brute_force", "credential_stuffing", "distributed_stuffing", "ip_failures",
        "account_under_attack"}
    assert got == want


GOLDEN_ACCESS = os.path.join(os.path.dirname(GOLDEN), "replay_golden_nginx.json")

BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
)


def golden_access_log(path, n=120_000, seed=29):
    """A deterministic nginx access log of two days (Common Log Format stamps
    in UTC) of a web shop's /login, with the user in the %u field and each
    login's user agent: every user's logins from their home address and
    browser, now and then from a new browser or a new address (new devices),
    typos, other pages; and every sixth stretch of 5,000 lines an attack:
    brute force on 5 accounts, stuffing from 3 addresses with an app's user
    agent (some of its logins work: compromised accounts), and a wave from
    60 addresses of one /16 with browsers' user agents, during which users
    log in from new browsers."""
    import random
    rng = random.Random(seed)
    start = 1733443200  # 2024-12-06T00:00:00Z
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

    def ip4(a=None, b=None):
        return "%d.%d.%d.%d" % (a or rng.randrange(11, 99), b if b is not None else
                                rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
    users = ["shopper%d@example.net" % i for i in range(2000)]
    home = {u: ip4() for u in users}
    browser = {u: rng.randrange(len(BROWSERS)) for u in users}
    brute = [ip4(121) for _ in range(5)]
    stuffers = [ip4(131) for _ in range(3)]
    lines = []
    for i in range(n):
        t = start + 2 * 86400 * i // n
        g = time.gmtime(t)
        stamp = "%02d/%s/%04d:%02d:%02d:%02d +0000" % (g.tm_mday, months[g.tm_mon - 1], g.tm_year,
                                                      g.tm_hour, g.tm_min, g.tm_sec)

        def line(ip, user, method, path, status, ua):
            lines.append('%s - %s [%s] "%s %s HTTP/1.1" %d %d "https://shop.example/" "%s"'
                         % (ip, user, stamp, method, path, status, rng.randrange(100, 9999), ua))
        u = rng.choice(users)
        r = rng.random()
        attack = (i // 5000) % 6 == 2
        if attack and r < 0.45:
            k = rng.random()
            if k < 0.2:
                b = rng.randrange(len(brute))
                line(brute[b], "shopper%d@example.net" % b, "POST", "/login", 401,
                     BROWSERS[b % len(BROWSERS)])
            elif k < 0.65:
                line(rng.choice(stuffers), u, "POST", "/login", 302 if rng.random() < 0.03 else 401,
                     "python-requests/2.31.0")
            else:
                line("140.%d.%d.%d" % (rng.randrange(7, 9), rng.randrange(256), rng.randrange(1, 255))
                     if rng.random() < 0.5 else "140.7.%d.%d" % (rng.randrange(256), rng.randrange(1, 60)),
                     u, "POST", "/login", 401, rng.choice(BROWSERS))
            continue
        if r < 0.30:
            ua = BROWSERS[browser[u]]
            ip = home[u]
            k = rng.random()
            if k < 0.04:
                ua = rng.choice(BROWSERS)  # a new browser, now and then
            elif k < 0.07:
                ip = ip4()
            line(ip, u, "POST", "/login", 302, ua)
        elif r < 0.36:
            line(home[u], u, "POST", "/login", 401, BROWSERS[browser[u]])
        elif r < 0.37:
            line(home[u], "-", "POST", "/login/reset", 401, BROWSERS[browser[u]])
        elif r < 0.375:
            line("300.1.2.3", u, "POST", "/login", 401, "curl/8.5.0")
        else:
            line(home[u], "-", "GET", rng.choice(("/", "/cart", "/login", "/item/%d" % i)), 200,
                 BROWSERS[browser[u]])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def test_replay_of_a_fixed_access_log_reports_exactly_the_checked_in_decisions(tmp_path):
    """Logins that work, new devices, stuffing that gets in, a wave: the
    profiles' and the incidents' paths, pinned as the dovecot log's
    refusals are."""
    log = str(tmp_path / "access.log")
    golden_access_log(log)
    r = replay(log, "--format", "nginx", "--login-path", "/login", "--json")
    assert r.returncode == 0, r.stderr
    got = report_of(json.loads(r.stdout))
    with open(GOLDEN_ACCESS) as f:
        want = json.load(f)
    assert {"new_device", "credential_stuffing", "distributed_stuffing",
            "brute_force"} <= set(want["reasons"])
    assert want["decisions"]["challenge"] > 0 and want["decisions"]["lock"] > 0
    assert got == want
