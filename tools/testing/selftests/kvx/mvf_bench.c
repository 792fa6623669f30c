// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_bench: kvx-mvf benchmarks, as counts and ratios measured in one run.
 *
 *   mailbox:   VM exits per mailbox message of a KVM guest, TRAPPED
 *              (KVM write tracking) vs DIRECT (the PF polls), counted
 *              from the vCPU's binary stats as mvf_kvm_test does;
 *   stop-copy: the bytes of a VF's STOP_COPY stream, for a VF that sent
 *              many messages and for a fresh one (the stream is resulting
 *              state, so the two must be the same size);
 *   dirty sync: host time of the container's dirty bitmap (type1
 *              VFIO_IOMMU_DIRTY_PAGES GET_BITMAP, what QEMU uses for this
 *              device where the kernel has no CONFIG_IOMMUFD_DRIVER) per
 *              GiB of IOVA, against a userspace walk of a bitmap of the
 *              same size in the same run (the ratio is the figure).
 *
 * Output is KTAP: one result line per benchmark with its figures, then a
 * summary line.  Only counts are asserted, never times.  Needs kvx-mvf,
 * vfio_iommu_type1 and debugfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvx_mvf.h>
#include <linux/vfio.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"
#include "mvf_util.h"

/* A wait yields (a ucall) every YIELD_SPINS reads, fails after MAX_YIELDS. */
#define MVF_GUEST_YIELD		0x79
#define MVF_GUEST_YIELD_SPINS	4096
#define MVF_GUEST_MAX_YIELDS	20000
#include "mvf_guest.h"

#define PHASE_MSGS	256

/* Dirty tracking: 4 GiB mapped and tracked at 4 KiB, read REPORTS times. */
#define LOG_IOVA	0x100000000ULL
#define LOG_SIZE	(4ULL << 30)
#define LOG_PAGE	4096ULL
#define LOG_BITS	(LOG_SIZE / LOG_PAGE)
#define REPORTS		32

/* Result lines too long for one source line. */
#define MVF_BENCH_MSG1 \
	"mailbox: %u messages each: TRAPPED %.2f exits/message, DIRECT %.4f exits/message (%lu in all): TRAPPED/DIRECT %s%.0f\n"
#define MVF_BENCH_MSG2 \
	"stop-copy: %zu bytes per VF, after %lu mailbox requests as for a fresh VF (state, not a log)\n"
#define MVF_BENCH_MSG3 \
	"dirty sync: type1 GET_BITMAP %.0f us/GiB, userspace bitmap walk %.1f us/GiB (%llu bits per GiB at 4 KiB): GET_BITMAP/walk %.1f\n"
#define MVF_BENCH_MSG4 \
	"summary: mailbox TRAPPED/DIRECT exits %.0f, stop-copy %zu bytes/VF, dirty sync GET_BITMAP/walk time %.1f\n"

/* Guest side: the VF driver of mvf_guest.h, SET_MAC in a loop. */

static void guest_code(void)
{
	guest_mac_phases(PHASE_MSGS, false);
	GUEST_DONE();
}

/* Host side */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Mailbox exits: a guest's messages TRAPPED, then DIRECT. */

struct counts {
	uint64_t exits, other_exits, requests;
};

/* Exits that are not the guest's own doing: host interrupts and ucalls. */
static void sample(struct kvm_vcpu *vcpu, struct vf *vf, struct counts *c)
{
	c->exits = kvx_vcpu_stat(vcpu, "exits");
	c->other_exits = kvx_vcpu_other_exits(vcpu);
	c->requests = vf_count(vf, "requests");
}

static uint64_t phase_exits(struct kvm_vcpu *vcpu, struct vf *vf,
			    uint64_t stage)
{
	struct counts a, b;
	uint64_t sync;

	sample(vcpu, vf, &a);
	/* Yields are ucalls (not counted): the PF's poller runs meanwhile. */
	while ((sync = kvx_run_sync(vcpu)) == MVF_GUEST_YIELD)
		usleep(1000);
	TEST_ASSERT(sync == stage, "guest at stage %lu, want %lu",
		    (unsigned long)sync, (unsigned long)stage);
	sample(vcpu, vf, &b);
	TEST_ASSERT(b.requests - a.requests == PHASE_MSGS,
		    "%lu requests for %u messages",
		    (unsigned long)(b.requests - a.requests), PHASE_MSGS);
	return (b.exits - a.exits) - (b.other_exits - a.other_exits);
}

