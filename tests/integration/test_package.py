"""The Debian package, built from this build by scripts/build_deb.py (what
`make package` builds) and extracted into a temporary directory, never
installed: its file list and control data; its systemd unit, verified and
hardened; the daemon it ships, run with the configuration it ships and the
tokens its postinst makes, answering with those tokens, notifying readiness,
and making only the system calls and sockets its unit allows; its man pages
and bash completion, kept true to the programs' own --help."""
import os
import re
import signal
import stat
import subprocess
import sys
import time

import pytest
import requests

from conftest import MAMORID, SOURCE_DIR, free_port, terminate
from notify_socket import NotifySocket

sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts"))
import build_deb  # noqa: E402

BUILD_DIR = os.path.dirname(os.path.abspath(MAMORID))
UNIT = "lib/systemd/system/mamori.service"
CONFFILE = "etc/mamori/mamori.toml"


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == 0, "%s: exit %d\n%s%s" % (args, p.returncode, p.stdout, p.stderr)
    return p.stdout


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    out = tmp_path_factory.mktemp("deb")
    # A sanitizer build's binaries are packaged too (for the tests only).
    path = build_deb.build(BUILD_DIR, str(out), allow_sanitizer=True)
    assert os.path.basename(path) == "mamori_%s_%s.deb" % (
        build_deb.changelog_entry()[0], run(["dpkg", "--print-architecture"]).strip())
    return path


@pytest.fixture(scope="module")
def root(deb, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("root"))
    run(["dpkg-deb", "-x", deb, d])
    return d


@pytest.fixture(scope="module")
def control(deb, tmp_path_factory):
    """The package's control files (DEBIAN/)."""
    d = tmp_path_factory.mktemp("control")
    run(["dpkg-deb", "-e", deb, str(d)])
    return d


def contents(deb):
    """{path: (mode string, owner, link target)} from dpkg-deb -c."""
    files = {}
    for line in run(["dpkg-deb", "-c", deb]).splitlines():
        parts = line.split(None, 5)
        mode, owner, name = parts[0], parts[1], parts[5]
        target = None
        if " -> " in name:
            name, target = name.split(" -> ", 1)
        files[name.lstrip(".")] = (mode, owner, target)
    return files


