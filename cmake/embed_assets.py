#!/usr/bin/python3
"""Writes a C++ source file holding every file of a built web folder, so that
mamorid serves the console it was built with (protocols/http/console_assets.h).

  embed_assets.py --prefix /console/ DIST OUTPUT.cc

Each file becomes an asset: its URL path (PREFIX + the path under DIST;
index.html is PREFIX itself), content type, bytes, a strong ETag (the first
128 bits of its SHA-256) and whether its name is content-hashed (under
assets/), and so cacheable for good. A text file also gets its gzip form
(level 9, no name or time in the header, so builds are reproducible) with an
ETag of its own, when that saves at least a tenth of its size."""
import argparse
import gzip
import hashlib
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".html", ".js", ".css", ".svg", ".json", ".txt"}


def etag_of(data):
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def gzipped(ext, data):
    """The gzip form of a text file, or b"" when it is not worth sending."""
    if ext not in COMPRESSIBLE:
        return b""
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    return packed if len(packed) * 10 <= len(data) * 9 else b""


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", required=True)
    parser.add_argument("dist")
    parser.add_argument("output")
    args = parser.parse_args()

    assets = []
    for root, dirs, files in os.walk(args.dist):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, args.dist).replace(os.sep, "/")
            ext = os.path.splitext(name)[1].lower()
            if ext not in TYPES:
                sys.exit("embed_assets.py: %s: no content type for '%s'" % (full, ext))
            with open(full, "rb") as f:
                data = f.read()
            path = args.prefix if rel == "index.html" else args.prefix + rel
            packed = gzipped(ext, data)
            assets.append((path, TYPES[ext], etag_of(data), rel.startswith("assets/"), data,
                           etag_of(packed) if packed else "", packed))
    if not any(a[0] == args.prefix for a in assets):
        sys.exit("embed_assets.py: %s has no index.html" % args.dist)

    out = ["// Generated from the console's build by cmake/embed_assets.py; do not edit.",
           '#include "protocols/http/console_assets.h"', "", "namespace mamori::http {", "",
           "namespace {"]
    def array(name, data):
        out.append("constexpr unsigned char %s[%d] = {" % (name, len(data) + 1))
        for start in range(0, len(data), 24):
            out.append("    " + ",".join("0x%02x" % b for b in data[start:start + 24]) + ",")
        out.append("    0};")

    def view(name, data):
        return "std::string_view(reinterpret_cast<const char*>(%s), %d)" % (name, len(data))

    for i, asset in enumerate(assets):
        array("kBytes%d" % i, asset[4])
        array("kGzip%d" % i, asset[6])
    out.append("const EmbeddedAsset kAssets[] = {")
    for i, (path, ctype, etag, immutable, data, gzip_etag, packed) in enumerate(assets):
        out.append("    {%s, %s, %s, %s," % (c_string(path), c_string(ctype), c_string(etag),
                                             "true" if immutable else "false"))
        out.append("     %s, %s, %s}," % (view("kBytes%d" % i, data), c_string(gzip_etag),
                                          view("kGzip%d" % i, packed)))
    out += ["};", "}  // namespace", "",
            "std::span<const EmbeddedAsset> console_assets() { return kAssets; }", "",
            "}  // namespace mamori::http", ""]
    text = "\n".join(out)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(args.output + ".tmp", args.output)


if __name__ == "__main__":
    main()
