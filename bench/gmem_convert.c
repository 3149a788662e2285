// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_convert: KVM_SET_MEMORY_ATTRIBUTES on 1 GiB of guest_memfd memory
 * (bound, not populated), time per call, each private->shared->private:
 *
 *   convert_1g        1 GiB in one call
 *   convert_2m        1 GiB as 512 calls on 2 MiB chunks, the even chunks
 *                     first, so that half-way the store holds 256 ranges
 *   convert_4k        64 MiB in 4 KiB calls (16384 per direction)
 *
 * Baseline of each: the same calls when the range already has the
 * attribute (the ioctl's fixed cost: checks, lookup, no change).
 *
 *   store_1range      VM stat memory_attributes_bytes with 1 GiB private
 *                     as one range
 *   store_512ranges   the same with 512 private ranges of 1 MiB (every
 *                     other MiB of the GiB)
 *
 * Baseline of the store figures: the stat before any attribute is set.
 */
#include "bench.h"

#define GPA	(4 * GIB)
#define SIZE	(1 * GIB)
#define ROUNDS	8

/* Average ns per call of @n calls converting @chunk-sized pieces. */
static double convert(int vm, uint64_t size, uint64_t chunk, int private)
{
	uint64_t n = size / chunk, i, t0 = now_ns();

	/* Even chunks, then odd ones. */
	for (i = 0; i < n; i += 2)
		set_private(vm, GPA + i * chunk, chunk, private);
	for (i = 1; i < n; i += 2)
		set_private(vm, GPA + i * chunk, chunk, private);
	return (double)(now_ns() - t0) / n;
}

/*
 * One round trip (to private and back) and one no-op pass in each state;
 * the figure is the mean of the two directions.
 */
static void round_trip(int vm, uint64_t size, uint64_t chunk, double *conv,
		       double *noop)
{
	double to_priv, to_shared, noop_priv, noop_shared;

	to_priv = convert(vm, size, chunk, 1);
	noop_priv = convert(vm, size, chunk, 1);
	to_shared = convert(vm, size, chunk, 0);
	noop_shared = convert(vm, size, chunk, 0);
	*conv = (to_priv + to_shared) / 2;
	*noop = (noop_priv + noop_shared) / 2;
}

static void figure(int vm, const char *name, uint64_t size, uint64_t chunk)
{
	double conv[ROUNDS], noop[ROUNDS];
	char base[64];
	int i;

	round_trip(vm, size, chunk, &conv[0], &noop[0]);	/* warm-up */
	for (i = 0; i < ROUNDS; i++)
		round_trip(vm, size, chunk, &conv[i], &noop[i]);
	snprintf(base, sizeof(base), "%s.baseline", name);
	bench_print(name, median(conv, ROUNDS), "ns/call");
	bench_print(base, median(noop, ROUNDS), "ns/call");
}

int main(void)
{
	uint64_t empty, one, many, i;
	void *hva;
	int vm, gmem;

	bench_start("gmem_convert", 600);
	vm = vm_create(KVM_X86_SW_PROTECTED_VM);
	gmem = gmem_create(vm, SIZE);
	hva = map_anon(SIZE);
	set_slot(vm, 1, GPA, SIZE, hva, gmem, 0);

	empty = kvm_stat(vm, "memory_attributes_bytes");
	set_private(vm, GPA, SIZE, 1);
	one = kvm_stat(vm, "memory_attributes_bytes");
	set_private(vm, GPA, SIZE, 0);
	for (i = 0; i < SIZE / MIB; i += 2)
		set_private(vm, GPA + i * MIB, MIB, 1);
	many = kvm_stat(vm, "memory_attributes_bytes");
	set_private(vm, GPA, SIZE, 0);
	bench_print("store_1range", one, "bytes");
	bench_print("store_1range.baseline", empty, "bytes");
	bench_print("store_512ranges", many, "bytes");
	bench_print("store_512ranges.baseline", empty, "bytes");

	figure(vm, "convert_1g", SIZE, SIZE);
	figure(vm, "convert_2m", SIZE, 2 * MIB);
	figure(vm, "convert_4k", 64 * MIB, PAGE);

	close(gmem);
	close(vm);
	munmap(hva, SIZE);
	return 0;
}
