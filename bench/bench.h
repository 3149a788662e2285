/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench.h: the little the guest_memfd benchmarks share. Only the uAPI
 * (<linux/kvm.h> of the patched kernel) and libc: the same binaries run on
 * any kernel with guest_memfd.
 *
 * Output, one line per figure:   BENCH <name> <value> <unit>
 * A baseline of figure X is named X.baseline; bench/report.py pairs them.
 * Any unexpected result prints  BENCHERR <program>: <what>: <errno text>
 * and exits 1, so no bogus figure is ever printed.
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KIB		1024ul
#define MIB		(1024ul * KIB)
#define GIB		(1024ul * MIB)
#define PAGE		4096ul
#define REPS		5	/* each figure is the median of REPS runs */

#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM	1
#endif

static const char *bench_prog = "bench";

static inline void __attribute__((noreturn, format(printf, 1, 2)))
bench_fail(const char *fmt, ...)
{
	int err = errno;
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	printf("BENCHERR %s: %s: %s\n", bench_prog, what, strerror(err));
	fflush(stdout);
	exit(1);
}

/* Fail unless @cond holds; errno is reported as it is. */
#define CHECK(cond, ...) do { if (!(cond)) bench_fail(__VA_ARGS__); } while (0)

static inline void bench_timeout(int sig)
{
	(void)sig;
	errno = ETIME;
	bench_fail("did not finish in time");
}

/* Bound the program's run time; the sizes it uses bound its memory. */
static inline void bench_start(const char *prog, unsigned int max_secs)
{
	bench_prog = prog;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, bench_timeout);
	alarm(max_secs);
}

static inline void bench_print(const char *name, double value, const char *unit)
{
	printf("BENCH %s %.1f %s\n", name, value, unit);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0, "open /dev/kvm");
	return fd;
}

/* A VM of @type; the /dev/kvm fd is closed again. */
static inline int vm_create(unsigned long type)
{
	int kvm = kvm_open();
	int vm = ioctl(kvm, KVM_CREATE_VM, type);

	CHECK(vm >= 0, "KVM_CREATE_VM type %lu", type);
	close(kvm);
	return vm;
}

#ifndef KVM_CAP_GUEST_MEMFD_FOLIO_SIZES
#define KVM_CAP_GUEST_MEMFD_FOLIO_SIZES	251
#define GUEST_MEMFD_FLAG_FOLIO_SIZE_SHIFT	58
#endif

/*
 * A guest_memfd of folios of 2^@shift bytes (12: 4 KiB, 21: 2 MiB). A
 * kernel without the choice (no KVM_CAP_GUEST_MEMFD_FOLIO_SIZES) has 4 KiB
 * folios only.
 */
static inline int gmem_create_folios(int vm, uint64_t size, unsigned int shift)
{
	struct kvm_create_guest_memfd args = { .size = size };
	int sizes = ioctl(vm, KVM_CHECK_EXTENSION,
			  KVM_CAP_GUEST_MEMFD_FOLIO_SIZES);
	int fd;

	if (sizes > 0)
		args.flags = (uint64_t)shift << GUEST_MEMFD_FLAG_FOLIO_SIZE_SHIFT;
	errno = EOPNOTSUPP;
	CHECK(shift == 12 || (sizes > 0 && (sizes & (1 << shift))),
	      "no guest_memfd folios of 2^%u bytes", shift);
	fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &args);
	CHECK(fd >= 0, "KVM_CREATE_GUEST_MEMFD of %lu bytes, folios 2^%u",
	      (unsigned long)size, shift);
	return fd;
}

/* 4 KiB folios, whatever the default: the figures stay comparable. */
static inline int gmem_create(int vm, uint64_t size)
{
	return gmem_create_folios(vm, size, 12);
}

/* A memslot; with @gmem >= 0 it is bound to that guest_memfd at @off. */
static inline void set_slot(int vm, uint32_t slot, uint64_t gpa, uint64_t size,
		     void *hva, int gmem, uint64_t off)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot,
		.flags = gmem >= 0 ? KVM_MEM_GUEST_MEMFD : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
		.guest_memfd = gmem >= 0 ? gmem : 0,
		.guest_memfd_offset = off,
	};

	CHECK(!ioctl(vm, KVM_SET_USER_MEMORY_REGION2, &r),
	      "KVM_SET_USER_MEMORY_REGION2 slot %u size %lu", slot,
	      (unsigned long)size);
}

static inline void set_private(int vm, uint64_t gpa, uint64_t size, int private)
{
	struct kvm_memory_attributes a = {
		.address = gpa,
		.size = size,
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	CHECK(!ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a),
	      "KVM_SET_MEMORY_ATTRIBUTES 0x%lx+0x%lx", (unsigned long)gpa,
	      (unsigned long)size);
}

static inline void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	CHECK(p != MAP_FAILED, "mmap %zu bytes", size);
	return p;
}

/*
 * A field of /proc/meminfo, in kB, with the per-CPU counter deltas folded
 * in first (each CPU may otherwise hold back up to ~125 pages of change).
 */
