"""Whose CPU was it? On a shared machine other work (a test suite, a browser) steals cores from the
benchmark and turns its figures into noise. This meter splits the machine's busy time during a
measurement into ours (the benchmark's own process tree, its database servers, wrk) and other, so
that a run can wait for quiet, repeat a disturbed measurement and report what disturbance is left.
Linux only (/proc).
"""

import os
import resource
import time

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy():
    """Busy seconds of all cores since boot: user, nice, system, irq, softirq, steal."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def processes():
    """{pid: (ppid, cpu seconds)} for every process we can read."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return found


def descendants(table, roots):
    ours = {pid for pid in roots if pid in table}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in table.items():
            if ppid in ours and pid not in ours:
                ours.add(pid)
                changed = True
    return ours


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """`with Meter(roots) as meter: ...` then meter.other (cores) and meter.ours (cores).

    `roots` are the pids whose process trees count as ours besides this process's own tree
    (PostgreSQL's postmaster daemonizes away from it). Children that exit and are waited for
    inside the block (wrk) count as ours through getrusage.
    """

    def __init__(self, roots=(), servers=()):
        self.roots = {os.getpid(), *roots}
        self.servers = set(servers)  # of ours, the database servers' trees: reported apart

    def __enter__(self):
        self.start = (time.monotonic(), machine_busy(), processes(), children_cpu())
        return self

    def __exit__(self, *exc):
        began, busy, before, reaped = self.start
        after = processes()
        elapsed = time.monotonic() - began
        ours_now = descendants(after, self.roots)
        ours = sum(after[pid][1] - (before[pid][1] if pid in before else 0) for pid in ours_now)
        # Children of ours that ended inside the block and were reaped by us (wrk).
        ours += children_cpu() - reaped
        total = machine_busy() - busy
        server_pids = descendants(after, self.servers)
        self.server = sum(after[pid][1] - before.get(pid, (0, 0))[1] for pid in server_pids) / elapsed
        self.seconds = elapsed
        self.ours = ours / elapsed
        self.other = max(total - ours, 0.0) / elapsed
        return False


def wait_for_quiet(roots, limit=0.10, patience=30.0, sample=1.0):
    """Wait (at most `patience` seconds) until other work uses under `limit` cores for one
    `sample`. Returns the last sample's other-cores figure."""
    deadline = time.monotonic() + patience
    while True:
        with Meter(roots) as meter:
            time.sleep(sample)
        if meter.other < limit or time.monotonic() >= deadline:
            return meter.other


def wait_for_idle(servers, limit=0.05, patience=60.0, sample=1.0):
    """Wait (at most `patience` seconds) until the database servers' own processes use under
    `limit` cores: a bulk load leaves a checkpoint, autovacuum or InnoDB's flushing behind, and
    they would count against the board. Returns the last sample's server-cores figure."""
    deadline = time.monotonic() + patience
    while True:
        with Meter(servers, servers) as meter:
            time.sleep(sample)
        if meter.server < limit or time.monotonic() >= deadline:
            return meter.server
