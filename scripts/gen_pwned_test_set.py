#!/usr/bin/env python3
"""Writes a small test set in the Pwned Passwords text format (SHA1HEX:COUNT).

It is made of three parts, all from a seeded generator so the same arguments
always give the same file:
  - COMMON: well-known weak passwords with made-up breach counts, so that
    tests can hash a plaintext themselves (hashlib) and expect a hit;
  - random passwords "pw-<n>-<hex>" with random counts;
  - CLUSTER_PREFIXES: hundreds of random hashes under each of a few 5-hex
    prefixes, so that range answers have many lines.
A few hashes appear twice (their counts add up), as a merged download may have.

usage: gen_pwned_test_set.py OUT [--random N] [--cluster N] [--seed S]
                             [--sorted] [--crlf] [--gzip]
"""
import argparse
import gzip
import hashlib
import random

COMMON = [
    ("password", 9545824), ("123456", 37359195), ("123456789", 7016669), ("qwerty", 3946737),
    ("letmein", 640620), ("iloveyou", 1593388), ("monkey", 1047953), ("dragon", 1014614),
    ("Tr0ub4dor&3", 12), ("P@ssw0rd", 56180), ("summer2024", 3912), ("hunter2", 17043),
]
CLUSTER_PREFIXES = ["0A1B2", "5BAA6", "FFFFF"]


def sha1_upper(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest().upper()


def generate(random_count=1500, cluster_count=300, seed=20240601):
    """-> list of (SHA1HEX, count) lines, unsorted, with a few repeats."""
    rng = random.Random(seed)
    rows = [(sha1_upper(pw), n) for pw, n in COMMON]
    for i in range(random_count):
        rows.append((sha1_upper("pw-%d-%08x" % (i, rng.getrandbits(32))), rng.randint(1, 50000)))
    for prefix in CLUSTER_PREFIXES:
        for _ in range(cluster_count):
            rows.append((prefix + "%035X" % rng.getrandbits(140), rng.randint(1, 5000)))
    for h, _ in rng.sample(rows, 5):
        rows.append((h, rng.randint(1, 10)))
    rng.shuffle(rows)
    return rows


def write(path, rows, sort=False, crlf=False, gz=False):
    if sort:
        rows = sorted(rows)
    eol = "\r\n" if crlf else "\n"
    data = "".join("%s:%d%s" % (h, n, eol) for h, n in rows).encode("ascii")
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--random", type=int, default=1500)
    ap.add_argument("--cluster", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--sorted", action="store_true")
    ap.add_argument("--crlf", action="store_true")
    ap.add_argument("--gzip", action="store_true")
    a = ap.parse_args()
    write(a.out, generate(a.random, a.cluster, a.seed), a.sorted, a.crlf, a.gzip)


if __name__ == "__main__":
    main()
