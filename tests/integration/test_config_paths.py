"""Relative paths in the config file are taken from the file's directory,
whatever the working directory mamorid starts in (command-line flags from the
working directory); a path that cannot be opened is named with the system's
reason."""
import os
import shutil
import subprocess
import time

import requests

from conftest import ADMIN_TOKEN, APP_TOKEN, MAMORID, SOURCE_DIR, free_port

GEOIP = os.path.join(SOURCE_DIR, "tests", "data", "geoip")


def write_config(etc, port, extra=""):
    os.makedirs(os.path.join(etc, "geo"), exist_ok=True)
    shutil.copy(os.path.join(GEOIP, "GeoLite2-City-Test.mmdb"), os.path.join(etc, "geo"))
    with open(os.path.join(etc, "app.token"), "w") as f:
        f.write(APP_TOKEN + "\n")
    path = os.path.join(etc, "mamori.toml")
    with open(path, "w") as f:
        f.write('[server]\nlisten = "127.0.0.1:%d"\ndata_dir = "state"\n'
                '[geoip]\ncity = "geo/GeoLite2-City-Test.mmdb"\n'
                '[log]\ndecisions = "log/decisions.jsonl"\n'
                '[[tokens]]\ntoken = "%s"\nrole = "admin"\n'
                '[[tokens]]\ntoken_file = "app.token"\nrole = "app"\n' % (port, ADMIN_TOKEN) + extra)
    return path


def start(args, cwd, port):
    log = open(os.path.join(cwd, "mamorid.log"), "ab")
    proc = subprocess.Popen([MAMORID] + args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get("http://127.0.0.1:%d/healthz" % port, timeout=0.5).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_paths_follow_the_config_file_not_the_working_directory(tmp_path):
    etc, elsewhere = str(tmp_path / "etc"), str(tmp_path / "elsewhere")
    os.makedirs(os.path.join(etc, "log"))
    os.makedirs(elsewhere)
    port = free_port()
    # Started from another directory, with the config named relative to it.
    proc = start(["--config", os.path.relpath(write_config(etc, port), elsewhere)], elsewhere, port)
    try:
        assert proc.poll() is None, open(os.path.join(elsewhere, "mamorid.log")).read()
        url = "http://127.0.0.1:%d" % port
        h = {"Authorization": "Bearer " + APP_TOKEN}  # read from etc/app.token
        r = requests.post(url + "/v1/login/attempt", headers=h, timeout=10,
                          json={"account": "alice", "ip": "81.2.69.142"})  # in the City test db
        assert r.status_code == 200, r.text
        assert os.path.exists(os.path.join(etc, "state", "mamori.db"))
        assert os.path.exists(os.path.join(etc, "state", "totp.key"))
        assert os.path.exists(os.path.join(etc, "log", "decisions.jsonl"))
        assert sorted(os.listdir(elsewhere)) == ["mamorid.log"]
        # Named by their absolute paths in the log.
        log = open(os.path.join(elsewhere, "mamorid.log")).read()
        assert "state loaded from %s:" % os.path.join(etc, "state") in log, log
        assert "decision log: %s\n" % os.path.join(etc, "log", "decisions.jsonl") in log, log
    finally:
        assert stop(proc) == 0


def test_the_data_dir_flag_is_taken_from_the_working_directory(tmp_path):
    etc, elsewhere = str(tmp_path / "etc"), str(tmp_path / "elsewhere")
    os.makedirs(os.path.join(etc, "log"))
    os.makedirs(elsewhere)
    port = free_port()
    proc = start(["--config", write_config(etc, port), "--data-dir", "flagged"], elsewhere, port)
    try:
        assert proc.poll() is None, open(os.path.join(elsewhere, "mamorid.log")).read()
        assert os.path.exists(os.path.join(elsewhere, "flagged", "mamori.db"))
        assert not os.path.exists(os.path.join(etc, "state"))
    finally:
        assert stop(proc) == 0


def test_a_missing_file_is_named_with_the_systems_reason(tmp_path):
    etc = str(tmp_path / "etc")
    os.makedirs(etc)
    port = free_port()
    path = write_config(etc, port)  # no etc/log: the decision log cannot be opened
    p = subprocess.run([MAMORID, "--config", path], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert ("decision log %s: cannot open: No such file or directory"
            % os.path.join(etc, "log", "decisions.jsonl")) in p.stderr, p.stderr
    os.makedirs(os.path.join(etc, "log"))
    os.remove(os.path.join(etc, "geo", "GeoLite2-City-Test.mmdb"))
    p = subprocess.run([MAMORID, "--config", path], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert os.path.join(etc, "geo", "GeoLite2-City-Test.mmdb") in p.stderr, p.stderr
    assert "No such file or directory" in p.stderr, p.stderr
