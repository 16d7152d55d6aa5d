#!/usr/bin/python3
"""Soak: mixed load against a real mamorid, kill -9 every few minutes, and a
check of every write the daemon acknowledged. Run through bench/soak.sh
(make soak), which builds the Release binary and stops the daemon on exit.

Load (worker processes x threads, keep-alive connections):
  HTTP      login attempts and results over many accounts and IPs (with
            attacking IPs and password hashes that change every WAVE_S
            seconds, so blocks, incidents and sprays happen, and end),
            account events, list entries added and removed, operator locks
            and unlocks, contact updates
  Dovecot   POST /dovecot/policy?command=allow|report: failed and successful
            logins as Dovecot sends them (allow, allow again after a right
            password, report)
  Postfix   the policy delegation protocol on the [postfix] listener: RCPT
            and END-OF-MESSAGE of SASL-authenticated senders
The hot-state budget is small (SOAK_HOT_MB, 16 MiB) and failures come from
fresh IPs and password hashes, so the hot windows fill it and evict.

Every `--kill-min`..`--kill-max` seconds of load (at random) mamorid gets
SIGKILL under load and is restarted at once on the same data dir. Then, and
at the end, every acknowledged write so far is looked up:
  - each event_id of a login result, a refused login attempt and an account
    event answered 200, in GET /v1/accounts/{a}/activity;
  - each Dovecot step answered 200 that is recorded (a refused or delayed
    first `allow`, a successful login's second `allow` on the same
    connection, a failed login's `report`), by the device_id it carried;
  - each Postfix answer that recorded the send (END-OF-MESSAGE, a refused
    RCPT), by its client address, which is unique per message;
  - list entries: an entry answered 201 is there (by id) unless its
    deletion was answered; an entry whose deletion was answered is gone;
  - lock state and contact address by account: the last acknowledged
    operation wins (or one sent after it that was not answered).
A write answered 503 store_unavailable (Postfix: DEFER_IF_PERMIT temporary
failure), or not answered at all because the kill cut the connection, is
not acknowledged and is not checked. Every account that is checked by
activity gets fewer than 1000 requests that may write, so one read of its
activity (limit=1000) sees all of it.

The hot windows across a kill (a canary): five seconds before each kill, nine
failed logins for a fresh account from one IP; after the restart, its tenth
must be denied brute_force (10 an hour), since the daemon rebuilds its
windows from the activity log at start.

mamorid's RSS (VmRSS) is sampled every `--rss-every` seconds: start, end and
maximum per daemon lifetime, and whether the peak stays flat across the run
(each lifetime's first SETTLE_S seconds left out: the start-up's transient
peak is reported as the kernel's VmHWM).
Exit status: 0 if nothing was lost, every canary was denied, the daemon never
died on its own (a clean SIGTERM stop at the end included) and RSS stayed
within the bound; 1 otherwise.
"""
import argparse
import collections
import ctypes
import http.client
import ipaddress
import json
import multiprocessing as mp
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

APP_TOKEN = "soak-app-token"
ADMIN_TOKEN = "soak-admin-token"
REQUEST_TIMEOUT = 30.0  # seconds; an answer slower than this counts as not answered
SETTLE_S = 30.0  # seconds after each start left out of the RSS trend
# Requests that may write to one checked account before it is retired:
# below the activity read limit (1000), with room to spare.
CAPACITY = {"web": 800, "dovecot": 800, "postfix": 450}
POOL = 12  # active accounts per thread and category
LOCK_ACCOUNTS = 24  # per thread
CONTACT_ACCOUNTS = 24  # per thread
LIVE_LIST_ENTRIES = 16  # per thread: more are deleted
# Addresses the small GeoIP test databases know (tests/data/geoip), so that
# some logins have a place: new locations, travel.
GEO_IPS = ["81.2.69.142", "81.2.69.160", "216.160.83.57", "175.16.199.5", "89.160.20.112",
           "2.125.160.216", "67.43.156.1", "2001:218::1"]
# Attackers come in waves of WAVE_S seconds: in each, 32 IPs and 12
# password hashes shared by all threads, so blocks, credential-stuffing and
# spray incidents happen. The daemon's blocks last BLOCK and its incidents
# close after IDLE without activity, so they come and go within the run and
# the memory they hold reaches its steady state (with the defaults, an hour
# each, it would grow for the whole run).
WAVE_S = 120
BLOCK = "5m"
IDLE = "3m"


def attack_ips(wave):
    return ["198.18.%d.%d" % (wave % 256, i) for i in range(1, 25)] + \
           ["2001:db8:bad:%x::%x" % (wave & 0xffff, i) for i in range(1, 9)]


def attack_pwhashes(wave):
    return ["spray-%d-%02d" % (wave, i) for i in range(12)]

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "shop-app/4.2 (Android 14)",
]
EVENT_TYPES = ["password_changed", "email_changed", "mfa_enabled", "mfa_disabled",
               "challenge_passed", "challenge_failed", "message_sent", "mail_sent", "logout"]
# What one step of a thread does, and how often (relative weights).
MIX = [
    ("visitor_attempt", 10),  # login attempt on a random account (an allowed one writes nothing)
    ("web_attempt", 6),
    ("web_result", 26),
    ("attack", 6),
    ("event", 8),
    ("dovecot", 14),
    ("postfix", 14),
    ("list", 6),
    ("lock", 5),
    ("contact", 5),
]


def die_with_parent():
    """Asks the kernel to SIGKILL this process when its parent dies, so no
    load process or daemon outlives a killed orchestrator."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def canonical_ip(text):
    return ipaddress.ip_address(text).compressed


def quote(s):
    return urllib.parse.quote(s, safe="@")


class NoAnswer(Exception):
    pass


class Http:
    """One keep-alive HTTP connection; reconnects after an error. `generation`
    counts connections, so two answers with one generation came from one
    daemon process."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None
        self.generation = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, token=APP_TOKEN):
        """-> (status, parsed JSON or None, seconds). Raises NoAnswer."""
        headers = {"Authorization": "Bearer " + token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        t0 = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
                self.generation += 1
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
            if r.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise NoAnswer(str(e)) from None
        dt = time.monotonic() - t0
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, parsed, dt


class Postfix:
    """One policy delegation connection (Postfix keeps one per SMTP session)."""

    def __init__(self, host, port):
        self.addr = (host, port)
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buf = b""

    def ask(self, attrs):
        """-> (action text, seconds). Raises NoAnswer."""
        data = "".join("%s=%s\n" % kv for kv in attrs) + "\n"
        t0 = time.monotonic()
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=REQUEST_TIMEOUT)
            self.sock.sendall(data.encode())
            while b"\n\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("connection closed")
                self.buf += chunk
        except OSError as e:
            self.close()
            raise NoAnswer(str(e)) from None
        answer, self.buf = self.buf.split(b"\n\n", 1)
        line = answer.decode(errors="replace").strip()
        return (line[len("action="):] if line.startswith("action=") else line), time.monotonic() - t0


