#!/usr/bin/python3
"""Checks that scripts/deps.sh installs everything the build and the tests use.

A fresh Debian 12 machine has only the base system (the Essential and
required-priority packages); `make test` installs deps.sh's list with apt, which
brings each package's Depends and Pre-Depends along. Every file the build and
the tests use must come from that set, or be the project's own:

  - headers: every dependency file the compiler wrote for the build
    (`*.o.d` under the build dir);
  - libraries and tools of the build: the link lines (`link.txt`), resolved as
    the linker resolves them, the compiler and its cc1plus, assembler and
    linker, CMake, make, pkg-config, and the CMake package files configure read;
  - programs the integration tests run, and the scripts/*.py they import or
    name (the first word of a subprocess call's argument list or of a list
    that looks like one, and the commands of an `sh -c` script), and the
    programs of the scripts/*.sh they name;
  - Python modules they import, with everything those import in turn, as
    /usr/bin/python3 resolves them.

Each file is looked up in dpkg's database (/var/lib/dpkg/info/*.list, read
once) through its symlinks; with merged /usr, /lib/x and /usr/lib/x are one
file. A file owned by a package outside the set, or by no package at all
(/usr/local, pip, a copy made by hand), is an error: a fresh machine would not
have it.

usage: check_deps.py [--source-dir DIR] [--build-dir DIR] [--deps FILE] [-v]
Exit status 0 when every file is accounted for, 1 with one line per file that
is not, 2 for a usage error.
"""
import argparse
import ast
import glob
import json
import os
import re
import shlex
import subprocess
import sys

DPKG_INFO = "/var/lib/dpkg/info"
DPKG_STATUS = "/var/lib/dpkg/status"
PYTHON = "/usr/bin/python3"
MERGED_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


# ---- dpkg's database ---------------------------------------------------------

def read_owners(wanted):
    """Maps each path of `wanted` that an installed package ships to its packages."""
    owners = {}
    for listfile in glob.glob(os.path.join(DPKG_INFO, "*.list")):
        pkg = os.path.basename(listfile)[:-len(".list")].split(":")[0]
        with open(listfile, encoding="utf-8", errors="surrogateescape") as f:
            for path in wanted.intersection(f.read().splitlines()):
                owners.setdefault(path, set()).add(pkg)
    return owners


def read_status():
    """The installed packages: name -> fields (Depends, Provides, ...)."""
    packages = {}
    with open(DPKG_STATUS, encoding="utf-8", errors="replace") as f:
        for stanza in f.read().split("\n\n"):
            fields, key = {}, None
            for line in stanza.splitlines():
                if line[:1] in (" ", "\t") and key:
                    fields[key] += "\n" + line
                elif ":" in line:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
            if fields.get("Status", "").endswith(" installed") and "Package" in fields:
                packages[fields["Package"]] = fields
    return packages


def relation_names(text):
    """"a (>= 1) | b:any, c" -> [["a", "b"], ["c"]]."""
    groups = []
    for group in text.split(","):
        names = [re.split(r"[\s(\[<]", alt.strip(), maxsplit=1)[0].split(":")[0]
                 for alt in group.split("|")]
        names = [n for n in names if n]
        if names:
            groups.append(names)
    return groups


def closure(roots, packages):
    """The installed packages that installing `roots` brings: each with its
    Depends and Pre-Depends (every installed alternative, every installed
    provider of a virtual package), recursively."""
    providers = {}
    for name, fields in packages.items():
        for group in relation_names(fields.get("Provides", "")):
            providers.setdefault(group[0], set()).add(name)
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        fields = packages.get(name)
        if fields is None:
            continue
        for field in ("Pre-Depends", "Depends"):
            for group in relation_names(fields.get(field, "")):
                for alt in group:
                    todo += [p for p in {alt} | providers.get(alt, set()) if p in packages]
    return {p for p in seen if p in packages}


def base_system(packages):
    return {name for name, f in packages.items()
            if f.get("Essential") == "yes" or f.get("Priority") == "required"}


