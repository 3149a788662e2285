// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_file: the file side of guest_memfd, without a vCPU.
 *
 *   populate     fallocate(KEEP_SIZE) of 256 MiB, ns per 4 KiB page
 *   punch        fallocate(PUNCH_HOLE) of those 256 MiB, ns per page
 *
 * Baseline of both: the same calls on a memfd (shmem) of the same size.
 * The guest_memfd has 4 KiB folios; populate_2m and punch_2m are the same
 * calls on one with 2 MiB folios, against the 4 KiB figures of the run.
 */
#include "bench.h"

#define SIZE	(256 * MIB)
#define PAGES	(SIZE / PAGE)

static void one_file(int fd, const char *what, double *populate, double *punch)
{
	uint64_t t0, t1, t2;

	t0 = now_ns();
	CHECK(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, SIZE),
	      "%s: fallocate 256 MiB", what);
	t1 = now_ns();
	CHECK(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, SIZE),
	      "%s: punch 256 MiB", what);
	t2 = now_ns();
	*populate = (double)(t1 - t0) / PAGES;
	*punch = (double)(t2 - t1) / PAGES;
}

int main(void)
{
	double pop[REPS], punch[REPS], pop_b[REPS], punch_b[REPS];
	double pop_2m[REPS], punch_2m[REPS];
	int vm, gmem, gmem_2m, memfd, i;

	bench_start("gmem_file", 300);
	vm = vm_create(KVM_X86_SW_PROTECTED_VM);
	gmem = gmem_create(vm, SIZE);
	gmem_2m = gmem_create_folios(vm, SIZE, 21);
	memfd = memfd_create("bench", MFD_CLOEXEC);
	CHECK(memfd >= 0, "memfd_create");
	CHECK(!ftruncate(memfd, SIZE), "ftruncate memfd");

	/* One untimed round each, so both start from the same warm state. */
	one_file(gmem, "guest_memfd", &pop[0], &punch[0]);
	one_file(memfd, "memfd", &pop_b[0], &punch_b[0]);
	one_file(gmem_2m, "guest_memfd 2M", &pop_2m[0], &punch_2m[0]);
	for (i = 0; i < REPS; i++) {
		one_file(gmem, "guest_memfd", &pop[i], &punch[i]);
		one_file(memfd, "memfd", &pop_b[i], &punch_b[i]);
		one_file(gmem_2m, "guest_memfd 2M", &pop_2m[i], &punch_2m[i]);
	}
	bench_print("populate", median(pop, REPS), "ns/page");
	bench_print("populate.baseline", median(pop_b, REPS), "ns/page");
	bench_print("punch", median(punch, REPS), "ns/page");
	bench_print("punch.baseline", median(punch_b, REPS), "ns/page");
	bench_print("populate_2m", median(pop_2m, REPS), "ns/page");
	bench_print("populate_2m.baseline", median(pop, REPS), "ns/page");
	bench_print("punch_2m", median(punch_2m, REPS), "ns/page");
	bench_print("punch_2m.baseline", median(punch, REPS), "ns/page");
	close(gmem_2m);
	close(memfd);
	close(gmem);
	close(vm);
	return 0;
}
