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
	if [ -x /vmtest/tests/x86_64/private_mem_isolation_test ]; then
		run x86_64/private_mem_isolation_test \
		    "a KVM_X86_SW_PROTECTED_VM keeps a secret in private memory (guest_memfd); the host reads what is shared and nothing that is private"
	else
		run set_memory_region_test "memslots are added, moved and deleted under a running guest"
	fi
	if [ -x /vmtest/extra/bench/gmem_inplace ]; then
		echo
		echo "== bench/gmem_inplace: a 256 MiB VM whose memory is one guest_memfd, mapped by the VMM where shared, converted in place (one copy)"
		timeout -s KILL 300 /vmtest/extra/bench/gmem_inplace demo </dev/null
		echo "== bench/gmem_inplace exited with $?"
	fi
	if [ -x /vmtest/extra/bench/gmem_postcopy ]; then
		echo
		echo "== bench/gmem_postcopy: post-copy into private guest_memfd memory: every page absent, 4 vCPU threads fetch what their vCPUs fault on (KVM_MEM_USERFAULT exits), a background thread the rest"
		timeout -s KILL 300 /vmtest/extra/bench/gmem_postcopy demo </dev/null
		echo "== bench/gmem_postcopy exited with $?"
	fi
	;;
aarch64)
	run aarch64/psci_test "a guest powers vCPUs on and off through PSCI calls"
	run guest_memfd_vm_test "a guest whose code, page tables and stacks are all in one guest_memfd, loaded through the VMM's mapping, on two vCPUs"
	run guest_memfd_private_test "a protected VM served in software (kvm.sw_protected_vm, turned on for the run): private memory from guest_memfd, KVM_EXIT_MEMORY_FAULT on mismatches, conversion in place"
	run userfault_test "post-copy with KVM_MEM_USERFAULT: the VMM fills each page the guest faults on, shared and private"
	;;
esac