def test_the_deb_holds_the_programs_unit_conffile_docs_and_completion(deb):
    files = contents(deb)
    expected = {
        "/usr/sbin/mamorid": "-rwxr-xr-x",
        "/usr/bin/mamori": "-rwxr-xr-x",
        "/" + UNIT: "-rw-r--r--",
        "/" + CONFFILE: "-rw-r--r--",
        "/usr/share/man/man8/mamorid.8.gz": "-rw-r--r--",
        "/usr/share/man/man1/mamori.1.gz": "-rw-r--r--",
        "/usr/share/man/man5/mamori.toml.5.gz": "-rw-r--r--",
        "/usr/share/bash-completion/completions/mamori": "-rw-r--r--",
        "/usr/share/doc/mamori/copyright": "-rw-r--r--",
        "/usr/share/doc/mamori/changelog.gz": "-rw-r--r--",
        "/usr/share/doc/mamori/README.md.gz": "-rw-r--r--",
        "/usr/share/doc/mamori/examples/mamori.toml": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert path in files, "%s is not in the package:\n%s" % (path, "\n".join(sorted(files)))
        assert files[path][0] == mode, (path, files[path])
    assert files["/usr/share/bash-completion/completions/mamorid"][2] == "mamori"
    regular = {p for p, (mode, _, _) in files.items() if mode.startswith("-")}
    assert regular == set(expected), "files the test does not know: %s" % (regular - set(expected))
    for path, (mode, owner, _) in files.items():
        assert owner == "root/root", (path, owner)
        if mode.startswith("d"):
            assert mode == "drwxr-xr-x", (path, mode)


def test_control_data_depends_conffiles_and_md5sums(deb, root, control):
    fields = dict(re.findall(r"^(\S+): (.*)$", run(["dpkg-deb", "-f", deb]), re.M))
    assert fields["Package"] == "mamori"
    version = run([os.path.join(root, "usr/sbin/mamorid"), "--version"]).split()[-1]
    assert fields["Version"] == version
    assert fields["Architecture"] == run(["dpkg", "--print-architecture"]).strip()
    assert int(fields["Installed-Size"]) > 0
    depends = [d.strip().split()[0] for d in fields["Depends"].split(",")]
    # dpkg-shlibdeps' libraries, and adduser for the postinst.
    # libvectorscan5 and libre2-9: the [[logs]] formats' matching.
    for lib in ("libc6", "libstdc++6", "libsqlite3-0", "libsystemd0", "libsodium23", "libvectorscan5",
                "libre2-9", "adduser"):
        assert lib in depends, fields["Depends"]
    assert (control / "conffiles").read_text().split() == ["/" + CONFFILE]
    for script in ("postinst", "prerm", "postrm"):
        assert os.stat(control / script).st_mode & 0o777 == 0o755, script
        run(["sh", "-n", str(control / script)])
    sums = (control / "md5sums").read_text().splitlines()
    listed = {line.split("  ", 1)[1] for line in sums}
    assert "usr/sbin/mamorid" in listed and CONFFILE not in listed
    run(["md5sum", "--quiet", "-c", str(control / "md5sums")], cwd=root)


def test_the_binaries_are_stripped(root):
    for binary in ("usr/sbin/mamorid", "usr/bin/mamori"):
        sections = run(["readelf", "-S", "-W", os.path.join(root, binary)])
        assert ".debug_info" not in sections and ".symtab" not in sections, binary


def unit_settings(root):
    settings = {}
    with open(os.path.join(root, UNIT)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                key, _, value = line.partition("=")
                settings.setdefault(key, []).append(value)
    return settings


def test_the_unit_verifies_and_is_hardened(deb, root, control):
    build_deb.verify_unit(deb)  # systemd-analyze verify: no output, exit 0
    u = unit_settings(root)
    one = {k: v[-1] for k, v in u.items()}
    assert one["Type"] == "notify"
    assert one["ExecStart"] == "/usr/sbin/mamorid --config /" + CONFFILE
    assert one["User"] == "_mamori" and one["StateDirectory"] == "mamori"
    assert one["Restart"] == "on-failure"
    for key, value in [("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                       ("NoNewPrivileges", "yes"), ("CapabilityBoundingSet", ""),
                       ("SystemCallFilter", "@system-service")]:
        assert one.get(key) == value, (key, u.get(key))
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    # The user the unit runs as is the one the postinst makes.
    assert re.search(r"adduser .*--system .*_mamori$", (control / "postinst").read_text(),
                     re.M | re.S)


def make_tokens(root, control):
    """Runs the package's own postinst function make_token for the token
    files its configuration names (chgrp, which needs the _mamori group of an
    installed package, does nothing here). Returns {role: token}."""
    postinst = (control / "postinst").read_text()
    function = re.search(r"^make_token\(\) \{.*?^\}$", postinst, re.M | re.S).group(0)
    with open(os.path.join(root, CONFFILE)) as f:
        conf = f.read()
    tokens = {}
    for file_name, role in re.findall(r'token_file = "([^"]+)"\nrole = "(\w+)"', conf):
        # The postinst makes the files the configuration names.
        assert "make_token /etc/mamori/" + file_name in postinst, file_name
        path = os.path.join(root, "etc/mamori", file_name)
        script = "chgrp() { :; }\n%s\nmake_token \"$1\"\nmake_token \"$1\"\n" % function
        run(["sh", "-c", script, "sh", path])
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o640, oct(mode)
        with open(path) as f:
            token = f.read()
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", token), repr(token)
        tokens[role] = token.strip()
    assert set(tokens) == {"admin", "app"}
    assert tokens["admin"] != tokens["app"]
    return tokens


def syscall_sets():
    """{"@group": set of system calls}, expanded, from systemd-analyze."""
    groups, current = {}, None
    for line in run(["systemd-analyze", "syscall-filter"]).splitlines():
        if line.startswith("@"):
            current = line.split()[0]
            groups[current] = []
        elif line.strip() and not line.strip().startswith("#") and current:
            groups[current].append(line.split()[0])

    def expand(name):
        out = set()
        for member in groups[name]:
            out |= expand(member) if member.startswith("@") else {member}
        return out
    return {name: expand(name) for name in groups}


def allowed_syscalls(filters):
    """The system calls SystemCallFilter= lines allow (an allow list, then
    ~deny lists)."""
    sets = syscall_sets()
    allowed = set()
    for value in filters:
        deny = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= sets[word] if word.startswith("@") else {word}
        allowed = allowed - names if deny else allowed | names
    return allowed


def test_the_packaged_daemon_serves_with_the_packaged_config_and_tokens(root, control, tmp_path):
    mamorid = os.path.join(root, "usr/sbin/mamorid")
    config = os.path.join(root, CONFFILE)
    data = str(tmp_path / "data")
    # Without the tokens the postinst makes, the shipped configuration is refused.
    p = subprocess.run([mamorid, "--config", config, "--data-dir", data, "--check-config"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "admin.token" in p.stdout + p.stderr, (p.stdout, p.stderr)

    tokens = make_tokens(root, control)
    check = run([mamorid, "--config", config, "--data-dir", data, "--check-config"])
    assert "config ok" in check and "2 tokens" in check, check

    port = free_port()
    url = "http://127.0.0.1:%d" % port
    notify = NotifySocket(tmp_path)
    trace = str(tmp_path / "strace")
    log = open(tmp_path / "mamorid.log", "wb")
    # strace -f follows every thread; -qq and signal=none keep one line a call.
    tracer = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", trace, "-e", "signal=none", "--",
         mamorid, "--config", config, "--listen", "127.0.0.1:%d" % port, "--data-dir", data],
        stdout=log, stderr=subprocess.STDOUT, env=notify.env())
    pid = None
    try:
        pid = daemon_pid(tracer, mamorid)
        notify.wait_for("READY", "1", proc=tracer)
        assert requests.get(url + "/healthz", timeout=10).status_code == 200

        def call(method, path, token, **kw):
            return requests.request(method, url + path, timeout=10,
                                    headers={"Authorization": "Bearer " + token}, **kw)
        r = call("POST", "/v1/login/attempt", tokens["app"],
                 json={"account": "alice", "ip": "203.0.113.5"})
        assert r.status_code == 200 and r.json()["action"] == "allow", r.text
        r = call("GET", "/v1/status", tokens["admin"])
        assert r.status_code == 200, r.text
        assert call("GET", "/v1/status", tokens["app"]).status_code == 403
        assert call("GET", "/v1/status", "dev-admin-token").status_code == 401
        r = call("POST", "/v1/lists", tokens["admin"],
                 json={"kind": "deny", "target": "192.0.2.0/24", "reason": "test", "ttl_s": 60})
        assert r.status_code == 201, r.text
        # The packaged tool, with the admin token as the man page says to use it.
        cli = subprocess.run([os.path.join(root, "usr/bin/mamori"), "blocked"],
                             env=dict(os.environ, MAMORI_SERVER=url, MAMORI_TOKEN=tokens["admin"]),
                             capture_output=True, text=True, timeout=30)
        assert cli.returncode == 0, cli.stderr

        os.kill(pid, signal.SIGHUP)
        notify.wait_for("RELOADING", "1", proc=tracer)
        notify.wait_for("READY", "1", proc=tracer)
        os.kill(pid, signal.SIGTERM)
        notify.wait_for("STOPPING", "1", proc=tracer)
        assert tracer.wait(timeout=60) == 0
    finally:
        terminate(tracer)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)  # strace gone, its child must not outlive the test
            except ProcessLookupError:
                pass
        log.close()
        notify.close()
    with open(tmp_path / "mamorid.log", errors="replace") as f:
        assert "stopped cleanly" in f.read()

    calls, families = traced(trace)
    u = unit_settings(root)
    outside = calls - allowed_syscalls(u["SystemCallFilter"])
    assert not outside, "system calls the unit's SystemCallFilter would kill mamorid for: %s" % (
        sorted(outside))
    assert families, "no socket() calls were traced"
    allowed_families = set(u["RestrictAddressFamilies"][-1].split())
    assert families <= allowed_families, families - allowed_families


def daemon_pid(tracer, program):
    """The PID of `program`, which strace started as its child. strace forks
    short-lived children of its own at start (to probe the kernel's ptrace),
    so a child counts once it runs `program`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/task/%d/children" % (tracer.pid, tracer.pid)) as f:
                children = f.read().split()
        except OSError:
            children = []
        for child in children:
            try:
                if os.readlink("/proc/%s/exe" % child) == os.path.realpath(program):
                    return int(child)
            except OSError:
                pass  # gone already, or not yet exec'd
        assert tracer.poll() is None, "strace exited with %s" % tracer.returncode
        time.sleep(0.02)
    raise AssertionError("strace started no %s" % program)


def traced(path):
    """(system call names, socket address families) of an strace -f log."""
    calls, families = set(), set()
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
            if not m:
                continue
            calls.add(m.group(1))
            s = re.match(r"\d+\s+socket\((AF_[A-Z0-9]+)", line)
            if s:
                families.add(s.group(1))
    return calls, families


# ---- man pages and completion, true to the programs -------------------------

def help_text(program, root):
    return run([os.path.join(root, program), "--help"])


def test_man_pages_render_without_warnings(root):
    for page in ("man8/mamorid.8.gz", "man1/mamori.1.gz", "man5/mamori.toml.5.gz"):
        path = os.path.join(root, "usr/share/man", page)
        text = subprocess.run(["zcat", path], capture_output=True, check=True).stdout
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=text,
                           capture_output=True, timeout=60)
        assert p.returncode == 0 and not p.stderr, (page, p.stderr.decode())


def man_source(root, page):
    """A man page's roff, font changes taken out and \\- read as -."""
    text = subprocess.run(["zcat", os.path.join(root, "usr/share/man", page)], capture_output=True,
                          text=True, check=True).stdout
    return re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")


def test_mamorid_8_and_the_completion_know_every_flag_of_mamorid(root):
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text("usr/sbin/mamorid", root)))
    assert {"--config", "--listen", "--data-dir", "--check-config"} <= flags
    page = man_source(root, "man8/mamorid.8.gz")
    completion = open(os.path.join(root, "usr/share/bash-completion/completions/mamori")).read()
    mamorid_part = completion[completion.index("_mamorid()"):]
    for flag in flags:
        assert flag in page, "mamorid(8) does not document " + flag
        assert flag in mamorid_part, "the completion does not offer " + flag