static inline long meminfo_kb(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long kb = -1;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	FILE *f;

	if (fd >= 0) {
		/* Without it the figure is only coarser. */
		if (write(fd, "1", 1) < 0)
			errno = 0;
		close(fd);
	}
	f = fopen("/proc/meminfo", "r");

	CHECK(f, "open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	errno = ENOENT;
	CHECK(kb >= 0, "/proc/meminfo has no %s", field);
	return kb;
}

/* One u64 statistic of a VM or vCPU, by name, from its binary stats fd. */
static inline uint64_t kvm_stat(int fd, const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	uint64_t val;
	uint32_t i;
	char *descs;
	int sfd = ioctl(fd, KVM_GET_STATS_FD, NULL);

	CHECK(sfd >= 0, "KVM_GET_STATS_FD");
	CHECK(pread(sfd, &h, sizeof(h), 0) == sizeof(h), "read stats header");
	dsize = sizeof(*d) + h.name_size;
	descs = malloc(dsize * h.num_desc);
	CHECK(descs, "malloc");
	CHECK(pread(sfd, descs, dsize * h.num_desc, h.desc_offset) ==
	      (ssize_t)(dsize * h.num_desc), "read stats descriptors");
	for (i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		CHECK(pread(sfd, &val, sizeof(val), h.data_offset + d->offset) ==
		      sizeof(val), "read stat %s", name);
		free(descs);
		close(sfd);
		return val;
	}
	errno = ENOENT;
	bench_fail("no statistic %s", name);
}

/* A flat 4 GiB code or data segment for 32-bit protected mode. */
static inline void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .db = 1, .s = 1, .g = 1,
	};
}

/*
 * Put @vcpu in 32-bit protected mode without paging, with flat segments:
 * the benchmarks' guests are a few bytes of such code, with no page
 * tables to build.
 */
static inline void vcpu_flat_pmode(int vcpu)
{
	struct kvm_sregs sregs;

	CHECK(!ioctl(vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
	flat_seg(&sregs.cs, 0x8, 0xb);
	flat_seg(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1;
	CHECK(!ioctl(vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
}

/*
 * for (; ecx; ecx--, esi += 4096) *(u8 *)esi = 1; hlt
 * The first touch of one page per iteration.
 */
static const uint8_t touch_code[] = {
	0xc6, 0x06, 0x01,			/* 0: movb $1, (%esi)      */
	0x81, 0xc6, 0x00, 0x10, 0x00, 0x00,	/* 3: add $0x1000, %esi    */
	0x49,					/* 9: dec %ecx             */
	0x75, 0xf4,				/* 10: jnz 0               */
	0xf4,					/* 12: hlt                 */
};

#ifdef KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES
/*
 * In-place conversion (KVM_SET_MEMORY_ATTRIBUTES2), and the parameter
 * that chooses it for the VMs created next, restored at exit.
 */
#define PARAM	"/sys/module/kvm/parameters/gmem_in_place_conversion"

static char param_saved;

static inline void param_write(char c)
{
	int fd = open(PARAM, O_WRONLY);

	CHECK(fd >= 0 && write(fd, &c, 1) == 1, "write %s", PARAM);
	close(fd);
}

/* An atexit() handler: it reports a failure, as it cannot exit again. */
static inline void param_restore(void)
{
	int fd;

	if (!param_saved)
		return;
	fd = open(PARAM, O_WRONLY);
	if (fd < 0 || write(fd, &param_saved, 1) != 1)
		perror("restoring " PARAM);
	if (fd >= 0)
		close(fd);
}

/* A SW-protected VM that converts in place (@in_place) or not. */
static inline int vm_with_mode(int in_place)
{
	int fd = open(PARAM, O_RDONLY);
	char cur;

	CHECK(fd >= 0 && read(fd, &cur, 1) == 1, "read %s", PARAM);
	close(fd);
	if (!param_saved) {
		param_saved = cur;
		atexit(param_restore);
	}
	param_write(in_place ? 'Y' : 'N');
	return vm_create(KVM_X86_SW_PROTECTED_VM);
}

static inline int gmem_flags(int vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd args = { .size = size, .flags = flags };
	int fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &args);

	CHECK(fd >= 0, "KVM_CREATE_GUEST_MEMFD flags 0x%lx",
	      (unsigned long)flags);
	return fd;
}

/* Convert a range of a guest_memfd in place: 0 or an errno. */
static inline int try_inplace_convert(int gmem, uint64_t off, uint64_t size,
				      int private)
{
	struct kvm_memory_attributes2 a = {
		.offset = off,
		.size = size,
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return ioctl(gmem, KVM_SET_MEMORY_ATTRIBUTES2, &a) ? errno : 0;
}

static inline void inplace_convert(int gmem, uint64_t off, uint64_t size,
				   int private)
{
	errno = try_inplace_convert(gmem, off, size, private);
	CHECK(!errno, "KVM_SET_MEMORY_ATTRIBUTES2 0x%lx+0x%lx",
	      (unsigned long)off, (unsigned long)size);
}

#endif

#endif
