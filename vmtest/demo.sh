#!/bin/sh
# make run: a first look at the patched kernel. Shows the kernel and KVM,
# then starts small KVM guests (selftests that each build a VM, load guest
# code, run a vCPU and check what it did) and prints what they did.
echo "== kernel: $(uname -r) $(uname -m)"
echo "== /dev/kvm: $(ls -l /dev/kvm 2>/dev/null || echo missing)"
dmesg | grep -iE 'kvm|svm|hyp' | head -5
run() {
	echo
	echo "== $1: $2"
	(cd /vmtest/tests && timeout -s KILL 120 "./$1") </dev/null
	echo "== $1 exited with $?"
}
case "$(uname -m)" in
x86_64)
	run x86_64/userspace_io_test "a guest does port I/O; the host VMM answers each KVM_EXIT_IO"
	run set_memory_region_test "memslots are added, moved and deleted under a running guest"
	;;
aarch64)
	run aarch64/psci_test "a guest powers vCPUs on and off through PSCI calls"
	run set_memory_region_test "memslots are added and deleted under a running guest"
	;;
esac
echo
echo "== guest_memfd: the core is in wip/ (not in series/ yet)"
