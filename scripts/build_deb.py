#!/usr/bin/python3
"""Builds the Debian package of mamori from an existing CMake build.

The build's `cmake --install` stages the programs, man pages and
bash completion; packaging/debian/ adds the systemd unit, the conffile, the
maintainer scripts, copyright and changelog. dpkg-shlibdeps computes the
shared-library Depends and dpkg-gencontrol the control file; dpkg-deb builds
BUILD_DIR/mamori_VERSION_ARCH.deb (owned by root in the archive, without
fakeroot). Nothing is compiled again.

usage: build_deb.py [--build-dir DIR] [--out-dir DIR] [--verify-unit]
  --out-dir DIR   where the .deb goes (default: the build dir); the package
                  is staged in DIR/deb
  --verify-unit   also run `systemd-analyze verify` on the packaged unit
Prints the path of the .deb (and nothing else) on stdout. `make package`
runs this, then lintian.
"""
import argparse
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
PACKAGING = os.path.join(SOURCE_DIR, "packaging", "debian")
PACKAGE = "mamori"
UNIT = "lib/systemd/system/mamori.service"
CONFFILE = "etc/mamori/mamori.toml"


class PackagingError(Exception):
    pass


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise PackagingError("%s failed (exit %d):\n%s%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def cmake_cache(build_dir):
    cache = {}
    path = os.path.join(build_dir, "CMakeCache.txt")
    if not os.path.exists(path):
        raise PackagingError("%s has no CMakeCache.txt: run `make build` first" % build_dir)
    with open(path) as f:
        for line in f:
            m = re.match(r"([A-Za-z0-9_]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                cache[m.group(1)] = m.group(2)
    return cache


def changelog_entry():
    """(version, date) of the newest entry of packaging/debian/changelog."""
    with open(os.path.join(PACKAGING, "changelog")) as f:
        text = f.read()
    m = re.match(r"%s \(([^)]+)\)" % PACKAGE, text)
    d = re.search(r"^ -- .*?  (.+)$", text, re.M)
    if not m or not d:
        raise PackagingError("packaging/debian/changelog: no version or date in its first entry")
    return m.group(1), d.group(1)


def gzip_file(path):
    """gzip -9n: no name or time in the header, so the output is reproducible."""
    with open(path, "rb") as f:
        data = f.read()
    with open(path + ".gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
            gz.write(data)
    os.remove(path)


def install_file(src, root, dest, mode=0o644):
    target = os.path.join(root, dest)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(src, target)
    os.chmod(target, mode)
    return target


def stage(build_dir, work):
    """Stages the package's files under work/debian/mamori; returns that root."""
    root = os.path.join(work, "debian", PACKAGE)
    env = dict(os.environ, DESTDIR=root)
    run(["cmake", "--install", build_dir, "--prefix", "/usr"], env=env)
    # As Debian strips programs: the symbols, debug info, and the compiler's
    # notes (.comment, .note).
    for binary in ("usr/sbin/mamorid", "usr/bin/mamori"):
        run(["strip", "--remove-section=.comment", "--remove-section=.note",
             os.path.join(root, binary)])
    install_file(os.path.join(PACKAGING, "mamori.service"), root, UNIT)
    install_file(os.path.join(PACKAGING, "mamori.toml"), root, CONFFILE)
    doc = "usr/share/doc/" + PACKAGE
    install_file(os.path.join(PACKAGING, "copyright"), root, doc + "/copyright")
    gzip_file(install_file(os.path.join(PACKAGING, "changelog"), root, doc + "/changelog"))
    gzip_file(install_file(os.path.join(SOURCE_DIR, "README.md"), root, doc + "/README.md"))
    install_file(os.path.join(SOURCE_DIR, "examples", "mamori.toml"), root,
                 doc + "/examples/mamori.toml")
    man = os.path.join(root, "usr/share/man")
    for dirpath, _, files in os.walk(man):
        for name in files:
            gzip_file(os.path.join(dirpath, name))
    control = os.path.join(root, "DEBIAN")
    os.makedirs(control)
    for script in ("postinst", "prerm", "postrm"):
        install_file(os.path.join(PACKAGING, script), control, script, 0o755)
    install_file(os.path.join(PACKAGING, "conffiles"), control, "conffiles")
    return root


def normalize(root, epoch):
    """Directories 0755, files 0644 unless executable (0755), every time the
    changelog's; DEBIAN/md5sums for every file but the conffiles."""
    with open(os.path.join(root, "DEBIAN", "conffiles")) as f:
        conffiles = {line.strip().lstrip("/") for line in f if line.strip()}
    sums = []
    for dirpath, dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            executable = os.stat(path).st_mode & 0o111
            os.chmod(path, 0o755 if executable else 0o644)
            rel = os.path.relpath(path, root)
            if not rel.startswith("DEBIAN" + os.sep) and rel not in conffiles:
                with open(path, "rb") as f:
                    sums.append("%s  %s\n" % (hashlib.md5(f.read()).hexdigest(), rel))
    with open(os.path.join(root, "DEBIAN", "md5sums"), "w") as f:
        f.writelines(sorted(sums, key=lambda line: line[34:]))
    for dirpath, dirs, files in os.walk(root, topdown=False):
        for name in files + dirs:
            os.utime(os.path.join(dirpath, name), (epoch, epoch), follow_symlinks=False)
    os.utime(root, (epoch, epoch))


def build(build_dir, out_dir=None, allow_sanitizer=False):
    """Builds the .deb from `build_dir` into `out_dir` (default: the build
    dir); returns its path. A sanitizer build is refused unless
    `allow_sanitizer` (the tests package whatever build they test)."""
    build_dir = os.path.abspath(build_dir)
    cache = cmake_cache(build_dir)
    if cache.get("MAMORI_SANITIZE") and not allow_sanitizer:
        raise PackagingError("%s is a sanitizer build (MAMORI_SANITIZE=%s): package a release "
                             "build" % (build_dir, cache["MAMORI_SANITIZE"]))
    version, date = changelog_entry()
    if cache.get("CMAKE_PROJECT_VERSION") != version:
        raise PackagingError("packaging/debian/changelog is at %s but the project at %s: add a "
                             "changelog entry" % (version, cache.get("CMAKE_PROJECT_VERSION")))
    for target in ("mamorid", "mamori"):
        if not os.path.exists(os.path.join(build_dir, target)):
            raise PackagingError("%s/%s is not built: run `make build` first" % (build_dir, target))
    arch = run(["dpkg", "--print-architecture"]).strip()
    epoch = int(run(["date", "-d", date, "+%s"]).strip())
    out_dir = os.path.abspath(out_dir or build_dir)
    work = os.path.join(out_dir, "deb")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "debian"))
    shutil.copyfile(os.path.join(PACKAGING, "control"), os.path.join(work, "debian", "control"))
    shutil.copyfile(os.path.join(PACKAGING, "changelog"),
                    os.path.join(work, "debian", "changelog"))
    root = stage(build_dir, work)
    run(["dpkg-shlibdeps", "-Tdebian/%s.substvars" % PACKAGE, "debian/%s/usr/sbin/mamorid" % PACKAGE,
         "debian/%s/usr/bin/mamori" % PACKAGE], cwd=work)
    normalize(root, epoch)
    run(["dpkg-gencontrol", "-p" + PACKAGE, "-Pdebian/" + PACKAGE,
         "-Tdebian/%s.substvars" % PACKAGE], cwd=work)
    os.chmod(os.path.join(root, "DEBIAN", "control"), 0o644)
    os.utime(os.path.join(root, "DEBIAN", "control"), (epoch, epoch))
    deb = os.path.join(out_dir, "%s_%s_%s.deb" % (PACKAGE, version, arch))
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, deb],
        env=dict(os.environ, SOURCE_DATE_EPOCH=str(epoch)))
    return deb