def deps_sh_packages(deps_sh):
    """deps.sh's list, as `deps.sh --list` prints it (no apt is run)."""
    out = subprocess.run(["bash", deps_sh, "--list"], capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


# ---- what the build used -----------------------------------------------------

def depfile_paths(path):
    """The prerequisites of a make-style dependency file (targets dropped)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read().replace("\\\n", " ")
    words = re.findall(r"(?:\\.|[^\s\\])+", text)
    return [w.replace("\\ ", " ") for w in words if not w.endswith(":")]


_tool_cache = {}


def compiler_tool(compiler, flag, name):
    """What `compiler -print-file-name=NAME` (or -print-prog-name=) finds, or None."""
    key = (compiler, flag, name)
    if key not in _tool_cache:
        out = subprocess.run([compiler, flag + name], capture_output=True, text=True)
        found = out.stdout.strip()
        _tool_cache[key] = found if os.path.isabs(found) and os.path.exists(found) else None
    return _tool_cache[key]


def link_inputs(link_txt, compiler):
    """Absolute paths of the libraries and objects a link line names; -lNAME
    as the compiler driver finds it."""
    found = []
    with open(link_txt) as f:
        words = shlex.split(f.read())
    for w in words:
        if w.startswith("-l") and len(w) > 2:
            for name in ("lib%s.so" % w[2:], "lib%s.a" % w[2:]):
                p = compiler_tool(compiler, "-print-file-name=", name)
                if p:
                    found.append(p)
                    break
            else:
                found.append("-l" + w[2:] + " (not found by " + compiler + ")")
        elif os.path.isabs(w) and re.search(r"\.(so(\.[0-9.]+)?|a|o)$", w):
            found.append(w)
    return found


def cmake_cache(build_dir):
    cache = {}
    with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"([A-Za-z0-9_]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                cache[m.group(1)] = m.group(2)
    return cache


def cmake_configure_files(build_dir):
    """The CMake files configure read (CMAKE_MAKEFILE_DEPENDS)."""
    path = os.path.join(build_dir, "CMakeFiles", "Makefile.cmake")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    m = re.search(r"set\(CMAKE_MAKEFILE_DEPENDS(.*?)\)", text, re.S)
    return re.findall(r'"([^"]+)"', m.group(1)) if m else []


def build_files(build_dir):
    """{path: what used it} for the headers, libraries and tools of the build."""
    used = {}
    depfiles = glob.glob(os.path.join(build_dir, "**", "*.o.d"), recursive=True)
    if not depfiles:
        raise SystemExit("check_deps: no compiler dependency files (*.o.d) under %s: build first"
                         % build_dir)
    for d in depfiles:
        for p in depfile_paths(d):
            used.setdefault(os.path.normpath(os.path.join(build_dir, p)), "compiling " +
                            os.path.relpath(d, build_dir)[:-len(".o.d")])
    cache = cmake_cache(build_dir)
    compiler = cache.get("CMAKE_CXX_COMPILER", "c++")
    used.setdefault(compiler, "the C++ compiler")
    for name in ("cc1plus", "as", "ld"):
        p = compiler_tool(compiler, "-print-prog-name=", name)
        if p:
            used.setdefault(p, "the C++ compiler's " + name)
    for key in ("CMAKE_COMMAND", "CMAKE_CTEST_COMMAND", "CMAKE_MAKE_PROGRAM",
                "PKG_CONFIG_EXECUTABLE"):
        if cache.get(key):
            used.setdefault(cache[key], "the build (" + key + ")")
    for p in cmake_configure_files(build_dir):
        used.setdefault(os.path.normpath(os.path.join(build_dir, p)), "configure")
    for link_txt in glob.glob(os.path.join(build_dir, "**", "link.txt"), recursive=True):
        target = os.path.basename(os.path.dirname(link_txt))[:-len(".dir")]
        for p in link_inputs(link_txt, compiler):
            used.setdefault(p, "linking " + target)
    # What the compiler driver adds to every C++ link.
    for name in ("libstdc++.so", "libm.so", "libc.so", "libgcc_s.so", "libgcc.a", "crt1.o",
                 "crti.o", "crtbeginS.o"):
        p = compiler_tool(compiler, "-print-file-name=", name)
        if p:
            used.setdefault(p, "linking (the compiler's default libraries)")
    return used


# ---- what the tests run ------------------------------------------------------

SUBPROCESS_CALLS = {"Popen", "run", "call", "check_call", "check_output"}


# Shell keywords and builtins: the shell itself runs them.
SHELL_WORDS = set("""
! [ [[ ]] { } . : alias break builtin case cd command compgen complete continue declare do
done echo elif else esac eval exec exit export false fi for function getopts hash if in kill
let local printf pwd read readonly return set shift source test then trap true type typeset
ulimit umask unset until wait while
""".split())


def shell_commands(script):
    """The programs a small `sh -c` script runs: the first word of each
    command, leaving out assignments, keywords and builtins."""
    names = []
    for part in re.split(r"&&|\|\||\$\(|[;|\n`{}]", script):
        words = part.split()
        while words and (words[0] in ("exec", "!", "then", "do", "else") or
                         re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0])):
            words.pop(0)
        if words and re.match(r"[A-Za-z0-9_./][A-Za-z0-9_./+-]*$", words[0]) and \
                words[0] not in SHELL_WORDS:
            names.append(words[0])
    return names


def scan_python(path):
    """(programs, modules, strings): what a Python file runs, imports and
    names in string literals."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                isinstance(node.value.value, str):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    constants[t.id] = node.value.value

    def text(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    programs, modules, argv_like = set(), set(), set()
    strings = {n.value for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.List) and len(node.elts) > 1:
            # A command line kept for later ([PROG, "--option", ...], such as
            # a prefix that runs a program inside another): its program, if
            # one of that name is installed.
            first, second = text(node.elts[0]), text(node.elts[1])
            if first and second and second.startswith("-") and \
                    re.match(r"[A-Za-z0-9_./][A-Za-z0-9_./+-]*$", first):
                argv_like.add(first)
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "which" and node.args and text(node.args[0]):
                programs.add(text(node.args[0]))
            if name not in SUBPROCESS_CALLS or not node.args:
                continue
            argv = node.args[0]
            if isinstance(argv, ast.BinOp):  # [PROG] + list(args)
                argv = argv.left
            if not isinstance(argv, ast.List) or not argv.elts:
                continue
            words = [text(e) for e in argv.elts]
            if words[0]:
                programs.add(words[0])
            for i in range(len(words) - 2):  # sh -c SCRIPT, also after a prefix (unshare ...)
                if words[i] in ("sh", "bash", "/bin/sh") and words[i + 1] == "-c" and words[i + 2]:
                    programs |= set(shell_commands(words[i + 2]))
    programs |= {p for p in argv_like if which(p)}
    return programs, modules, strings


def which(program):
    if os.path.isabs(program):
        return program if os.path.exists(program) else None
    for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, program)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


# Run with -S: the site directories are searched, but no .pth file is run, so
# that what other installed packages hook into start-up (setuptools'
# _distutils_hack) is not taken for the tests' imports.
MODULE_FILES = r"""
import importlib, json, site, sys
sys.path += [p for p in site.getsitepackages() if p not in sys.path]
sys.path = [p for p in sys.path if p and not p.startswith(tuple(json.loads(sys.argv[1])))]
missing = []
for name in json.loads(sys.argv[2]):
    try:
        importlib.import_module(name)
    except ImportError as e:
        missing.append("%s (%s)" % (name, e))
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print(json.dumps({"files": files, "missing": missing}))
"""


def test_files(source_dir):
    """{path: what used it} for the programs and Python modules of the tests."""
    used = {}
    tests = sorted(glob.glob(os.path.join(source_dir, "tests", "integration", "*.py")))
    scripts = sorted(glob.glob(os.path.join(source_dir, "scripts", "*.py")))
    # deps.sh itself runs before any of its packages are there (apt, dpkg).
    shell_scripts = sorted(p for p in glob.glob(os.path.join(source_dir, "scripts", "*.sh"))
                           if os.path.basename(p) != "deps.sh")
    local = {os.path.splitext(os.path.basename(p))[0]: p for p in tests + scripts}
    programs, modules = {}, {"pytest"}  # the runner: python3 -m pytest
    # The tests, and the scripts they import or name (scripts/build_deb.py).
    todo, scanned = list(tests), set()
    while todo:
        path = todo.pop()
        if path in scanned:
            continue
        scanned.add(path)
        progs, mods, strings = scan_python(path)
        for p in progs:
            programs.setdefault(p, os.path.relpath(path, source_dir))
        modules |= mods
        todo += [local[m] for m in mods if m in local]
        todo += [p for p in scripts if any(s.endswith(os.path.basename(p)) for s in strings)]
        for sh in shell_scripts:
            if sh not in scanned and any(s.endswith(os.path.basename(sh)) for s in strings):
                scanned.add(sh)
                with open(sh) as f:
                    text = "\n".join(line.split("#", 1)[0] if not line.startswith("#!") else ""
                                     for line in f)
                # Only the names that are programs here: a script's text is
                # parsed roughly (a here-document reads as commands).
                for p in shell_commands(text):
                    if which(p):
                        programs.setdefault(p, os.path.relpath(sh, source_dir))
    used.setdefault(PYTHON, "the tests' interpreter")
    for prog, where in sorted(programs.items()):
        found = which(prog)
        used.setdefault(found or prog + " (not on PATH)", "run by " + where)
    own = [os.path.join(source_dir, "tests"), os.path.join(source_dir, "scripts")]
    out = subprocess.run([PYTHON, "-I", "-S", "-c", MODULE_FILES, json.dumps(own),
                          json.dumps(sorted(modules - set(local)))],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    for m in result["missing"]:
        used.setdefault("python module " + m, "imported by the tests")
    for f in result["files"]:
        used.setdefault(f, "a Python module the tests import")
    return used


# ---- the check ---------------------------------------------------------------

def aliases(path):
    """The names of one file under merged /usr: /lib/x and /usr/lib/x."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in MERGED_DIRS:
        return [path, "/usr" + path]
    if len(parts) > 3 and parts[1] == "usr" and parts[2] in MERGED_DIRS:
        return [path, path[len("/usr"):]]
    return [path]


def names_to_look_up(path):
    """Every name under which check_file may look `path` up."""
    names, seen, p = set(), set(), path
    while True:
        names.update(aliases(p))
        if not os.path.islink(p) or p in seen:
            break
        seen.add(p)
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    names.update(aliases(os.path.realpath(p)))
    return names


def owners_of(path, owners):
    found = set()
    for a in aliases(path):
        found |= owners.get(a, set())
    return found


def check_file(path, owners, allowed):
    """None when `path` is accounted for, else why not. Each name on its
    symlink chain that a package ships must be from an allowed package (an
    unowned link, such as /etc/alternatives', is passed through), and the
    file at the end of the chain must be shipped by one."""
    if not os.path.isabs(path):
        return "not found"
    if not os.path.lexists(path):
        return "does not exist"
    seen, p = set(), path
    while True:
        pkgs = owners_of(p, owners)
        if pkgs and not pkgs & allowed:
            return "%sowned by %s, which deps.sh does not install (nor anything it depends on)" % (
                "" if p == path else "its target " + p + " is ", ", ".join(sorted(pkgs)))
        if not os.path.islink(p) or p in seen:
            break
        seen.add(p)
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    if owners_of(p, owners):
        return None
    real = os.path.realpath(p)
    pkgs = owners_of(real, owners)
    if not pkgs:
        return "owned by no package" + ("" if p == path else " (through " + p + ")")
    if not pkgs & allowed:
        return "its target %s is owned by %s, which deps.sh does not install" % (
            real, ", ".join(sorted(pkgs)))
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-dir", default=os.path.dirname(here))
    ap.add_argument("--build-dir")
    ap.add_argument("--deps", help="the deps.sh to read (default: the source dir's)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every file and its package")
    args = ap.parse_args()
    source_dir = os.path.realpath(args.source_dir)
    build_dir = os.path.realpath(args.build_dir or os.path.join(source_dir, "build"))
    deps_sh = args.deps or os.path.join(source_dir, "scripts", "deps.sh")

    packages = read_status()
    listed = deps_sh_packages(deps_sh)
    not_installed = [p for p in listed if p not in packages]
    allowed = closure(listed, packages) | closure(base_system(packages), packages)

    used = {}
    used.update(build_files(build_dir))
    for path, why in test_files(source_dir).items():
        used.setdefault(path, why)
    own = (source_dir + os.sep, build_dir + os.sep)
    checked = []
    for path in sorted(used):
        real = os.path.realpath(path) if os.path.isabs(path) else path
        if not (path.startswith(own) or real.startswith(own)):
            checked.append(path)
    wanted = set()
    for path in checked:
        if os.path.isabs(path) and os.path.lexists(path):
            wanted |= names_to_look_up(path)
    owners = read_owners(wanted)
    problems = {}  # why -> [(path, what used it)]
    for path in checked:
        why = check_file(path, owners, allowed)
        if args.verbose:
            print("%s\t%s\t%s" % (path, ",".join(sorted(owners_of(os.path.realpath(path), owners) or
                                                       owners_of(path, owners))) or "-", used[path]))
        if why:
            problems.setdefault(why, []).append((path, used[path]))
    for p in not_installed:
        problems.setdefault("listed by deps.sh but not installed here (run scripts/deps.sh)",
                            []).append((p, "deps.sh"))
    if problems:
        missing = sum(len(v) for v in problems.values())
        print("check_deps: %d of %d files the build and tests use would be missing on a fresh "
              "machine after %s:" % (missing, len(checked), deps_sh))
        for why, files in sorted(problems.items()):
            shown = files if why.startswith("owned by no") else files[:5]
            print("  %s: %d file%s" % (why, len(files), "" if len(files) == 1 else "s"))
            for path, what in shown:
                print("    %s (%s)" % (path, what))
            if len(shown) < len(files):
                print("    ... and %d more" % (len(files) - len(shown)))
        return 1
    print("check_deps: all %d files the build and tests use come from the %d packages %s "
          "installs (%d with their dependencies and the base system)" % (
              len(checked), len(listed), deps_sh, len(allowed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
