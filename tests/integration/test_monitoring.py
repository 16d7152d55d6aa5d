"""Ops: mamori_build_info, the process metrics, decisions counted once with a
protocol label, and the Grafana dashboard and Prometheus alert rules of
examples/monitoring/ checked against a real mamorid's /metrics."""
import json
import os
import re
import subprocess
import time

import yaml

from conftest import SOURCE_DIR
from helpers import add_list_entry, metric_sum, parse_metrics

MONITORING = os.path.join(SOURCE_DIR, "examples", "monitoring")
PROMTOOL = "/usr/bin/promtool"
# Series Prometheus itself makes for every scrape target.
PROMETHEUS_OWN = {"up"}


def scrape(m):
    r = m.request("GET", "/metrics", None)
    assert r.status_code == 200, r.text[:300]
    return r.text


def exposed_names(text):
    """Every metric name /metrics exposes: its series and its # TYPE lines
    (a counter still at zero has no series yet)."""
    names = {n for n, _, _ in parse_metrics(text)}
    names |= set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    return names


def used_names(expr):
    """The metric names a PromQL expression reads (functions, keywords and
    label names left out)."""
    expr = re.sub(r'"[^"]*"', '""', expr)           # label values
    expr = re.sub(r"\{[^}]*\}", "{}", expr)          # matchers
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)         # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    words = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    keywords = {"and", "or", "unless", "bool", "offset", "le"}
    return {w for w in words if w not in keywords and not w.startswith("$") and
            not re.fullmatch(r"[0-9.e]+", w)}


def test_build_info_names_the_version_commit_and_compiler(mamorid):
    samples = parse_metrics(scrape(mamorid))
    info = [labels for n, labels, v in samples if n == "mamori_build_info" and v == 1]
    assert len(info) == 1, info
    labels = info[0]
    status = mamorid.admin("GET", "/v1/status").json()
    assert labels["version"] == status["version"]
    git = subprocess.run(["git", "-C", SOURCE_DIR, "rev-parse", "--short=12", "HEAD"],
                         capture_output=True, text=True, timeout=30)
    if git.returncode == 0:
        assert labels["commit"] == git.stdout.strip(), labels
    else:
        assert labels["commit"] == "unknown", labels
    assert re.match(r"^(GNU|Clang) \d+\.", labels["compiler"]), labels


def test_process_metrics_come_from_proc(mamorid):
    samples = parse_metrics(scrape(mamorid))
    value = {n: v for n, _, v in samples if n.startswith("process_")}
    pid = mamorid.proc.pid
    with open("/proc/%d/statm" % pid) as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    # Resident memory within a factor of two of what /proc says now.
    assert rss / 2 < value["process_resident_memory_bytes"] < rss * 2, (value, rss)
    assert value["process_virtual_memory_bytes"] >= value["process_resident_memory_bytes"]
    fds = len(os.listdir("/proc/%d/fd" % pid))
    assert abs(value["process_open_fds"] - fds) <= 4, (value, fds)
    with open("/proc/%d/limits" % pid) as f:
        soft = re.search(r"^Max open files\s+(\d+)", f.read(), re.M).group(1)
    assert value["process_max_fds"] == int(soft)
    assert time.time() - 600 < value["process_start_time_seconds"] <= time.time() + 1, value
    assert value["process_cpu_seconds_total"] >= 0
    for n in ("process_cpu_seconds_total", "process_virtual_memory_max_bytes"):
        assert n in value, value


def test_each_decision_counts_once_with_its_protocol(make_mamorid):
    m = make_mamorid()
    add_list_entry(m, "deny", "203.0.113.50")
    before = parse_metrics(scrape(m))
    for i in range(3):
        assert m.attempt("mon-%d" % i, "192.0.2.50", protocol="imap")["action"] == "allow"
    assert m.attempt("mon-x", "203.0.113.50", protocol="smtp")["action"] == "deny"
    assert m.attempt("mon-y", "192.0.2.51", protocol="gopher")["action"] == "allow"
    after = parse_metrics(scrape(m))

    def delta(name, **match):
        return metric_sum(after, name, **match) - metric_sum(before, name, **match)

    # Summed over reasons (and everything else): the number of decisions.
    assert delta("mamori_decisions_total") == 5
    assert delta("mamori_decisions_total", action="allow", reason="none", protocol="imap") == 3
    assert delta("mamori_decisions_total", action="deny", reason="deny_list", protocol="smtp") == 1
    assert delta("mamori_decisions_total", protocol="other") == 1  # an unknown word
    assert delta("mamori_decisions_total", reason="") == 0
    assert delta("mamori_decision_reasons_total", action="deny", reason="deny_list") == 1


def test_alert_rules_parse_and_pass_promtool():
    path = os.path.join(MONITORING, "mamori-alerts.yml")
    with open(path) as f:
        rules = yaml.safe_load(f)
    alerts = [r["alert"] for g in rules["groups"] for r in g["rules"]]
    for a in ("MamoriStoreUnavailable", "MamoriStoreCommitFailures", "MamoriHttp5xx",
              "MamoriHighDenyRate", "MamoriOutboxBacklog", "MamoriHotStateEvictions"):
        assert a in alerts, alerts
    assert os.path.exists(PROMTOOL), "promtool is not installed (scripts/deps.sh installs it)"
    p = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_dashboard_and_rules_use_only_metrics_mamorid_exposes(make_mamorid):
    m = make_mamorid()
    # Some traffic, so that labelled series exist.
    m.attempt("mon-a", "192.0.2.60")
    exposed = exposed_names(scrape(m))
    with open(os.path.join(MONITORING, "mamori-dashboard.json")) as f:
        dashboard = json.load(f)
    with open(os.path.join(MONITORING, "mamori-alerts.yml")) as f:
        rules = yaml.safe_load(f)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert len(exprs) > 10
    used = set()
    for e in exprs:
        used |= used_names(e)
    missing = used - exposed - PROMETHEUS_OWN
    assert not missing, "not in mamorid's /metrics: %s" % sorted(missing)
    assert {"mamori_decisions_total", "mamori_store_available", "process_resident_memory_bytes",
            "mamori_build_info"} <= used, used