static double bench_mailbox(struct kvm_vcpu *vcpu, struct vf *vf)
{
	uint64_t trapped, direct, sync;
	double ratio;

	TEST_ASSERT(vf_count(vf, "write_tracked") == 1, "not tracked");
	while ((sync = kvx_run_sync(vcpu)) == MVF_GUEST_YIELD)
		usleep(1000);
	TEST_ASSERT(sync == SYNC_RESET_DONE, "guest RESET");
	trapped = phase_exits(vcpu, vf, SYNC_TRAPPED_DONE);
	vf_set_mode(vf, "direct");
	direct = phase_exits(vcpu, vf, SYNC_DIRECT_DONE);
	TEST_ASSERT(kvx_run_sync(vcpu) == KVX_GUEST_DONE, "guest not done");

	/* Every store traps when TRAPPED; DIRECT's few are page faults. */
	TEST_ASSERT(trapped >= PHASE_MSGS * WRITES_PER_MSG,
		    "TRAPPED: %lu exits for %u messages of %u stores",
		    (unsigned long)trapped, PHASE_MSGS, WRITES_PER_MSG);
	TEST_ASSERT(direct < PHASE_MSGS, "DIRECT: %lu exits for %u messages",
		    (unsigned long)direct, PHASE_MSGS);
	ratio = (double)trapped / (direct ? direct : 1);
	ksft_test_result_pass(MVF_BENCH_MSG1,
			      PHASE_MSGS, (double)trapped / PHASE_MSGS,
			      (double)direct / PHASE_MSGS,
			      (unsigned long)direct, direct ? "" : ">= ",
			      ratio);
	return ratio;
}

/* Stop-copy bytes: STOP, STOP_COPY, read to the end, RUNNING again. */
static size_t stop_copy_bytes(struct vf *vf)
{
	struct vfio_device_feature_mig_state ms = { .data_fd = -1 };
	static uint8_t buf[KVX_MVF_MIG_MAX_SIZE];
	size_t len = 0;
	ssize_t n;
	int fd;

	ms.device_state = VFIO_DEVICE_STATE_STOP_COPY;
	TEST_ASSERT(!mvf_feature(vf, VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms,
			     sizeof(ms)) && ms.data_fd >= 0,
		    "STOP_COPY: %s", strerror(errno));
	fd = ms.data_fd;
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	TEST_ASSERT(n == 0, "data_fd read: %s", strerror(errno));
	close(fd);
	ms.device_state = VFIO_DEVICE_STATE_RUNNING;
	ms.data_fd = -1;
	TEST_ASSERT(!mvf_feature(vf, VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms,
			     sizeof(ms)), "RUNNING: %s", strerror(errno));
	return len;
}

static size_t bench_stop_copy(struct vf *busy, struct vf *fresh)
{
	uint64_t requests = vf_count(busy, "requests");
	size_t a = stop_copy_bytes(busy), b = stop_copy_bytes(fresh);

	TEST_ASSERT(a == b && a > sizeof(struct kvx_mvf_mig_header),
		    "stop-copy: %zu bytes after %lu requests, %zu fresh",
		    a, (unsigned long)requests, b);
	ksft_test_result_pass(MVF_BENCH_MSG2,
			      a, (unsigned long)requests);
	return a;
}

/* DMA logging: REPORT of a 4 GiB session vs a userspace walk. */

static uint64_t report_bm[LOG_BITS / 64];
static uint64_t log_bm[LOG_BITS / 64];

/* What REPORT does with its log, in userspace: set and clear each bit. */
static uint64_t bitmap_walk(uint64_t *log, uint64_t *out, size_t words)
{
	uint64_t set = 0, w;
	size_t i;

	for (i = 0; i < words; i++) {
		w = READ_ONCE(log[i]);
		if (!w)
			continue;
		WRITE_ONCE(log[i], 0);
		out[i] |= w;
		set += __builtin_popcountll(w);
	}
	return set;
}

