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
smp=${VM_SMP:-2}
append="panic=-1 vmtest.mode=$mode $*"
case "$arch" in
x86_64)
	qemu=(qemu-system-x86_64 -accel tcg,thread=multi
	      -cpu EPYC,+svm,+npt -machine q35)
	append="console=ttyS0 $append" ;;
arm64)
	qemu=(qemu-system-aarch64 -accel tcg,thread=multi
	      -M virt,virtualization=on,gic-version=3 -cpu max)
	append="console=ttyAMA0 $append" ;;
*) echo "boot: unknown ARCH $arch" >&2; exit 2 ;;
esac
qemu+=(-smp "$smp" -m "$mem" -no-reboot -nodefaults -display none
       -serial mon:stdio -kernel "$kernel" -initrd "$initrd"
       -append "$append" ${QEMU_EXTRA:-})
mkdir -p "$(dirname "$log")"
if [ "$mode" = shell ]; then
	"${qemu[@]}" 2>&1 | tee "$log"
	exit "${PIPESTATUS[0]}"
fi
if [ "${QUIET:-0}" = 1 ]; then
	timeout -k 10 "$tmo" "${qemu[@]}" </dev/null 2>&1 | tee "$log" |
		grep --line-buffered -aE '^(ok|not ok) [0-9]|^vmtest: (booted|done)'
	rc=${PIPESTATUS[0]}
else
	timeout -k 10 "$tmo" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
fi
[ $rc = 124 ] && echo "boot: guest killed after ${tmo}s" | tee -a "$log" >&2
exit $rc
