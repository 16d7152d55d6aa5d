"""The activity log and the profiles as journals, through the daemon: an
acknowledged entry is read at once, before any index pass (reads merge the
journal's un-indexed tail); kill -9 during heavy indexing loses no
acknowledged entry or profile, and the restart indexes the journal's tail;
retention drops whole days."""
import datetime
import os
import threading
import time

import requests

from helpers import Sender, activity, get_json, metric_sum, parse_metrics


def metrics(m):
    return parse_metrics(m.session.get(m.url + "/metrics", timeout=10).text)


def wait_for(what, pred, timeout=30):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


SINCE_EVER = "2000-01-01T00:00:00Z"


def test_an_acknowledged_entry_is_read_at_once_before_any_index_pass(make_mamorid):
    # No index pass for an hour: everything read comes from the tail.
    m = make_mamorid(extra_toml='[store]\nindex_every = "1h"\n')
    acked = []
    for i in range(30):
        r = m.result("tail-alice", "192.0.2.%d" % (i + 1), i % 3 == 0, pwhash="t%d" % i,
                     device_id="phone")
        acked.append(r["event_id"])
        # Read right after the answer: the entry is there.
        ids = [e["event_id"] for e in activity(m, "tail-alice", limit=100)]
        assert ids[0] == acked[-1] and set(acked) <= set(ids), (i, ids[:3])
    samples = metrics(m)
    assert metric_sum(samples, "mamori_store_activity_runs") == 0, "an index pass ran"
    assert metric_sum(samples, "mamori_store_activity_tail_entries") >= 30
    assert metric_sum(samples, "mamori_store_activity_appended_total") >= 30
    assert metric_sum(samples, "mamori_store_activity_partitions") >= 1
    assert metric_sum(samples, "mamori_store_profiles_appended_total") >= 1
    assert metric_sum(samples, "mamori_store_activity_bytes") > 0
    assert get_json(m, "/v1/accounts/tail-alice")["devices"][0]["device_id"] == "phone"

    # kill -9 with nothing indexed: the restart rebuilds the tail from the journal.
    m.kill9()
    m.start()
    ids = [e["event_id"] for e in activity(m, "tail-alice", limit=100)]
    assert sorted(ids) == sorted(acked)
    assert get_json(m, "/v1/accounts/tail-alice")["devices"][0]["device_id"] == "phone"


class Load(threading.Thread):
    """Login results over many accounts, as fast as the daemon answers; keeps
    what was acknowledged (event ids per account, accounts with a device)."""

    def __init__(self, m, n, accounts=400):
        super().__init__(daemon=True)
        self.sender = Sender(m)
        self.n, self.accounts = n, accounts
        self.lock = threading.Lock()
        self.acked = {}    # account -> [event_id]
        self.devices = {}  # account -> device_id of an acknowledged success
        self.count = 0
        self.stop_flag = threading.Event()
        self.error = None

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            account = "heavy%d-%d" % (self.n, i % self.accounts)
            success = i % 4 == 0
            body = {"account": account, "ip": "198.51.%d.%d" % (self.n, i % 250 + 1),
                    "success": success, "pwhash": "h%d" % i, "device_id": "dev-" + account}
            try:
                r = self.sender.post("/v1/login/result", body, timeout=5)
            except requests.RequestException:
                return  # killed
            if r.status_code != 200:
                self.error = "%d %s" % (r.status_code, r.text[:200])
                return
            with self.lock:
                self.acked.setdefault(account, []).append(r.json()["event_id"])
                if success and r.json().get("action") == "allow":
                    self.devices[account] = "dev-" + account
                self.count += 1


def test_kill9_during_heavy_indexing_loses_no_acknowledged_entry(make_mamorid):
    # An index pass every 10 ms: runs are written and merged all the time.
    m = make_mamorid(extra_toml='[store]\nindex_every = "10ms"\n')
    loads = [Load(m, n) for n in range(3)]
    for t in loads:
        t.start()
    try:
        wait_for("load and index runs", lambda: sum(t.count for t in loads) >= 3000
                 and metric_sum(metrics(m), "mamori_store_activity_runs") >= 2, timeout=120)
        assert all(t.is_alive() for t in loads), [t.error for t in loads]
        m.kill9()
    finally:
        for t in loads:
            t.stop_flag.set()
        for t in loads:
            t.join(10)
    assert all(t.error is None for t in loads), [t.error for t in loads]

    m.start()
    # Straight after the start, before and after the restart's tail is indexed.
    def check():
        for t in loads:
            for account, ids in t.acked.items():
                logged = {e["event_id"] for e in activity(m, account, limit=1000)}
                missing = [x for x in ids if x not in logged]
                assert not missing, "%s: %d of %d acknowledged entries lost" % (
                    account, len(missing), len(ids))
            for account, device in list(t.devices.items())[:100]:
                devices = [d["device_id"] for d in get_json(m, "/v1/accounts/" + account)["devices"]]
                assert device in devices, (account, devices)
    check()
    wait_for("the tail indexed", lambda: metric_sum(metrics(m), "mamori_store_activity_tail_entries") == 0)
    check()


