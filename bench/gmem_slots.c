// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_slots: kernel memory per memslot bound to a guest_memfd.
 *
 *   slot_memory   MemFree consumed by adding 256 memslots of 2 MiB, each
 *                 bound to its own range of one 512 MiB guest_memfd (not
 *                 populated), divided by 256; bytes per slot
 *
 * Baseline: 256 more memslots in the same VM over anonymous memory (not
 * touched). Nothing is deleted between measurements and each repetition
 * has its own VM, so no allocation reuses memory that an earlier one
 * freed into a slab; MemFree is read after folding the per-CPU counters.
 */
#include "bench.h"

#define NSLOTS		256
#define SLOT_SIZE	(2 * MIB)
#define GPA		(4 * GIB)

/* Bytes per slot for adding NSLOTS slots from @first. */
static double add_slots(int vm, int first, int gmem, void *hva)
{
	long before, after;
	int i;

	before = meminfo_kb("MemFree");
	for (i = 0; i < NSLOTS; i++)
		set_slot(vm, first + i, GPA + (first + i) * SLOT_SIZE,
			 SLOT_SIZE, (char *)hva + i * SLOT_SIZE, gmem,
			 i * SLOT_SIZE);
	after = meminfo_kb("MemFree");
	return (double)(before - after) * KIB / NSLOTS;
}

int main(void)
{
	double bound[REPS], plain[REPS];
	int vm[REPS], gmem[REPS], i;
	void *hva;

	bench_start("gmem_slots", 300);
	hva = map_anon(NSLOTS * SLOT_SIZE);
	for (i = 0; i < REPS; i++) {
		vm[i] = vm_create(KVM_X86_SW_PROTECTED_VM);
		gmem[i] = gmem_create(vm[i], NSLOTS * SLOT_SIZE);
		/* One slot first, so that one-time setup is not counted. */
		set_slot(vm[i], 0, 0, SLOT_SIZE, hva, -1, 0);
		bound[i] = add_slots(vm[i], 1, gmem[i], hva);
		plain[i] = add_slots(vm[i], 1 + NSLOTS, -1, hva);
	}
	bench_print("slot_memory", median(bound, REPS), "bytes/slot");
	bench_print("slot_memory.baseline", median(plain, REPS), "bytes/slot");
	for (i = 0; i < REPS; i++) {
		close(gmem[i]);
		close(vm[i]);
	}
	munmap(hva, NSLOTS * SLOT_SIZE);
	return 0;
}