def test_mamori_1_and_the_completion_know_every_command_and_option(root):
    text = help_text("usr/bin/mamori", root)
    commands_section = text.split("commands:")[1].split("options")[0]
    commands = set(re.findall(r"^  ([a-z]+)", commands_section, re.M))
    subcommands = set(re.findall(r"^  [a-z]+ ([a-z]+)(?: |$)", commands_section, re.M))
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text))
    assert {"status", "lists", "account", "help"} <= commands and "--json" in options
    page = man_source(root, "man1/mamori.1.gz")
    completion = open(os.path.join(root, "usr/share/bash-completion/completions/mamori")).read()
    for word in commands | subcommands | options:
        assert re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), page), \
            "mamori(1) does not document " + word
        assert re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), completion), \
            "the completion does not offer " + word


def test_mamori_toml_5_documents_every_key_of_the_example(root):
    tables, table = {}, None
    with open(os.path.join(SOURCE_DIR, "examples", "mamori.toml")) as f:
        for line in f:
            line = line.strip().lstrip("#").strip()
            m = re.match(r"^\[\[?([a-z_.]+)\]\]?", line)
            if m:
                table = m.group(1)
                tables.setdefault(table, set())
                continue
            m = re.match(r"^([a-z_]+) = ", line)
            if m and table:
                tables[table].add(m.group(1))
    page = man_source(root, "man5/mamori.toml.5.gz")
    sections = {}
    for part in re.split(r"^\.SS ", page, flags=re.M)[1:]:
        title, body = part.split("\n", 1)
        m = re.match(r"\[\[?([a-z_.]+)\]\]?", title)
        if m:
            sections[m.group(1)] = set(re.findall(r"^\.TP\n\.B ([a-z_]+)$", body, re.M))
    assert len(tables) > 20
    for table, keys in tables.items():
        assert table in sections, "mamori.toml(5) has no section [%s]" % table
        missing = keys - sections[table]
        assert not missing, "mamori.toml(5) [%s] does not document %s" % (table, sorted(missing))


