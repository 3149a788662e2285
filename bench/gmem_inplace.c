// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_inplace: a SW-protected VM whose memory is one guest_memfd, mapped
 * by the VMM where shared and converted in place with
 * KVM_SET_MEMORY_ATTRIBUTES2 (kvm.gmem_in_place_conversion, which the
 * program turns on for its own VMs and restores).
 *
 *   to_private_1g  one KVM_SET_MEMORY_ATTRIBUTES2 making 1 GiB private, the
 *                  file bound to a memslot, populated, and its first half
 *                  mapped and touched by the VMM (unmap, reference check,
 *                  zap, store update), ns per call
 *   to_shared_1g   the same 1 GiB back to shared, ns per call
 *                  (baseline of both: KVM_SET_MEMORY_ATTRIBUTES over a
 *                  1 GiB memslot of a VM that does not convert in place)
 *   host_touch     the VMM's first touch of a mapped guest_memfd, ns per
 *                  4 KiB page over 256 MiB (baseline: a memfd)
 *   memory_1g      MiB that a 1 GiB VM takes once every page has been
 *                  private once and shared once: one file, one copy
 *                  (baseline: a shared mapping plus a guest_memfd, the
 *                  layout without in-place conversion, where each page
 *                  has a copy in both unless the VMM discards one)
 *
 * It also checks that a page converted both ways keeps its data, and
 * prints what it did in words. "gmem_inplace demo" (what "make run" shows)
 * does only that and the two memory figures, for a 256 MiB VM, and skips
 * the timed loops.
 */
#include "bench.h"
#include <setjmp.h>
#include <sys/mman.h>

#define DATA_GPA	(4 * GIB)
#define BIG		(1 * GIB)
#define TOUCH_SIZE	(256 * MIB)
#define DEMO_SIZE	(256 * MIB)

#ifndef KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES
#error "needs the in-place conversion uAPI"
#endif

static void *map_file(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	CHECK(p != MAP_FAILED, "mmap %zu bytes of a file", size);
	return p;
}

static void touch(uint8_t *p, size_t size)
{
	size_t i;

	for (i = 0; i < size; i += PAGE)
		*(volatile uint8_t *)(p + i) = 1;
}

static void populate(int fd, uint64_t size)
{
	CHECK(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size), "fallocate");
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static int read_faults(volatile uint8_t *p)
{
	int bus = 0;

	signal(SIGBUS, on_sigbus);
	if (!sigsetjmp(bus_jmp, 1))
		(void)*p;
	else
		bus = 1;
	signal(SIGBUS, SIG_DFL);
	return bus;
}

/* The one-file VM of "make run": what happens, in words. */
static void show_one_page(int gmem, uint8_t *map)
{
	const char msg[] = "written by the VMM while shared";

	memcpy(map + 7 * PAGE, msg, sizeof(msg));
	inplace_convert(gmem, 7 * PAGE, PAGE, 1);
	errno = EPERM;
	CHECK(read_faults(map + 7 * PAGE), "the VMM read a private page");
	printf("gmem_inplace: page 7 converted to private: the VMM's read raises SIGBUS\n");
	inplace_convert(gmem, 7 * PAGE, PAGE, 0);
	errno = EIO;
	CHECK(!memcmp(map + 7 * PAGE, msg, sizeof(msg)),
	      "the page lost its data over two conversions");
	printf("gmem_inplace: page 7 back to shared: it reads \"%s\"\n",
	       (char *)(map + 7 * PAGE));
}

static long mib_used_since(long free_kb)
{
	return (free_kb - meminfo_kb("MemFree")) / 1024;
}