def verify_unit(deb):
    """`systemd-analyze verify` on the packaged unit. The unit names
    /usr/sbin/mamorid, which is not installed here: the copy verified names
    the extracted binary instead, and man(1) looks in the extracted pages."""
    with tempfile.TemporaryDirectory(prefix="mamori-unit-") as tmp:
        root = os.path.join(tmp, "root")
        run(["dpkg-deb", "-x", deb, root])
        with open(os.path.join(root, UNIT)) as f:
            unit = f.read()
        unit = unit.replace("ExecStart=/usr/sbin/mamorid",
                            "ExecStart=" + os.path.join(root, "usr/sbin/mamorid"))
        os.makedirs(os.path.join(tmp, "units"))
        path = os.path.join(tmp, "units", "mamori.service")
        with open(path, "w") as f:
            f.write(unit)
        env = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"))
        p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                           env=env)
        out = (p.stdout + p.stderr).strip()
        if p.returncode != 0 or out:
            raise PackagingError("systemd-analyze verify %s: exit %d\n%s" % (UNIT, p.returncode, out))
    print("systemd-analyze verify %s: ok" % UNIT, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(SOURCE_DIR, "build"))
    ap.add_argument("--out-dir", help="where the .deb goes (default: the build dir)")
    ap.add_argument("--verify-unit", action="store_true", help="run systemd-analyze verify")
    args = ap.parse_args()
    try:
        deb = build(args.build_dir, args.out_dir)
        if args.verify_unit:
            verify_unit(deb)
    except PackagingError as e:
        print("build_deb: %s" % e, file=sys.stderr)
        return 1
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
