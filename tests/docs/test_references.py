"""Nothing in the repository refers to a file that is not in it: every `NAME.md` a file
mentions, every `docs/...` path, and every relative link of a Markdown file exists. (The
API and the design were once described in documents kept outside the repository; they are
in docs/ now.)"""
import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.environ.get("MAMORI_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../..")))
SELF = os.path.relpath(os.path.abspath(__file__), ROOT)

# A Markdown file's name, with the folders before it: README.md, docs/design.md, ../x.md.
MD_NAME = re.compile(r"(?<![\w./-])((?:\.{1,2}/)?(?:[\w.-]+/)*[\w-]+\.md)\b")
# A path under docs/: docs/openapi.json, docs/man/.
DOCS_PATH = re.compile(r"(?<![\w./-])(docs/(?:[\w.-]+/?)*)")
# A relative link or image in Markdown: [text](target) or [text](target "title").
MD_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def repository_files():
    """The files of the checkout: tracked and new ones git does not ignore, else a walk
    that skips build trees."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True, timeout=60).stdout
        files = [f for f in out.decode().split("\0") if f]
        return [f for f in files if os.path.isfile(os.path.join(ROOT, f))]
    except (OSError, subprocess.SubprocessError):
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x != ".git" and not x.startswith("build") and x != "__pycache__"]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
        return files


def text_of(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        data = f.read()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def exists(mention, mentioned_in):
    """A mention names an existing file or folder, from the repository's root or from the
    folder of the file that mentions it."""
    here = os.path.dirname(os.path.join(ROOT, mentioned_in))
    return any(os.path.exists(os.path.normpath(os.path.join(base, mention))) for base in (ROOT, here))


def dangling_references(files):
    """[(file, line, mention)] of every reference to a file that is not there."""
    out = []
    for f in files:
        if f == SELF:
            continue
        text = text_of(f)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            mentions = MD_NAME.findall(line) + DOCS_PATH.findall(line)
            if f.endswith(".md"):
                mentions += [t for t in MD_LINK.findall(line) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]
            names = dict.fromkeys(m.split("#")[0].rstrip(".") for m in mentions)
            out += [(f, n, m) for m in names if m and not exists(m, f)]
    return out


def test_every_file_the_repository_mentions_is_in_it():
    files = repository_files()
    assert "README.md" in files and "docs/openapi.json" in files, files[:20]
    dangling = dangling_references(files)
    assert not dangling, "references to files that are not in the repository:\n" + "\n".join(
        "%s:%d: %s" % d for d in dangling)


def test_the_check_finds_a_dangling_reference(tmp_path, monkeypatch):
    """The check above fails on what it is for: documents that were never in the repository,
    a docs/ path that is not there, a broken Markdown link; and passes what is there."""
    monkeypatch.setattr(__import__(__name__), "ROOT", str(tmp_path))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "design.md").write_text("# design\nSee [the API](openapi.json).\n")
    (tmp_path / "README.md").write_text("See docs/design.md and [guide](docs/guide.md#run).\n")
    missing = "API" + ".md"
    (tmp_path / "a.cc").write_text("// The contract is %s; defaults in %s.\n// docs/man/\n"
                                   % (missing, "DESIGN" + ".md"))
    found = {(f, m) for f, _, m in dangling_references(["docs/design.md", "README.md", "a.cc"])}
    assert found == {("docs/design.md", "openapi.json"), ("README.md", "docs/guide.md"),
                     ("a.cc", missing), ("a.cc", "DESIGN.md"), ("a.cc", "docs/man/")}, found
    (tmp_path / "docs" / "openapi.json").write_text("{}")
    (tmp_path / "docs" / "guide.md").write_text("")
    (tmp_path / "docs" / "man").mkdir()
    found = {(f, m) for f, _, m in dangling_references(["docs/design.md", "README.md", "a.cc"])}
    assert found == {("a.cc", missing), ("a.cc", "DESIGN.md")}, found


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
