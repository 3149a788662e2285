// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmio_storm: a probe of the emulator, not a test of the series (README,
 * "Emulator limits"). N VMs of the default type, one vCPU each, whose
 * guest writes random gfns of a window without a memslot, so every write
 * is an MMIO exit. No guest_memfd, no 6.1 uAPI beyond the base: built
 * against the base's selftest library it runs on an unpatched 6.1 L1.
 * Under QEMU 7.2 with -smp 2 and thread=multi an L2 shuts down within a
 * minute; with thread=single or -smp 1 it runs clean.
 *
 * Build (in a tree with the KVM selftest library built into $LIB):
 *   cd tools/testing/selftests/kvm && gcc -O2 -std=gnu99 -static \
 *     -fno-stack-protector -fno-PIE -no-pie -D_GNU_SOURCE \
 *     -I include -I include/x86_64 -I ../../../../tools/include \
 *     -I ../../../../tools/arch/x86/include -isystem $HDR/usr/include \
 *     -I .. -o mmio_storm $PROBES/mmio_storm.c $LIB/lib/*.o \
 *     $LIB/lib/x86_64/*.o -lpthread
 * Run: mmio_storm [nr_vms] [seconds]; it prints exit counts every 10 s.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"

#define WIN_GPA  BIT_ULL(32)
#define WIN_PAGES 4096ul

static void guest_code(uint64_t rng)
{
	uint64_t i;
	for (;;) {
		for (i = 0; i < 256; i++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			WRITE_ONCE(*(uint64_t *)(WIN_GPA + ((rng >> 33) % WIN_PAGES) * PAGE_SIZE), rng);
		}
		GUEST_SYNC(0);
	}
}

static time_t deadline;
static uint64_t exits[16];

static void *vcpu_thread(void *arg)
{
	long id = (long)arg;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct ucall uc;

	virt_map(vm, WIN_GPA, WIN_GPA, WIN_PAGES);
	vcpu_args_set(vcpu, 1, 12345 + id);
	while (time(NULL) < deadline) {
		vcpu_run(vcpu);
		exits[id]++;
		if (vcpu->run->exit_reason == KVM_EXIT_MMIO)
			continue;
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC: break;
		default: TEST_FAIL("vm %ld: exit %u (%s)", id, vcpu->run->exit_reason,
				   exit_reason_str(vcpu->run->exit_reason));
		}
	}
	kvm_vm_free(vm);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4, secs = argc > 2 ? atoi(argv[2]) : 60, i;
	pthread_t t[16];
	struct kvm_vm *vm = vm_create_barebones(); /* warm the lib's caches */
	kvm_vm_free(vm);
	kvm_get_supported_cpuid();
	deadline = time(NULL) + secs;
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, vcpu_thread, (void *)(long)i);
	while (time(NULL) < deadline + 5) {
		sleep(10);
		printf("t=%ld:", (long)(time(NULL) - deadline + secs));
		for (i = 0; i < n; i++)
			printf(" %lu", __atomic_load_n(&exits[i], __ATOMIC_RELAXED));
		printf("\n");
		fflush(stdout);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < n; i++)
		printf("vm %d: %lu exits\n", i, exits[i]);
	printf("mmio_storm: ok\n");
	return 0;
}