static int dirty_pages(struct vf *vf, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d), .flags = flags,
	};

	return ioctl(vf->container, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

/*
 * The VF's own container: LOG_SIZE of IOVA mapped (an emulated IOMMU
 * pins nothing), tracked by type1, its bitmap read REPORTS times.
 */
static double bench_dma_log(struct vf *vf)
{
	uint64_t buf[(sizeof(struct vfio_iommu_type1_dirty_bitmap) +
		      sizeof(struct vfio_iommu_type1_dirty_bitmap_get)) / 8] = {};
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)buf;
	struct vfio_iommu_type1_dirty_bitmap_get *g = (void *)d->data;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .iova = LOG_IOVA, .size = LOG_SIZE,
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	uint64_t t0, kernel_ns, user_ns, set = 0;
	double gib = (double)LOG_SIZE / (1ULL << 30), ratio;
	unsigned int i;
	void *mem;
	size_t w;

	mem = mmap(NULL, LOG_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	map.vaddr = (uint64_t)(unsigned long)mem;
	TEST_ASSERT(!ioctl(vf->container, VFIO_IOMMU_MAP_DMA, &map),
		    "MAP_DMA: %s", strerror(errno));
	TEST_ASSERT(!dirty_pages(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
		    "START: %s", strerror(errno));
	d->argsz = sizeof(buf);
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	g->iova = LOG_IOVA;
	g->size = LOG_SIZE;
	g->bitmap.pgsize = LOG_PAGE;
	g->bitmap.size = sizeof(report_bm);
	g->bitmap.data = (__u64 *)report_bm;

	t0 = now_ns();
	for (i = 0; i < REPORTS; i++)
		TEST_ASSERT(!ioctl(vf->container, VFIO_IOMMU_DIRTY_PAGES, d),
			    "GET_BITMAP: %s", strerror(errno));
	kernel_ns = now_ns() - t0;
	for (w = 0; w < LOG_BITS / 64; w++)
		TEST_ASSERT(!report_bm[w], "page %zu reported, no DMA ran",
			    w * 64);

	t0 = now_ns();
	for (i = 0; i < REPORTS; i++)
		set += bitmap_walk(log_bm, report_bm, LOG_BITS / 64);
	user_ns = now_ns() - t0;
	TEST_ASSERT(!set, "the userspace log had %lu bits", (unsigned long)set);

	TEST_ASSERT(!dirty_pages(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
		    "STOP: %s", strerror(errno));
	TEST_ASSERT(!ioctl(vf->container, VFIO_IOMMU_UNMAP_DMA,
			   &(struct vfio_iommu_type1_dma_unmap){
				.argsz = sizeof(struct vfio_iommu_type1_dma_unmap),
				.iova = LOG_IOVA, .size = LOG_SIZE }),
		    "UNMAP_DMA: %s", strerror(errno));
	munmap(mem, LOG_SIZE);

	ratio = (double)kernel_ns / (user_ns ? user_ns : 1);
	ksft_test_result_pass(MVF_BENCH_MSG3,
			      kernel_ns / 1e3 / REPORTS / gib,
			      user_ns / 1e3 / REPORTS / gib,
			      (unsigned long long)(LOG_BITS / gib), ratio);
	return ratio;
}

int main(void)
{
	struct vf vf = { .container = -1, .group = -1, .device = -1 };
	struct vf fresh = { .container = -1, .group = -1, .device = -1 };
	double mbx_ratio, log_ratio;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct stat st;
	size_t bytes;

	ksft_print_header();
	if (stat(MVF_TYPE_DIR, &st))
		ksft_exit_skip("%s missing: kvx-mvf not loaded\n", MVF_TYPE_DIR);
	ksft_set_plan(3);

	/* The group goes to the VM before the device opens: it sees KVM. */
	vf_create(&vf);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	kvm_vfio_add_group(vm, &vf);
	vf_open(&vf);
	vf_map_mbx(&vf);
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, getpagesize(),
				  vf.mbx_page);
	virt_pg_map(vm, MBX_GPA, MBX_GPA);
	/* As QEMU: no private ioctl, the VF finds the memslot. */
	TEST_ASSERT(vf_wait_count(&vf, "write_tracked", 1),
		    "the VF did not find the memslot of its page");

	vf_create(&fresh);
	vf_open(&fresh);

	mbx_ratio = bench_mailbox(vcpu, &vf);
	bytes = bench_stop_copy(&vf, &fresh);
	log_ratio = bench_dma_log(&fresh);
	ksft_print_msg(MVF_BENCH_MSG4,
		       mbx_ratio, bytes, log_ratio);

	vf_destroy(&fresh);
	vf_destroy(&vf);
	kvm_vm_free(vm);
	ksft_finished();
}
