// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_postcopy: demand paging of 256 MiB, as a post-copy destination
 * does it, by 1, 2 and 4 vCPUs, each writing one byte per 4 KiB page of
 * its share of the memory, every write the first touch of a page that is
 * not there yet. The VMM "fetches" each page by copying a 4 KiB source
 * page into it.
 *
 *   postcopy_<n>   KVM userfault (KVM_MEM_USERFAULT): every bit of the
 *                  memslot's bitmap set; each fault exits to the vCPU's
 *                  own thread, which copies the page into the memslot's
 *                  anonymous memory, clears the bit and runs again
 *   baseline       userfaultfd, MISSING mode, over the same anonymous
 *                  memory: each fault blocks the vCPU in the host's page
 *                  fault, a handler thread per vCPU reads the event and
 *                  fills the page with UFFDIO_COPY
 *   postcopy_gmem  KVM userfault over a guest_memfd that backs the whole
 *                  memslot (GUEST_MEMFD_FLAG_MMAP), 1 vCPU: the page is
 *                  copied through the file's mapping. Baseline:
 *                  postcopy_1, anonymous memory
 *
 * Each figure is the time from the start of the vCPUs to the end of the
 * last, per page. Under -icount on one CPU it counts every instruction
 * run meanwhile, by vCPU threads and handler threads alike: the CPU cost
 * of a page, not how long a vCPU waits for it.
 *
 * "gmem_postcopy demo" (make run) shows the flow on private memory: a
 * KVM_X86_SW_PROTECTED_VM that converts in place, whose 64 MiB are one
 * guest_memfd with every page absent, is filled from a source file by
 * its 4 vCPU threads, each fetching the pages of its own userfault exits
 * (convert the page to shared, read it from the source into the file's
 * mapping, convert it back to private, clear the bit), while a
 * background thread pushes the pages nobody asked for yet. Each vCPU
 * checks every page of its share against what the source holds.
 *
 * x86_64 only: the guest is 32-bit protected mode code without paging.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "bench.h"

#ifndef KVM_MEM_USERFAULT
#define KVM_MEM_USERFAULT		(1UL << 3)
#define KVM_MEMORY_EXIT_FLAG_USERFAULT	(1ULL << 4)
#define KVM_CAP_USERFAULT		252
#endif

#define CODE_GPA	0x0ul
#define CODE_SIZE	(64 * KIB)
#define DATA_GPA	(1 * GIB)
#define SIZE		(256 * MIB)
#define PAGES		(SIZE / PAGE)
#define MAX_VCPUS	4

/*
 * for (; ecx; ecx--, esi += 4096) if (*(u32 *)esi != esi) break; hlt
 * (ecx is not 0 after a page that does not hold its gpa)
 */
static const uint8_t check_code[] = {
	0x8b, 0x06,				/* 0: mov (%esi), %eax     */
	0x39, 0xf0,				/* 2: cmp %esi, %eax       */
	0x75, 0x0a,				/* 4: jne 16               */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* 6: add $0x1000, %esi    */
	0x49,					/* 12: dec %ecx            */
	0x75, 0xf1,				/* 13: jnz 0               */
	0xf4,					/* 15: hlt                 */
	0xf4,					/* 16: hlt                 */
};

enum mode { KVM_USERFAULT, UFFD, KVM_USERFAULT_GMEM };

static uint8_t source[PAGE] __attribute__((aligned(PAGE)));

struct vcpu {
	int fd;
	struct kvm_run *run;
	uint64_t first_page, pages;
	int uffd, stop;		/* userfaultfd and its handler's stop event */
	pthread_t thread, handler;
};

struct vm {
	enum mode mode;
	int vm, gmem, nr;
	size_t run_size;
	void *code, *area;
	uint8_t *data;
	uint64_t *bitmap;
	struct vcpu vcpus[MAX_VCPUS];
};