int main(int argc, char **argv)
{
	double to_priv[2][REPS], to_shared[2][REPS], host[2][REPS];
	int demo = argc > 1 && !strcmp(argv[1], "demo");
	uint64_t t0, size = demo ? DEMO_SIZE : BIG;
	long mem_inplace, mem_split, free_kb;
	int vm, gmem, i, in_place;
	uint8_t *map;

	bench_start("gmem_inplace", 600);
	CHECK(!access(PARAM, W_OK), "%s", PARAM);

	/* Memory of a VM whose every page was private once and shared once. */
	free_kb = meminfo_kb("MemFree");
	vm = vm_with_mode(1);
	gmem = gmem_flags(vm, size, GUEST_MEMFD_FLAG_MMAP |
				    GUEST_MEMFD_FLAG_INIT_SHARED);
	map = map_file(gmem, size);
	set_slot(vm, 1, DATA_GPA, size, map, gmem, 0);
	touch(map, size);
	inplace_convert(gmem, 0, size, 1);
	inplace_convert(gmem, 0, size / 2, 0);
	mem_inplace = mib_used_since(free_kb);
	printf("gmem_inplace: a %lu MiB VM in one guest_memfd, half shared (mapped by the VMM), half private: %ld MiB used\n",
	       (unsigned long)(size / MIB), mem_inplace);
	show_one_page(gmem, map);
	munmap(map, size);
	close(gmem);
	close(vm);

	free_kb = meminfo_kb("MemFree");
	vm = vm_with_mode(0);
	gmem = gmem_create(vm, size);
	map = map_anon(size);
	set_slot(vm, 1, DATA_GPA, size, map, gmem, 0);
	touch(map, size);
	populate(gmem, size);
	set_private(vm, DATA_GPA, size / 2, 1);
	mem_split = mib_used_since(free_kb);
	printf("gmem_inplace: the same VM as shared memory plus a guest_memfd: %ld MiB used\n",
	       mem_split);
	munmap(map, size);
	close(gmem);
	close(vm);
	if (demo)
		return 0;

	/* Conversions of 1 GiB, each mode with its own ioctl. */
	for (in_place = 0; in_place < 2; in_place++) {
		vm = vm_with_mode(in_place);
		gmem = in_place ? gmem_flags(vm, BIG, GUEST_MEMFD_FLAG_MMAP |
					     GUEST_MEMFD_FLAG_INIT_SHARED) :
				  gmem_create(vm, BIG);
		map = in_place ? map_file(gmem, BIG) : map_anon(BIG);
		set_slot(vm, 1, DATA_GPA, BIG, map, gmem, 0);
		populate(gmem, BIG);
		for (i = -1; i < REPS; i++) {
			double a, b;

			touch(map, BIG / 2);
			t0 = now_ns();
			if (in_place)
				inplace_convert(gmem, 0, BIG, 1);
			else
				set_private(vm, DATA_GPA, BIG, 1);
			a = now_ns() - t0;
			t0 = now_ns();
			if (in_place)
				inplace_convert(gmem, 0, BIG, 0);
			else
				set_private(vm, DATA_GPA, BIG, 0);
			b = now_ns() - t0;
			/* i == -1: warm-up */
			if (i >= 0) {
				to_priv[in_place][i] = a;
				to_shared[in_place][i] = b;
			}
		}
		munmap(map, BIG);
		close(gmem);
		close(vm);
	}

	/* The VMM's first touch: guest_memfd against memfd. */
	vm = vm_with_mode(1);
	for (i = -1; i < REPS; i++) {
		for (in_place = 0; in_place < 2; in_place++) {
			int fd = in_place ?
				 gmem_flags(vm, TOUCH_SIZE,
					    GUEST_MEMFD_FLAG_MMAP |
					    GUEST_MEMFD_FLAG_INIT_SHARED) :
				 memfd_create("baseline", 0);

			CHECK(fd >= 0, "memfd_create");
			if (!in_place)
				CHECK(!ftruncate(fd, TOUCH_SIZE), "ftruncate");
			map = map_file(fd, TOUCH_SIZE);
			t0 = now_ns();
			touch(map, TOUCH_SIZE);
			if (i >= 0)
				host[in_place][i] = (double)(now_ns() - t0) /
						    (TOUCH_SIZE / PAGE);
			munmap(map, TOUCH_SIZE);
			close(fd);
		}
	}
	close(vm);

	bench_print("to_private_1g", median(to_priv[1], REPS), "ns/call");
	bench_print("to_private_1g.baseline", median(to_priv[0], REPS),
		    "ns/call");
	bench_print("to_shared_1g", median(to_shared[1], REPS), "ns/call");
	bench_print("to_shared_1g.baseline", median(to_shared[0], REPS),
		    "ns/call");
	bench_print("host_touch", median(host[1], REPS), "ns/page");
	bench_print("host_touch.baseline", median(host[0], REPS), "ns/page");
	bench_print("memory_1g", mem_inplace, "MiB");
	bench_print("memory_1g.baseline", mem_split, "MiB");
	return 0;
}