COMPLETE = r"""
_init_completion() {
    cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
    words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
}
_filedir() { COMPREPLY=(FILES); }
. "$1"
shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
spec=$(complete -p "$1"); fn=${spec#*-F }; fn=${fn%% *}
"$fn"
printf '%s\n' "${COMPREPLY[@]}"
"""


def complete(root, *words):
    path = os.path.join(root, "usr/share/bash-completion/completions/mamori")
    out = run(["bash", "-c", COMPLETE, "bash", path] + list(words))
    return sorted(out.split())


def test_bash_completion_completes_commands_subcommands_and_options(root):
    assert complete(root, "mamori", "") == sorted(
        ["status", "lists", "account", "activity", "incidents", "blocked", "unblock", "incident",
         "senders", "audit", "operator", "pwned", "backup", "restore", "db", "store", "logs", "help"])
    assert complete(root, "mamori", "li") == ["lists"]
    assert complete(root, "mamori", "operator", "") == ["add", "list", "remove", "reset-totp"]
    assert complete(root, "mamori", "operator", "add", "bob", "--p") == ["--password-file"]
    assert complete(root, "mamori", "lists", "") == ["add", "import", "ls", "rm"]
    assert complete(root, "mamori", "incident", "") == ["close", "export", "notify-owners", "require-reset"]
    assert complete(root, "mamori", "audit", "--action", "account_l") == ["account_lock"]
    assert complete(root, "mamori", "lists", "add", "") == ["allow", "deny"]
    assert complete(root, "mamori", "--json", "account", "lock", "alice", "--re") == [
        "--reason", "--require-password-reset"]
    assert complete(root, "mamori", "lists", "ls", "--kind", "") == ["allow", "deny"]
    assert complete(root, "mamori", "pwned", "import", "") == ["FILES"]
    assert complete(root, "mamori", "backup", "--") == [
        "--config", "--data-dir", "--help", "--with-pwned"]
    assert complete(root, "mamori", "restore", "--f") == ["--force"]
    assert complete(root, "mamori", "db", "") == ["migrate"]
    assert complete(root, "mamori", "db", "migrate", "--s") == ["--store"]
    assert complete(root, "mamori", "store", "") == ["copy"]
    assert complete(root, "mamori", "store", "copy", "--") == ["--force", "--from", "--help", "--to"]
    assert complete(root, "mamori", "logs", "") == ["replay"]
    assert complete(root, "mamori", "logs", "replay", "--format", "") == [
        "apache", "custom", "dovecot", "nginx", "postfix", "sshd"]
    assert complete(root, "mamori", "logs", "replay", "") == ["FILES"]
    assert complete(root, "mamori", "backup", "--config", "") == ["FILES"]
    assert complete(root, "mamorid", "--c") == ["--check-config", "--config"]
    assert complete(root, "mamorid", "--config", "") == ["FILES"]
