#!/usr/bin/env python3
"""bench-report.py LOG OUT.md [PREVIOUS.json]

Read the "BENCH <name> <value> <unit>" lines of a `make bench` console log
and write a markdown table: each figure, its baseline (the line named
<name>.baseline), their ratio and, if PREVIOUS.json (the figures of the
last run) exists, the change from that run. The figures of this run are
written next to OUT.md as OUT.json. Exits 1 on any BENCHERR line, on a
figure without a baseline, or when no figure was printed.
"""
import json
import os
import re
import sys

LINE = re.compile(r"^(?:\[\s*\d+\.\d+\]\s*)?(BENCH|BENCHERR|BENCHINFO) (.*)$")

# What each figure measures, for the table (bench/*.c say it at length).
WHAT = {
    "populate": "fallocate 256 MiB (guest_memfd 4 KiB folios vs memfd)",
    "punch": "punch-hole 256 MiB populated (guest_memfd 4 KiB vs memfd)",
    "touch": "guest first touch, 256 MiB (private 4 KiB vs shared anon 4K)",
    "teardown": "teardown, 256 MiB populated (private vs shared anon)",
    "populate_2m": "fallocate 256 MiB, guest_memfd 2 MiB vs 4 KiB folios",
    "punch_2m": "punch-hole 256 MiB, guest_memfd 2 MiB vs 4 KiB folios",
    "touch_2m": "guest first touch, 256 MiB private, 2 MiB vs 4 KiB folios",
    "teardown_2m": "teardown, 256 MiB private, 2 MiB vs 4 KiB folios",
    "random_2m": "guest random 4 KiB reads over 1 GiB private, 2 MiB vs 4 KiB",
    "prefault": "KVM_PRE_FAULT_MEMORY 256 MiB private + guest touch (vs first touch), 4 KiB folios",
    "prefault_2m": "the same with 2 MiB folios (vs first touch, 2 MiB folios)",
    "prefault_call": "KVM_PRE_FAULT_MEMORY alone, 4 KiB folios (vs the guest touch after it)",
    "postcopy_1": "post-copy of 256 MiB, 1 vCPU: KVM userfault (vs userfaultfd MISSING)",
    "postcopy_2": "the same, 2 vCPUs (vs userfaultfd, a handler thread per vCPU)",
    "postcopy_4": "the same, 4 vCPUs (vs userfaultfd, a handler thread per vCPU)",
    "postcopy_gmem": "KVM userfault into a mapped guest_memfd, 1 vCPU (vs anon)",
    "convert_1g": "attributes: 1 GiB in one call (vs no-op call)",
    "convert_2m": "attributes: 1 GiB as 512 x 2 MiB calls (vs no-op)",
    "convert_4k": "attributes: 64 MiB in 4 KiB calls (vs no-op)",
    "store_1range": "attribute store, 1 GiB private as 1 range (vs empty)",
    "store_512ranges": "attribute store, 512 x 1 MiB ranges (vs empty)",
    "slot_memory": "kernel memory per bound memslot (vs plain memslot)",
    "stall_convert_call": "10^6 4 KiB ranges made shared in one call (vs 1 range)",
    "stall_vcpu_max": "longest vCPU gap during that call (vs no call)",
    "stall_fragment": "building the 10^6 ranges, 4 KiB calls (vs no-op)",
    "to_private_1g": "in place: 1 GiB to private, half host-mapped (vs VM ioctl)",
    "to_shared_1g": "in place: 1 GiB back to shared (vs VM ioctl)",
    "host_touch": "VMM first touch of a mapped guest_memfd (vs memfd)",
    "memory_1g": "1 GiB VM, each page private and shared once (vs split layout)",
}


def main():
    log, out = sys.argv[1], sys.argv[2]
    prev_path = sys.argv[3] if len(sys.argv) > 3 else None
    figs, units, errors, info = {}, {}, [], []
    with open(log, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\r\n"))
            if not m:
                continue
            kind, rest = m.groups()
            if kind == "BENCHERR":
                errors.append(rest)
            elif kind == "BENCHINFO":
                info.append(rest)
            else:
                name, value, unit = rest.split(None, 2)
                figs[name] = float(value)
                units[name] = unit
    prev = {}
    if prev_path and os.path.exists(prev_path):
        with open(prev_path) as f:
            prev = json.load(f)

    rows, missing = [], []
    for name in figs:
        if name.endswith(".baseline"):
            continue
        base = figs.get(name + ".baseline")
        if base is None:
            missing.append(name)
            continue
        ratio = f"{figs[name] / base:.2f}" if base else "-"
        change = "-"
        if name in prev and prev[name]:
            change = f"{(figs[name] - prev[name]) / prev[name] * 100:+.1f}%"
        rows.append(f"| {name} | {WHAT.get(name, '')} | {figs[name]:.1f} "
                    f"| {base:.1f} | {units[name]} | {ratio} | {change} |")

    with open(out, "w") as f:
        f.write("# guest_memfd benchmarks\n\n")
        f.write("Written by `make bench` (QEMU TCG, `-icount shift=0,sleep=off`: "
                "times are guest time, one instruction per ns; see "
                "bench/README.md). Each figure is a median of several runs.\n\n")
        for i in info:
            f.write(f"- {i}\n")
        f.write("\n| figure | what | value | baseline | unit | ratio | vs last run |\n")
        f.write("|---|---|---:|---:|---|---:|---:|\n")
        f.write("\n".join(rows) + "\n")
        for e in errors:
            f.write(f"\n**BENCHERR** {e}\n")
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(figs, f, indent=1, sort_keys=True)

    with open(out) as f:
        sys.stdout.write(f.read())
    ok = figs and not errors and not missing
    for name in missing:
        print(f"bench: {name} has no baseline", file=sys.stderr)
    for e in errors:
        print(f"bench: BENCHERR {e}", file=sys.stderr)
    if not figs:
        print("bench: no figures in the log", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
