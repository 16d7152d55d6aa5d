"""GET /range/{prefix}: the Pwned Passwords range format from the imported
store, compared with a reference computed here; padding; access; import."""
import collections
import hashlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import APP_TOKEN, MAMORI_CLI, SOURCE_DIR
from helpers import assert_error

sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts"))
import gen_pwned_test_set as gen  # noqa: E402


def run_import(src, data_dir, *extra):
    return subprocess.run([MAMORI_CLI, "pwned", "import", str(src), "--data-dir", data_dir] + list(extra),
                          capture_output=True, text=True, timeout=120)


def reference(rows):
    """prefix -> sorted ["SUFFIX:COUNT"], duplicates summed."""
    counts = collections.Counter()
    for h, n in rows:
        counts[h.upper()] += n
    out = collections.defaultdict(list)
    for h in sorted(counts):
        out[h[:5]].append("%s:%d" % (h[5:], counts[h]))
    return out


@pytest.fixture
def sample():
    return gen.generate()


def started(make_mamorid, tmp_path, rows, name="node", gz=True, crlf=True, sort=False, **kw):
    node = make_mamorid(name, start=False, **kw)
    src = tmp_path / ("%s.txt.gz" % name if gz else "%s.txt" % name)
    gen.write(str(src), rows, sort=sort, crlf=crlf, gz=gz)
    p = run_import(src, node.data_dir)
    assert p.returncode == 0, p.stderr
    assert "done:" in p.stderr and "lines/s" in p.stderr
    return node.start()


def get_range(m, prefix, token=APP_TOKEN, **headers):
    return m.request("GET", "/range/" + prefix, token, headers=headers)


def test_range_matches_an_independent_reference(make_mamorid, tmp_path, sample):
    m = started(make_mamorid, tmp_path, sample)
    ref = reference(sample)
    prefixes = list(gen.CLUSTER_PREFIXES)
    for pw in ("password", "123456", "hunter2"):
        prefixes.append(hashlib.sha1(pw.encode()).hexdigest().upper()[:5])
    prefixes.append("00000")  # most likely empty
    for p in prefixes:
        r = get_range(m, p)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/plain")
        lines = r.text.split("\r\n") if r.text else []
        assert lines == ref.get(p, []), p
        assert r.content == "\r\n".join(ref.get(p, [])).encode()  # byte for byte
        assert all(re.fullmatch(r"[0-9A-F]{35}:\d+", line) for line in lines)
    # The plaintext check: the suffix of SHA-1("password") is in its range.
    h = hashlib.sha1(b"password").hexdigest().upper()
    assert "%s:9545824" % h[5:] in get_range(m, h[:5].lower()).text.split("\r\n")
    # Lower-case prefixes answer the same.
    assert get_range(m, "5baa6").content == get_range(m, "5BAA6").content
    assert len(ref["5BAA6"]) >= 300


def test_padding(make_mamorid, tmp_path, sample):
    m = started(make_mamorid, tmp_path, sample, gz=False, crlf=False)
    ref = reference(sample)
    sizes = set()
    for p in ["0A1B2", "FFFFF", "12345", hashlib.sha1(b"qwerty").hexdigest().upper()[:5]]:
        r = get_range(m, p, **{"Add-Padding": "true"})
        assert r.status_code == 200
        lines = r.text.split("\r\n")
        sizes.add(len(lines))
        assert 800 <= len(lines) <= 1000
        real = set(ref.get(p, []))
        assert real <= set(lines)
        suffixes = [line.split(":")[0] for line in lines]
        assert len(set(suffixes)) == len(suffixes)
        assert suffixes == sorted(suffixes)
        for line in set(lines) - real:
            assert re.fullmatch(r"[0-9A-F]{35}:0", line), line
    assert len(sizes) == 1  # one constant line count
    # Without the header (or with another value): no padding.
    assert get_range(m, "12345", **{"Add-Padding": "false"}).text == "\r\n".join(ref.get("12345", []))


def test_bad_prefixes_and_access(make_mamorid, tmp_path, sample):
    m = started(make_mamorid, tmp_path, sample)
    for bad in ["ABCD", "ABCDEF", "ABCDG", "ABC%20D", "G1234", "-1234"]:
        assert_error(get_range(m, bad), 400, "invalid_prefix")
    assert get_range(m, "").status_code == 404
    assert_error(get_range(m, "5BAA6", token=None), 401, "unauthorized")
    pub = make_mamorid("public", extra_toml="[passwords]\nrange_public = true\n")
    assert_error(get_range(pub, "5BAA6", token=None), 503, "feature_unavailable")  # nothing imported


def test_public_range_and_reload_on_sighup(make_mamorid, tmp_path, sample):
    m = started(make_mamorid, tmp_path, sample, extra_toml="[passwords]\nrange_public = true\n")
    before = get_range(m, "0A1B2", token=None)
    assert before.status_code == 200 and before.text
    # A failed import leaves the store as it was.
    bad = tmp_path / "bad.txt"
    bad.write_text("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\nnot a line\n")
    p = run_import(bad, m.data_dir)
    assert p.returncode == 1 and "bad.txt:2" in p.stderr
    m.proc.send_signal(signal.SIGHUP)
    assert get_range(m, "0A1B2", token=None).content == before.content
    # A new import, unsorted with a tight memory bound, then SIGHUP: the new data shows.
    other = gen.generate(random_count=200, cluster_count=20, seed=7)
    src = tmp_path / "other.txt"
    gen.write(str(src), other)
    p = run_import(src, m.data_dir, "--memory", "16")
    assert p.returncode == 0, p.stderr
    m.proc.send_signal(signal.SIGHUP)
    want = "\r\n".join(reference(other)["0A1B2"])
    deadline = time.monotonic() + 10
    while get_range(m, "0A1B2", token=None).text != want:
        assert time.monotonic() < deadline, "the store was not reloaded"
        time.sleep(0.05)
    assert "reloaded" in m.read_log()
    # A password check uses the new store too.
    r = m.app("POST", "/v1/passwords/check", {"password": "password"})
    assert r.json()["breached"] is True


def test_import_usage_errors(tmp_path):
    p = subprocess.run([MAMORI_CLI, "pwned", "import"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "usage" in p.stderr
    p = run_import(tmp_path / "missing.txt", str(tmp_path / "d"))
    assert p.returncode == 1 and "missing.txt" in p.stderr
    assert not os.path.exists(tmp_path / "d" / "pwned.bin")