class Account:
    """An account whose activity is checked: what it was sent and what was
    acknowledged."""
    __slots__ = ("name", "used", "event_ids", "devices", "ips", "home_ip", "device")

    def __init__(self, name, rng):
        self.name = name
        self.used = 0  # requests sent that may write to its activity
        self.event_ids = []  # acknowledged, by event_id
        self.devices = collections.Counter()  # (type, device_id) acknowledged
        self.ips = collections.Counter()  # (type, ip) acknowledged
        self.home_ip = "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        self.device = "dev-%08x" % rng.getrandbits(32)


class Doubtful:
    """State with a last acknowledged value and the values sent after it that
    were not answered (any of which may have been stored)."""
    __slots__ = ("acked", "doubt")

    def __init__(self, initial):
        self.acked = initial
        self.doubt = []

    def ack(self, v):
        self.acked = v
        self.doubt = []

    def allowed(self):
        return [self.acked] + self.doubt


class Driver:
    """One load thread: its own accounts, connections, counters and journal.
    Nothing it owns is touched by another thread, so the order of its own
    requests is the order of the writes to its accounts."""

    def __init__(self, proc, index, cfg, journal_path):
        self.p, self.t = proc, index
        self.tag = "p%dt%d" % (proc, index)
        self.cfg = cfg
        self.rng = random.Random((cfg["seed"] << 16) + proc * 256 + index)
        self.http = Http("127.0.0.1", cfg["http_port"])
        self.pf = Postfix("127.0.0.1", cfg["postfix_port"])
        self.seq = 0
        self.counts = collections.Counter()  # "kind outcome" -> n
        self.slow = collections.Counter()  # kind -> answers slower than 1 s
        self.max_latency = collections.defaultdict(float)
        self.accounts = []  # every checked account, active or retired
        self.active = {}
        self.generation = {c: 0 for c in CAPACITY}
        for cat in CAPACITY:
            self.active[cat] = [self.new_account(cat) for _ in range(POOL)]
        self.visitors = {}  # random accounts whose attempt was recorded
        self.locks = {"%s-lock-%d" % (self.tag, i): Doubtful(("active", None))
                      for i in range(LOCK_ACCOUNTS)}
        self.contacts = {"%s-contact-%d" % (self.tag, i): Doubtful("")
                         for i in range(CONTACT_ACCOUNTS)}
        self.live_entries = {}  # list entry id -> target, acknowledged and not deleted
        self.deleted_entries = set()  # ids whose deletion was acknowledged
        self.doubtful_entries = set()  # ids whose deletion was not answered
        self.acked_writes = 0
        self.lost_now = []  # found lost by the load itself, reported at the next check
        self.journal = open(journal_path, "a", buffering=1 << 16)
        self.weights_kinds = [k for k, _ in MIX]
        self.weights = [w for _, w in MIX]

    # ---- bookkeeping ----

    def new_account(self, cat):
        self.generation[cat] += 1
        a = Account("%s-%s-%d" % (self.tag, cat, self.generation[cat]), self.rng)
        self.accounts.append(a)
        return a

    def pick(self, cat):
        pool = self.active[cat]
        i = self.rng.randrange(len(pool))
        a = pool[i]
        if a.used + 4 > CAPACITY[cat]:  # 4: the most one step sends
            a = pool[i] = self.new_account(cat)
        return a

    def note(self, kind, outcome, dt=None):
        self.counts[kind + " " + outcome] += 1
        if dt is not None:
            if dt > self.max_latency[kind]:
                self.max_latency[kind] = dt
            if dt > 1.0:
                self.slow[kind] += 1

    def log(self, *fields):
        self.journal.write("\t".join(str(f) for f in fields) + "\n")

    def call(self, kind, method, path, body=None, token=APP_TOKEN):
        """One HTTP call, counted. -> (status, body) or (None, None) unanswered."""
        try:
            status, parsed, dt = self.http.call(method, path, body, token)
        except NoAnswer:
            self.note(kind, "unanswered")
            self.backoff()
            return None, None
        if status == 503 and parsed and parsed.get("error", {}).get("code") == "store_unavailable":
            self.note(kind, "503", dt)
        else:
            self.note(kind, "%dxx" % (status // 100), dt)
            if status // 100 == 4 and kind != "list_delete":
                self.note(kind, "4xx:" + str((parsed or {}).get("error", {}).get("code")))
        return status, parsed

    def backoff(self):
        # The daemon is gone (killed, restarting): do not spin on refused connects.
        time.sleep(0.05 + self.rng.random() * 0.1)

    def acked_event(self, a, event_id, what):
        a.event_ids.append(event_id)
        self.acked_writes += 1
        self.log("ack", what, a.name, event_id)

    def rand_ip(self):
        r = self.rng.random()
        if r < 0.72:
            return "10.%d.%d.%d" % (self.rng.randrange(256), self.rng.randrange(256),
                                    self.rng.randrange(1, 255))
        if r < 0.95:
            return "2001:db8:%x:%x::%x" % (self.rng.randrange(1 << 16), self.rng.randrange(1 << 16),
                                           self.rng.randrange(1, 1 << 16))
        return self.rng.choice(GEO_IPS)

    def common(self, a, ip, **extra):
        body = {"account": a.name if isinstance(a, Account) else a, "ip": ip,
                "user_agent": self.rng.choice(USER_AGENTS)}
        body.update(extra)
        return body

    # ---- the operations ----

    def step(self):
        self.seq += 1
        kind = self.rng.choices(self.weights_kinds, self.weights)[0]
        getattr(self, "op_" + kind)()

    def op_visitor_attempt(self):
        name = "visitor-%d" % self.rng.randrange(1_000_000)
        status, b = self.call("login_attempt", "POST", "/v1/login/attempt",
                              self.common(name, self.rand_ip(), device_id="v%x" % self.rng.getrandbits(24)))
        if status == 200 and b.get("action") != "allow":
            a = self.visitors.get(name)
            if a is None:
                a = self.visitors[name] = Account(name, self.rng)
            self.acked_event(a, b["event_id"], "attempt")

    def op_web_attempt(self):
        a = self.pick("web")
        a.used += 1
        ip = a.home_ip if self.rng.random() < 0.6 else self.rand_ip()
        status, b = self.call("login_attempt", "POST", "/v1/login/attempt",
                              self.common(a, ip, device_id=a.device))
        if status == 200 and b.get("action") != "allow":
            self.acked_event(a, b["event_id"], "attempt")

    def op_web_result(self):
        a = self.pick("web")
        a.used += 1
        success = self.rng.random() < 0.55
        if success:
            ip = a.home_ip if self.rng.random() < 0.8 else self.rand_ip()
            device = a.device if self.rng.random() < 0.85 else "dev-%08x" % self.rng.getrandbits(32)
            body = self.common(a, ip, device_id=device, success=True,
                               mfa=self.rng.random() < 0.1)
        else:
            body = self.common(a, self.rand_ip(), success=False,
                               pwhash="%016x" % self.rng.getrandbits(64))
        if self.rng.random() < 0.2:
            body["protocol"] = self.rng.choice(["app", "imap", "api"])
        status, b = self.call("login_result", "POST", "/v1/login/result", body)
        if status == 200:
            self.acked_event(a, b["event_id"], "result")

    def op_attack(self):
        a = self.pick("web")
        a.used += 1
        wave = int(time.time() // WAVE_S)
        body = self.common(a, self.rng.choice(attack_ips(wave)), success=False,
                           pwhash=self.rng.choice(attack_pwhashes(wave)))
        body["user_agent"] = "python-requests/2.31"
        status, b = self.call("login_result", "POST", "/v1/login/result", body)
        if status == 200:
            self.acked_event(a, b["event_id"], "attack")

    def op_event(self):
        a = self.pick("web")
        a.used += 1
        t = self.rng.choice(EVENT_TYPES)
        body = self.common(a, a.home_ip if self.rng.random() < 0.7 else self.rand_ip(),
                           type=t, device_id=a.device)
        if t == "email_changed":
            body["old_email"] = "%s@example.com" % a.name
            body["new_email"] = "%s.%d@example.net" % (a.name, self.seq)
        elif t == "message_sent":
            body["recipients"] = ["user%d" % self.rng.randrange(100000)
                                  for _ in range(self.rng.randint(1, 6))]
        elif t == "mail_sent":
            body["recipients"] = self.rng.randint(1, 5)
        status, b = self.call("event", "POST", "/v1/events", body)
        if status == 200:
            self.acked_event(a, b["event_id"], "event")

    def dovecot_ack(self, a, typ, device):
        a.devices[(typ, device)] += 1
        self.acked_writes += 1
        self.log("ack", "dovecot", a.name, typ, device)

    def op_dovecot(self):
        a = self.pick("dovecot")
        a.used += 3  # allow, allow, report: each may record
        success = self.rng.random() < 0.7
        device = "dv-%s-%d" % (self.tag, self.seq)
        body = {"login": a.name, "remote": a.home_ip if success and self.rng.random() < 0.7
                else self.rand_ip(),
                "protocol": "imap" if self.rng.random() < 0.85 else "pop3",
                "session_id": "%s-%d" % (self.tag, self.seq), "device_id": device,
                "pwhash": "%08x" % self.rng.getrandbits(32), "tls": True}
        path = "/dovecot/policy?command="
        status, b = self.call("dovecot_allow", "POST", path + "allow", body)
        if status != 200:
            return
        first = self.http.generation
        if b["status"] != 0:  # refused or delayed: the attempt is recorded
            self.dovecot_ack(a, "login_attempt", device)
            if b["status"] < 0:
                self.call("dovecot_report", "POST", path + "report",
                          dict(body, success=False, policy_reject=True))
                return
        if success:
            status, b = self.call("dovecot_allow", "POST", path + "allow", body)
            # The second allow is the login's result only if the first one's
            # session is known: both on one connection, one daemon process.
            if status == 200 and self.http.generation == first:
                self.dovecot_ack(a, "login_result", device)
            self.call("dovecot_report", "POST", path + "report",
                      dict(body, success=True, policy_reject=False))
        else:
            status, b = self.call("dovecot_report", "POST", path + "report",
                                  dict(body, success=False, policy_reject=False))
            if status == 200:  # a failed login is recorded at its report
                self.dovecot_ack(a, "login_result", device)

    def postfix_ack(self, a, ip):
        a.ips[("mail_sent", canonical_ip(ip))] += 1
        self.acked_writes += 1
        self.log("ack", "postfix", a.name, "mail_sent", ip)

    def postfix_ask(self, kind, attrs):
        try:
            action, dt = self.pf.ask(attrs)
        except NoAnswer:
            self.note(kind, "unanswered")
            self.backoff()
            return None
        if "temporary failure" in action:  # PostfixPolicy::kNotStored
            self.note(kind, "503", dt)
            return None
        self.note(kind, action.split(" ", 1)[0], dt)
        return action

    def op_postfix(self):
        a = self.pick("postfix")
        n = self.rng.randint(1, 3)
        a.used += n + 1
        # The client address identifies this message's records: a fresh one.
        ip = self.rand_ip()
        while ip in GEO_IPS:
            ip = self.rand_ip()
        instance = "%s.%d" % (self.tag, self.seq)
        base = [("request", "smtpd_access_policy"), ("protocol_name", "ESMTP"),
                ("client_address", ip), ("client_name", "unknown"),
                ("helo_name", "client.example"), ("sasl_method", "PLAIN"),
                ("sasl_username", a.name), ("sender", a.name + "@example.jp"),
                ("instance", instance)]
        accepted = 0
        for i in range(n):
            action = self.postfix_ask("postfix_rcpt", base + [
                ("protocol_state", "RCPT"), ("recipient", "r%d@example.org" % self.rng.randrange(10**6)),
                ("recipient_count", str(accepted))])
            if action is None:
                return
            if action == "DUNNO":
                accepted += 1
            else:  # refused: a dry run that was not allowed is recorded
                self.postfix_ack(a, ip)
        if accepted == 0:
            return
        action = self.postfix_ask("postfix_eom", base + [
            ("protocol_state", "END-OF-MESSAGE"), ("recipient", ""),
            ("recipient_count", str(accepted)), ("size", str(self.rng.randrange(500, 50000)))])
        if action is not None:  # the message was counted: recorded, whatever the answer
            self.postfix_ack(a, ip)

    def op_list(self):
        if self.live_entries and (len(self.live_entries) >= LIVE_LIST_ENTRIES or self.rng.random() < 0.4):
            eid = self.rng.choice(list(self.live_entries))
            status, b = self.call("list_delete", "DELETE", "/v1/lists/" + quote(eid),
                                  token=ADMIN_TOKEN)
            if status is None or status == 503:
                del self.live_entries[eid]
                self.doubtful_entries.add(eid)
                self.log("doubt", "list_delete", eid)
            elif status == 200:
                del self.live_entries[eid]
                self.deleted_entries.add(eid)
                self.acked_writes += 1
                self.log("ack", "list_delete", eid)
            elif status == 404:
                # An entry whose creation was acknowledged is gone already: lost.
                self.note("list_delete", "404_for_acked_entry")
                self.lost_now.append("list entry %s (%s) gone when deleted"
                                     % (eid, self.live_entries.pop(eid)))
            return
        s = self.seq
        r = self.rng.random()
        if r < 0.4:
            target = "2001:db8:%x:%x::%x" % (0xa000 + self.p * 16 + self.t, s >> 16, s & 0xffff)
        elif r < 0.7:
            target = "2001:db8:%x:%x::/64" % (0xc000 + self.p * 16 + self.t, s & 0xffff)
        else:
            target = "account:%s-listed-%d" % (self.tag, s)
        body = {"kind": "deny" if self.rng.random() < 0.6 else "allow", "target": target,
                "reason": "soak %s %d" % (self.tag, s)}
        status, b = self.call("list_add", "POST", "/v1/lists", body, token=ADMIN_TOKEN)
        if status == 201:
            self.live_entries[b["id"]] = target
            self.acked_writes += 1
            self.log("ack", "list_add", b["id"], target)

    def op_lock(self):
        name = self.rng.choice(list(self.locks))
        st = self.locks[name]
        path = "/v1/accounts/%s/" % quote(name)
        if self.rng.random() < 0.5:
            reason = "soak lock %s %d" % (self.tag, self.seq)
            want = ("locked", reason)
            status, b = self.call("lock", "POST", path + "lock",
                                  {"reason": reason, "require_password_reset": self.rng.random() < 0.5},
                                  token=ADMIN_TOKEN)
        else:
            want = ("active", None)
            status, b = self.call("unlock", "POST", path + "unlock",
                                  {"note": "soak unlock %d" % self.seq}, token=ADMIN_TOKEN)
        if status == 200:
            st.ack(want)
            self.acked_writes += 1
            self.log("ack", "lock", name, *want)
        elif status is None or status == 503:
            st.doubt.append(want)
            self.log("doubt", "lock", name, *want)

    def op_contact(self):
        name = self.rng.choice(list(self.contacts))
        st = self.contacts[name]
        email = "c%d.%s@example.com" % (self.seq, self.tag)
        status, b = self.call("contact", "PUT", "/v1/accounts/%s/contact" % quote(name),
                              {"email": email, "lang": self.rng.choice(["en", "ja"]), "notify": False},
                              token=ADMIN_TOKEN)
        if status == 200:
            st.ack(email)
            self.acked_writes += 1
            self.log("ack", "contact", name, email)
        elif status is None or status == 503:
            st.doubt.append(email)
            self.log("doubt", "contact", name, email)

    # ---- verification (the load is paused) ----

    def get(self, conn, path):
        for attempt in range(5):
            try:
                status, b, _ = conn.call("GET", path, token=ADMIN_TOKEN)
            except NoAnswer as e:
                err = str(e)
                time.sleep(0.2 * (attempt + 1))
                continue
            if status == 200:
                return b
            err = "%d %s" % (status, b)
            time.sleep(0.2 * (attempt + 1))
        raise RuntimeError("GET %s failed: %s" % (path, err))

    def verify(self):
        """Looks up every acknowledged write of this thread.
        -> {"checked": Counter, "lost": [text], "errors": [text]}"""
        conn = Http("127.0.0.1", self.cfg["http_port"])
        checked = collections.Counter()
        lost, errors = self.lost_now, []
        self.lost_now = []
        try:
            for a in self.accounts + list(self.visitors.values()):
                if not (a.event_ids or a.devices or a.ips):
                    continue
                events = self.get(conn, "/v1/accounts/%s/activity?limit=1000" % quote(a.name))["events"]
                if len(events) >= 1000:
                    errors.append("%s: 1000 activity entries or more; the check may miss some"
                                  % a.name)
                ids = {e["event_id"] for e in events}
                devices = collections.Counter((e["type"], e["device_id"]) for e in events)
                ips = collections.Counter((e["type"], canonical_ip(e["ip"])) for e in events)
                for eid in a.event_ids:
                    checked["activity"] += 1
                    if eid not in ids:
                        lost.append("activity %s: event %s missing" % (a.name, eid))
                for key, n in a.devices.items():
                    checked["dovecot"] += n
                    if devices[key] < n:
                        lost.append("dovecot %s: %s %s acknowledged %d, recorded %d"
                                    % (a.name, key[0], key[1], n, devices[key]))
                for key, n in a.ips.items():
                    checked["postfix"] += n
                    if ips[key] < n:
                        lost.append("postfix %s: %s from %s acknowledged %d, recorded %d"
                                    % (a.name, key[0], key[1], n, ips[key]))
            if self.live_entries or self.deleted_entries or self.doubtful_entries:
                present = {e["id"] for e in self.get(conn, "/v1/lists")["entries"]}
                for eid, target in self.live_entries.items():
                    checked["list_add"] += 1
                    if eid not in present:
                        lost.append("list entry %s (%s) missing" % (eid, target))
                for eid in self.deleted_entries:
                    checked["list_delete"] += 1
                    if eid in present:
                        lost.append("list entry %s deleted but back" % eid)
                # What the daemon holds now is durable (it was just restarted).
                for eid in list(self.doubtful_entries):
                    if eid not in present:
                        self.doubtful_entries.discard(eid)
            for name, st in self.locks.items():
                acc = self.get(conn, "/v1/accounts/" + quote(name))
                seen = ("locked", acc["lock"]["reason"]) if acc["status"] == "locked" else ("active", None)
                if st.acked != ("active", None) or st.doubt:
                    checked["lock"] += 1
                if seen not in st.allowed():
                    lost.append("lock %s: %s, expected one of %s" % (name, seen, st.allowed()))
                st.ack(seen)
            for name, st in self.contacts.items():
                acc = self.get(conn, "/v1/accounts/" + quote(name))
                seen = acc["contact"]["email"]
                if st.acked or st.doubt:
                    checked["contact"] += 1
                if seen not in st.allowed():
                    lost.append("contact %s: %r, expected one of %s" % (name, seen, st.allowed()))
                st.ack(seen)
        except RuntimeError as e:
            errors.append("%s: %s" % (self.tag, e))
        finally:
            conn.close()
        for x in lost:
            self.log("lost", x)
        return {"checked": checked, "lost": lost, "errors": errors}

    def reset_connections(self):
        self.http.close()
        self.pf.close()
        self.journal.flush()

    def stats(self):
        return {"counts": dict(self.counts), "slow": dict(self.slow),
                "max_latency": dict(self.max_latency), "acked": self.acked_writes}


def worker_main(proc, cfg, commands, replies):
    """One worker process: `threads` drivers and a control loop that pauses,
    verifies, resumes and stops them on the orchestrator's commands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when to stop
    die_with_parent()
    drivers = [Driver(proc, i, cfg, os.path.join(cfg["journal_dir"], "p%dt%d.tsv" % (proc, i)))
               for i in range(cfg["threads"])]
    run = threading.Event()
    stop = threading.Event()
    cond = threading.Condition()
    busy = [0]
    failures = []

    def loop(d):
        try:
            while not stop.is_set():
                with cond:
                    busy[0] += 1
                if not run.is_set():
                    with cond:
                        busy[0] -= 1
                        cond.notify_all()
                    run.wait(0.2)
                    continue
                try:
                    d.step()
                finally:
                    with cond:
                        busy[0] -= 1
                        cond.notify_all()
        except Exception as e:  # a driver bug: report it rather than hang
            import traceback
            failures.append("%s: %s" % (d.tag, traceback.format_exc()))
            failures.append(str(e))

    threads = [threading.Thread(target=loop, args=(d,), daemon=True) for d in drivers]
    for th in threads:
        th.start()

    def pause():
        run.clear()
        with cond:
            while busy[0]:
                cond.wait(1)
        for d in drivers:
            d.reset_connections()

    def aggregate():
        counts, slow, acked = collections.Counter(), collections.Counter(), 0
        max_latency = collections.defaultdict(float)
        for d in drivers:
            s = d.stats()
            counts.update(s["counts"])
            slow.update(s["slow"])
            acked += s["acked"]
            for k, v in s["max_latency"].items():
                max_latency[k] = max(max_latency[k], v)
        return {"counts": dict(counts), "slow": dict(slow), "acked": acked,
                "max_latency": dict(max_latency), "failures": list(failures)}

    while True:
        cmd = commands.get()
        if cmd == "resume":
            run.set()
            replies.put((proc, "resumed", None))
        elif cmd == "pause":
            pause()
            replies.put((proc, "paused", aggregate()))
        elif cmd == "verify":
            results = [None] * len(drivers)

            def check(i):
                results[i] = drivers[i].verify()
            vs = [threading.Thread(target=check, args=(i,)) for i in range(len(drivers))]
            for v in vs:
                v.start()
            for v in vs:
                v.join()
            checked, lost, errors = collections.Counter(), [], []
            for r in results:
                checked.update(r["checked"])
                lost += r["lost"]
                errors += r["errors"]
            for d in drivers:
                d.journal.flush()
            replies.put((proc, "verified", {"checked": dict(checked), "lost": lost, "errors": errors}))
        elif cmd == "stop":
            pause()
            stop.set()
            for th in threads:
                th.join(5)
            for d in drivers:
                d.journal.close()
            replies.put((proc, "stopped", aggregate()))
            return


# ---------------------------------------------------------------- orchestrator

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """The mamorid under test: one config and data dir, restarted as often as
    it is killed. Its PID is kept in WORK/mamorid.pid for soak.sh's trap."""

    def __init__(self, binary, work, source_dir, hot_mb):
        self.binary, self.work = binary, work
        self.http_port, self.postfix_port = free_port(), free_port()
        self.config = os.path.join(work, "mamori.toml")
        self.pid_file = os.path.join(work, "mamorid.pid")
        self.proc = None
        self.lifetime = 0
        geo = os.path.join(source_dir, "tests", "data", "geoip")
        geoip = ""
        if os.path.exists(os.path.join(geo, "GeoLite2-City-Test.mmdb")):
            geoip = ('[geoip]\ncity = "%s/GeoLite2-City-Test.mmdb"\nasn = "%s/GeoLite2-ASN-Test.mmdb"\n'
                     'anonymous = "%s/GeoIP2-Anonymous-IP-Test.mmdb"\n' % (geo, geo, geo))
        with open(self.config, "w") as f:
            f.write("""[server]
listen = "127.0.0.1:%d"
data_dir = "%s/data"
threads = 2
maintain_every = "10s"

[[tokens]]
token = "%s"
role = "admin"

[[tokens]]
token = "%s"
role = "app"

[state]
memory_budget_mb = %d

[postfix]
listen = "127.0.0.1:%d"
threads = 2

[incidents]
idle = "%s"

[detections.brute_force]
block = "%s"

[detections.ip_failures]
block = "%s"

[detections.credential_stuffing]
block = "%s"

[detections.password_spray]
block = "%s"

%s""" % (self.http_port, work, ADMIN_TOKEN, APP_TOKEN, hot_mb, self.postfix_port, IDLE,
         BLOCK, BLOCK, BLOCK, BLOCK, geoip))

    def log_path(self, n=None):
        return os.path.join(self.work, "logs", "mamorid-%d.log" % (n or self.lifetime))

    def start(self):
        self.lifetime += 1
        self.log = open(self.log_path(), "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent)
        with open(self.pid_file, "w") as f:
            f.write("%d\n" % self.proc.pid)
        deadline = t0 + 300
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mamorid exited at start (status %s); see %s"
                                   % (self.proc.returncode, self.log_path()))
            if self.ready():
                return time.monotonic() - t0
            if time.monotonic() > deadline:
                raise RuntimeError("mamorid not ready after 300 s; see %s" % self.log_path())
            time.sleep(0.05)

    def ready(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=2)
            c.request("GET", "/healthz")
            ok = c.getresponse().status == 200
            c.close()
            if not ok:
                return False
            socket.create_connection(("127.0.0.1", self.postfix_port), timeout=2).close()
            return True
        except OSError:
            return False

    def rss_kb(self):
        """-> (VmRSS, VmHWM, RssAnon) in KiB, or None once the process is gone."""
        found = {}
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM", "RssAnon"):
                        found[key] = int(value.split()[0])
        except OSError:
            return None
        if "VmRSS" not in found or "VmHWM" not in found:
            return None  # a zombie: the process has exited
        return found["VmRSS"], found["VmHWM"], found.get("RssAnon", 0)

    def admin_get(self, path):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
            c.request("GET", path, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
            r = c.getresponse()
            body = r.read()
            c.close()
            return body.decode() if r.status == 200 else None
        except OSError:
            return None

    def post(self, path, body):
        """-> (status, parsed body), or (None, None) without an answer."""
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
            c.request("POST", path, body=json.dumps(body),
                      headers={"Authorization": "Bearer " + APP_TOKEN,
                               "Content-Type": "application/json"})
            r = c.getresponse()
            raw = r.read()
            c.close()
            return r.status, json.loads(raw)
        except (OSError, ValueError, http.client.HTTPException):
            return None, None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        """SIGTERM, then SIGKILL after 60 s. -> exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass
        return rc


class Canary:
    """The hot windows across a kill: nine failed logins for one account from
    one IP, acknowledged seconds before the kill, and a tenth after the
    restart, which must be denied (brute_force, 10 an hour): the daemon
    rebuilds its windows from the activity log at start."""

    def __init__(self, n):
        self.account = "canary-%d" % n
        self.ip = "192.0.2.%d" % (n % 250 + 1) if n < 250 else "2001:db8:ca::%x" % n
        self.sent = False

    def body(self, i):
        return {"account": self.account, "ip": self.ip, "success": False,
                "pwhash": "%s-%d" % (self.account, i)}

    def before(self, daemon):
        self.sent = all(daemon.post("/v1/login/result", self.body(i))[0] == 200 for i in range(9))
        return self.sent

    def after(self, daemon):
        """-> None if it held, else what went wrong."""
        status, b = daemon.post("/v1/login/result", self.body(9))
        if status != 200:
            return "%s: the tenth failure got %s" % (self.account, status)
        if b.get("action") != "deny" or "brute_force" not in b.get("reasons", []):
            return ("%s: nine failures from %s before the kill, the tenth after it was answered "
                    "%s %s, not deny brute_force" % (self.account, self.ip, b.get("action"),
                                                     b.get("reasons")))
        return None


def metric(text, name, labels=""):
    total = 0.0
    for line in (text or "").splitlines():
        if line.startswith(name + labels) and (line[len(name):len(name) + 1] in ("{", " ")):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Lifetime:
    def __init__(self, n, restart_s):
        self.n = n
        self.restart_s = restart_s  # from start (or kill) to /healthz
        self.rss = []  # (seconds into the run, KiB)
        self.hwm = 0  # the kernel's peak RSS (VmHWM) at the last sample, KiB
        self.hot = None  # last /v1/status hot_state
        self.failed_commits = 0
        self.ended = "running"
        self.load_s = 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mamorid", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--source-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--minutes", type=float, default=30.0, help="minutes of load (verification pauses excluded)")
    ap.add_argument("--kill-min", type=float, default=120.0, help="seconds of load between kills, at least")
    ap.add_argument("--kill-max", type=float, default=240.0, help="... and at most")
    ap.add_argument("--procs", type=int, default=2, help="worker processes")
    ap.add_argument("--threads", type=int, default=6, help="load threads per worker process")
    ap.add_argument("--hot-mb", type=int, default=16, help="state.memory_budget_mb")
    ap.add_argument("--rss-every", type=float, default=2.0, help="seconds between RSS samples")
    ap.add_argument("--rss-growth-mb", type=float, default=64.0,
                    help="allowed growth of the RSS peak from the first third of the run to the last")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    # soak.sh's trap sends SIGTERM: unwind, so the finally below stops everything.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    work = os.path.abspath(args.work)
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    os.makedirs(os.path.join(work, "journal"), exist_ok=True)

    daemon = Daemon(os.path.abspath(args.mamorid), work, os.path.abspath(args.source_dir), args.hot_mb)
    cfg = {"seed": seed, "http_port": daemon.http_port, "postfix_port": daemon.postfix_port,
           "threads": args.threads, "journal_dir": os.path.join(work, "journal")}
    ctx = mp.get_context("fork")
    replies = ctx.Queue()
    commands = [ctx.Queue() for _ in range(args.procs)]
    # Forked before the daemon or any thread here exists.
    workers = [ctx.Process(target=worker_main, args=(p, cfg, commands[p], replies), daemon=True)
               for p in range(args.procs)]
    for w in workers:
        w.start()

    def everyone(cmd, expect, timeout=600):
        for q in commands:
            q.put(cmd)
        got = {}
        deadline = time.monotonic() + timeout
        while len(got) < len(workers):
            try:
                p, what, payload = replies.get(timeout=max(1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("workers did not answer '%s' within %d s" % (cmd, timeout))
            if what != expect:
                raise RuntimeError("worker %d answered %s to %s" % (p, what, cmd))
            got[p] = payload
        return got

    out = open(os.path.join(work, "rss.tsv"), "w")
    out.write("run_s\tlifetime\trss_kib\trss_anon_kib\thwm_kib\thot_bytes\thot_evictions\n")
    print("soak: %.1f min of load, kill -9 every %.0f-%.0f s, %d x %d load threads, "
          "hot-state budget %d MiB, seed %d" % (args.minutes, args.kill_min, args.kill_max,
                                                args.procs, args.threads, args.hot_mb, seed), flush=True)
    print("soak: mamorid %s, http 127.0.0.1:%d, postfix 127.0.0.1:%d, work dir %s"
          % (args.mamorid, daemon.http_port, daemon.postfix_port, work), flush=True)

    lifetimes = []
    verifications = []  # (after, seconds, checked Counter, lost n)
    lost_all, errors_all, crashes = [], [], []
    canaries = []  # per checked kill: None, or how the brute-force count was lost
    stats = {}
    t_run = time.monotonic()
    load_s = 0.0
    exit_code = 1

    def run_s():
        return time.monotonic() - t_run

    def verify(after):
        t0 = time.monotonic()
        res = everyone("verify", "verified", timeout=3600)
        checked, lost, errors = collections.Counter(), [], []
        for r in res.values():
            checked.update(r["checked"])
            lost += r["lost"]
            errors += r["errors"]
        dt = time.monotonic() - t0
        verifications.append((after, dt, checked, len(lost)))
        lost_all.extend(lost)
        errors_all.extend(errors)
        print("soak: [%6.0f s] verify after %s: %d acknowledged writes checked (%s) in %.1f s, "
              "%d lost%s" % (run_s(), after, sum(checked.values()),
                             ", ".join("%s %d" % kv for kv in sorted(checked.items())), dt, len(lost),
                             "" if not errors else ", %d errors" % len(errors)), flush=True)
        for x in lost[:20] + errors[:5]:
            print("soak:   " + x, flush=True)
        return not lost and not errors

    try:
        canary = Canary(1)
        lt = Lifetime(1, daemon.start())
        lifetimes.append(lt)
        everyone("resume", "resumed")
        resumed = time.monotonic()
        next_kill = args.kill_min + rng.random() * (args.kill_max - args.kill_min)
        since_kill = 0.0
        next_sample = 0.0
        next_status = 0.0
        budget = args.minutes * 60
        while True:
            now = time.monotonic()
            running = now - resumed
            if load_s + running >= budget:
                break
            if running >= next_sample:
                rss = daemon.rss_kb()
                if rss is not None:
                    rss, lt.hwm, anon = rss
                    lt.rss.append((run_s(), rss))
                    hot = lt.hot or {}
                    out.write("%.1f\t%d\t%d\t%d\t%d\t%s\t%s\n" % (
                        run_s(), lt.n, rss, anon, lt.hwm, hot.get("bytes", ""), hot.get("evictions", "")))
                next_sample = running + args.rss_every
            if running >= next_status:
                s = daemon.admin_get("/v1/status")
                if s:
                    lt.hot = json.loads(s)["hot_state"]
                m = daemon.admin_get("/metrics")
                if m:
                    lt.failed_commits = metric(m, "mamori_store_commits_total", '{result="failed"}')
                next_status = running + 10
            died = daemon.proc.poll() is not None
            kill = since_kill + running >= next_kill and budget - (load_s + running) > 15
            if (not canary.sent and since_kill + running >= next_kill - 5
                    and budget - (load_s + running) > 20):
                if not canary.before(daemon):
                    print("soak: [%6.0f s] canary %s not acknowledged; not checked"
                          % (run_s(), canary.account), flush=True)
            if died or kill:
                if kill and not died:
                    daemon.kill9()
                    lt.ended = "kill -9"
                else:
                    lt.ended = "died on its own (status %s)" % daemon.proc.returncode
                    crashes.append("lifetime %d: %s; see %s" % (lt.n, lt.ended, daemon.log_path()))
                    daemon.log.close()
                t_kill = time.monotonic()
                running = t_kill - resumed
                load_s += running
                lt.load_s += running
                since_kill = 0.0
                stats = everyone("pause", "paused")
                print("soak: [%6.0f s] lifetime %d ended (%s) after %.0f s of load; RSS start %.0f, "
                      "end %.0f, max %.0f MiB" % (run_s(), lt.n, lt.ended, lt.load_s,
                                                   lt.rss[0][1] / 1024 if lt.rss else 0,
                                                   lt.rss[-1][1] / 1024 if lt.rss else 0,
                                                   max(r for _, r in lt.rss) / 1024 if lt.rss else 0),
                      flush=True)
                restart_s = daemon.start()
                lt = Lifetime(lt.n + 1, restart_s)
                lifetimes.append(lt)
                print("soak: [%6.0f s] lifetime %d: ready %.1f s after the kill" % (
                    run_s(), lt.n, time.monotonic() - t_kill), flush=True)
                verify("restart %d" % (lt.n - 1))
                if canary.sent and not died:
                    wrong = canary.after(daemon)
                    canaries.append(wrong)
                    if wrong:
                        print("soak:   hot window lost: " + wrong, flush=True)
                canary = Canary(lt.n)
                next_kill = args.kill_min + rng.random() * (args.kill_max - args.kill_min)
                next_sample = next_status = 0.0
                everyone("resume", "resumed")
                resumed = time.monotonic()
                continue
            time.sleep(min(0.5, args.rss_every))
        running = time.monotonic() - resumed
        load_s += running
        lt.load_s += running
        since_kill += running
        stats = everyone("pause", "paused")
        rss = daemon.rss_kb()
        if rss is not None:
            rss, lt.hwm, _ = rss
            lt.rss.append((run_s(), rss))
        s = daemon.admin_get("/v1/status")
        if s:
            lt.hot = json.loads(s)["hot_state"]
        m = daemon.admin_get("/metrics")
        if m:
            lt.failed_commits = metric(m, "mamori_store_commits_total", '{result="failed"}')
        verify("the end")
        lt.ended = "end"
        rc = daemon.stop()
        if rc != 0:
            crashes.append("final SIGTERM: exit status %s; see %s" % (rc, daemon.log_path()))
        stats = everyone("stop", "stopped")

        # ---- summary ----
        counts = collections.Counter()
        slow = collections.Counter()
        max_latency = collections.defaultdict(float)
        acked = 0
        failures = []
        for s in stats.values():
            counts.update(s["counts"])
            slow.update(s["slow"])
            acked += s["acked"]
            failures += s["failures"]
            for k, v in s["max_latency"].items():
                max_latency[k] = max(max_latency[k], v)
        by_kind = collections.defaultdict(collections.Counter)
        for key, n in counts.items():
            kind, outcome = key.split(" ", 1)
            by_kind[kind][outcome] += n
        total = sum(n for kind in by_kind.values() for o, n in kind.items() if ":" not in o
                    and o != "404_for_acked_entry")
        n503 = sum(c["503"] for c in by_kind.values())
        unanswered = sum(c["unanswered"] for c in by_kind.values())
        kills = sum(1 for l in lifetimes if l.ended == "kill -9")

        lines = []
        add = lines.append
        add("== soak summary ==")
        add("duration          %.1f min of load, %.1f min in all (kills, restarts, verification)"
            % (load_s / 60, run_s() / 60))
        add("seed              %d (bench/soak.sh --seed %d makes the same random choices)" % (seed, seed))
        add("requests          %d (%.0f/s of load), %d unanswered (cut by kills), %d answered 503"
            % (total, total / max(load_s, 1), unanswered, n503))
        for kind in sorted(by_kind):
            c = by_kind[kind]
            add("  %-16s %9d  %s; max %.2f s, %d over 1 s" % (
                kind, sum(n for o, n in c.items() if ":" not in o and o != "404_for_acked_entry"),
                ", ".join("%s %d" % (o, n) for o, n in sorted(c.items())),
                max_latency.get(kind, 0), slow.get(kind, 0)))
        add("kills             %d kill -9; %d other deaths (see CRASHES)" % (kills, len(crashes)))
        add("acknowledged      %d writes" % acked)
        final = verifications[-1][2] if verifications else {}
        add("checked           %d at the end (%s); %d over %d checks (after each restart and at the end);\n"
            "                  a lock, contact or list entry is checked in its last acknowledged state"
            % (sum(final.values()), ", ".join("%s %d" % kv for kv in sorted(final.items())),
               sum(sum(v[2].values()) for v in verifications), len(verifications)))
        add("lost              %d" % len(lost_all))
        canary_lost = [c for c in canaries if c]
        add("hot windows       %d of %d brute-force counts survived kill -9 (9 failures before, "
            "the 10th after must be denied)" % (len(canaries) - len(canary_lost), len(canaries)))
        add("verify time       %s s" % ", ".join("%.0f" % v[1] for v in verifications))
        add("lifetime  ended      load_s  restart_s  RSS start    end    max  HWM MiB  hot MiB  evictions  failed_commits")
        for l in lifetimes:
            r = [x for _, x in l.rss] or [0]
            hot = l.hot or {}
            add("%8d  %-9s %7.0f  %9.1f  %9.1f %6.1f %6.1f  %7.1f  %7.1f  %9s  %d" % (
                l.n, l.ended[:9], l.load_s, l.restart_s, r[0] / 1024, r[-1] / 1024, max(r) / 1024,
                l.hwm / 1024, hot.get("bytes", 0) / 2**20, hot.get("evictions", "?"), l.failed_commits))
        add("                  (RSS: VmRSS sampled every %.0f s; HWM: the kernel's peak, start-up included)"
            % args.rss_every)
        # Flat: the peak of the last third of the run against the peak of
        # its first third after warm-up (the first sixth of the run, at least
        # a minute), each lifetime's first SETTLE_S left out (the start-up's
        # warm-up leaves a transient peak; HWM shows it).
        settled = [(t, x) for l in lifetimes for t, x in l.rss if t - l.rss[0][0] >= SETTLE_S]
        samples = [(t, x) for l in lifetimes for t, x in l.rss]
        end_t = samples[-1][0] if samples else 0
        warm = max(60.0, end_t / 6)
        first = [x for t, x in settled if warm <= t <= end_t / 3]
        last = [x for t, x in settled if t >= end_t * 2 / 3]
        rss_ok = True
        if samples:
            add("RSS               start %.1f MiB, end %.1f MiB, max %.1f MiB (sampled), start-up peak "
                "%.1f MiB (HWM)" % (samples[0][1] / 1024, samples[-1][1] / 1024,
                                    max(x for _, x in samples) / 1024,
                                    max(l.hwm for l in lifetimes) / 1024))
        if first and last:
            growth = (max(last) - max(first)) / 1024
            rss_ok = growth <= args.rss_growth_mb
            add("RSS flat?         peak of the first third (after %.0f s) %.1f MiB, of the last third "
                "%.1f MiB: %+.1f MiB (bound %+.0f): %s" % (
                    warm, max(first) / 1024, max(last) / 1024, growth, args.rss_growth_mb,
                    "flat" if rss_ok else "GREW"))
        else:
            add("RSS flat?         too few samples to tell")
        data = os.path.join(work, "data")
        sizes = {f: os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)
                 if f.startswith("mamori.db")}
        add("data dir          %s" % ", ".join("%s %.0f MiB" % (f, n / 2**20) for f, n in sorted(sizes.items())))
        evictions = sum((l.hot or {}).get("evictions", 0) for l in lifetimes)
        add("hot state         budget %d MiB, %d evictions over all lifetimes%s" % (
            args.hot_mb, evictions, "" if evictions else " (the budget was never reached)"))
        if crashes:
            add("CRASHES           " + "; ".join(crashes))
        if failures:
            add("DRIVER FAILURES   %d (first: %s)" % (len(failures), failures[0]))
        if errors_all:
            add("CHECK ERRORS      %d (first: %s)" % (len(errors_all), errors_all[0]))
        if canary_lost:
            add("WINDOWS LOST      " + "; ".join(canary_lost[:5]))
        if lost_all:
            add("LOST              first ones: " + "; ".join(lost_all[:10]))
            with open(os.path.join(work, "lost.txt"), "w") as f:
                f.write("\n".join(lost_all) + "\n")
        passed = (not lost_all and not canary_lost and not crashes and not failures and not errors_all
                  and rss_ok)
        add("result            %s" % ("PASS" if passed else "FAIL"))
        text = "\n".join(lines)
        print(text, flush=True)
        with open(os.path.join(work, "summary.txt"), "w") as f:
            f.write(text + "\n")
        exit_code = 0 if passed else 1
    finally:
        out.close()
        daemon.stop()
        for w in workers:
            if w.is_alive():
                w.terminate()
            w.join(5)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
