#!/bin/bash
# boot.sh ARCH KERNEL INITRAMFS LOG MODE TIMEOUT [CMDLINE...]
# Boot the kernel under QEMU's TCG with the initramfs, console on serial,
# everything the console prints copied to LOG and to stdout (with QUIET=1
# only the TAP result lines and "vmtest:" progress lines go to stdout). MODE is vmtest.mode (test, run, shell, bench). The guest is
# killed after TIMEOUT seconds; exit status 124 then.
# Extra QEMU options can be given in QEMU_EXTRA (e.g. "-icount shift=0").
set -uo pipefail
arch=$1 kernel=$2 initrd=$3 log=$4 mode=$5 tmo=$6
shift 6
mem=${VM_MEM:-4G}
# x86_64 guests get one CPU. QEMU 7.2's multi-threaded TCG breaks nested
# SVM: with -smp 2, an L2 guest that only takes MMIO exits triple-faults
# (KVM_EXIT_SHUTDOWN) or stops making progress within a minute, and L1
# memory gets corrupted, on the *unpatched* 6.1.192 kernel as on the
# series, with or without kvm.mmio_caching. With -smp 1, or -smp 2 and
# thread=single, the same load runs clean for minutes (README, "Emulator
# limits"). thread=single costs too much: its 100 ms round-robin slices
# make every cross-CPU wait in L1 slow (rseq_test, memslot_perf_test).
# VM_SMP overrides; arm64 keeps two CPUs.
smp_default=2
[ "$arch" = x86_64 ] && smp_default=1
smp=${VM_SMP:-$smp_default}
# One host thread per guest CPU (MTTCG), except under -icount, which
# needs one thread for all (QEMU refuses MTTCG with icount).
tcg=tcg,thread=multi
case "${QEMU_EXTRA:-}" in *-icount*) tcg=tcg,thread=single ;; esac
append="panic=-1 vmtest.mode=$mode $*"
case "$arch" in
x86_64)
	qemu=(qemu-system-x86_64 -accel $tcg
	      -cpu EPYC,+svm,+npt -machine q35)
	# TCG's TSCs are in sync, but the clocksource watchdog cannot tell
	# under emulation and would demote the TSC (kvmclock tests need it).
	# unknown_nmi_panic: the NMI that scripts/qemu-diag.py sends to a
	# guest out of time turns into a panic with a backtrace.
	append="console=ttyS0 tsc=reliable unknown_nmi_panic $append" ;;
arm64)
	qemu=(qemu-system-aarch64 -accel $tcg
	      -M virt,virtualization=on,gic-version=3 -cpu max)
	append="console=ttyAMA0 $append" ;;
*) echo "boot: unknown ARCH $arch" >&2; exit 2 ;;
esac
qemu+=(-smp "$smp" -m "$mem" -no-reboot -nodefaults -display none
       -kernel "$kernel" -initrd "$initrd" -append "$append" ${QEMU_EXTRA:-})
mkdir -p "$(dirname "$log")"
if [ "$mode" = shell ]; then
	"${qemu[@]}" -serial mon:stdio 2>&1 | tee "$log"
	exit "${PIPESTATUS[0]}"
fi
# QEMU writes the console straight into the log; what is shown on stdout is
# a reader of that file, so nothing on the host side can stall or kill the
# guest.
: > "$log"
if [ "${QUIET:-0}" = 1 ]; then
	tail -n +1 -F "$log" 2>/dev/null |
		grep --line-buffered -aE '^(ok|not ok) [0-9]|^vmtest: (booted|done)|^BENCH' &
else
	tail -n +1 -F "$log" 2>/dev/null &
fi
reader=$!
# A guest still running after TIMEOUT seconds is asked through QEMU's
# monitor what it is doing (scripts/qemu-diag.py: the registers of each
# CPU, the kernel symbol there, and on x86 an NMI that the guest, booted
# with unknown_nmi_panic, answers with a backtrace), then killed. A hang
# that stops the guest's own timers (a CPU spinning with interrupts off,
# or QEMU stuck) leaves no other trace in the console.
mon=$log.mon
rm -f "$mon"
"${qemu[@]}" -chardev file,id=con,path="$log" -serial chardev:con \
	-monitor unix:"$mon",server=on,wait=off </dev/null >>"$log.qemu" 2>&1 &
qpid=$!
end=$((SECONDS + tmo))
while [ "$tmo" = 0 ] || [ $SECONDS -lt $end ]; do
	kill -0 $qpid 2>/dev/null || break
	sleep 1
done
if kill -0 $qpid 2>/dev/null; then
	map=$(dirname "$kernel")/../../../System.map
	nmi=
	[ "$arch" = x86_64 ] && nmi=--nmi
	python3 "$(dirname "$0")/qemu-diag.py" "$mon" --map "$map" $nmi \
		>> "$log.diag" 2>&1
	# The guest's panic, if it comes, ends QEMU (-no-reboot).
	for _ in $(seq 30); do
		kill -0 $qpid 2>/dev/null || break
		sleep 1
	done
	kill $qpid 2>/dev/null
	sleep 5
	kill -9 $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	rc=124
else
	wait $qpid
	rc=$?
fi
rm -f "$mon"
sleep 1
kill "$reader" 2>/dev/null
pkill -P $$ tail 2>/dev/null
wait 2>/dev/null
for f in "$log.qemu" "$log.diag"; do
	if [ -s "$f" ]; then cat "$f" >> "$log"; fi
	rm -f "$f"
done
[ $rc = 124 ] && echo "boot: guest killed after ${tmo}s" | tee -a "$log" >&2
exit $rc
