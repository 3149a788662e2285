#!/usr/bin/env python3
"""qemu-diag.py SOCKET [--map SYSTEM_MAP] [--nmi]

What a guest that ran out of time was doing, read through QEMU's human
monitor (a unix socket) before the guest is killed: the registers of each
CPU ("info registers -a"), with the kernel symbol of each instruction
pointer when a System.map is given; with --nmi, an NMI is then sent to
every CPU, which a guest booted with unknown_nmi_panic answers with a
panic and a backtrace on its console (no answer means the CPU does not
take interrupts any more, or QEMU itself is stuck).
"""
import argparse
import bisect
import re
import socket
import sys
import time


def hmp(sock, cmd, wait=2.0):
    """Send one command, return what the monitor printed until it is
    quiet for a moment (HMP has no end-of-reply marker)."""
    sock.sendall(cmd.encode() + b"\n")
    out = b""
    deadline = time.time() + wait
    sock.settimeout(0.5)
    while time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            if out:
                break
            continue
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def load_map(path):
    syms = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[1] in "tTwW":
                    syms.append((int(parts[0], 16), parts[2]))
    except OSError:
        return [], []
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def symbolize(addr, addrs, names):
    i = bisect.bisect_right(addrs, addr) - 1
    if i < 0 or addr - addrs[i] > 0x100000:
        return None
    return f"{names[i]}+{addr - addrs[i]:#x}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--map")
    ap.add_argument("--nmi", action="store_true")
    args = ap.parse_args()

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(args.socket)
    except OSError as e:
        print(f"qemu-diag: cannot reach the monitor: {e}")
        return 1
    hmp(s, "", 1.0)  # the banner
    regs = hmp(s, "info registers -a", 5.0)
    print("qemu-diag: info registers -a")
    print(regs.replace("\r", ""))
    addrs, names = load_map(args.map) if args.map else ([], [])
    for m in re.finditer(r"\b(RIP|PC)=([0-9a-fA-F]+)", regs):
        addr = int(m.group(2), 16)
        sym = symbolize(addr, addrs, names) if addrs else None
        where = sym or ("not in the kernel's text" if addrs else "")
        print(f"qemu-diag: {m.group(1)}={addr:#x} {where}")
    if args.nmi:
        print("qemu-diag: sending an NMI to every CPU")
        print(hmp(s, "nmi", 1.0).replace("\r", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
