"""`make run`'s script, scripts/run.sh: it starts mamorid with the example
configuration, prints its banner only once mamorid answers, the banner's
commands work as printed, and Ctrl-C stops the daemon cleanly."""
import json
import os
import re
import select
import signal
import subprocess
import time

from conftest import MAMORID, SOURCE_DIR, free_port

BUILD_DIR = os.path.dirname(os.path.abspath(MAMORID))


def example_config(tmp_path, port):
    """examples/mamori.toml on a free port, its data dir and GeoIP files as
    absolute paths (the script runs from the repository's root)."""
    with open(os.path.join(SOURCE_DIR, "examples", "mamori.toml")) as f:
        text = f.read()
    text = text.replace('listen = "127.0.0.1:8425"', 'listen = "127.0.0.1:%d"' % port, 1)
    text = re.sub(r'^data_dir = "[^"]*"', 'data_dir = "%s"' % (tmp_path / "data"), text,
                  count=1, flags=re.M)
    text = re.sub(r'"\.\./(tests/data/geoip/[^"]+)"',
                  lambda m: '"%s"' % os.path.join(SOURCE_DIR, m.group(1)), text)
    path = tmp_path / "mamori.toml"
    path.write_text(text)
    return str(path)


def read_until(proc, needle, timeout=60):
    """Reads the script's output until `needle`; returns all read so far."""
    out = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in out:
        left = deadline - time.monotonic()
        assert left > 0, "no %r within %s s:\n%s" % (needle, timeout, out.decode(errors="replace"))
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 1))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, "the script ended:\n" + out.decode(errors="replace")
            out += chunk
    return out.decode(errors="replace")


def test_banner_after_mamorid_answers_its_commands_work_and_ctrl_c_stops_cleanly(tmp_path):
    port = free_port()
    config = example_config(tmp_path, port)
    url = "http://127.0.0.1:%d" % port
    proc = subprocess.Popen(["bash", os.path.join(SOURCE_DIR, "scripts", "run.sh"), BUILD_DIR],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, MAMORI_CONFIG=config), start_new_session=True)
    try:
        out = read_until(proc, "Ctrl-C stops it cleanly.")
        banner_at = out.index("mamorid is running on %s" % url)
        # mamorid's own start-up lines come first: the banner waits for it.
        assert 0 <= out.find("listening on %s" % url) < banner_at, out

        banner = out[banner_at:].replace("\\\n", " ")
        commands = [l.strip() for l in banner.splitlines() if l.strip().startswith(("curl", "MAMORI"))]
        assert len(commands) == 5, commands
        for command in commands:
            p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30,
                               cwd=SOURCE_DIR)
            assert p.returncode == 0, (command, p.stdout, p.stderr)
            if command.startswith("curl"):
                answer = json.loads(p.stdout)
                assert "error" not in answer, (command, answer)
        # Ctrl-C reaches the terminal's foreground group: the script and mamorid.
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        assert b"stopped cleanly" in rest, rest
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
