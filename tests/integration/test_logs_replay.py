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
