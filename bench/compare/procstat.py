"""What the kernel says about a server: CPU time of a process tree, and the
listen-queue counters. Read from /proc only, so any server can be measured
the same way, whatever it is written in."""

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (which may contain
    spaces and parentheses, so split after the last ')'). None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


def _tree(root):
    """The root and every live descendant of it."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root):
    """utime+stime of the root and all its live descendants, plus
    cutime+cstime (children that exited and were reaped inside the tree).

    Postfix's master reaps smtpd/cleanup processes as they reach max_use, so
    their time moves into master's cutime; counting both keeps the total
    continuous across a process exit. Threads (ringmx shards) are included
    in their process's utime/stime."""
    ticks = 0
    for pid in _tree(root):
        fields = _stat_fields(pid)
        if fields:
            # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / CLOCK_TICKS


def tree_rss_kib(root):
    total = 0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def tcp_ext(name):
    """One TcpExt counter from /proc/net/netstat (e.g. ListenOverflows).
    System-wide for the network namespace: other programs' overflows count
    too, which is why the burst reports it beside its own failed connects."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for header, values in zip(lines[::2], lines[1::2]):
        if header.startswith("TcpExt:"):
            table = dict(zip(header.split()[1:], values.split()[1:]))
            return int(table[name])
    raise KeyError(name)
