"""SIGHUP re-reads the whole config file: tokens and detection thresholds
change for the next request, a broken file is refused (FILE:LINE in the log)
and the running config keeps working, and a setting that needs a restart is
named in the log and kept."""
import re
import signal
import time

from conftest import ADMIN_TOKEN, APP_TOKEN

NEW_APP_TOKEN = "test-app-token-rotated"


def wait_for_log(m, pattern, count=1, timeout=20):
    """Polls mamorid's log until `pattern` (a regex) matched `count` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.findall(pattern, m.read_log_all(), flags=re.M)
        if len(found) >= count:
            return found
        assert m.proc.poll() is None, "mamorid exited:\n" + m.read_log()
        time.sleep(0.05)
    raise AssertionError("no %r x%d in the log within %s s:\n%s" % (pattern, count, timeout,
                                                                  m.read_log()))


def reload(m, text=None, outcome=r"SIGHUP: config (reloaded|refused)"):
    """Writes `text` as the config (when given), sends SIGHUP and waits until
    the daemon says what it made of it; returns that log line."""
    if text is not None:
        with open(m.config_path, "w") as f:
            f.write(text)
    before = len(re.findall(outcome, m.read_log_all(), flags=re.M))
    m.proc.send_signal(signal.SIGHUP)
    wait_for_log(m, outcome, before + 1)
    lines = [l for l in m.read_log_all().splitlines() if re.search(outcome, l)]
    return lines[-1]


def config_text(m):
    with open(m.config_path) as f:
        return f.read()


def status_with(m, token):
    return m.request("GET", "/v1/status", token=token).status_code


def login_with(m, token):
    return m.request("POST", "/v1/login/attempt", token=token,
                     json={"account": "carol", "ip": "192.0.2.77"}).status_code


def test_a_token_added_and_one_removed_take_effect(mamorid):
    m = mamorid
    assert login_with(m, APP_TOKEN) == 200
    assert login_with(m, NEW_APP_TOKEN) == 401
    line = reload(m, config_text(m).replace(APP_TOKEN, NEW_APP_TOKEN))
    assert "config reloaded" in line, line
    assert login_with(m, NEW_APP_TOKEN) == 200
    assert login_with(m, APP_TOKEN) == 401
    assert status_with(m, ADMIN_TOKEN) == 200  # the token that stayed


def test_a_lowered_threshold_takes_effect_for_the_next_event(mamorid):
    m = mamorid
    attacker = "198.51.100.23"
    for i in range(3):
        d = m.result("dave", attacker, False, pwhash="p%d" % i)
        assert d["action"] == "allow", d
    reload(m, config_text(m) + "\n[detections.brute_force]\nthreshold = 4\n")
    d = m.result("dave", attacker, False, pwhash="p3")
    assert d["action"] == "deny" and "brute_force" in d["reasons"], d
    # Another account from the same IP starts from zero: three are still allowed.
    for i in range(3):
        assert m.result("erin", attacker, False, pwhash="q%d" % i)["action"] == "allow"


def test_a_broken_file_is_refused_and_the_old_config_keeps_working(mamorid):
    m = mamorid
    good = config_text(m)
    broken = good + "\n[detections.brute_force]\nthreshold = 2\nthreshhold = 3\n"
    bad_line = broken.count("\n", 0, broken.index("threshhold")) + 1
    line = reload(m, broken.replace(APP_TOKEN, NEW_APP_TOKEN))
    assert "config refused" in line, line
    assert "%s:%d:" % (m.config_path, bad_line) in line, line
    assert "detections.brute_force.threshhold" in line, line
    # Nothing of the refused file applies: the old token, the old threshold.
    assert login_with(m, APP_TOKEN) == 200
    assert login_with(m, NEW_APP_TOKEN) == 401
    for i in range(3):
        assert m.result("frank", "198.51.100.31", False, pwhash="r%d" % i)["action"] == "allow"
    # A file that does not parse at all is refused the same way.
    line = reload(m, good + "\n[server\n")
    assert "config refused" in line and m.config_path + ":" in line, line
    assert login_with(m, APP_TOKEN) == 200


def test_a_change_that_needs_a_restart_is_named_and_kept(mamorid):
    m = mamorid
    text = config_text(m)
    other_port = m.port + 1 if m.port < 65535 else m.port - 1
    text = text.replace('listen = "127.0.0.1:%d"' % m.port, 'listen = "127.0.0.1:%d"' % other_port)
    text = text.replace("threads = 2", "threads = 3")
    text += "\n[state]\nmemory_budget_mb = 64\n[detections.brute_force]\nthreshold = 4\n"
    line = reload(m, text)
    assert "config reloaded" in line, line
    log = m.read_log_all()
    assert ("server.listen changed: needs a restart; keeping 127.0.0.1:%d" % m.port) in log, log
    assert "server.threads changed: needs a restart; keeping 2" in log, log
    assert "state.memory_budget_mb changed: needs a restart; keeping 256" in log, log
    assert "brute_force" not in "".join(l for l in log.splitlines() if "needs a restart" in l)
    # Still on the old address, and what could change did.
    assert status_with(m, ADMIN_TOKEN) == 200
    for i in range(3):
        m.result("gina", "198.51.100.41", False, pwhash="s%d" % i)
    assert m.result("gina", "198.51.100.41", False, pwhash="s3")["action"] == "deny"
