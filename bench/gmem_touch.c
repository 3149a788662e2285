// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_touch: a guest writes one byte per 4 KiB page over 256 MiB, each
 * write the first touch of its page, and the VM is then torn down.
 *
 *   touch        KVM_RUN time of that loop over private memory
 *                (guest_memfd, 4 KiB folios), ns per page: one nested
 *                page fault, one folio allocated and zeroed, one stage-2
 *                mapping
 *   teardown     closing vCPU, VM and guest_memfd with the 256 MiB mapped
 *                and populated, ms
 *
 * Baseline of both: the same over shared memory of the same VM type,
 * backed by anonymous memory with MADV_NOHUGEPAGE (4 KiB pages).
 *
 *   touch_2m, teardown_2m   the same with 2 MiB folios, against the
 *                4 KiB folios of the same run: a fault per 2 MiB, which
 *                allocates and zeroes the folio and maps it whole
 *   random_2m    a guest that reads 1 GiB of private memory, populated
 *                beforehand, at 262144 random 4 KiB-aligned offsets: KVM_RUN
 *                time per read, with 2 MiB folios and mappings against 4
 *                KiB ones. Under -icount the figure counts instructions:
 *                KVM's faults and the guest's loop, not the TLB reach of
 *                the mappings, which the emulator does not model.
 *   prefault     KVM_PRE_FAULT_MEMORY of the 256 MiB private (4 KiB
 *                folios) before the guest runs, then the guest's touch
 *                loop, which faults no more: ns per page for both
 *                together, against the first touch of the same run
 *   prefault_2m  the same with 2 MiB folios, against touch_2m
 *   prefault_call  the ioctl alone, 4 KiB folios, ns per page (baseline:
 *                the touch loop after it, which only runs the guest)
 *
 * x86_64 only: the guest is 32-bit protected mode code without paging,
 * so it needs no page tables and no selftest library.
 */
#include "bench.h"

#define CODE_GPA	0x0ul
#define CODE_SIZE	(64 * KIB)
#define DATA_GPA	(1 * GIB)
#define SIZE		(256 * MIB)
#define PAGES		(SIZE / PAGE)
#define RANDOM_SIZE	(1 * GIB)
#define RANDOM_READS	(RANDOM_SIZE / PAGE)

/*
 * for (ecx = RANDOM_READS; ecx; ecx--) {
 *	eax = eax * 1664525 + 1013904223;
 *	bl = *(u8 *)(esi + (eax & 0x3ffff000));
 * }
 * hlt
 */
static const uint8_t random_code[] = {
	0x69, 0xc0, 0x0d, 0x66, 0x19, 0x00,	/* 0: imul $1664525, %eax  */
	0x05, 0x5f, 0xf3, 0x6e, 0x3c,		/* 6: add $1013904223, %eax */
	0x89, 0xc2,				/* 11: mov %eax, %edx      */
	0x81, 0xe2, 0x00, 0xf0, 0xff, 0x3f,	/* 13: and $0x3ffff000, %edx */
	0x8a, 0x1c, 0x16,			/* 19: mov (%esi,%edx), %bl */
	0x49,					/* 22: dec %ecx            */
	0x75, 0xe7,				/* 23: jnz 0               */
	0xf4,					/* 25: hlt                 */
};

/* The memory behind the data: anonymous, or guest_memfd folios of 2^shift. */
enum { SHARED = 0, PRIVATE_4K = 12, PRIVATE_2M = 21 };

struct vm {
	int vm, vcpu, gmem;
	struct kvm_run *run;
	size_t run_size;
	void *code, *area, *data;
	uint64_t size, loops;
};

/*
 * A VM that runs @code over @size bytes of data at DATA_GPA, @loops
 * times, backed as @kind says. The userspace address of the data is 2 MiB
 * aligned, as KVM maps no huge page where it is not congruent with the gpa.
 */
