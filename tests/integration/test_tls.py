"""TLS on the HTTP listener ([server.tls]), against the real mamorid: https with
the right CA, a wrong CA, mutual TLS, plain HTTP to the TLS port, the
handshake timeout, the key file's permissions, reload on SIGHUP, and the
`mamori` CLI over https. Each test makes its own CA (tls_pki.py)."""
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest
import requests

from conftest import ADMIN_TOKEN, MAMORI_CLI, MAMORID
from tls_pki import Pki, issue


def tls_toml(pki, client_ca=False, handshake_timeout=None):
    lines = ["[server.tls]", 'cert = "%s"' % pki.server.cert_path, 'key = "%s"' % pki.server.key_path]
    if client_ca:
        lines.append('client_ca = "%s"' % pki.ca.cert_path)
    if handshake_timeout:
        lines.append('handshake_timeout = "%s"' % handshake_timeout)
    return "\n".join(lines) + "\n"


def start_tls(make_mamorid, pki, client_ca=False, handshake_timeout=None, start=True):
    m = make_mamorid(start=False, extra_toml=tls_toml(pki, client_ca, handshake_timeout))
    m.url = "https://localhost:%d" % m.port
    m.verify = pki.ca.cert_path
    if client_ca:
        m.client_cert = (pki.client.cert_path, pki.client.key_path)
    return m.start() if start else m


def metric(m, series):
    text = m.request("GET", "/metrics", token=None).text
    match = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    return match.group(1) if match else None


def failures(m, reason, want=1):
    """The failed-handshake count for `reason` once it reaches `want` (the
    server counts after the client may have seen the failure), or what it is
    after 10 s."""
    series = 'mamori_http_tls_handshakes_failed_total{reason="%s"}' % reason
    deadline = time.monotonic() + 10
    value = metric(m, series)
    while value != str(want) and time.monotonic() < deadline:
        time.sleep(0.02)
        value = metric(m, series)
    return value


