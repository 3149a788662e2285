// SPDX-License-Identifier: GPL-2.0
/*
 * gmem_touch: a guest writes one byte per 4 KiB page over 256 MiB, each
 * write the first touch of its page, and the VM is then torn down.
 *
 *   touch        KVM_RUN time of that loop over private memory
 *                (guest_memfd), ns per page: one nested page fault, one
 *                folio allocated and zeroed, one stage-2 mapping
 *   teardown     closing vCPU, VM and guest_memfd with the 256 MiB mapped
 *                and populated, ms
 *
 * Baseline of both: the same over shared memory of the same VM type,
 * backed by anonymous memory with MADV_NOHUGEPAGE (4 KiB pages, as the
 * guest_memfd folios of this series are); its teardown includes the
 * munmap. x86_64 only: the guest is 32-bit protected mode code without
 * paging, so it needs no page tables and no selftest library.
 */
#include "bench.h"

#define CODE_GPA	0x0ul
#define CODE_SIZE	(64 * KIB)
#define DATA_GPA	(1 * GIB)
#define SIZE		(256 * MIB)
#define PAGES		(SIZE / PAGE)

/*
 * for (ecx = PAGES, esi = DATA_GPA; ecx; ecx--, esi += 4096) *(u8 *)esi = 1;
 * hlt
 */
static const uint8_t guest_code[] = {
	0xc6, 0x06, 0x01,			/* 0: movb $1, (%esi)      */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* 3: add $0x1000, %esi    */
	0x49,					/* 9: dec %ecx             */
	0x75, 0xf4,				/* 10: jnz 0               */
	0xf4,					/* 12: hlt                 */
};

struct vm {
	int vm, vcpu, gmem;
	struct kvm_run *run;
	size_t run_size;
	void *code, *data;
};

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
}

static void vm_setup(struct vm *v, int private)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	int kvm = kvm_open();

	v->run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK((long)v->run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	close(kvm);

	v->vm = vm_create(KVM_X86_SW_PROTECTED_VM);
	v->code = map_anon(CODE_SIZE);
	memcpy(v->code, guest_code, sizeof(guest_code));
	set_slot(v->vm, 0, CODE_GPA, CODE_SIZE, v->code, -1, 0);

	v->data = map_anon(SIZE);
	CHECK(!madvise(v->data, SIZE, MADV_NOHUGEPAGE), "MADV_NOHUGEPAGE");
	v->gmem = -1;
	if (private) {
		v->gmem = gmem_create(v->vm, SIZE);
		set_slot(v->vm, 1, DATA_GPA, SIZE, v->data, v->gmem, 0);
		set_private(v->vm, DATA_GPA, SIZE, 1);
	} else {
		set_slot(v->vm, 1, DATA_GPA, SIZE, v->data, -1, 0);
	}

	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	CHECK(v->vcpu >= 0, "KVM_CREATE_VCPU");
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	CHECK(v->run != MAP_FAILED, "mmap kvm_run");

	CHECK(!ioctl(v->vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
	flat_seg(&sregs.cs, 0x8, 0xb);
	flat_seg(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1;		/* protected mode, no paging */
	CHECK(!ioctl(v->vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
	regs.rip = CODE_GPA;
	regs.rflags = 0x2;
	regs.rsi = DATA_GPA;
	regs.rcx = PAGES;
	CHECK(!ioctl(v->vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

/* Run the loop; ns per page. */
static double vm_touch(struct vm *v)
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
	CHECK(regs.rcx == 0 && regs.rsi == DATA_GPA + SIZE,
	      "guest stopped at rcx %llu", regs.rcx);
	return (double)(t1 - t0) / PAGES;
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
	munmap(v->data, SIZE);
	munmap(v->code, CODE_SIZE);
	return (double)(now_ns() - t0) / 1e6;
}

int main(void)
{
	double touch[2][REPS], down[2][REPS];
	long free_before, free_after;
	struct vm v;
	int i, private;

	bench_start("gmem_touch", 600);
	/* Warm-up: one untimed round of each kind. */
	for (private = 0; private < 2; private++) {
		vm_setup(&v, private);
		vm_touch(&v);
		vm_teardown(&v);
	}
	free_before = meminfo_kb("MemFree");
	for (i = 0; i < REPS; i++)
		for (private = 0; private < 2; private++) {
			vm_setup(&v, private);
			touch[private][i] = vm_touch(&v);
			down[private][i] = vm_teardown(&v);
		}
	free_after = meminfo_kb("MemFree");
	/* 2 x REPS x 256 MiB went through; all of it must be back. */
	errno = ENOMEM;
	CHECK(free_before - free_after < (long)(SIZE / KIB / 4),
	      "%ld kB not freed after teardown", free_before - free_after);

	bench_print("touch", median(touch[1], REPS), "ns/page");
	bench_print("touch.baseline", median(touch[0], REPS), "ns/page");
	bench_print("teardown", median(down[1], REPS), "ms");
	bench_print("teardown.baseline", median(down[0], REPS), "ms");
	return 0;
}