static void vm_setup(struct vm *v, int kind, const uint8_t *code,
		     size_t code_len, uint64_t size, uint64_t loops)
{
	struct kvm_regs regs = { 0 };
	int kvm = kvm_open();

	v->run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK((long)v->run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	close(kvm);

	v->size = size;
	v->loops = loops;
	v->vm = vm_create(KVM_X86_SW_PROTECTED_VM);
	v->code = map_anon(CODE_SIZE);
	memcpy(v->code, code, code_len);
	set_slot(v->vm, 0, CODE_GPA, CODE_SIZE, v->code, -1, 0);

	v->area = map_anon(size + 2 * MIB);
	v->data = (void *)(((uintptr_t)v->area + 2 * MIB - 1) & ~(2 * MIB - 1));
	CHECK(!madvise(v->data, size, MADV_NOHUGEPAGE), "MADV_NOHUGEPAGE");
	v->gmem = -1;
	if (kind != SHARED) {
		v->gmem = gmem_create_folios(v->vm, size, kind);
		set_slot(v->vm, 1, DATA_GPA, size, v->data, v->gmem, 0);
		set_private(v->vm, DATA_GPA, size, 1);
	} else {
		set_slot(v->vm, 1, DATA_GPA, size, v->data, -1, 0);
	}

	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	CHECK(v->vcpu >= 0, "KVM_CREATE_VCPU");
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	CHECK(v->run != MAP_FAILED, "mmap kvm_run");

	vcpu_flat_pmode(v->vcpu);
	regs.rip = CODE_GPA;
	regs.rflags = 0x2;
	regs.rsi = DATA_GPA;
	regs.rcx = loops;
	regs.rax = 1;
	CHECK(!ioctl(v->vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

/* Run the loop; ns per iteration. */
static double vm_run(struct vm *v)
{
	struct kvm_regs regs;
	uint64_t t0, t1;

	t0 = now_ns();
	CHECK(!ioctl(v->vcpu, KVM_RUN, 0), "KVM_RUN");
	t1 = now_ns();
	errno = EPROTO;
	CHECK(v->run->exit_reason == KVM_EXIT_HLT,
	      "guest exit %u, expected HLT", v->run->exit_reason);
	CHECK(!ioctl(v->vcpu, KVM_GET_REGS, &regs), "KVM_GET_REGS");
	errno = EPROTO;
	CHECK(regs.rcx == 0, "guest stopped at rcx %llu", regs.rcx);
	return (double)(t1 - t0) / v->loops;
}

/* Close everything; ms. */
static double vm_teardown(struct vm *v)
{
	uint64_t t0 = now_ns();

	munmap(v->run, v->run_size);
	close(v->vcpu);
	close(v->vm);
	if (v->gmem >= 0)
		close(v->gmem);
	munmap(v->area, v->size + 2 * MIB);
	munmap(v->code, CODE_SIZE);
	return (double)(now_ns() - t0) / 1e6;
}

/* First touch of SIZE with @kind: the touch time, and the teardown's. */
static void touch_once(int kind, double *touch, double *down)
{
	struct vm v;

	vm_setup(&v, kind, touch_code, sizeof(touch_code), SIZE, PAGES);
	*touch = vm_run(&v);
	*down = vm_teardown(&v);
}

/*
 * KVM_PRE_FAULT_MEMORY of SIZE with @kind, then the touch loop: the time
 * of the calls and of the loop, ns per page.
 */
static void prefault_once(int kind, double *call, double *touch)
{
	struct kvm_pre_fault_memory r = { .gpa = DATA_GPA, .size = SIZE };
	uint64_t t0;
	struct vm v;

	vm_setup(&v, kind, touch_code, sizeof(touch_code), SIZE, PAGES);
	t0 = now_ns();
	while (r.size)
		CHECK(!ioctl(v.vcpu, KVM_PRE_FAULT_MEMORY, &r),
		      "KVM_PRE_FAULT_MEMORY at 0x%llx", r.gpa);
	*call = (double)(now_ns() - t0) / PAGES;
	*touch = vm_run(&v);
	vm_teardown(&v);
}

/* Random reads over RANDOM_SIZE of populated private memory of @kind. */
static double random_once(int kind)
{
	struct vm v;
	double t;

	vm_setup(&v, kind, random_code, sizeof(random_code), RANDOM_SIZE,
		 RANDOM_READS);
	CHECK(!fallocate(v.gmem, FALLOC_FL_KEEP_SIZE, 0, RANDOM_SIZE),
	      "populate 1 GiB");
	t = vm_run(&v);
	vm_teardown(&v);
	return t;
}

int main(void)
{
	static const int kinds[] = { SHARED, PRIVATE_4K, PRIVATE_2M };
	double touch[3][REPS], down[3][REPS], rnd[2][REPS], dummy;
	double pf_call[2][REPS], pf_touch[2][REPS], pf_all[2][REPS];
	long free_before, free_after;
	int i, k;

	bench_start("gmem_touch", 900);
	/* Warm-up: one untimed round of each kind. */
	for (k = 0; k < 3; k++)
		touch_once(kinds[k], &dummy, &dummy);
	free_before = meminfo_kb("MemFree");
	for (i = 0; i < REPS; i++)
		for (k = 0; k < 3; k++)
			touch_once(kinds[k], &touch[k][i], &down[k][i]);
	free_after = meminfo_kb("MemFree");
	/* 3 x REPS x 256 MiB went through; all of it must be back. */
	errno = ENOMEM;
	CHECK(free_before - free_after < (long)(SIZE / KIB / 4),
	      "%ld kB not freed after teardown", free_before - free_after);
	for (i = 0; i < REPS; i++) {
		rnd[0][i] = random_once(PRIVATE_4K);
		rnd[1][i] = random_once(PRIVATE_2M);
	}
	for (i = 0; i < REPS; i++)
		for (k = 0; k < 2; k++) {
			prefault_once(kinds[k + 1], &pf_call[k][i],
				      &pf_touch[k][i]);
			pf_all[k][i] = pf_call[k][i] + pf_touch[k][i];
		}

	bench_print("touch", median(touch[1], REPS), "ns/page");
	bench_print("touch.baseline", median(touch[0], REPS), "ns/page");
	bench_print("teardown", median(down[1], REPS), "ms");
	bench_print("teardown.baseline", median(down[0], REPS), "ms");
	bench_print("touch_2m", median(touch[2], REPS), "ns/page");
	bench_print("touch_2m.baseline", median(touch[1], REPS), "ns/page");
	bench_print("teardown_2m", median(down[2], REPS), "ms");
	bench_print("teardown_2m.baseline", median(down[1], REPS), "ms");
	bench_print("random_2m", median(rnd[1], REPS), "ns/read");
	bench_print("random_2m.baseline", median(rnd[0], REPS), "ns/read");
	bench_print("prefault", median(pf_all[0], REPS), "ns/page");
	bench_print("prefault.baseline", median(touch[1], REPS), "ns/page");
	bench_print("prefault_2m", median(pf_all[1], REPS), "ns/page");
	bench_print("prefault_2m.baseline", median(touch[2], REPS), "ns/page");
	bench_print("prefault_call", median(pf_call[0], REPS), "ns/page");
	bench_print("prefault_call.baseline", median(pf_touch[0], REPS),
		    "ns/page");
	return 0;
}
