"""A fresh machine has what `make test` needs: scripts/check_deps.py maps
every header and library of this build and every program and Python module
of the tests to a Debian package that scripts/deps.sh installs (with their
dependencies and the base system). It passes for deps.sh as it is, and fails,
naming the files and their package, for a deps.sh with a package taken out."""
import os
import re
import subprocess

from conftest import MAMORID, SOURCE_DIR

BUILD_DIR = os.path.dirname(os.path.abspath(MAMORID))
CHECK = os.path.join(SOURCE_DIR, "scripts", "check_deps.py")
DEPS = os.path.join(SOURCE_DIR, "scripts", "deps.sh")


def check(*args):
    return subprocess.run(["/usr/bin/python3", CHECK, "--source-dir", SOURCE_DIR,
                           "--build-dir", BUILD_DIR] + list(args),
                          capture_output=True, text=True, timeout=300)


def deps_without(tmp_path, package):
    """A copy of deps.sh with `package` taken out of its list."""
    with open(DEPS) as f:
        text = f.read()
    changed = re.sub(r"(?<=[ (\n])%s(?=[ \n)#])" % re.escape(package), "", text, count=1)
    assert changed != text, package + " is not in deps.sh"
    path = tmp_path / "deps.sh"
    path.write_text(changed)
    return str(path)


def test_everything_the_build_and_tests_use_is_installed_by_deps_sh():
    p = check()
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"all (\d+) files", p.stdout)
    # Boost alone gives the build a thousand headers.
    assert m and int(m.group(1)) > 1000, p.stdout


def test_deps_sh_lists_its_packages_without_installing_anything():
    p = subprocess.run(["bash", DEPS, "--list"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    listed = p.stdout.split()
    assert "libmaxminddb-dev" in listed and "python3-requests" in listed
    assert "wrk" not in listed
    p = subprocess.run(["bash", DEPS, "--list", "bench"], capture_output=True, text=True,
                       timeout=60)
    assert "wrk" in p.stdout.split()


def test_a_header_package_taken_out_of_deps_sh_fails_the_check(tmp_path):
    p = check("--deps", deps_without(tmp_path, "libmaxminddb-dev"))
    assert p.returncode == 1, p.stdout
    assert "owned by libmaxminddb-dev, which deps.sh does not install" in p.stdout, p.stdout
    assert re.search(r"^    /usr/include/\S*maxminddb\.h \(compiling ", p.stdout, re.M), p.stdout


def test_a_python_module_package_taken_out_of_deps_sh_fails_the_check(tmp_path):
    p = check("--deps", deps_without(tmp_path, "python3-requests"))
    assert p.returncode == 1, p.stdout
    assert "owned by python3-requests, which deps.sh does not install" in p.stdout, p.stdout
    assert "/requests/__init__.py (a Python module the tests import)" in p.stdout, p.stdout


def test_a_peer_program_taken_out_of_deps_sh_fails_the_check(tmp_path):
    p = check("--deps", deps_without(tmp_path, "dnsmasq-base"))
    assert p.returncode == 1, p.stdout
    assert "/usr/sbin/dnsmasq (run by tests/integration/mail_peers.py)" in p.stdout, p.stdout


def test_a_file_no_package_owns_fails_the_check(tmp_path):
    # A build dir whose compiler used a header from outside any package
    # (a copy made by hand, as under /usr/local).
    build = tmp_path / "build"
    (build / "CMakeFiles" / "x.dir").mkdir(parents=True)
    header = tmp_path / "handmade" / "thing.h"
    header.parent.mkdir()
    header.write_text("int thing;\n")
    (build / "CMakeFiles" / "x.dir" / "x.cc.o.d").write_text(
        "CMakeFiles/x.dir/x.cc.o: %s/src/x.cc \\\n %s\n" % (SOURCE_DIR, header))
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        (build / "CMakeCache.txt").write_text(f.read())
    p = subprocess.run(["/usr/bin/python3", CHECK, "--source-dir", SOURCE_DIR,
                        "--build-dir", str(build)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout
    assert "owned by no package: 1 file" in p.stdout, p.stdout
    assert "%s (compiling CMakeFiles/x.dir/x.cc)" % header in p.stdout, p.stdout
