#!/usr/bin/env python3
"""Reads a guest's console log and dmesg; prints the KTAP totals and every
failure; exits 1 on any failed test or kernel report.

usage: ktap.py CONSOLE_LOG DMESG [LABEL]
Prints a last line "ktap: P passed, F failed, S skipped" for the caller.

Counting: each test program's own "# Totals:" line gives its subtests;
a program without one (it crashed or timed out) counts by its top-level
"ok"/"not ok" line. A program whose top-level result is "not ok" but whose
totals show no failure counts one failure more (e.g. a crash after its
last subtest).
"""
import re
import sys

BAD = [
    (re.compile(r"\bBUG:"), "BUG"),
    (re.compile(r"\bWARNING:"), "WARNING"),
    (re.compile(r"\bOops\b"), "Oops"),
    (re.compile(r"Kernel panic"), "panic"),
    (re.compile(r"possible circular locking dependency|possible recursive locking|"
                r"inconsistent lock state|lockdep|suspicious RCU usage", re.I), "lockdep"),
    (re.compile(r"sleeping function called from invalid context"), "atomic sleep"),
    (re.compile(r"scheduling while atomic"), "atomic sleep"),
    (re.compile(r"KASAN:|UBSAN:|kmemleak: .*new suspected"), "sanitizer"),
    (re.compile(r"general protection fault|stack-protector|soft lockup|hard LOCKUP|"
                r"rcu_preempt detected stalls|hung_task|blocked for more than"), "hang/fault"),
]

def kernel_reports(dmesg):
    out = []
    for line in dmesg.splitlines():
        for rx, what in BAD:
            if rx.search(line):
                out.append((what, line.strip()))
                break
    return out

TOP = re.compile(r"^(not ok|ok) (\d+) (selftests: .*?)(?:\s+#\s*(.*))?$")
TOTALS = re.compile(r"^#\s*(?:# )?Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)")
SUB = re.compile(r"^#\s+(not ok|ok) \d+ (.*)$")
DIAG = re.compile(r"^#\s+#\s?(.*)$")
# Diagnostic lines of a failed subtest kept for the report (its last ones:
# the CI log shows only the tail of the run, not the guest's console).
DIAG_KEEP = 8

def parse(console):
    p = f = s = 0
    failures = []
    pending = None  # totals of the program whose output we are in
    subfails = []
    diag = []  # diagnostics since the last subtest result
    for raw in console.splitlines():
        line = raw.rstrip("\r")
        m = DIAG.match(line)
        if m and not m.group(1).startswith("Totals:"):
            diag.append(m.group(1))
            continue
        m = SUB.match(line)
        if m:
            if m.group(1) == "not ok":
                subfails.append(m.group(2) + "".join(f"\n  | {d}" for d in diag[-DIAG_KEEP:]))
            diag = []
        m = TOTALS.match(line)
        if m:
            pending = tuple(int(x) for x in m.groups())
            continue
        m = TOP.match(line)
        if m:
            ok = m.group(1) == "ok"
            directive = (m.group(4) or "").upper()
            name = m.group(3)
            if pending:
                tp, tf, _, _, ts, te = pending
                p += tp
                f += tf + te
                s += ts
                if not ok and tf + te == 0:
                    f += 1
                    failures.append(f"{name}: {directive or 'failed'} after its subtests")
            elif "SKIP" in directive:
                s += 1
            elif ok:
                p += 1
            else:
                f += 1
                failures.append(f"{name}" + (f" ({directive})" if directive else ""))
            failures.extend(f"{name}: {x}" for x in subfails if not x.upper().endswith("SKIP"))
            pending = None
            subfails = []
    return p, f, s, failures

def main():
    console = open(sys.argv[1], errors="replace").read()
    try:
        dmesg = open(sys.argv[2], errors="replace").read()
    except OSError:
        dmesg = ""
        print("ktap: no dmesg from the guest")
    label = sys.argv[3] if len(sys.argv) > 3 else "guest"
    p, f, s, failures = parse(console)
    for x in failures:
        print(f"FAIL [{label}] {x}")
    reports = kernel_reports(dmesg)
    for what, line in reports:
        print(f"FAIL [{label}] kernel {what} in dmesg: {line}")
    if reports:
        f += 1
    if p + f + s == 0:
        print(f"FAIL [{label}] no KTAP result in the console log")
        f += 1
    print(f"ktap: {p} passed, {f} failed, {s} skipped")
    sys.exit(1 if f else 0)

if __name__ == "__main__":
    main()