def peer_common_name(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            subject = dict(item[0] for item in s.getpeercert()["subject"])
            return subject["commonName"]


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    return Pki(d)


def test_https_with_the_right_ca_serves_the_api(make_mamorid, pki):
    m = start_tls(make_mamorid, pki)
    assert m.attempt("alice", "203.0.113.5")["action"] == "allow"
    assert m.admin("GET", "/v1/status").status_code == 200
    assert int(metric(m, "mamori_http_tls_handshakes_total")) >= 2
    expiry = float(metric(m, "mamori_http_tls_certificate_expiry_timestamp_seconds"))
    assert abs(expiry - pki.server.cert.not_valid_after.timestamp()) < 2
    assert "listening on https://" in m.read_log_all()


def test_a_client_trusting_another_ca_is_refused(make_mamorid, pki):
    m = start_tls(make_mamorid, pki)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(m.url + "/healthz", verify=pki.other_ca.cert_path, timeout=10)
    assert failures(m, "client_alert") == "1"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TLS 1.0 and 1.1, on purpose
def test_tls_below_1_2_is_refused(make_mamorid, pki):
    m = start_tls(make_mamorid, pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca.cert_path)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", m.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="localhost")
    assert failures(m, "protocol_version") == "1"


def test_plain_http_to_the_tls_port_is_refused_cleanly(make_mamorid, pki):
    m = start_tls(make_mamorid, pki)
    r = requests.get("http://127.0.0.1:%d/healthz" % m.port, timeout=10)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "tls_required"
    assert "https://" in r.json()["error"]["message"]
    assert r.headers["Connection"] == "close"
    assert failures(m, "plain_http") == "1"
    # The daemon goes on serving https.
    assert m.attempt("alice", "203.0.113.5")["action"] == "allow"


def test_a_client_that_never_says_hello_is_cut_at_the_handshake_timeout(make_mamorid, pki):
    m = start_tls(make_mamorid, pki, handshake_timeout="500ms")
    with socket.create_connection(("127.0.0.1", m.port), timeout=10) as s:
        t0 = time.monotonic()
        assert s.recv(1) == b""  # closed without a byte
        took = time.monotonic() - t0
    assert 0.4 <= took < 5, took
    assert failures(m, "timeout") == "1"


def test_mutual_tls_refuses_a_client_without_a_certificate(make_mamorid, pki):
    m = start_tls(make_mamorid, pki, client_ca=True)
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(m.url + "/healthz", verify=pki.ca.cert_path, timeout=10)
    assert failures(m, "no_client_certificate") == "1"


def test_mutual_tls_refuses_a_certificate_of_another_ca(make_mamorid, pki):
    m = start_tls(make_mamorid, pki, client_ca=True)
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(m.url + "/healthz", verify=pki.ca.cert_path, timeout=10,
                     cert=(pki.other_client.cert_path, pki.other_client.key_path))
    assert failures(m, "bad_client_certificate") == "1"


def test_mutual_tls_accepts_a_client_certificate_of_its_ca(make_mamorid, pki):
    m = start_tls(make_mamorid, pki, client_ca=True)
    assert m.attempt("alice", "203.0.113.5")["action"] == "allow"
    assert "clients need a certificate from " + pki.ca.cert_path in m.read_log_all()


def test_a_key_every_user_may_read_is_refused_at_start(make_mamorid, pki):
    os.chmod(pki.server.key_path, 0o644)
    m = start_tls(make_mamorid, pki, start=False)
    p = subprocess.run([MAMORID, "--config", m.config_path, "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert pki.server.key_path + " may be read by every user (mode 0644)" in p.stderr
    with pytest.raises(RuntimeError, match="may be read by every user"):
        m.start()


def test_sighup_reloads_the_certificate_and_keeps_it_when_the_new_one_is_bad(make_mamorid, pki):
    m = start_tls(make_mamorid, pki)
    assert peer_common_name(m.port, pki.ca.cert_path) == "localhost"
    # A renewed certificate in place of the old one, then SIGHUP.
    issue(pki.dir, "server", "renewed.localhost", pki.ca, server=True)
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while peer_common_name(m.port, pki.ca.cert_path) != "renewed.localhost":
        assert time.monotonic() < deadline, m.read_log()
        time.sleep(0.05)
    assert "SIGHUP: tls certificate reloaded: CN=renewed.localhost" in m.read_log_all()
    # A key that does not match the certificate is refused; the one in use stays.
    issue(pki.dir, "stray", "stray")
    os.replace(os.path.join(pki.dir, "stray.key"), pki.server.key_path)
    m.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "keeping the certificate in use" not in m.read_log_all():
        assert time.monotonic() < deadline, m.read_log()
        time.sleep(0.05)
    assert "does not match server.tls.cert" in m.read_log_all()
    assert peer_common_name(m.port, pki.ca.cert_path) == "renewed.localhost"
    assert m.admin("GET", "/v1/status").status_code == 200


def cli(m, *args, env=None):
    e = dict(os.environ, MAMORI_SERVER=m.url, MAMORI_TOKEN=ADMIN_TOKEN)
    for k in ("MAMORI_CA", "MAMORI_CERT", "MAMORI_KEY"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([MAMORI_CLI] + list(args), env=e, capture_output=True, text=True,
                          timeout=30)


def test_cli_speaks_https_with_its_ca(make_mamorid, pki):
    m = start_tls(make_mamorid, pki)
    p = cli(m, "--ca", pki.ca.cert_path, "lists", "add", "deny", "192.0.2.0/24", "--reason", "tls")
    assert p.returncode == 0, p.stderr
    p = cli(m, "--json", "lists", "ls", env={"MAMORI_CA": pki.ca.cert_path})
    assert p.returncode == 0, p.stderr
    assert "192.0.2.0/24" in p.stdout
    # Without the CA (the system's CAs do not know it) or with another one: refused.
    for extra in ([], ["--ca", pki.other_ca.cert_path]):
        p = cli(m, *extra, "status")
        assert p.returncode == 3, p.stdout  # cannot connect
        assert "TLS handshake failed: the server's certificate is not trusted" in p.stderr, p.stderr
    p = cli(m, "--ca", os.path.join(pki.dir, "missing.pem"), "status")
    assert p.returncode == 2 and "cannot read" in p.stderr and "missing.pem" in p.stderr, p.stderr


def test_cli_presents_a_client_certificate_for_mutual_tls(make_mamorid, pki):
    m = start_tls(make_mamorid, pki, client_ca=True)
    p = cli(m, "--ca", pki.ca.cert_path, "status")
    assert p.returncode == 3, p.stdout  # cannot connect: the handshake is refused
    p = cli(m, "--ca", pki.ca.cert_path, "--cert", pki.client.cert_path, "--key",
            pki.client.key_path, "status")
    assert p.returncode == 0, p.stderr
    p = cli(m, "status", env={"MAMORI_CA": pki.ca.cert_path, "MAMORI_CERT": pki.client.cert_path,
                              "MAMORI_KEY": pki.client.key_path})
    assert p.returncode == 0, p.stderr
    p = cli(m, "--ca", pki.ca.cert_path, "--cert", pki.client.cert_path, "status")
    assert p.returncode == 2 and "--cert and --key" in p.stderr, p.stderr


def test_cli_refuses_tls_options_for_an_http_server(make_mamorid):
    m = make_mamorid()
    p = cli(m, "--ca", "/nonexistent.pem", "status")
    assert p.returncode == 2
    assert "are for an https:// server" in p.stderr