/* vCPU @i of @v, to touch its share of @pages pages at DATA_GPA. */
static void vcpu_setup(struct vm *v, int i, uint64_t pages)
{
	struct vcpu *c = &v->vcpus[i];
	struct kvm_regs regs = { 0 };

	c->fd = ioctl(v->vm, KVM_CREATE_VCPU, i);
	CHECK(c->fd >= 0, "KVM_CREATE_VCPU %d", i);
	c->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	CHECK(c->run != MAP_FAILED, "mmap kvm_run");
	vcpu_flat_pmode(c->fd);

	c->pages = pages / v->nr;
	c->first_page = i * c->pages;
	regs.rip = CODE_GPA;
	regs.rflags = 0x2;
	regs.rsi = DATA_GPA + c->first_page * PAGE;
	regs.rcx = c->pages;
	CHECK(!ioctl(c->fd, KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

/* Register the vCPU's share of the memory with a userfaultfd of its own. */
static void uffd_setup(struct vm *v, struct vcpu *c)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range.start = (uintptr_t)(v->data + c->first_page * PAGE),
		.range.len = c->pages * PAGE,
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	c->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	CHECK(c->uffd >= 0, "userfaultfd");
	CHECK(!ioctl(c->uffd, UFFDIO_API, &api), "UFFDIO_API");
	CHECK(!ioctl(c->uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER");
	c->stop = eventfd(0, EFD_CLOEXEC);
	CHECK(c->stop >= 0, "eventfd");
}

static void vm_setup(struct vm *v, enum mode mode, int nr)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = 1,
		.guest_phys_addr = DATA_GPA,
		.memory_size = SIZE,
	};
	int kvm = kvm_open(), i;

	v->run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK((long)v->run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	close(kvm);

	v->mode = mode;
	v->nr = nr;
	v->vm = vm_create(0);
	v->code = map_anon(CODE_SIZE);
	memcpy(v->code, touch_code, sizeof(touch_code));
	set_slot(v->vm, 0, CODE_GPA, CODE_SIZE, v->code, -1, 0);

	v->gmem = -1;
	v->area = NULL;
	if (mode == KVM_USERFAULT_GMEM) {
		struct kvm_create_guest_memfd g = {
			.size = SIZE,
			.flags = GUEST_MEMFD_FLAG_MMAP |
				 GUEST_MEMFD_FLAG_INIT_SHARED |
				 (12ull << GUEST_MEMFD_FLAG_FOLIO_SIZE_SHIFT),
		};

		v->gmem = ioctl(v->vm, KVM_CREATE_GUEST_MEMFD, &g);
		CHECK(v->gmem >= 0, "KVM_CREATE_GUEST_MEMFD");
		v->data = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			       v->gmem, 0);
		CHECK(v->data != MAP_FAILED, "mmap guest_memfd");
		r.flags |= KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = v->gmem;
	} else {
		v->area = map_anon(SIZE + 2 * MIB);
		v->data = (uint8_t *)(((uintptr_t)v->area + 2 * MIB - 1) &
				      ~(2 * MIB - 1));
		CHECK(!madvise(v->data, SIZE, MADV_NOHUGEPAGE),
		      "MADV_NOHUGEPAGE");
	}
	r.userspace_addr = (uintptr_t)v->data;

	v->bitmap = NULL;
	if (mode != UFFD) {
		v->bitmap = malloc(PAGES / 8);
		CHECK(v->bitmap, "malloc");
		memset(v->bitmap, 0xff, PAGES / 8);
		r.flags |= KVM_MEM_USERFAULT;
		r.userfault_bitmap = (uintptr_t)v->bitmap;
	}
	CHECK(!ioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &r),
	      "KVM_SET_USER_MEMORY_REGION2 flags 0x%x", r.flags);

	for (i = 0; i < nr; i++) {
		vcpu_setup(v, i, PAGES);
		if (mode == UFFD)
			uffd_setup(v, &v->vcpus[i]);
	}
}

/* The vCPU's thread: run to HLT; with KVM userfault, fetch each page. */
static void *vcpu_thread(void *arg)
{
	struct vm *v = ((void **)arg)[0];
	struct vcpu *c = ((void **)arg)[1];
	struct kvm_run *run = c->run;
	uint64_t page;

	for (;;) {
		if (!ioctl(c->fd, KVM_RUN, 0))
			break;
		CHECK(errno == EFAULT && v->bitmap &&
		      run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		      (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_USERFAULT),
		      "KVM_RUN: exit %u", run->exit_reason);
		page = (run->memory_fault.gpa - DATA_GPA) / PAGE;
		memcpy(v->data + page * PAGE, source, PAGE);
		__atomic_fetch_and(&v->bitmap[page / 64], ~(1ull << (page % 64)),
				   __ATOMIC_RELEASE);
	}
	errno = EPROTO;
	CHECK(run->exit_reason == KVM_EXIT_HLT, "guest exit %u, expected HLT",
	      run->exit_reason);
	return NULL;
}

/* A userfaultfd handler: UFFDIO_COPY of the source into each page. */
static void *uffd_thread(void *arg)
{
	struct vcpu *c = arg;
	struct pollfd fds[2] = {
		{ .fd = c->uffd, .events = POLLIN },
		{ .fd = c->stop, .events = POLLIN },
	};
	struct uffd_msg msg;
	struct uffdio_copy copy;

	for (;;) {
		CHECK(poll(fds, 2, -1) > 0 || errno == EINTR, "poll");
		if (fds[1].revents)
			return NULL;
		if (!(fds[0].revents & POLLIN))
			continue;
		if (read(c->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			CHECK(errno == EAGAIN, "read userfaultfd");
			continue;
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		copy = (struct uffdio_copy){
			.dst = msg.arg.pagefault.address & ~(PAGE - 1),
			.src = (uintptr_t)source,
			.len = PAGE,
		};
		/* EEXIST: another fault on the page was served first. */
		CHECK(!ioctl(c->uffd, UFFDIO_COPY, &copy) || errno == EEXIST,
		      "UFFDIO_COPY");
	}
}

static void vm_teardown(struct vm *v)
{
	int i;

	for (i = 0; i < v->nr; i++) {
		munmap(v->vcpus[i].run, v->run_size);
		close(v->vcpus[i].fd);
		if (v->mode == UFFD) {
			close(v->vcpus[i].uffd);
			close(v->vcpus[i].stop);
		}
	}
	close(v->vm);
	if (v->gmem >= 0) {
		munmap(v->data, SIZE);
		close(v->gmem);
	} else {
		munmap(v->area, SIZE + 2 * MIB);
	}
	free(v->bitmap);
	munmap(v->code, CODE_SIZE);
}

/* One demand-paged run of @nr vCPUs in @mode: ns per page. */
static double postcopy_once(enum mode mode, int nr)
{
	void *args[MAX_VCPUS][2];
	uint64_t t0, t1, one = 1;
	struct vm v;
	int i;

	vm_setup(&v, mode, nr);
	t0 = now_ns();
	for (i = 0; i < nr; i++) {
		if (mode == UFFD)
			CHECK(!pthread_create(&v.vcpus[i].handler, NULL,
					      uffd_thread, &v.vcpus[i]),
			      "pthread_create");
		args[i][0] = &v;
		args[i][1] = &v.vcpus[i];
		CHECK(!pthread_create(&v.vcpus[i].thread, NULL, vcpu_thread,
				      args[i]), "pthread_create");
	}
	for (i = 0; i < nr; i++)
		pthread_join(v.vcpus[i].thread, NULL);
	t1 = now_ns();
	for (i = 0; i < nr && mode == UFFD; i++) {
		CHECK(write(v.vcpus[i].stop, &one, sizeof(one)) == sizeof(one),
		      "eventfd write");
		pthread_join(v.vcpus[i].handler, NULL);
	}
	/* Every page was fetched, once, and holds the source's data. */
	for (i = 0; i < (int)PAGES; i += 4099)
		CHECK(v.data[(uint64_t)i * PAGE] == 1 &&
		      v.data[(uint64_t)i * PAGE + 1] == source[1],
		      "page %d was not fetched", i);
	vm_teardown(&v);
	return (double)(t1 - t0) / PAGES;
}

#define DEMO_SIZE	(64 * MIB)
#define DEMO_PAGES	(DEMO_SIZE / PAGE)
#define DEMO_VCPUS	4
#define SOURCE		"/tmp/postcopy-source"

/* The destination VM of the demo, and who fetched what. */
static struct {
	struct vm v;
	int source;
	uint64_t claimed[DEMO_PAGES / 64];	/* a fetch is under way or done */
	uint64_t fetched[DEMO_VCPUS], exits[DEMO_VCPUS], pushed;
	int stop;
} demo;

static int bit_test(uint64_t *map, uint64_t i)
{
	return !!(__atomic_load_n(&map[i / 64], __ATOMIC_ACQUIRE) &
		  (1ull << (i % 64)));
}

/*
 * Fetch page @i into the destination unless someone else does: convert
 * it to shared, read it from the source through the file's mapping,
 * convert it back to private (EAGAIN while the page is still referenced
 * from a per-CPU LRU batch: try again), then clear its userfault bit.
 * Returns 1 if this thread fetched it; otherwise waits for the bit.
 */
static int demo_fetch(uint64_t i)
{
	uint64_t mask = 1ull << (i % 64);
	int r;

	if (__atomic_fetch_or(&demo.claimed[i / 64], mask, __ATOMIC_ACQ_REL) &
	    mask) {
		while (bit_test(demo.v.bitmap, i))
			sched_yield();
		return 0;
	}
	inplace_convert(demo.v.gmem, i * PAGE, PAGE, 0);
	CHECK(pread(demo.source, demo.v.data + i * PAGE, PAGE, i * PAGE) ==
	      (ssize_t)PAGE, "read page %lu of the source", (unsigned long)i);
	while ((r = try_inplace_convert(demo.v.gmem, i * PAGE, PAGE, 1)) ==
	       EAGAIN)
		sched_yield();
	errno = r;
	CHECK(!r, "convert page %lu back to private", (unsigned long)i);
	__atomic_fetch_and(&demo.v.bitmap[i / 64], ~mask, __ATOMIC_RELEASE);
	return 1;
}

static void *demo_vcpu(void *arg)
{
	int n = (int)(uintptr_t)arg;
	struct vcpu *c = &demo.v.vcpus[n];
	struct kvm_run *run = c->run;
	struct kvm_regs regs;

	while (ioctl(c->fd, KVM_RUN, 0)) {
		/*
		 * Not PRIVATE when another thread was fetching the page: it
		 * is shared for that moment, and its bit still set.
		 */
		CHECK(errno == EFAULT &&
		      run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		      (run->memory_fault.flags &
		       ~KVM_MEMORY_EXIT_FLAG_PRIVATE) ==
		      KVM_MEMORY_EXIT_FLAG_USERFAULT,
		      "vCPU %d: exit %u, flags 0x%llx", n, run->exit_reason,
		      run->memory_fault.flags);
		demo.exits[n]++;
		demo.fetched[n] += demo_fetch((run->memory_fault.gpa -
					       DATA_GPA) / PAGE);
	}
	CHECK(!ioctl(c->fd, KVM_GET_REGS, &regs), "KVM_GET_REGS");
	errno = EPROTO;
	CHECK(run->exit_reason == KVM_EXIT_HLT && !regs.rcx,
	      "vCPU %d: page at 0x%llx does not hold the source's data", n,
	      regs.rsi);
	return NULL;
}

/* Post-copy's background transfer: from the end, what nobody fetched. */
static void *demo_push(void *arg)
{
	uint64_t i;

	(void)arg;
	for (i = DEMO_PAGES; i-- && !__atomic_load_n(&demo.stop,
						     __ATOMIC_RELAXED);)
		if (!bit_test(demo.claimed, i))
			demo.pushed += demo_fetch(i);
	return NULL;
}

static int run_demo(void)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = 1,
		.flags = KVM_MEM_GUEST_MEMFD | KVM_MEM_USERFAULT,
		.guest_phys_addr = DATA_GPA,
		.memory_size = DEMO_SIZE,
	};
	pthread_t threads[DEMO_VCPUS], pusher;
	uint64_t i, total = 0, left = 0, t0;
	uint32_t page[PAGE / 4];
	struct vm *v = &demo.v;
	int kvm = kvm_open(), n;

	bench_start("gmem_postcopy", 600);
	CHECK(!access(PARAM, W_OK), "%s", PARAM);
	v->run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	close(kvm);

	/* The source: each page starts with its gpa, then a pattern. */
	demo.source = open(SOURCE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(demo.source >= 0, "create %s", SOURCE);
	for (i = 0; i < DEMO_PAGES; i++) {
		memset(page, 0x5a, sizeof(page));
		page[0] = DATA_GPA + i * PAGE;
		CHECK(write(demo.source, page, PAGE) == (ssize_t)PAGE,
		      "write %s", SOURCE);
	}

	/* The destination: private, in one guest_memfd, nothing there. */
	v->nr = DEMO_VCPUS;
	v->vm = vm_with_mode(1);
	v->code = map_anon(CODE_SIZE);
	memcpy(v->code, check_code, sizeof(check_code));
	set_slot(v->vm, 0, CODE_GPA, CODE_SIZE, v->code, -1, 0);
	v->gmem = gmem_flags(v->vm, DEMO_SIZE, GUEST_MEMFD_FLAG_MMAP |
			     (12ull << GUEST_MEMFD_FLAG_FOLIO_SIZE_SHIFT));
	v->data = mmap(NULL, DEMO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->gmem, 0);
	CHECK(v->data != MAP_FAILED, "mmap guest_memfd");
	v->bitmap = malloc(DEMO_PAGES / 8);
	CHECK(v->bitmap, "malloc");
	memset(v->bitmap, 0xff, DEMO_PAGES / 8);
	r.userspace_addr = (uintptr_t)v->data;
	r.guest_memfd = v->gmem;
	r.userfault_bitmap = (uintptr_t)v->bitmap;
	CHECK(!ioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &r),
	      "KVM_SET_USER_MEMORY_REGION2 with KVM_MEM_USERFAULT");
	for (n = 0; n < DEMO_VCPUS; n++)
		vcpu_setup(v, n, DEMO_PAGES);
	printf("gmem_postcopy: destination: a KVM_X86_SW_PROTECTED_VM with %d vCPUs and %lu MiB of private memory in one guest_memfd, every page absent (KVM_MEM_USERFAULT, %lu bits set)\n",
	       DEMO_VCPUS, DEMO_SIZE / MIB, DEMO_PAGES);
	printf("gmem_postcopy: source: %s, %lu MiB; each vCPU checks every page of its quarter\n",
	       SOURCE, DEMO_SIZE / MIB);

	t0 = now_ns();
	for (n = 0; n < DEMO_VCPUS; n++)
		CHECK(!pthread_create(&threads[n], NULL, demo_vcpu,
				      (void *)(uintptr_t)n), "pthread_create");
	CHECK(!pthread_create(&pusher, NULL, demo_push, NULL),
	      "pthread_create");
	for (n = 0; n < DEMO_VCPUS; n++)
		pthread_join(threads[n], NULL);
	__atomic_store_n(&demo.stop, 1, __ATOMIC_RELAXED);
	pthread_join(pusher, NULL);

	for (n = 0; n < DEMO_VCPUS; n++) {
		printf("gmem_postcopy: vCPU %d: %lu userfault exits, %lu pages fetched by its thread\n",
		       n, (unsigned long)demo.exits[n],
		       (unsigned long)demo.fetched[n]);
		total += demo.fetched[n];
	}
	printf("gmem_postcopy: background transfer: %lu pages\n",
	       (unsigned long)demo.pushed);
	total += demo.pushed;
	for (i = 0; i < DEMO_PAGES; i++)
		left += bit_test(v->bitmap, i);
	errno = EPROTO;
	CHECK(total == DEMO_PAGES && !left,
	      "%lu pages fetched, %lu bits left set", (unsigned long)total,
	      (unsigned long)left);
	printf("gmem_postcopy: all %lu pages fetched, each once; every vCPU found the source's data in every page of its quarter (%.1f s)\n",
	       (unsigned long)total, (now_ns() - t0) / 1e9);
	unlink(SOURCE);
	return 0;
}

int main(int argc, char *argv[])
{
	static const int nrs[] = { 1, 2, 4 };
	double kvm[3][REPS], uffd[3][REPS], gmem[REPS];
	char name[64];
	int i, n, kvm_fd;

	if (argc > 1 && !strcmp(argv[1], "demo"))
		return run_demo();
	kvm_fd = kvm_open();
	bench_start("gmem_postcopy", 900);
	errno = EOPNOTSUPP;
	CHECK(ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USERFAULT) > 0,
	      "KVM_CAP_USERFAULT");
	close(kvm_fd);
	memset(source, 0x5a, sizeof(source));

	/* Warm-up: one untimed run of each mode. */
	postcopy_once(KVM_USERFAULT, 1);
	postcopy_once(UFFD, 1);
	postcopy_once(KVM_USERFAULT_GMEM, 1);
	for (i = 0; i < REPS; i++) {
		for (n = 0; n < 3; n++) {
			kvm[n][i] = postcopy_once(KVM_USERFAULT, nrs[n]);
			uffd[n][i] = postcopy_once(UFFD, nrs[n]);
		}
		gmem[i] = postcopy_once(KVM_USERFAULT_GMEM, 1);
	}

	for (n = 0; n < 3; n++) {
		snprintf(name, sizeof(name), "postcopy_%d", nrs[n]);
		bench_print(name, median(kvm[n], REPS), "ns/page");
		snprintf(name, sizeof(name), "postcopy_%d.baseline", nrs[n]);
		bench_print(name, median(uffd[n], REPS), "ns/page");
	}
	bench_print("postcopy_gmem", median(gmem, REPS), "ns/page");
	bench_print("postcopy_gmem.baseline", median(kvm[0], REPS), "ns/page");
	return 0;
}