def test_retention_drops_whole_days_of_activity(make_mamorid):
    m = make_mamorid(replay=True, server={"maintain_every": "1s"})
    now = datetime.datetime.now(datetime.timezone.utc)
    for account, age in (("ret-100d", 100), ("ret-89d", 89)):
        m.result(account, "192.0.2.7", False, pwhash="r",
                 time=rfc3339(now - datetime.timedelta(days=age)))
    assert len(activity(m, "ret-100d", since=SINCE_EVER)) == 1
    old_day = (now - datetime.timedelta(days=100)).strftime("%Y%m%d")
    assert os.path.isdir(os.path.join(m.data_dir, "activity", old_day))
    # The replay clock moves to now: the next maintenance prunes.
    m.result("ret-now", "192.0.2.8", False, pwhash="r", time=rfc3339(now))
    # Readers stop seeing the day first, then its directory goes.
    wait_for("the 100-day-old entry dropped",
             lambda: not activity(m, "ret-100d", since=SINCE_EVER), timeout=30)
    wait_for("the 100-day-old day's directory removed",
             lambda: not os.path.exists(os.path.join(m.data_dir, "activity", old_day)))
    assert len(activity(m, "ret-89d", since=SINCE_EVER)) == 1, "an entry inside the retention went"
    assert len(activity(m, "ret-now", since=SINCE_EVER)) == 1
    # The drop is counted once the directory is gone.
    wait_for("the dropped day counted",
             lambda: metric_sum(metrics(m), "mamori_store_activity_partitions_dropped_total") >= 1)
    m.restart()
    assert not activity(m, "ret-100d", since=SINCE_EVER)
    assert len(activity(m, "ret-89d", since=SINCE_EVER)) == 1


def may_leave_sched_idle():
    """Whether a thread of this process may go from SCHED_IDLE back to
    SCHED_BATCH (CAP_SYS_NICE, or RLIMIT_NICE of 20): the daemon, started by
    the same user, may then too."""
    out = []

    def probe():
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
            out.append(True)
        except PermissionError:
            out.append(False)

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return out[0]


def thread_policies(pid):
    """{thread name: [scheduling policy, ...]} of a process's threads."""
    policies = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            name = f.read().strip()
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            policy = int(f.read().rsplit(")", 1)[1].split()[38])
        policies.setdefault(name, []).append(policy)
    return policies


def test_the_indexers_run_on_what_the_cores_leave_over(make_mamorid):
    # An index pass (a sort, a merge, an fsync) never takes a core from a
    # request thread: the indexers run as SCHED_IDLE where the daemon may
    # raise them again for the lag bound, else as SCHED_BATCH, like the
    # store's writer; they are raised only when a tail or the lag passes
    # its bound, and then only for a pass.
    m = make_mamorid(extra_toml='[store]\nindex_every = "50ms"\n')
    for i in range(20):
        m.result("idle-%d" % i, "192.0.2.%d" % (i + 1), True, pwhash="p%d" % i)
    wait_for("the tail indexed",
             lambda: metric_sum(metrics(m), "mamori_store_activity_tail_entries") == 0)
    policies = thread_policies(m.proc.pid)
    indexer = os.SCHED_IDLE if may_leave_sched_idle() else os.SCHED_BATCH
    assert policies.get("activity index") == [indexer], policies
    assert policies.get("profile index") == [indexer], policies
    assert policies.get("store writer") == [os.SCHED_BATCH], policies
    names = {s[0] for s in metrics(m)}
    assert "mamori_store_activity_index_raises_total" in names
    assert "mamori_store_profiles_index_raises_total" in names
    if indexer == os.SCHED_BATCH:
        assert "journal indexers run as SCHED_BATCH" in m.read_log_all()
