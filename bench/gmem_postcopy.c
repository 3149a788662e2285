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
 * x86_64 only: the guest is 32-bit protected mode code without paging.
 */
#include <poll.h>
#include <pthread.h>
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

/* for (; ecx; ecx--, esi += 4096) *(u8 *)esi = 1; hlt */
static const uint8_t touch_code[] = {
	0xc6, 0x06, 0x01,			/* 0: movb $1, (%esi)      */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* 3: add $0x1000, %esi    */
	0x49,					/* 9: dec %ecx             */
	0x75, 0xf4,				/* 10: jnz 0               */
	0xf4,					/* 12: hlt                 */
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

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
}

static void vcpu_setup(struct vm *v, int i)
{
	struct vcpu *c = &v->vcpus[i];
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs;

	c->fd = ioctl(v->vm, KVM_CREATE_VCPU, i);
	CHECK(c->fd >= 0, "KVM_CREATE_VCPU %d", i);
	c->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->fd, 0);
	CHECK(c->run != MAP_FAILED, "mmap kvm_run");
	CHECK(!ioctl(c->fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
	flat_seg(&sregs.cs, 0x8, 0xb);
	flat_seg(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1;		/* protected mode, no paging */
	CHECK(!ioctl(c->fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");

	c->pages = PAGES / v->nr;
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
		vcpu_setup(v, i);
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

int main(void)
{
	static const int nrs[] = { 1, 2, 4 };
	double kvm[3][REPS], uffd[3][REPS], gmem[REPS];
	char name[64];
	int i, n, kvm_fd = kvm_open();

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
