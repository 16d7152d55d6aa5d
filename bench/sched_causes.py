#!/usr/bin/python3
"""Where a request thread's waits come from: mamorid's threads off the CPU
while runnable, by what held the CPU meanwhile (bench/tail_latency.sh).

    perf sched record -a -o FILE -- sleep N
    bench/sched_causes.py FILE PID [WORKERS]

Reads `perf script` of FILE. The request threads are the WORKERS [1]
busiest threads of PID that do not name themselves ("store writer",
"activity index", "profile index", "checkpoint", "maintenance"). For each time one became
runnable (woken, or preempted while running) until it ran again, the wait is
counted under the task that held its CPU longest meanwhile (another of
mamorid's threads by name, or "other: COMM" for another process). Prints,
per cause, how many waits fell in each band, the longest, and "held": the
CPU time the task took while a request thread waited for that CPU (summed
over all waits; the fairest single figure per cause); then all waits
together; and the writer's and the indexers' time on the
CPU per burst (a batch, a pass slice) at p50/p99/max.
"""
import collections
import os
import re
import subprocess
import sys

BANDS_US = [50, 200, 500, 1000, 2000, 5000]
BAND_NAMES = ["<50us", "<200us", "<500us", "<1ms", "<2ms", "<5ms", ">=5ms"]

SWITCH = re.compile(
    r"\[(\d+)\]\s+(\d+\.\d+):\s+sched:sched_switch:\s+prev_comm=(.*?) prev_pid=(\d+) "
    r"prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
WAKING = re.compile(r"\[(\d+)\]\s+(\d+\.\d+):\s+sched:sched_wak(?:ing|eup_new):\s+"
                    r"comm=(.*?) pid=(\d+) prio=\d+ target_cpu=(\d+)")


def band(us):
    for i, b in enumerate(BANDS_US):
        if us < b:
            return i
    return len(BANDS_US)


def percentile(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    data, pid = sys.argv[1], sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    tids, cpu = {}, {}
    own = open(f"/proc/{pid}/comm").read().strip()
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            tids[int(t)] = open(f"/proc/{pid}/task/{t}/comm").read().strip()
            stat = open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()
            cpu[int(t)] = int(stat[11]) + int(stat[12])
            if tids[int(t)] == own and stat[38] == "3" and "store writer" not in tids.values():
                tids[int(t)] = "store writer"  # SCHED_BATCH
        except OSError:
            pass
    # Helpers name themselves ("store writer", "activity index", ...); the
    # request threads are the busiest of the unnamed ones (a build whose
    # writer has no name: the SCHED_BATCH thread is taken for it).
    unnamed = sorted((t for t, c in tids.items() if c == own), key=lambda t: -cpu[t])
    requests = set(unnamed[:workers])
    name = {t: (c if c != own else "request thread" if t in requests else
                "mamorid (other thread)") for t, c in tids.items()}

    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,cpu,time,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    waiting = {}          # request tid -> {"since": t, "cpu": c, "share": {label: s}}
    running = {}          # cpu -> (label, since)
    on_cpu_since = {}     # mamorid helper tid -> time it got the CPU
    bursts = collections.defaultdict(list)
    waits = collections.defaultdict(lambda: [0] * (len(BANDS_US) + 1))
    longest = collections.defaultdict(float)
    held = collections.defaultdict(float)  # label -> s its CPU time kept a request thread waiting
    all_waits = []

    def label(tid, comm):
        if tid in tids:
            return name[tid]
        return "idle" if tid == 0 else "other: " + comm

    for line in out.splitlines():
        m = WAKING.search(line)
        if m:
            t, tid = float(m.group(2)), int(m.group(4))
            if tid in requests and tid not in waiting:
                waiting[tid] = {"since": t, "cpu": int(m.group(5)), "share": collections.Counter()}
            continue
        m = SWITCH.search(line)
        if not m:
            continue
        cpu, t = int(m.group(1)), float(m.group(2))
        prev_comm, prev, state = m.group(3), int(m.group(4)), m.group(5)
        nxt_comm, nxt = m.group(6), int(m.group(7))
        # What ran on this CPU until now counts against each request thread
        # waiting for it.
        if cpu in running:
            who, since = running[cpu]
            for w in waiting.values():
                if w["cpu"] == cpu:
                    w["share"][who] += t - max(since, w["since"])
        running[cpu] = (label(nxt, nxt_comm), t)
        if prev in requests and state.startswith("R"):
            waiting[prev] = {"since": t, "cpu": cpu, "share": collections.Counter()}  # preempted
        if prev in on_cpu_since:
            bursts[name[prev]].append((t - on_cpu_since.pop(prev)) * 1e6)
        if nxt in tids and nxt not in requests:
            on_cpu_since[nxt] = t
        if nxt in requests and nxt in waiting:
            w = waiting.pop(nxt)
            us = (t - w["since"]) * 1e6
            share = w["share"]
            cause = max(share, key=share.get) if share else label(prev, prev_comm)
            for who, secs in share.items():
                held[who] += secs
            waits[cause][band(us)] += 1
            longest[cause] = max(longest[cause], us)
            all_waits.append(us)

    print(f"request threads {sorted(requests)}: each wait (runnable -> on CPU) under the task "
          "that held its CPU longest meanwhile")
    print(f"{'cause':<24}" + "".join(f"{b:>8}" for b in BAND_NAMES) + f"{'max us':>9}" +
          f"{'held ms':>9}")
    for cause in sorted(set(waits) | set(held), key=lambda c: -held[c]):
        print(f"{cause[:24]:<24}" + "".join(f"{n:>8}" for n in waits[cause]) +
              f"{longest[cause]:>9.0f}{held[cause] * 1e3:>9.1f}")
    print(f"all waits: n={len(all_waits)} p50 {percentile(all_waits, 50):.0f} us, "
          f"p99 {percentile(all_waits, 99):.0f} us, p99.9 {percentile(all_waits, 99.9):.0f} us, "
          f"max {max(all_waits, default=0):.0f} us")
    for who in sorted(bursts):
        b = bursts[who]
        print(f"{who} on CPU per burst: n={len(b)} p50 {percentile(b, 50):.0f} us, "
              f"p99 {percentile(b, 99):.0f} us, max {max(b):.0f} us, total {sum(b) / 1e3:.0f} ms")


if __name__ == "__main__":
    main()
