#!/usr/bin/env python3
"""verdict.py LOG [--kunit KUNIT_PY] [--label NAME]

Read the console log of one guest run and decide:
  - kselftest results: the TAP block that vmtest/run-tests prints between
    "vmtest: tap begin" and "vmtest: tap end";
  - KUnit results: the KTAP the kernel printed while booting, parsed by
    the kernel's own tools/testing/kunit/kunit.py;
  - splats: any WARN, BUG, Oops, panic, lockdep, KASAN, UBSAN, kmemleak
    report, RCU stall or hung task anywhere in the log fails the run.
Prints a summary and, last, "N passed, N failed, N skipped"; exits 1 if
anything failed.
"""
import argparse
import re
import subprocess
import sys

SPLAT = re.compile(
    r"(WARNING: CPU: \d+ PID: |WARNING: possible |WARNING: suspicious RCU"
    r"|WARNING: inconsistent lock state|WARNING: bad unlock|WARNING: lock held"
    r"|WARNING: held lock|WARNING: Nested lock"
    r"|BUG: |kernel BUG at |Oops|Internal error: |Kernel panic"
    r"|general protection fault|UBSAN: |unreferenced object 0x"
    r"|rcu: INFO: |INFO: rcu_|INFO: task .* blocked for more than"
    r"|watchdog: BUG: soft lockup|Unable to handle kernel"
    r"|kmemleak: \d+ new suspected memory leaks)")
KMEMLEAK = re.compile(r"kmemleak: \d+ new suspected memory leaks|unreferenced object 0x")
BASELINE_DONE = "vmtest: kmemleak baseline done"
TAP_LINE = re.compile(r"^(not ok|ok) (\d+) (\S+)(.*)$")
# The console may prefix lines with a printk timestamp or a CR.
PRINTK_TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")


def clean(line):
    return PRINTK_TS.sub("", line.rstrip("\r\n").replace("\r", ""))


def parse_tap(lines):
    """Return (plan, results) from the final TAP block, or the live lines
    when the guest never printed the block (it died or hung)."""
    block = None
    for i, line in enumerate(lines):
        if line == "vmtest: tap begin":
            block = []
            continue
        if line == "vmtest: tap end":
            break
        if block is not None:
            block.append(line)
    complete = block is not None and "vmtest: tap end" in lines
    if complete:
        src = block
    else:
        # The live lines of /init; the KTAP of the KUnit suites before
        # them has plans ("1..N") of its own.
        booted = next((i for i, line in enumerate(lines)
                       if line.startswith("vmtest: booted")), 0)
        src = lines[booted:]
    plan = None
    results = {}
    for line in src:
        m = re.match(r"^1\.\.(\d+)$", line)
        if m and plan is None:
            plan = int(m.group(1))
        m = TAP_LINE.match(line)
        if m:
            results[int(m.group(2))] = (m.group(1), m.group(3), m.group(4))
    return plan, results, complete


def parse_kunit(raw_lines, kunit_py):
    """Feed the boot part of the log (before /init runs) to kunit.py."""
    boot = []
    for line in raw_lines:
        if "vmtest: booted" in line:
            break
        boot.append(line)
    if not any("KTAP version" in l or "TAP version" in l for l in boot):
        return None
    # A kernel with KUnit but no suites prints an empty plan.
    if any(clean(l) == "1..0" for l in boot) and \
            not any(re.match(r"\s*(not )?ok \d", clean(l)) for l in boot):
        return None
    try:
        out = subprocess.run([sys.executable, kunit_py, "parse"],
                             input="".join(boot), capture_output=True,
                             text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"error": str(e)}
    res = {"passed": 0, "failed": 0, "skipped": 0, "crashed": 0,
           "errors": 0, "output": out}
    m = re.search(r"Ran (\d+) tests?: (.*)", out)
    if not m:
        res["errors"] = 1
        return res
    for key, val in re.findall(r"(passed|failed|skipped|crashed|errors): (\d+)",
                               m.group(2)):
        res[key] = int(val)
    return res


def print_test_output(lines, name, label, keep=20):
    """The end of what a failed test printed (its assertion, usually), so
    that the verdict at the end of a long log says why it failed."""
    start = None
    for i, l in enumerate(lines):
        if l.startswith(f"# running {name} ") or l == f"# running {name}":
            start = i
    if start is None:
        return
    end = len(lines)
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("# running ") or \
           re.match(rf"not ok \d+ {re.escape(name)}( |$)", lines[i]):
            end = i
            break
    out = [l for l in lines[start + 1:end] if l.strip()][-keep:]
    for l in out:
        print(f"{label}  | {l}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--kunit", help="path to tools/testing/kunit/kunit.py")
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    with open(args.log, errors="replace") as f:
        raw = f.readlines()
    lines = [clean(l) for l in raw]
    label = f"{args.label}: " if args.label else ""

    passed = failed = skipped = 0
    plan, results, complete = parse_tap(lines)
    for num in sorted(results):
        res, name, rest = results[num]
        if res == "ok" and "# SKIP" in rest:
            skipped += 1
        elif res == "ok":
            passed += 1
        else:
            failed += 1
            print(f"{label}FAILED: {name}{rest}")
            print_test_output(lines, name, label)
    if plan is None:
        print(f"{label}FAILED: no TAP plan in the log (guest did not reach the tests)")
        failed += 1
    else:
        missing = [n for n in range(1, plan + 1) if n not in results]
        if missing:
            print(f"{label}FAILED: {len(missing)} tests have no result "
                  "(guest died or was killed)")
            failed += len(missing)
    if not complete:
        print(f"{label}FAILED: the guest did not finish the run")
        failed += 1
        # What scripts/qemu-diag.py read off a guest out of time.
        for line in lines:
            if re.match(r"qemu-diag: (RIP|PC)=", line):
                print(f"{label}  | {line}")

    if args.kunit:
        ku = parse_kunit(raw, args.kunit)
        if ku is not None:
            if "error" in ku:
                print(f"{label}FAILED: kunit.py: {ku['error']}")
                failed += 1
            else:
                kfail = ku["failed"] + ku["crashed"] + ku["errors"]
                print(f"{label}KUnit: {ku['passed']} passed, {kfail} failed, "
                      f"{ku['skipped']} skipped")
                if kfail:
                    print(ku["output"])
                passed += ku["passed"]
                failed += kfail
                skipped += ku["skipped"]

    # Leaks that kmemleak finds before the tests start (the guest's
    # /init scans once, then prints BASELINE_DONE) are the boot's, not
    # the tests': they are listed but do not fail the run.
    baseline_end = next((i for i, line in enumerate(lines)
                         if BASELINE_DONE in line), -1)
    splats = []
    for i, line in enumerate(lines):
        if SPLAT.search(line):
            if i < baseline_end and KMEMLEAK.search(line):
                print(f"{label}note: boot-time kmemleak report ignored: {line}")
                continue
            splats.append(i)
    if splats:
        failed += 1
        print(f"{label}FAILED: {len(splats)} splat line(s) in the kernel log:")
        shown = -1
        for i in splats[:10]:
            if i <= shown:
                continue
            lo, hi = max(0, i - 3), min(len(lines), i + 25)
            print("-" * 72)
            print("\n".join(lines[lo:hi]))
            shown = hi
        print("-" * 72)

    print(f"{label}log: {args.log}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
