// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_stall: the worst case of the attribute store. 10^6 private 4 KiB
 * ranges, each followed by a shared 4 KiB gap (8 GiB of address space),
 * are turned shared by one KVM_SET_MEMORY_ATTRIBUTES call while a vCPU
 * keeps taking private page faults elsewhere in the VM:
 *
 *   stall_convert_call   time of that one call, ms; baseline: the same
 *                        call over the same 8 GiB held as one range
 *   stall_vcpu_max       the longest gap between two consecutive exits of
 *                        the faulting vCPU while the call runs, us;
 *                        baseline: the longest gap over a window of the
 *                        same length with no call running
 *   stall_fragment       cost per call of building the 10^6 ranges (one
 *                        4 KiB call each), ns; baseline: the same calls
 *                        when they change nothing
 *
 * The guest is 32-bit protected mode code without paging: it writes one
 * byte per 4 KiB page of a private region (a first-touch fault per page)
 * and exits with an OUT after each page. The bench kernel runs on one
 * CPU, so the vCPU thread only runs where the converting thread lets the
 * scheduler in: the gap is how long the call keeps the CPU, or a lock the
 * fault needs, without a break.
 */
#include "bench.h"

#include <pthread.h>

#define CODE_GPA	0x0ul
#define CODE_SIZE	(64 * KIB)
#define TOUCH_GPA	(1 * GIB)
#define TOUCH_SIZE	(128 * MIB)
#define TOUCH_PAGES	(TOUCH_SIZE / PAGE)
#define FRAG_GPA	(16 * GIB)
#define NR_RANGES	1000000ul
#define FRAG_SIZE	(2 * NR_RANGES * PAGE)
#define PORT		0x80

/*
 * 0: movb $1, (%esi); add $0x1000, %esi; out %al, $0x80; dec %ecx;
 *    jnz 0; hlt
 */
static const uint8_t guest_code[] = {
	0xc6, 0x06, 0x01,			/* 0: movb $1, (%esi)      */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* 3: add $0x1000, %esi    */
	0xe6, PORT,				/* 9: out %al, $0x80       */
	0x49,					/* 11: dec %ecx            */
	0x75, 0xf2,				/* 12: jnz 0               */
	0xf4,					/* 14: hlt                 */
};

static int vm, vcpu, touch_gmem;
static struct kvm_run *run;

/* The vCPU thread's view of the window being measured. */
static volatile int stop, measuring;
static volatile uint64_t max_gap;

static void vcpu_reset(void)
{
	struct kvm_regs regs = { 0 };

	regs.rip = CODE_GPA;
	regs.rflags = 0x2;
	regs.rsi = TOUCH_GPA;
	regs.rcx = TOUCH_PAGES;
	CHECK(!ioctl(vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

static void vm_setup(void)
{
	size_t run_size;
	void *code;
	int kvm = kvm_open(), frag_gmem;

	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK((long)run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	close(kvm);

	vm = vm_create(KVM_X86_SW_PROTECTED_VM);
	code = map_anon(CODE_SIZE);
	memcpy(code, guest_code, sizeof(guest_code));
	set_slot(vm, 0, CODE_GPA, CODE_SIZE, code, -1, 0);

	touch_gmem = gmem_create(vm, TOUCH_SIZE);
	set_slot(vm, 1, TOUCH_GPA, TOUCH_SIZE, map_anon(TOUCH_SIZE),
		 touch_gmem, 0);
	set_private(vm, TOUCH_GPA, TOUCH_SIZE, 1);

	/* Bound but never populated: only its attributes matter. */
	frag_gmem = gmem_create(vm, FRAG_SIZE);
	set_slot(vm, 2, FRAG_GPA, FRAG_SIZE, map_anon(FRAG_SIZE), frag_gmem,
		 0);

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0, "KVM_CREATE_VCPU");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu,
		   0);
	CHECK(run != MAP_FAILED, "mmap kvm_run");

	vcpu_flat_pmode(vcpu);
	vcpu_reset();
}

/*
 * Fault through the private region, over and over (punching it out
 * between passes), and record the longest gap between two exits of one
 * pass while @measuring.
 */
static void *vcpu_thread(void *arg)
{
	uint64_t last = 0, t;

	(void)arg;
	while (!stop) {
		CHECK(!ioctl(vcpu, KVM_RUN, 0), "KVM_RUN");
		t = now_ns();
		if (run->exit_reason == KVM_EXIT_IO) {
			if (measuring && last && t - last > max_gap)
				max_gap = t - last;
			last = t;
			continue;
		}
		errno = EPROTO;
		CHECK(run->exit_reason == KVM_EXIT_HLT, "guest exit %u",
		      run->exit_reason);
		CHECK(!fallocate(touch_gmem, FALLOC_FL_KEEP_SIZE |
				 FALLOC_FL_PUNCH_HOLE, 0, TOUCH_SIZE),
		      "punch the touched region");
		vcpu_reset();
		last = 0;	/* the punch is not a stall of the vCPU */
	}
	return NULL;
}

/* Build the 10^6 private ranges; ns per call. */
static double fragment(void)
{
	uint64_t i, t0 = now_ns();

	for (i = 0; i < NR_RANGES; i++)
		set_private(vm, FRAG_GPA + 2 * i * PAGE, PAGE, 1);
	return (double)(now_ns() - t0) / NR_RANGES;
}

int main(void)
{
	double frag, frag_noop, call, call_one;
	uint64_t gap_call, gap_idle, t0, t1;
	struct timespec ts;
	pthread_t thread;
	int i;

	bench_start("gmem_stall", 900);
	vm_setup();

	frag = fragment();
	frag_noop = fragment();

	CHECK(!pthread_create(&thread, NULL, vcpu_thread, NULL),
	      "pthread_create");
	for (i = 0; i < 50; i++)
		sched_yield();

	/* The call under test: every range at once, to shared. */
	max_gap = 0;
	measuring = 1;
	t0 = now_ns();
	set_private(vm, FRAG_GPA, FRAG_SIZE, 0);
	t1 = now_ns();
	measuring = 0;
	gap_call = max_gap;
	call = (double)(t1 - t0) / 1e6;

	/* The vCPU alone, for as long as the call took. */
	max_gap = 0;
	measuring = 1;
	ts.tv_sec = (t1 - t0) / 1000000000ul;
	ts.tv_nsec = (t1 - t0) % 1000000000ul;
	nanosleep(&ts, NULL);
	measuring = 0;
	gap_idle = max_gap;

	/* The same 8 GiB as one private range, to shared. */
	set_private(vm, FRAG_GPA, FRAG_SIZE, 1);
	t0 = now_ns();
	set_private(vm, FRAG_GPA, FRAG_SIZE, 0);
	call_one = (double)(now_ns() - t0) / 1e6;

	stop = 1;
	pthread_join(thread, NULL);

	bench_print("stall_convert_call", call, "ms");
	bench_print("stall_convert_call.baseline", call_one, "ms");
	bench_print("stall_vcpu_max", gap_call / 1e3, "us");
	bench_print("stall_vcpu_max.baseline", gap_idle / 1e3, "us");
	bench_print("stall_fragment", frag, "ns/call");
	bench_print("stall_fragment.baseline", frag_noop, "ns/call");
	return 0;
}
