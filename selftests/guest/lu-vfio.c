// SPDX-License-Identifier: GPL-2.0
/*
 * lu-vfio: iommufd live update through a VFIO device (QEMU's edu).
 *
 *   lu-vfio mark-checks [--bdf DDDD:BB:DD.F]
 *   lu-vfio preserve [--bdf DDDD:BB:DD.F] [--cancel-only] [--second-session]
 *                    [--msi] [--extra-device BDF]... -- CMD...
 *   lu-vfio preserve-session2 [--bdf DDDD:BB:DD.F] -- CMD...
 *   lu-vfio retrieve [--session NAME] [--bdf DDDD:BB:DD.F] [--hwpt-token T]
 *                    [--msi] [--extra-device BDF]...
 *                    [--idle-control BDF2]
 *                    [--next-session NAME2 -- CMD... | --hitless-replace]
 *   lu-vfio retrieve-refused
 *   lu-vfio destroy-early [--after-bind]
 *   lu-vfio memory
 *   lu-vfio memfd-first
 *   lu-vfio finish-unretrieved
 *   lu-vfio rescan
 *   lu-vfio dma-sysfs [--bdf DDDD:BB:DD.F]
 *   lu-vfio probe-sysfs [--bdf DDDD:BB:DD.F]
 *   lu-vfio group-refused --bdf DDDD:BB:DD.F --member BDF2 -- CMD...
 *   lu-vfio alias-removal --bdf DDDD:BB:DD.F --member BDF2
 *   lu-vfio bridges BDF...
 *
 * The edu devices are the ones the test names on the kernel command line,
 * lu.edus=BDF,... (the preserved ones first, the control last), or else
 * the edu devices in bus order (pci_find_edu_nth()); the control, never
 * preserved, is the last of lu.edus=, or else the second edu device.
 *
 * preserve and retrieve are the reference user of the device live update
 * (docs/liveupdate-flow.md): preserve, in stage 1, attaches the edu device
 * to a marked HWPT, preserves the memfd, the iommufd and the device in a
 * session and runs CMD (the kexec) with it open; on the way, while the
 * iommufd is preserved, no mark can be set or cleared, while the device is
 * preserved, attaching it to another HWPT and detaching it fail with EBUSY,
 * and after a cancelled session both work again. With --second-session, a
 * second VMM then preserves the device that was on the unmarked HWPT in a
 * session of its own (its own memfd, iommufd and marked HWPT), also kept
 * open across the kexec, from the same process. preserve-session2 is a
 * second VMM in a process of its own, with DMA in flight too (run before
 * preserve, it keeps its session open in CMD). With --msi, the device's MSI
 * is set up through VFIO first and works (msi_before_preserve), and stays
 * on. With --extra-device, the device BDF is bound to the same iommufd,
 * attached to the same marked HWPT and preserved after the edu device in
 * the same session, with a token of its own; if BDF is an edu device, its
 * DMA is checked before the preserve and in flight across the kexec as the
 * first device's is, in the second half of pages A and B. --extra-device
 * may be given up to 3 times, for as many devices on the same HWPT, the
 * second and the third with their DMA in the second and the last quarter
 * of A and B (check names extra2_..., extra3_...). retrieve, in stage 2,
 * takes everything back (with --session, --bdf and --hwpt-token, a second
 * VMM's); --extra-device BDF (after preserve --extra-device BDF, the same
 * ones in the same order) retrieves BDF and attaches it to the restored
 * HWPT too, and checks an edu device's DMA as the first's (check names
 * extra_...); once all are retrieved, it writes "lu-vfio: devices
 * retrieved" to the kernel's trace_marker, a point on the trace's clock.
 * With --msi, it checks first that the kexec quiesced the device's
 * interrupts (MSI off, INTx disabled, an interrupt it raises goes nowhere)
 * and then that MSI set up again on the retrieved device works. With one
 * --extra-device BDF and --idle-control BDF2 (BDF one with PCI power
 * management, an e1000e, and BDF2 a device like it, not preserved), the edu
 * device, BDF and BDF2 are first bound to vfio-pci and left idle, not
 * opened, for 3 s: vfio-pci suspends idle devices (runtime PM), so BDF2 must
 * be in D3hot (control_idle_suspended), while BDF, which the update keeps
 * doing DMA for its VM, must stay in D0 (preserved_idle_d0); BDF is
 * retrieved with the edu device and attached to the restored HWPT, and must
 * be in D0 (preserved_retrieved_d0); after the FINISH, its fds closed, it
 * must be suspended as any idle device (released_suspends). The power states
 * seen are LU-RESULT control_idle_power, preserved_idle_power,
 * preserved_retrieved_power and released_power ("D3hot suspended").
 * With --hitless-replace, the VMM replaces the device's HWPT (with
 * --extra-device, of an IOMMU group: replaced whole, the extra devices
 * with it) while its DMA runs in a loop (A to device to B, in a thread): before the FINISH, the
 * restored HWPT by a new HWPT of the restored IOAS (immutable, but it may
 * take another HWPT), after which the restored HWPT is destroyed (its
 * table pages must leave nr_iommu_pages); after the FINISH, that HWPT by
 * one of a new IOAS that maps the memfd's A and B at the same IOVAs and a
 * page C. Every transfer must complete with B right each time, the kernel
 * must log no DMAR fault between the LU-RESULT lines that bracket each
 * window, and an IOVA only the old IOAS mapped must fault after.
 * retrieve-refused does it after a kexec in which the first device's
 * context entry was refused: its session gives no HWPT back, its DMA
 * faults, and the second session's device works.
 *
 * memory, in stage 2, checks that the restored HWPT's IOAS holds the
 * memfd pages its table maps, pinned as IOMMU_IOAS_MAP_FILE pins them. The
 * memfd, the iommufd and the device are retrieved and the device attached
 * to the restored HWPT as in retrieve, and the session finished. Then
 * the restored HWPT is marked again: preserving the iommufd in a new
 * session without the memfd is refused (ENOENT), after the memfd it works;
 * that session is cancelled and the mark cleared. The restored IOAS is
 * now an ordinary IOAS: a new memfd page maps at a free IOVA and the
 * device copies into it; a hole punched in the memfd over A, the memfd
 * truncated, then closed, free nothing the device reaches: it still reads
 * what A and B held (the guest boots with init_on_free=1, so a freed page
 * would read zeros); at last A is unmapped, and the device's read of
 * IOVA_A must fault. The other stage 2 commands are misuses:
 *
 *   - destroy-early destroys the restored HWPT before its device is
 *     attached (with --after-bind: once the device is retrieved and bound
 *     to the iommufd); that must be refused (EBUSY: the restored IOAS pins
 *     the memory its table maps, and the device still uses the table), and
 *     DMA through it works;
 *   - memfd-first retrieves the memfd first and punches a hole in it over
 *     A (a pipe holding A's old page, so that the memfd cannot take it
 *     again), and only then the iommufd: the restored HWPT's table no
 *     longer maps the memfd's pages, so the HWPT must be refused (its
 *     token is not found) and the device kept on it blocked and released:
 *     it binds to the retrieved iommufd, with bus mastering set again its
 *     DMA to the preserved IOVAs must fault, B must keep what the device
 *     wrote there in stage 1, and the session finishes;
 *   - finish-unretrieved finishes the session with nothing retrieved: the
 *     device must lose bus mastering, and with bus mastering set again its
 *     DMA to the preserved IOVAs must fault (the test reads the DMAR faults
 *     in the kernel log);
 *   - rescan (after preserve --second-session) removes each device and
 *     rescans the bus before the live update is finished: the second,
 *     never retrieved, whose DMA to its preserved IOVAs must then fault,
 *     and the first once it was moved to an HWPT of its own and the
 *     restored HWPT destroyed; neither may be restored again;
 *   - dma-sysfs, in a kernel that did not take the preserved state (it
 *     was damaged before the kexec), DMAs to the preserved IOVAs through
 *     BAR 0 in sysfs: those must fault too;
 *   - probe-sysfs runs the untranslated-DMA probe alone (its control).
 *
 * group-refused, in stage 1, preserves an edu device whose IOMMU group has
 * another member (behind a PCIe-to-PCI bridge) that is bound to no
 * iommufd: that must be refused (EBUSY), by the preserve or else by the
 * kexec into the kernel CMD loads, and once the member is attached to the
 * same HWPT both are preserved. alias-removal (no live update) removes,
 * of two such devices on one HWPT, the one whose probe set up the
 * bridge's requester ID: the other's DMA must go on. bridges, in stage 2 before
 * anything is retrieved, reads the command register of every bridge
 * above each preserved device BDF: each must have kept bus mastering.
 *
 * mark-checks checks the rules of IOMMU_HWPT_LU_SET_PRESERVE, which marks a
 * paging HWPT to be kept across a live update. The edu device (default: the
 * first 1234:11e8) is bound to vfio-pci, its cdev bound to an iommufd and
 * attached to a paging HWPT (HWPT 1) of IOAS 1, where the two pages A and B
 * of a memfd are mapped with IOMMU_IOAS_MAP_FILE. Then:
 *
 *   - the device copies a pattern from A to B (dma_before_mark);
 *   - marking is refused for an HWPT whose IOAS holds an anonymous memory
 *     mapping, unknown flags, non-zero __reserved, an IOAS id and an
 *     unused id;
 *   - clearing the mark of HWPT 1 (IOMMU_HWPT_LU_CLEAR) is refused while
 *     it is not marked;
 *   - HWPT 1 is marked (mark_ok), after which every change to IOAS 1
 *     (IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP,
 *     IOMMU_IOAS_ALLOW_IOVAS, IOMMU_IOAS_COPY into it) fails with EBUSY,
 *     while another HWPT of IOAS 1 can still be allocated and destroyed;
 *   - its mark cannot be cleared with a token, is cleared without one,
 *     after which IOAS 1 maps and unmaps again, and HWPT 1 is marked
 *     again with the same token;
 *   - HWPT 1 cannot be marked twice, a second HWPT (HWPT 3, own IOAS, not
 *     attached) cannot take HWPT 1's token but can be marked under another
 *     one, and then cannot be destroyed;
 *   - the device still copies A to B through the marked HWPT
 *     (dma_after_mark);
 *   - after the device fd and the iommufd are closed, a new iommufd maps
 *     and unmaps the same memfd (unmarked_after_close). Closing an iommufd
 *     destroys its objects; a mark that kept its HWPT's users count would
 *     make that fail with a kernel WARN, which the test harness catches.
 *
 * Every check prints "LU-CHECK <name> PASS|FAIL <detail>" with the error
 * number seen; facts for the test are "LU-RESULT <key> <value>" lines.
 * Exit status: 0 all checks passed, 1 a check failed, 2 an error (a
 * failing setup step, bad usage).
 */
#include "lu-util.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/liveupdate.h>
#include <linux/pci_regs.h>
#include <linux/reboot.h>
#include <linux/vfio.h>

#include "edu.h"
#include "edu-vfio.h"
#include "lu-vmm.h"

/* More IOVAs; all below the edu device's 28-bit DMA limit */
#define IOVA_FREE		0x200000ULL	/* never mapped in IOAS 1 */
#define IOVA_COPY		0x300000ULL	/* never mapped in IOAS 1 */
#define IOVA_OWN		0x500000ULL	/* A in a moved device's IOAS */

/*
 * An edu device preserved with --extra-device on the same HWPT: its DMA
 * uses the second half of A and B, and never mapped IOVAs a page above
 * the first device's, whose faults the test tells apart by address (both
 * may have one requester ID, a DMA alias).
 */
#define EXTRA_OFF		0x800UL
#define EXTRA_GAP		PAGE

#define TOKEN_2			0x1235ULL	/* HWPT 3; the second session's */
#define TOKEN_AGAIN		0x1236ULL	/* HWPT 1's second mark */
#define TOKEN_UNUSED		0x5a5aULL	/* for marks that must fail */
#define UNUSED_ID		0x7fffffffU	/* no object has this id */
#define FLAG_UNKNOWN		(IOMMU_HWPT_LU_CLEAR << 1)	/* no such flag */

#define NAME_LEN		64		/* check and result names */

/*
 * A preserved edu device: its BDF, the prefix of its check and result
 * names ("" for the first device; "extra_", "extra2_", "extra3_" for
 * preserve --extra-device), and where its DMA goes: @off into A and B and
 * their IOVAs, @gap above the never mapped IOVAs IOVA_FREE and IOVA_COPY.
 */
struct kept_edu {
	const char *bdf;
	const char *prefix;
	size_t off;
	uint64_t gap;
};

/* The name of check or result @name of @e, in @buf */
static const char *kept_name(char buf[NAME_LEN], const struct kept_edu *e,
			     const char *name)
{
	snprintf(buf, NAME_LEN, "%s%s", e->prefix, name);
	return buf;
}

/*
 * --extra-device may be given up to MAX_EXTRA times. Extra device @i has
 * token LU_TOKEN_EXTRA + @i, and its DMA (if it is an edu device) a
 * quarter of A and B of its own: the first extra device the second half,
 * as always, the others the second and the last quarter (the first device
 * has the first).
 */
#define MAX_EXTRA		3

static const struct kept_edu extra_layout[MAX_EXTRA] = {
	{ .prefix = "extra_", .off = EXTRA_OFF, .gap = EXTRA_GAP },
	{ .prefix = "extra2_", .off = EXTRA_OFF / 2, .gap = 2 * EXTRA_GAP },
	{ .prefix = "extra3_", .off = EXTRA_OFF + EXTRA_OFF / 2,
	  .gap = 3 * EXTRA_GAP },
};

/* Extra device @i, @bdf */
static struct kept_edu extra_edu(int i, const char *bdf)
{
	struct kept_edu e = extra_layout[i];

	e.bdf = bdf;
	return e;
}
_Static_assert(XFER_LEN <= EXTRA_OFF / 2, "the DMA of extra devices overlap");

#define IRQ_BIT			0x1		/* the edu status bit raised */
#define IRQ_TIMEOUT_MS		2000		/* for an MSI to arrive */
#define IRQ_HOLD_MS		100		/* an interrupt left raised */

#define IDLE_MS			3000		/* devices idle on vfio-pci */
#define SUSPEND_WAIT_MS		5000		/* for a released device */
#define POWER_POLL_MS		100

static int nr_failed;

/* ----------------------------------------------------------------------- */
/* Errors and checks                                                       */

/*
 * LU-CHECK @name: the operation @fmt describes returned @got (0 or an error
 * number) and had to return @want.
 */
static LU_PRINTF(4, 5) void check_err(const char *name, int got, int want,
				      const char *fmt, ...)
{
	char what[256], g[ERR_STR_LEN], w[ERR_STR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	nr_failed += !lu_check(name, got == want, "%s: %s, expected %s", what,
			       err_str(g, got), err_str(w, want));
}

/* LU-CHECK @name fails: it could not be done, @why (printf format) */
static LU_PRINTF(2, 3) void check_not_done(const char *name,
					   const char *why, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, why);
	vsnprintf(buf, sizeof(buf), why, ap);
	va_end(ap);
	nr_failed += !lu_check(name, false, "not done: %s", buf);
}

/* ----------------------------------------------------------------------- */
/* sysfs                                                                   */

/* First edu device in bus order, as a BDF string in @bdf. */

/* ----------------------------------------------------------------------- */
/* VFIO                                                                    */

/*
 * Another device on the iommufd of @s: @bdf bound to vfio-pci, its cdev
 * opened and bound to that iommufd, in @out.
 */
static void session_add_device(const struct session *s, const char *bdf,
			       struct session *out)
{
	char cdev[NAME_MAX + 1];

	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	out->fd = s->fd;
	out->devfd = vfio_open_cdev(cdev);
	must(vfio_bind(out->devfd, out->fd, &out->devid),
	     "VFIO_DEVICE_BIND_IOMMUFD of %s", bdf);
}

/*
 * Close the device fd first: it detaches the device and drops its hold on
 * the iommufd, so closing the iommufd then releases it, marks included.
 */
static void session_close(struct session *s)
{
	close(s->devfd);
	close(s->fd);
}

/* Detach the device from its HWPT: 0 or an errno */
static int vfio_detach_pt_err(struct session *s)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl_err(s->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

/* ----------------------------------------------------------------------- */
/* iommufd: each returns 0 or the error number of the ioctl                */

/* The page at user address @va, mapped at @iova. */
static int ioas_map_va(struct session *s, uint32_t ioas, void *va,
		       uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = PAGE,
		.iova = iova,
	};

	return ioctl_err(s->fd, IOMMU_IOAS_MAP, &map);
}

/* Unmap the page at @iova; a partial unmap is reported as EIO. */
static int ioas_unmap(struct session *s, uint32_t ioas, uint64_t iova)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ioas,
		.iova = iova,
		.length = PAGE,
	};
	int err = ioctl_err(s->fd, IOMMU_IOAS_UNMAP, &unmap);

	if (!err && unmap.length != PAGE) {
		lu_msg("IOMMU_IOAS_UNMAP iova 0x%" PRIx64 " unmapped 0x%llx "
		       "bytes, expected 0x%lx", iova,
		       (unsigned long long)unmap.length, PAGE);
		err = EIO;
	}
	return err;
}

/* Allow only the IOVAs [@start, @last]. */
static int ioas_allow_iovas(struct session *s, uint32_t ioas, uint64_t start,
			    uint64_t last)
{
	struct iommu_iova_range range = {
		.start = start,
		.last = last,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow),
		.ioas_id = ioas,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};

	return ioctl_err(s->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow);
}

/* Copy the page at @src_iova of @src to @dst_iova of @dst. */
static int ioas_copy(struct session *s, uint32_t dst, uint64_t dst_iova,
		     uint32_t src, uint64_t src_iova)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = PAGE,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return ioctl_err(s->fd, IOMMU_IOAS_COPY, &copy);
}

/* ----------------------------------------------------------------------- */
/* Memory                                                                  */

/* A populated page of anonymous memory. */
static uint8_t *anon_page(void)
{
	void *p;

	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		lu_die("mmap anonymous page");
	memset(p, 0, PAGE);
	return p;
}

/*
 * LU-CHECK @name: the device copies what @src_iova maps into its buffer and
 * out to @dst_iova, where @dst is mapped (filled with pattern @dst_seed
 * first): @dst must end up holding pattern @seed. Each call uses a pattern
 * the device buffer did not hold before, so a transfer that did not happen
 * cannot pass.
 */
static void check_dma_copy(const char *name, uint64_t src_iova,
			   uint64_t dst_iova, uint8_t *dst, uint8_t seed,
			   uint8_t dst_seed)
{
	int ret_to, ret_from;
	size_t match;

	pattern_fill(dst, XFER_LEN, dst_seed);
	ret_to = edu_dma_xfer(EDU_DMA_TO_DEVICE, src_iova, XFER_LEN);
	ret_from = edu_dma_xfer(EDU_DMA_FROM_DEVICE, dst_iova, XFER_LEN);
	match = pattern_count(dst, XFER_LEN, seed);
	nr_failed += !lu_check(name, !ret_to && !ret_from && match == XFER_LEN,
			       "iova 0x%" PRIx64 " to device: %s, device to "
			       "iova 0x%" PRIx64 ": %s, which holds %s (%zu/%u "
			       "bytes match %s)", src_iova,
			       ret_to ? "DMA error" : "completed", dst_iova,
			       ret_from ? "DMA error" : "completed",
			       describe(dst, XFER_LEN), match, XFER_LEN,
			       pattern_name(seed));
}

/*
 * The device copies A (filled with pattern @seed), mapped at @iova, into
 * its buffer and out into B (filled with pattern @b_seed first), mapped
 * in the next page: B must end up holding @seed.
 */
static void check_dma_at(const char *name, uint64_t iova, uint8_t *a,
			 uint8_t *b, uint8_t seed, uint8_t b_seed)
{
	pattern_fill(a, XFER_LEN, seed);
	check_dma_copy(name, iova, iova + PAGE, b, seed, b_seed);
}

#define FAULT_TIME_FILE		"/run/lu-vfio-fault"
#define FAULT_GAP_MS		1800

/*
 * Wait until @gap_ms have passed since the last DMA that may have faulted
 * (its time in FAULT_TIME_FILE), and record now as the time of the next.
 */
static void dmar_fault_wait(unsigned int gap_ms)
{
	unsigned long long last = 0, now;
	struct timespec ts;
	FILE *f;

	f = fopen(FAULT_TIME_FILE, "r");
	if (f) {
		if (fscanf(f, "%llu", &last) != 1)
			last = 0;
		fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
	if (last && now < last + gap_ms) {
		usleep((last + gap_ms - now) * 1000);
		now = last + gap_ms;
	}
	f = fopen(FAULT_TIME_FILE, "w");
	if (!f)
		lu_die("open %s", FAULT_TIME_FILE);
	fprintf(f, "%llu\n", now);
	fclose(f);
}

/*
 * Before DMA that must fault, for a test to find the fault in the kernel
 * log: the kernel logs DMAR faults rate limited (dmar_fault(): 10
 * messages in 5 s, a fault takes 3), so that more than 3 faults in 5 s
 * lose their lines. Wait until FAULT_GAP_MS have passed since the last
 * such DMA of any lu-vfio process (its time is in FAULT_TIME_FILE).
 */
static void dmar_fault_pace(void)
{
	dmar_fault_wait(FAULT_GAP_MS);
}

/*
 * The probe for untranslated DMA: a locked page of ours, filled with
 * pattern U, whose physical address is used as an IOVA that nothing maps
 * (the tests map IOVAs below PROBE_MIN_PA only; the edu device reaches
 * IOVAs below PROBE_MAX_PA). A DMA write the IOMMU let through
 * untranslated would land in it; a blocked one leaves it alone.
 * This shows a block by data, where the kernel logs no fault (QEMU's
 * AMD-Vi reports none).
 */
#define SEED_U			0x3c
#define PROBE_MIN_PA		0x1000000ULL
#define PROBE_MAX_PA		(1ULL << EDU_DMA_ADDR_BITS)
/* Pages are tried PROBE_CHUNK at a time, up to PROBE_CHUNKS times */
#define PROBE_CHUNK		4096
#define PROBE_CHUNKS		48

struct phys_probe {
	uint8_t *page;
	uint64_t pa;
};

/*
 * Physical addresses of the @n resident pages from @p, from
 * /proc/self/pagemap, into @pa
 */
static void pages_pa(const uint8_t *p, size_t n, uint64_t *pa)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t i;

	if (fd < 0)
		lu_die("open /proc/self/pagemap");
	if (pread(fd, pa, n * sizeof(*pa),
		  (uintptr_t)p / PAGE * sizeof(*pa)) != (ssize_t)(n * sizeof(*pa)))
		lu_die("read /proc/self/pagemap");
	close(fd);
	for (i = 0; i < n; i++) {
		if (!(pa[i] & (1ULL << 63)) || !(pa[i] & ((1ULL << 55) - 1)))
			lu_diex("page %p: no physical address in pagemap "
				"(0x%" PRIx64 ")", p + i * PAGE, pa[i]);
		pa[i] = (pa[i] & ((1ULL << 55) - 1)) * PAGE;
	}
}

static void phys_probe_init(struct phys_probe *probe)
{
	static uint64_t pa[PROBE_CHUNK];
	uint8_t *chunk[PROBE_CHUNKS];
	int c, i, found = -1;

	/*
	 * Chunks of pages until one page is in the range (the kernel hands
	 * out high memory first); then every other page goes back
	 */
	for (c = 0; c < PROBE_CHUNKS && found < 0; c++) {
		chunk[c] = mmap(NULL, PROBE_CHUNK * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED |
				MAP_POPULATE, -1, 0);
		if (chunk[c] == MAP_FAILED)
			lu_die("mmap probe pages");
		pages_pa(chunk[c], PROBE_CHUNK, pa);
		for (i = 0; i < PROBE_CHUNK; i++) {
			if (pa[i] >= PROBE_MIN_PA && pa[i] < PROBE_MAX_PA) {
				probe->page = chunk[c] + i * PAGE;
				probe->pa = pa[i];
				found = c;
				break;
			}
		}
	}
	if (found < 0)
		lu_diex("no probe page between physical addresses 0x%llx and "
			"0x%llx", PROBE_MIN_PA, PROBE_MAX_PA);
	for (i = 0; i < c; i++) {
		if (i != found) {
			munmap(chunk[i], PROBE_CHUNK * PAGE);
			continue;
		}
		if (probe->page > chunk[i])
			munmap(chunk[i], probe->page - chunk[i]);
		if (probe->page + PAGE < chunk[i] + PROBE_CHUNK * PAGE)
			munmap(probe->page + PAGE,
			       chunk[i] + PROBE_CHUNK * PAGE - probe->page - PAGE);
	}
	memset(probe->page, 0, PAGE);
}

/*
 * Does the kernel log no fault of a blocked DMA? QEMU's AMD-Vi (IVHD units)
 * records none: there, a probe shows the block instead.
 */
static bool no_fault_log(void)
{
	return !access("/sys/class/iommu/ivhd0", F_OK);
}

/*
 * The device writes its buffer to the probe's IOVA: 0 if the DMA completed
 * and the probe kept pattern U (blocked), 1 if it changed (untranslated),
 * or the DMA's error. @what gets what happened, for a check's detail.
 */
static int untranslated_probe(char *what, size_t len)
{
	static struct phys_probe probe_page;
	struct phys_probe *probe = &probe_page;
	int ret;

	if (!probe->page)
		phys_probe_init(probe);

	pattern_fill(probe->page, XFER_LEN, SEED_U);
	ret = edu_dma_xfer(EDU_DMA_FROM_DEVICE, probe->pa, XFER_LEN);
	if (!ret && pattern_count(probe->page, XFER_LEN, SEED_U) != XFER_LEN)
		ret = 1;
	snprintf(what, len, "device writes iova 0x%" PRIx64 " (the physical "
		 "address of a page of ours, never mapped): %s", probe->pa,
		 ret < 0 ? "DMA error" : ret ? "the page changed: the DMA went "
		 "through untranslated" : "completed, the page kept its data");
	return ret;
}

/*
 * LU-CHECK @name: the device ran a DMA (@dir) at @iova, which nothing maps
 * for it; the IOMMU must have blocked it, which only the kernel log shows
 * (a DMAR fault): LU-RESULT @key says where.
 */
static void check_dma_unmapped(const char *name, const char *key,
			       enum edu_dma_dir dir, uint64_t iova)
{
	char probe[160] = "";
	int ret, ret_p = 0;

	dmar_fault_pace();
	ret = edu_dma_xfer(dir, iova, XFER_LEN);
	if (no_fault_log())
		ret_p = untranslated_probe(probe, sizeof(probe));

	lu_result(key, "0x%" PRIx64, iova);
	nr_failed += !lu_check(name, !ret && !ret_p, "%s iova 0x%" PRIx64 ": %s "
			       "(the kernel must log a DMAR fault)%s%s",
			       dir == EDU_DMA_TO_DEVICE ? "device reads" :
							  "device writes",
			       iova, ret ? "DMA error" : "completed",
			       *probe ? "; " : "", probe);
}

/* check_dma_at() with A and B at IOVA_A and IOVA_B */
static void check_dma(const char *name, uint8_t *a, uint8_t *b, uint8_t seed,
		      uint8_t b_seed)
{
	check_dma_at(name, IOVA_A, a, b, seed, b_seed);
}

/* ----------------------------------------------------------------------- */
/* Interrupts                                                              */

/* MSI of the device @devfd on, its one vector signalling @efd: 0 or an errno */
static int vfio_set_msi(int devfd, int efd)
{
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSI_IRQ_INDEX,
			.start = 0,
			.count = 1,
		},
		.fd = efd,
	};

	return ioctl_err(devfd, VFIO_DEVICE_SET_IRQS, &irq);
}

/*
 * LU-CHECK @name: MSI of the device @devfd (BAR 0 in edu_bar) is set up
 * through VFIO, its vector signalling an eventfd; the device raises one
 * interrupt, which the eventfd must count, once. The interrupt is
 * acknowledged; MSI stays on (VFIO holds the eventfd).
 */
static void check_msi(const char *name, int devfd)
{
	struct pollfd pfd = { .events = POLLIN };
	char e[ERR_STR_LEN];
	uint64_t count = 0;
	uint32_t status = 0;
	int err;

	pfd.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pfd.fd < 0)
		lu_die("eventfd");
	err = vfio_set_msi(devfd, pfd.fd);
	if (!err) {
		edu_write32(edu_bar, EDU_REG_IRQ_RAISE, IRQ_BIT);
		status = edu_read32(edu_bar, EDU_REG_IRQ_STATUS);
		if (poll(&pfd, 1, IRQ_TIMEOUT_MS) > 0 &&
		    read(pfd.fd, &count, sizeof(count)) != sizeof(count))
			lu_die("read the MSI eventfd");
		edu_write32(edu_bar, EDU_REG_IRQ_ACK, IRQ_BIT);
	}
	nr_failed += !lu_check(name, !err && count == 1,
			       "VFIO_DEVICE_SET_IRQS, MSI to an eventfd: %s; "
			       "interrupt raised (status 0x%x): the eventfd "
			       "counted %" PRIu64 " in %d ms, expected 1",
			       err_str(e, err), status, count, IRQ_TIMEOUT_MS);
	close(pfd.fd);
}

/* ----------------------------------------------------------------------- */
/* mark-checks                                                             */

/* Marks that must be refused; HWPT 1 and IOAS 1 are not marked yet. */
static void check_mark_refusals(struct session *s, uint32_t ioas1,
				uint32_t hwpt1, uint8_t *anon)
{
	uint32_t ioas2, hwpt2;

	ioas2 = ioas_alloc(s);
	must(hwpt_alloc(s, ioas2, &hwpt2), "IOMMU_HWPT_ALLOC for IOAS %u",
	     ioas2);
	must(ioas_map_va(s, ioas2, anon, IOVA_A),
	     "IOMMU_IOAS_MAP of an anonymous page into IOAS %u", ioas2);
	check_err("mark_anon_refused", hwpt_mark(s, hwpt2, 0, 0, TOKEN_UNUSED),
		  EINVAL, "mark HWPT %u, its IOAS %u maps an anonymous page "
		  "with IOMMU_IOAS_MAP", hwpt2, ioas2);

	check_err("mark_bad_flags_refused",
		  hwpt_mark(s, hwpt1, FLAG_UNKNOWN, 0, TOKEN_UNUSED), EINVAL,
		  "mark HWPT %u with unknown flags 0x%x", hwpt1, FLAG_UNKNOWN);
	check_err("mark_bad_reserved_refused",
		  hwpt_mark(s, hwpt1, 0, 1, TOKEN_UNUSED), EINVAL,
		  "mark HWPT %u with __reserved 1", hwpt1);
	check_err("mark_bad_id_refused",
		  hwpt_mark(s, ioas1, 0, 0, TOKEN_UNUSED), ENOENT,
		  "mark id %u, an IOAS", ioas1);
	check_err("mark_unknown_id_refused",
		  hwpt_mark(s, UNUSED_ID, 0, 0, TOKEN_UNUSED), ENOENT,
		  "mark id 0x%x, no such object", UNUSED_ID);
	check_err("clear_unmarked_refused", hwpt_clear(s, hwpt1, 0), ENOENT,
		  "clear the mark of HWPT %u, not marked", hwpt1);
}

/* HWPT 1 is marked: IOAS 1 must refuse every change. */
static void check_ioas_frozen(struct session *s, uint32_t ioas1,
			      int spare_fd, uint8_t *anon)
{
	uint32_t hwpt4;
	int err;

	check_err("ioas_map_file_busy",
		  ioas_map_file(s, ioas1, spare_fd, 0, IOVA_FREE), EBUSY,
		  "IOMMU_IOAS_MAP_FILE of a memfd page into IOAS %u at iova "
		  "0x%llx", ioas1, IOVA_FREE);
	check_err("ioas_map_busy", ioas_map_va(s, ioas1, anon, IOVA_FREE),
		  EBUSY, "IOMMU_IOAS_MAP of an anonymous page into IOAS %u at "
		  "iova 0x%llx", ioas1, IOVA_FREE);
	check_err("ioas_unmap_busy", ioas_unmap(s, ioas1, IOVA_B), EBUSY,
		  "IOMMU_IOAS_UNMAP of B at iova 0x%llx from IOAS %u", IOVA_B,
		  ioas1);
	check_err("ioas_allow_iovas_busy",
		  ioas_allow_iovas(s, ioas1, 0, EDU_DMA_ADDR_LIMIT - 1), EBUSY,
		  "IOMMU_IOAS_ALLOW_IOVAS [0, 0x%llx] on IOAS %u",
		  EDU_DMA_ADDR_LIMIT - 1, ioas1);
	check_err("ioas_copy_busy",
		  ioas_copy(s, ioas1, IOVA_COPY, ioas1, IOVA_A), EBUSY,
		  "IOMMU_IOAS_COPY of A in IOAS %u to iova 0x%llx of IOAS %u",
		  ioas1, IOVA_COPY, ioas1);

	/* Other HWPTs of the IOAS come and go as before */
	err = hwpt_alloc(s, ioas1, &hwpt4);
	check_err("hwpt_alloc_after_mark", err, 0,
		  "IOMMU_HWPT_ALLOC of another HWPT for IOAS %u", ioas1);
	if (!err)
		check_err("hwpt_destroy_unmarked_ok", obj_destroy(s, hwpt4), 0,
			  "IOMMU_DESTROY of that unmarked HWPT %u", hwpt4);
}

/*
 * LU-CHECK @name: the first page of @fd maps at @iova in IOAS @ioas and
 * unmaps again (@what says in which situation).
 */
static void check_map_unmap(const char *name, struct session *s,
			    uint32_t ioas, int fd, uint64_t iova,
			    const char *what)
{
	char m[ERR_STR_LEN], u[ERR_STR_LEN];
	int err_map, err_unmap = 0;

	err_map = ioas_map_file(s, ioas, fd, 0, iova);
	if (!err_map)
		err_unmap = ioas_unmap(s, ioas, iova);
	nr_failed += !lu_check(name, !err_map && !err_unmap,
			       "%s into IOAS %u at iova 0x%llx: %s, "
			       "IOMMU_IOAS_UNMAP: %s", what, ioas,
			       (unsigned long long)iova, err_str(m, err_map),
			       err_map ? "not tried" : err_str(u, err_unmap));
}

/*
 * HWPT 1 is marked with TOKEN_1: clearing its mark makes IOAS 1 mutable
 * again, and the HWPT can be marked again. It ends marked with TOKEN_1, as
 * it was.
 */
static void check_mark_clear(struct session *s, uint32_t ioas1,
			     uint32_t hwpt1, int spare_fd)
{
	int err;

	check_err("clear_with_token_refused", hwpt_clear(s, hwpt1, TOKEN_1),
		  EINVAL, "clear the mark of HWPT %u, giving token 0x%llx",
		  hwpt1, TOKEN_1);
	err = hwpt_clear(s, hwpt1, 0);
	check_err("clear_ok", err, 0, "clear the mark of HWPT %u", hwpt1);
	if (err)
		return;

	check_map_unmap("ioas_map_after_clear", s, ioas1, spare_fd, IOVA_FREE,
			"mark cleared: IOMMU_IOAS_MAP_FILE of a memfd page");
	check_err("remark_after_clear_ok", hwpt_mark(s, hwpt1, 0, 0, TOKEN_1),
		  0, "mark HWPT %u again with token 0x%llx", hwpt1, TOKEN_1);
}

/*
 * Marks are unique per HWPT and per token. HWPT 3 is not attached, so only
 * its mark can keep IOMMU_DESTROY from freeing it (HWPT 1 is busy anyway:
 * the device is attached to it).
 */
static void check_mark_unique(struct session *s, uint32_t hwpt1, int spare_fd)
{
	uint32_t ioas3, hwpt3;
	int err;

	check_err("mark_twice_refused", hwpt_mark(s, hwpt1, 0, 0, TOKEN_AGAIN),
		  EEXIST, "mark HWPT %u again, with unused token 0x%llx",
		  hwpt1, TOKEN_AGAIN);

	ioas3 = ioas_alloc(s);
	must(ioas_map_file(s, ioas3, spare_fd, 0, IOVA_A),
	     "IOMMU_IOAS_MAP_FILE of a memfd page into IOAS %u", ioas3);
	must(hwpt_alloc(s, ioas3, &hwpt3), "IOMMU_HWPT_ALLOC for IOAS %u",
	     ioas3);
	check_err("mark_dup_token_refused", hwpt_mark(s, hwpt3, 0, 0, TOKEN_1),
		  EEXIST, "mark HWPT %u with HWPT %u's token 0x%llx", hwpt3,
		  hwpt1, TOKEN_1);
	err = hwpt_mark(s, hwpt3, 0, 0, TOKEN_2);
	check_err("mark_second_ok", err, 0, "mark HWPT %u with token 0x%llx",
		  hwpt3, TOKEN_2);
	if (!err)
		check_err("hwpt_destroy_busy", obj_destroy(s, hwpt3), EBUSY,
			  "IOMMU_DESTROY of marked, unattached HWPT %u",
			  hwpt3);
}

/*
 * The iommufd that held the marks is closed: a new one maps and unmaps the
 * memfd that was mapped in the marked IOAS.
 */
static void check_unmarked_after_close(const char *cdev, int memfd)
{
	struct session s;
	uint32_t ioas;

	session_open(cdev, &s);
	ioas = ioas_alloc(&s);
	check_map_unmap("unmarked_after_close", &s, ioas, memfd, IOVA_A,
			"new iommufd: IOMMU_IOAS_MAP_FILE of A's memfd page");
	session_close(&s);
}

static int mark_checks(const char *bdf)
{
	char bdf_buf[NAME_MAX + 1], cdev[NAME_MAX + 1];
	uint8_t *mem, *a, *b, *spare, *anon;
	uint32_t ioas1, hwpt1;
	int memfd, spare_fd;
	struct session s;
	size_t bar_size;
	int err;

	if (!bdf) {
		pci_find_edu(bdf_buf, sizeof(bdf_buf));
		bdf = bdf_buf;
	}
	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	lu_result("edu_bdf", "%s", bdf);
	lu_result("edu_vfio_dev", "%s", cdev);

	/* IOAS 1 with A and B as two areas, the device on its HWPT 1 */
	session_open(cdev, &s);
	ioas1 = ioas_alloc(&s);
	must(hwpt_alloc(&s, ioas1, &hwpt1), "IOMMU_HWPT_ALLOC for IOAS %u",
	     ioas1);
	vfio_attach_pt(&s, hwpt1);
	mem = memfd_buf(2 * PAGE, &memfd);
	a = mem;
	b = mem + PAGE;
	must(ioas_map_file(&s, ioas1, memfd, 0, IOVA_A),
	     "IOMMU_IOAS_MAP_FILE of A at iova 0x%llx", IOVA_A);
	must(ioas_map_file(&s, ioas1, memfd, PAGE, IOVA_B),
	     "IOMMU_IOAS_MAP_FILE of B at iova 0x%llx", IOVA_B);
	spare = memfd_buf(PAGE, &spare_fd);
	anon = anon_page();
	printf("lu-vfio: devid %u, IOAS %u with A at iova 0x%llx and B at "
	       "iova 0x%llx, device attached to HWPT %u\n", s.devid, ioas1,
	       IOVA_A, IOVA_B, hwpt1);

	edu_bar = vfio_map_bar0(s.devfd, &bar_size);
	vfio_pci_enable_master(s.devfd);
	if (!edu_id_ok(edu_bar, NULL))
		lu_diex("%s does not look like an edu device (id 0x%08x)", bdf,
			edu_read32(edu_bar, EDU_REG_ID));

	check_dma("dma_before_mark", a, b, SEED_P, SEED_R);
	check_mark_refusals(&s, ioas1, hwpt1, anon);

	err = hwpt_mark(&s, hwpt1, 0, 0, TOKEN_1);
	check_err("mark_ok", err, 0, "mark HWPT %u with token 0x%llx", hwpt1,
		  TOKEN_1);
	if (err)
		lu_msg("HWPT %u is not marked: the checks of a marked IOAS "
		       "below fail too", hwpt1);
	check_ioas_frozen(&s, ioas1, spare_fd, anon);
	check_mark_clear(&s, ioas1, hwpt1, spare_fd);
	check_mark_unique(&s, hwpt1, spare_fd);
	check_dma("dma_after_mark", a, b, SEED_Q, SEED_S);

	munmap((void *)edu_bar, bar_size);
	session_close(&s);
	check_unmarked_after_close(cdev, memfd);

	munmap(anon, PAGE);
	munmap(spare, PAGE);
	close(spare_fd);
	munmap(mem, 2 * PAGE);
	close(memfd);

	if (nr_failed) {
		printf("lu-vfio: %d check(s) failed\n", nr_failed);
		return LU_EXIT_FAIL;
	}
	lu_result("lu_mark", "ok");
	return LU_EXIT_PASS;
}

/* ----------------------------------------------------------------------- */
/* preserve and retrieve: an iommufd with a marked HWPT across a kexec     */

#define LU_CANCEL_SESSION	"lu-iommufd-cancel"
#define LU_SESSION2		"lu-iommufd-vmm2"	/* preserve --second-session */
#define LU_CHAIN_SESSION	"lu-iommufd-chain"	/* memory, cancelled */
#define LU_TOKEN_DEVICE2	4ULL
#define LU_TOKEN_EXTRA		5ULL	/* preserve --extra-device */
#define TRACE_FILE		"/sys/kernel/tracing/trace"
#define TRACE_MARKER_FILE	"/sys/kernel/tracing/trace_marker"
#define PCI_RESCAN		"/sys/bus/pci/rescan"

/* The file preserved with @token, which must be there (@what names it) */
static int luo_retrieve_must(int session_fd, uint64_t token, const char *what)
{
	int fd = luo_retrieve(session_fd, token);

	if (fd < 0)
		lu_die_err(-fd, "retrieve %s", what);
	return fd;
}

/* The preserved memfd of session @session_fd (pages A and B), mapped */
static uint8_t *luo_retrieve_mem(int session_fd, int *memfdp)
{
	int fd = luo_retrieve_must(session_fd, LU_TOKEN_MEMFD, "the memfd");
	void *mem;

	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		lu_die("mmap the retrieved memfd");
	*memfdp = fd;
	return mem;
}

/* Monotonic time in microseconds */
static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* LU-CHECK @name: the kernel's trace shows a successful @event */
static void check_trace(const char *name, const char *event)
{
	char line[512], found[512] = "";
	FILE *f = fopen(TRACE_FILE, "r");

	if (!f)
		lu_die("open %s", TRACE_FILE);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, event) && strstr(line, " ret=0"))
			snprintf(found, sizeof(found), "%s", line);
	fclose(f);
	found[strcspn(found, "\n")] = 0;
	nr_failed += !lu_check(name, found[0], "%s: %s", event,
			       found[0] ? strstr(found, event) : "not traced");
}

/*
 * Write @what to the kernel's trace buffer, on its clock, for a reader of
 * the trace (selftests/bench); nothing if tracing is not there.
 */
static void trace_mark(const char *what)
{
	int fd = open(TRACE_MARKER_FILE, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, what, strlen(what)) < 0)
		lu_msg("write %s: %s", TRACE_MARKER_FILE, strerror(errno));
	close(fd);
}

/*
 * A second edu device (the control, pci_find_edu_control()), bound to the
 * same iommufd but attached to an HWPT that is not marked: it may not be
 * preserved. Returns its device fd, and its BDF in @bdf (NAME_MAX + 1
 * bytes).
 */
static int second_device(struct session *s, int memfd, char *bdf)
{
	struct session s2;
	uint32_t ioas, hwpt;

	pci_find_edu_control(bdf, NAME_MAX + 1);
	session_add_device(s, bdf, &s2);
	ioas = ioas_alloc(&s2);
	must(hwpt_alloc(&s2, ioas, &hwpt), "IOMMU_HWPT_ALLOC for %s", bdf);
	vfio_attach_pt(&s2, hwpt);
	must(ioas_map_file(&s2, ioas, memfd, 0, IOVA_A),
	     "IOMMU_IOAS_MAP_FILE for %s", bdf);
	lu_result("edu2_bdf", "%s", bdf);
	return s2.devfd;
}

/*
 * preserve --extra-device: the device @x->bdf (an e1000e, with no DMA of
 * its own, or another edu device) on the iommufd of @s, attached to its
 * HWPT @hwpt beside the edu device, to be preserved with it (result
 * <prefix>bdf). Returns its device fd.
 */
static int extra_device_attach(struct session *s, uint32_t hwpt,
			       const struct kept_edu *x)
{
	char key[NAME_LEN];
	struct session d;

	session_add_device(s, x->bdf, &d);
	vfio_attach_pt(&d, hwpt);
	lu_result(kept_name(key, x, "bdf"), "%s", x->bdf);
	return d.devfd;
}

/*
 * preserve --extra-device with an edu device @x, its device fd @devfd:
 * BAR 0 mapped and bus mastering on, it copies its part of A (@x->off) to
 * its part of B through the marked HWPT (check
 * <prefix>dma_before_preserve). Returns its BAR 0; edu_bar is left as it
 * was.
 */
static volatile void *extra_edu_enable(int devfd, const struct kept_edu *x,
				       uint8_t *mem)
{
	volatile void *bar1 = edu_bar, *bar;
	char name[NAME_LEN];
	size_t bar_size;

	bar = vfio_map_bar0(devfd, &bar_size);
	vfio_pci_enable_master(devfd);
	lu_result(kept_name(name, x, "edu_bdf"), "%s", x->bdf);
	edu_bar = bar;
	check_dma_at(kept_name(name, x, "dma_before_preserve"), IOVA_A + x->off,
		     mem + x->off, mem + PAGE + x->off, SEED_P, SEED_R);
	edu_bar = bar1;
	return bar;
}

/*
 * The cancelled session unpreserved the device: it may leave its marked
 * HWPT @hwpt for the unmarked @spare, and come back.
 */
static void check_attach_after_cancel(struct session *s, uint32_t hwpt,
				      uint32_t spare)
{
	char e1[ERR_STR_LEN], e2[ERR_STR_LEN];
	int err_spare, err_back = 0;

	err_spare = vfio_attach_pt_err(s, spare);
	if (!err_spare)
		err_back = vfio_attach_pt_err(s, hwpt);
	nr_failed += !lu_check("attach_after_cancel_ok",
			       !err_spare && !err_back,
			       "session cancelled: attach the device to "
			       "unmarked HWPT %u: %s, back to marked HWPT %u: "
			       "%s", spare, err_str(e1, err_spare), hwpt,
			       err_spare ? "not tried" : err_str(e2, err_back));
}

/* While the iommufd is preserved, its marks can be neither set nor cleared. */
static void check_marks_frozen(struct session *s, uint32_t hwpt,
			       uint32_t spare)
{
	check_err("mark_while_preserved_refused",
		  hwpt_mark(s, spare, 0, 0, TOKEN_2), EBUSY,
		  "mark unmarked HWPT %u (a lower id than marked HWPT %u) "
		  "with token 0x%llx, the iommufd preserved", spare, hwpt,
		  TOKEN_2);
	check_err("clear_while_preserved_refused", hwpt_clear(s, hwpt, 0),
		  EBUSY, "clear the mark of HWPT %u, the iommufd preserved",
		  hwpt);
}

/*
 * A second VMM (preserve --second-session, preserve-session2): the edu
 * device @bdf, bound to vfio-pci, in an iommufd of its own, attached to an
 * HWPT marked with a token of its own, whose IOAS maps a memfd of its own;
 * the memfd, the iommufd and the device preserved in session LU_SESSION2.
 * Returns the session fd. Its other files are closed by the exec of CMD:
 * the session holds them. With @memp, the memfd's mapping goes there and
 * the device's BAR 0 stays in edu_bar, for DMA in flight; else edu_bar is
 * left as it was.
 */
static int preserve_second_session(int luo_fd, const char *bdf,
				   uint8_t **memp)
{
	volatile void *bar1 = edu_bar;
	char cdev[NAME_MAX + 1];
	int memfd, session_fd;
	uint32_t ioas, hwpt;
	struct session s;
	size_t bar_size;
	uint8_t *mem;

	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	session_open(cdev, &s);
	ioas = ioas_alloc(&s);
	must(hwpt_alloc(&s, ioas, &hwpt), "IOMMU_HWPT_ALLOC for %s", bdf);
	vfio_attach_pt(&s, hwpt);
	mem = memfd_buf(2 * PAGE, &memfd);
	must(ioas_map_file(&s, ioas, memfd, 0, IOVA_A),
	     "IOMMU_IOAS_MAP_FILE of %s's A at iova 0x%llx", bdf, IOVA_A);
	must(ioas_map_file(&s, ioas, memfd, PAGE, IOVA_B),
	     "IOMMU_IOAS_MAP_FILE of %s's B at iova 0x%llx", bdf, IOVA_B);

	/* edu_bar is the first device's, for its DMA in flight: back after */
	edu_bar = vfio_map_bar0(s.devfd, &bar_size);
	vfio_pci_enable_master(s.devfd);
	check_dma("second_dma_before_preserve", mem, mem + PAGE, SEED_P,
		  SEED_R);
	if (memp) {
		*memp = mem;
	} else {
		munmap((void *)edu_bar, bar_size);
		edu_bar = bar1;
	}
	must(hwpt_mark(&s, hwpt, 0, 0, TOKEN_2),
	     "mark %s's HWPT %u with token 0x%llx", bdf, hwpt, TOKEN_2);

	session_fd = luo_session_create(luo_fd, LU_SESSION2);
	check_err("second_preserve_memfd_ok",
		  luo_preserve(session_fd, memfd, LU_TOKEN_MEMFD), 0,
		  "preserve %s's memfd in session '%s'", bdf, LU_SESSION2);
	check_err("second_preserve_iommufd_ok",
		  luo_preserve(session_fd, s.fd, LU_TOKEN_IOMMUFD), 0,
		  "preserve %s's iommufd in session '%s'", bdf, LU_SESSION2);
	check_err("second_preserve_device_ok",
		  luo_preserve(session_fd, s.devfd, LU_TOKEN_DEVICE), 0,
		  "preserve %s in session '%s'", bdf, LU_SESSION2);
	lu_result("edu2_hwpt_token", "0x%llx", TOKEN_2);
	return session_fd;
}

/* While it is preserved, the device stays on its HWPT. */
static void check_preserved_stays(struct session *s, uint32_t spare)
{
	check_err("reattach_preserved_refused", vfio_attach_pt_err(s, spare),
		  EBUSY, "attach the preserved device to unmarked HWPT %u",
		  spare);
	check_err("detach_preserved_refused", vfio_detach_pt_err(s), EBUSY,
		  "detach the preserved device from its HWPT");
}

/*
 * Stage 1: the device on a marked HWPT whose IOAS maps a memfd, a second
 * device on an unmarked HWPT; a session that is closed before the kexec
 * (cancel), then the session that is kept: the memfd, the iommufd and the
 * first device preserved in it, and CMD (the kexec) run with the session
 * open. A spare HWPT (own IOAS, unmarked, allocated first so that its id
 * is lower than the marked HWPT's) shows that the device may change HWPTs
 * after the cancel but not while it is preserved, and that no HWPT can be
 * marked while the iommufd is preserved. With @second_session, the second
 * device then moves to a second session of its own, kept open too. With
 * @msi, the first device's MSI is set up through VFIO before anything is
 * preserved, and left on across the kexec. With @nr_extra devices
 * @extra, each is attached to the marked HWPT as well after the cancelled
 * session and preserved after the first device, in the same session
 * (token LU_TOKEN_EXTRA + its index); if it is an edu device, it has DMA
 * of its own, in its part of A and B (extra_layout), checked before the
 * preserve and in flight across the kexec.
 */
static int lu_preserve_cmd(const char *bdf, bool cancel_only,
			   bool second_session, bool msi,
			   const char *const *extra, int nr_extra, char **cmd)
{
	char bdf_buf[NAME_MAX + 1], bdf2[NAME_MAX + 1], cdev[NAME_MAX + 1];
	int memfd, luo_fd, session_fd, session2_fd = -1, cancel_fd, dev2_fd;
	volatile void *extra_bar[MAX_EXTRA] = { NULL };
	int extra_fd[MAX_EXTRA];
	struct kept_edu x[MAX_EXTRA];
	char name[NAME_LEN];
	uint32_t hwpt, spare_ioas, spare_hwpt;
	unsigned long long t0;
	struct session s;
	size_t bar_size;
	uint8_t *mem;
	int err, i;

	if (!bdf) {
		pci_find_edu(bdf_buf, sizeof(bdf_buf));
		bdf = bdf_buf;
	}
	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	lu_result("edu_bdf", "%s", bdf);
	session_open(cdev, &s);
	spare_ioas = ioas_alloc(&s);
	must(hwpt_alloc(&s, spare_ioas, &spare_hwpt),
	     "IOMMU_HWPT_ALLOC for IOAS %u", spare_ioas);
	mem = attach_memfd_hwpt(&s, &memfd, &hwpt, &bar_size);
	check_dma("dma_before_preserve", mem, mem + PAGE, SEED_P, SEED_R);
	if (msi)
		check_msi("msi_before_preserve", s.devfd);
	must(hwpt_mark(&s, hwpt, 0, 0, TOKEN_1),
	     "mark HWPT %u with token 0x%llx", hwpt, TOKEN_1);
	dev2_fd = second_device(&s, memfd, bdf2);

	luo_fd = luo_open();

	/*
	 * Cancel: everything preserved in a session closed before kexec is
	 * unpreserved, so the same files can be preserved again.
	 */
	cancel_fd = luo_session_create(luo_fd, LU_CANCEL_SESSION);
	must(luo_preserve(cancel_fd, memfd, LU_TOKEN_MEMFD),
	     "preserve the memfd in session '%s'", LU_CANCEL_SESSION);
	must(luo_preserve(cancel_fd, s.fd, LU_TOKEN_IOMMUFD),
	     "preserve the iommufd in session '%s'", LU_CANCEL_SESSION);
	must(luo_preserve(cancel_fd, s.devfd, LU_TOKEN_DEVICE),
	     "preserve the device in session '%s'", LU_CANCEL_SESSION);
	check_trace("cancel_trace_pt_preserve", "iommu_lu_pt_preserve");
	check_trace("cancel_trace_hw_unit_preserve", "iommu_lu_hw_unit_preserve");
	check_trace("cancel_trace_device_preserve", "iommu_lu_device_preserve");
	close(cancel_fd);
	check_trace("cancel_trace_device_unpreserve",
		    "iommu_lu_device_unpreserve");
	check_trace("cancel_trace_pt_unpreserve", "iommu_lu_pt_unpreserve");
	check_attach_after_cancel(&s, hwpt, spare_hwpt);

	if (cancel_only) {
		/* Nothing is preserved: the next kernel boots as usual */
		close(luo_fd);
		if (nr_failed)
			return LU_EXIT_FAIL;
		exec_cmd(cmd);
	}

	/*
	 * The extra devices join the marked HWPT only now: if one is in the
	 * device's IOMMU group, the device could not have left the HWPT alone
	 * after the cancel.
	 */
	for (i = 0; i < nr_extra; i++) {
		x[i] = extra_edu(i, extra[i]);
		extra_fd[i] = extra_device_attach(&s, hwpt, &x[i]);
		if (pci_is_edu(extra[i]))
			extra_bar[i] = extra_edu_enable(extra_fd[i], &x[i], mem);
	}

	session_fd = luo_session_create(luo_fd, LU_SESSION);
	err = luo_preserve(session_fd, s.fd, LU_TOKEN_IOMMUFD);
	check_err("preserve_before_memfd_refused", err, ENOENT,
		  "preserve the iommufd before its memfd");
	err = luo_preserve(session_fd, memfd, LU_TOKEN_MEMFD);
	check_err("preserve_memfd_ok", err, 0, "preserve the memfd");
	err = luo_preserve(session_fd, s.devfd, LU_TOKEN_DEVICE);
	check_err("preserve_device_before_iommufd_refused", err, ENOENT,
		  "preserve the device before its iommufd");
	t0 = now_us();
	err = luo_preserve(session_fd, s.fd, LU_TOKEN_IOMMUFD);
	lu_result("preserve_iommufd_us", "%llu", now_us() - t0);
	check_err("preserve_iommufd_ok", err, 0,
		  "preserve the iommufd after a session was cancelled");
	check_marks_frozen(&s, hwpt, spare_hwpt);
	err = luo_preserve(session_fd, dev2_fd, LU_TOKEN_DEVICE2);
	check_err("preserve_device_unmarked_refused", err, EINVAL,
		  "preserve the second device, on an unmarked HWPT");
	t0 = now_us();
	err = luo_preserve(session_fd, s.devfd, LU_TOKEN_DEVICE);
	lu_result("preserve_device_us", "%llu", now_us() - t0);
	check_err("preserve_device_ok", err, 0, "preserve the device");
	for (i = 0; i < nr_extra; i++) {
		/* preserve_extra_device_ok, preserve_extra2_device_ok, ... */
		snprintf(name, sizeof(name), "preserve_%sdevice_ok",
			 x[i].prefix);
		check_err(name, luo_preserve(session_fd, extra_fd[i],
					     LU_TOKEN_EXTRA + i), 0,
			  "preserve %s, attached to marked HWPT %u too",
			  extra[i], hwpt);
	}
	check_preserved_stays(&s, spare_hwpt);
	lu_result("hwpt_token", "0x%llx", TOKEN_1);
	if (second_session) {
		/* It leaves this iommufd for one of its own */
		close(dev2_fd);
		session2_fd = preserve_second_session(luo_fd, bdf2, NULL);
	}
	close(luo_fd);
	if (nr_failed) {
		printf("lu-vfio: %d check(s) failed, not starting the kexec\n",
		       nr_failed);
		return LU_EXIT_FAIL;
	}

	for (i = 0; i < nr_extra; i++) {
		volatile void *bar = edu_bar;

		if (!extra_bar[i])
			continue;
		edu_bar = extra_bar[i];
		start_inflight_dma(mem, x[i].off);
		edu_bar = bar;
	}
	start_inflight_dma(mem, 0);
	/* CMD holds the sessions open until the kexec */
	keep_open(session_fd);
	if (session2_fd >= 0)
		keep_open(session2_fd);
	exec_cmd(cmd);
}

/*
 * preserve-session2: a second VMM in a process of its own. The edu device
 * @bdf (default: the second edu device) goes to session LU_SESSION2 as
 * with preserve --second-session, and its DMA is started as the first
 * device's is (pattern Q from A to B, not waited for); CMD runs with the
 * session open. CMD keeps it open until the first VMM's kexec, which
 * takes both sessions to the next kernel.
 */
static int lu_preserve_session2_cmd(const char *bdf, char **cmd)
{
	char bdf_buf[NAME_MAX + 1];
	int luo_fd, session_fd;
	uint8_t *mem;

	if (!bdf) {
		pci_find_edu_nth(2, bdf_buf, sizeof(bdf_buf));
		bdf = bdf_buf;
	}
	vfio_bind_pci(bdf);
	lu_result("edu2_bdf", "%s", bdf);
	/* LUO has one user at a time: closed before the first VMM opens it */
	luo_fd = luo_open();
	session_fd = preserve_second_session(luo_fd, bdf, &mem);
	close(luo_fd);
	if (nr_failed) {
		printf("lu-vfio: %d check(s) failed, not keeping session '%s'\n",
		       nr_failed, LU_SESSION2);
		return LU_EXIT_FAIL;
	}
	start_inflight_dma(mem, 0);
	keep_open(session_fd);
	exec_cmd(cmd);
}

/* Map BAR 0 of @bdf through sysfs: no driver, no reset, no IOMMU change */
static volatile void *sysfs_map_bar0(const char *bdf, size_t *size)
{
	char path[PATH_MAX];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s", path);
	if (fstat(fd, &st))
		lu_die("stat %s", path);
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		lu_die("mmap %s", path);
	close(fd);
	*size = st.st_size;
	return p;
}

/* The config space of @bdf in sysfs, opened with @flags */
static int sysfs_pci_config_open(const char *bdf, int flags)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/config", bdf);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s", path);
	return fd;
}

/* @len bytes at @off of the config space of @bdf, from sysfs, into @buf */
static void sysfs_pci_config_read(const char *bdf, unsigned int off,
				  void *buf, size_t len)
{
	int fd = sysfs_pci_config_open(bdf, O_RDONLY);

	if (pread(fd, buf, len, off) != (ssize_t)len)
		lu_die("read %zu byte(s) at 0x%x of the config space of %s",
		       len, off, bdf);
	close(fd);
}

/* The PCI command register of @bdf, from sysfs */
static uint16_t sysfs_pci_command(const char *bdf)
{
	uint16_t cmd;

	sysfs_pci_config_read(bdf, PCI_COMMAND, &cmd, sizeof(cmd));
	return cmd;
}

/*
 * Offset of capability @id in the config space of @bdf (sysfs), found by
 * walking the capability list; 0 if it has none.
 */
static uint8_t sysfs_pci_find_cap(const char *bdf, uint8_t id)
{
	uint8_t pos, cap[2];
	uint16_t status;
	int ttl;

	sysfs_pci_config_read(bdf, PCI_STATUS, &status, sizeof(status));
	if (!(status & PCI_STATUS_CAP_LIST))
		return 0;
	sysfs_pci_config_read(bdf, PCI_CAPABILITY_LIST, &pos, sizeof(pos));
	/* At most 48 capabilities fit after the header: no endless loop */
	for (ttl = 48; ttl && pos >= PCI_STD_HEADER_SIZEOF; ttl--) {
		pos &= ~3;
		sysfs_pci_config_read(bdf, pos, cap, sizeof(cap));
		if (cap[PCI_CAP_LIST_ID] == id)
			return pos;
		pos = cap[PCI_CAP_LIST_NEXT];
	}
	return 0;
}

/* Remove @bdf from its PCI bus and have it found again by a rescan */
static void pci_remove_rescan(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/remove", bdf);
	if (sysfs_write(path, "1"))
		lu_die("write %s", path);
	if (sysfs_write(PCI_RESCAN, "1"))
		lu_die("write %s", PCI_RESCAN);
	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s", bdf);
	if (access(path, F_OK))
		lu_die("%s after the rescan", path);
	printf("lu-vfio: %s removed and found again by a rescan\n", bdf);
}

/* The first line of the sysfs attribute @attr of @bdf, in @buf */
static void sysfs_pci_attr(const char *bdf, const char *attr, char *buf,
			   size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/%s", bdf, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s", path);
	n = read(fd, buf, size - 1);
	if (n < 0)
		lu_die("read %s", path);
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * LU-CHECK @name: the PCI power state of @bdf (sysfs power_state: the
 * state the PCI core last put it in) is @want, "D0" or "D3hot", or becomes
 * it within @wait_ms; @what says in which situation. LU-RESULT @key: the
 * power state and the runtime PM status seen last, e.g. "D3hot suspended".
 */
static void check_power_state(const char *name, const char *key,
			      const char *bdf, const char *want, int wait_ms,
			      const char *what)
{
	char state[32], status[32];
	int waited = 0;

	for (;;) {
		sysfs_pci_attr(bdf, "power_state", state, sizeof(state));
		if (!strcmp(state, want) || waited >= wait_ms)
			break;
		usleep(POWER_POLL_MS * 1000);
		waited += POWER_POLL_MS;
	}
	sysfs_pci_attr(bdf, "power/runtime_status", status, sizeof(status));
	lu_result(key, "%s %s", state, status);
	nr_failed += !lu_check(name, !strcmp(state, want),
			       "%s, %s: power state %s (runtime PM %s), "
			       "expected %s (waited %d ms for it)", bdf, what,
			       state, status, want, waited);
}

/*
 * Write the PCI command register of @bdf through sysfs (no driver needed);
 * its memory and bus master bits must stick.
 */
static void sysfs_pci_set_command(const char *bdf, uint16_t cmd)
{
	int fd = sysfs_pci_config_open(bdf, O_WRONLY);
	uint16_t got;

	if (pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND) != sizeof(cmd))
		lu_die("write 0x%04x to the command register of %s", cmd, bdf);
	close(fd);
	got = sysfs_pci_command(bdf);
	if ((got ^ cmd) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
		lu_diex("command register of %s is 0x%04x after writing 0x%04x",
			bdf, got, cmd);
}

/*
 * DMA of @bdf with no user (no driver, BAR 0 through sysfs) to the IOVAs
 * it used before the kexec: A to the device, the device to B. Whatever
 * translates them now must block both, which only the kernel log shows (a
 * DMAR fault for each IOVA): "LU-RESULT <prefix>_read_iova" and
 * "<prefix>_write_iova" say which. Bus mastering is set for the transfers
 * and cleared after, so that only the IOMMU can stop them; check
 * <prefix>_issued says the device ran both.
 */
static void dma_unowned_blocked(const char *bdf, const char *prefix)
{
	uint16_t cmd = sysfs_pci_command(bdf);
	char key[64], name[64], probe[160] = "";
	int ret_to, ret_from, ret_p = 0;
	size_t bar_size;

	snprintf(key, sizeof(key), "%s_command", prefix);
	lu_result(key, "0x%04x", cmd);
	sysfs_pci_set_command(bdf, cmd | PCI_COMMAND_MEMORY |
			      PCI_COMMAND_MASTER);
	edu_bar = sysfs_map_bar0(bdf, &bar_size);

	dmar_fault_pace();
	ret_to = edu_dma_xfer(EDU_DMA_TO_DEVICE, IOVA_A, XFER_LEN);
	snprintf(key, sizeof(key), "%s_read_iova", prefix);
	lu_result(key, "0x%llx", IOVA_A);
	dmar_fault_pace();
	ret_from = edu_dma_xfer(EDU_DMA_FROM_DEVICE, IOVA_B, XFER_LEN);
	snprintf(key, sizeof(key), "%s_write_iova", prefix);
	lu_result(key, "0x%llx", IOVA_B);
	if (no_fault_log())
		ret_p = untranslated_probe(probe, sizeof(probe));
	snprintf(name, sizeof(name), "%s_issued", prefix);
	nr_failed += !lu_check(name, !ret_to && !ret_from && !ret_p,
			       "%s, bus mastering on: iova 0x%llx to device: "
			       "%s, device to iova 0x%llx: %s (the kernel must "
			       "log a DMAR fault for each)%s%s", bdf, IOVA_A,
			       ret_to ? "DMA error" : "completed", IOVA_B,
			       ret_from ? "DMA error" : "completed",
			       *probe ? "; " : "", probe);

	munmap((void *)edu_bar, bar_size);
	sysfs_pci_set_command(bdf, (cmd | PCI_COMMAND_MEMORY) &
			      ~PCI_COMMAND_MASTER);
}

/*
 * Stage 2, before the preserved device @bdf is retrieved: the kexec kept
 * its DMA going but quiesced its interrupts, which MSI had on. edu's MSI
 * cannot mask its vector, so MSI must be off now, and INTx disabled. An
 * interrupt it raises (BAR 0 through sysfs, no driver; held for
 * IRQ_HOLD_MS) must then go nowhere: the kernel must log no interrupt
 * remapping fault and no unhandled interrupt, which the test reads in the
 * log; check irq_raised_quiesced says the device raised it.
 */
static void check_irqs_quiesced(const char *bdf)
{
	uint8_t msi = sysfs_pci_find_cap(bdf, PCI_CAP_ID_MSI);
	uint16_t cmd = sysfs_pci_command(bdf), flags = 0;
	size_t bar_size;
	uint32_t status;

	if (msi)
		sysfs_pci_config_read(bdf, msi + PCI_MSI_FLAGS, &flags,
				      sizeof(flags));
	nr_failed += !lu_check("msi_off_after_kexec",
			       msi && !(flags & PCI_MSI_FLAGS_ENABLE),
			       "%s MSI capability at 0x%02x, message control "
			       "0x%04x", bdf, msi, flags);
	nr_failed += !lu_check("intx_off_after_kexec",
			       cmd & PCI_COMMAND_INTX_DISABLE,
			       "%s command 0x%04x", bdf, cmd);

	edu_bar = sysfs_map_bar0(bdf, &bar_size);
	edu_write32(edu_bar, EDU_REG_IRQ_RAISE, IRQ_BIT);
	status = edu_read32(edu_bar, EDU_REG_IRQ_STATUS);
	usleep(IRQ_HOLD_MS * 1000);
	edu_write32(edu_bar, EDU_REG_IRQ_ACK, IRQ_BIT);
	nr_failed += !lu_check("irq_raised_quiesced", status & IRQ_BIT,
			       "%s, no driver: interrupt raised for %d ms, "
			       "status 0x%x (the kernel must log no interrupt "
			       "remapping fault and no unhandled interrupt)",
			       bdf, IRQ_HOLD_MS, status);
	munmap((void *)edu_bar, bar_size);
}

/* Stage 2: the DMA that @e started before the kexec landed in B */
static void check_inflight_landed(uint8_t *mem, const struct kept_edu *e)
{
	uint8_t *b = mem + PAGE + e->off;
	size_t match = pattern_count(b, XFER_LEN, SEED_Q);
	char name[NAME_LEN];

	nr_failed += !lu_check(kept_name(name, e, "inflight_dma_landed"),
			       match == XFER_LEN, "%s: B holds %s (%zu/%u "
			       "bytes of the DMA started before the kexec)",
			       e->bdf, describe(b, XFER_LEN), match, XFER_LEN);
}

/* The device @bdf that was not preserved lost its bus mastering at the kexec */
static void check_control_cleared(const char *bdf)
{
	uint16_t cmd = sysfs_pci_command(bdf);

	nr_failed += !lu_check("bus_master_cleared_unpreserved",
			       !(cmd & PCI_COMMAND_MASTER),
			       "%s command 0x%04x", bdf, cmd);
}

/*
 * Stage 2, before anything attaches the preserved device @e again: it
 * still translates through the page table preserved for it, with bus
 * mastering kept. New DMA to the same IOVAs works without a map call; an
 * IOVA that was never mapped is blocked (the kernel logs the fault).
 */
static void check_dma_after_update(uint8_t *mem, const struct kept_edu *e)
{
	uint16_t cmd = sysfs_pci_command(e->bdf);
	char name[NAME_LEN], key[NAME_LEN];
	uint8_t *b = mem + PAGE + e->off;
	int ret_to, ret_from;
	size_t bar_size, match;

	nr_failed += !lu_check(kept_name(name, e, "bus_master_kept"),
			       cmd & PCI_COMMAND_MASTER, "%s command 0x%04x",
			       e->bdf, cmd);

	edu_bar = sysfs_map_bar0(e->bdf, &bar_size);
	pattern_fill(mem + e->off, XFER_LEN, SEED_R);
	pattern_fill(b, XFER_LEN, SEED_S);
	ret_to = edu_dma_xfer(EDU_DMA_TO_DEVICE, IOVA_A + e->off, XFER_LEN);
	ret_from = edu_dma_xfer(EDU_DMA_FROM_DEVICE, IOVA_B + e->off,
				XFER_LEN);
	match = pattern_count(b, XFER_LEN, SEED_R);
	nr_failed += !lu_check(kept_name(name, e, "dma_after_update_no_map"),
			       !ret_to && !ret_from && match == XFER_LEN,
			       "%s: A to device, device to B through the "
			       "preserved table: B holds %s (%zu/%u bytes match "
			       "A)", e->bdf, describe(b, XFER_LEN), match,
			       XFER_LEN);

	/* Never mapped: the write must fault, not land anywhere */
	check_dma_unmapped(kept_name(name, e, "dma_to_unmapped_issued"),
			   kept_name(key, e, "blocked_dma_iova"),
			   EDU_DMA_FROM_DEVICE, IOVA_FREE + e->gap);
	munmap((void *)edu_bar, bar_size);
}

/* Run CMD as a child and wait for it; it must succeed */
static void run_cmd(char **cmd)
{
	int status = lu_spawn_wait(cmd);

	if (!WIFEXITED(status) || WEXITSTATUS(status))
		lu_diex("%s failed (status 0x%x)", cmd[0], status);
}

/*
 * Stage 2, the retrieved device just attached to its restored HWPT: run the
 * shell command LU_AFTER_ATTACH, if set, for a scenario to look at the
 * IOMMU while the device is attached (lib/lu.sh lu_amdvi_regs).
 */
static void after_attach_hook(void)
{
	char *cmd[] = { "/bin/sh", "-c", getenv("LU_AFTER_ATTACH"), NULL };

	if (cmd[2])
		run_cmd(cmd);
}

/*
 * Stage 2: the retrieved device @e, attached to the restored HWPT, its BAR
 * 0 in edu_bar: DMA to the same IOVAs works with no map call, and a never
 * mapped IOVA stays blocked (the kernel logs the fault).
 */
static void check_dma_restored(uint8_t *mem, const struct kept_edu *e)
{
	char name[NAME_LEN], key[NAME_LEN];
	uint8_t *b = mem + PAGE + e->off;
	int ret_to, ret_from;
	size_t match;

	pattern_fill(mem + e->off, XFER_LEN, SEED_P);
	pattern_fill(b, XFER_LEN, SEED_R);
	ret_to = edu_dma_xfer(EDU_DMA_TO_DEVICE, IOVA_A + e->off, XFER_LEN);
	ret_from = edu_dma_xfer(EDU_DMA_FROM_DEVICE, IOVA_B + e->off,
				XFER_LEN);
	match = pattern_count(b, XFER_LEN, SEED_P);
	nr_failed += !lu_check(kept_name(name, e, "dma_restored_hwpt"),
			       !ret_to && !ret_from && match == XFER_LEN,
			       "%s, retrieved, on the restored HWPT, no map "
			       "call: B holds %s (%zu/%u bytes match A)", e->bdf,
			       describe(b, XFER_LEN), match, XFER_LEN);
	/* Never mapped: blocked on the restored HWPT too (DMAR fault) */
	check_dma_unmapped(kept_name(name, e, "dma_unmapped_after_attach_issued"),
			   kept_name(key, e, "blocked_dma_iova_attached"),
			   EDU_DMA_FROM_DEVICE, IOVA_COPY + e->gap);
}

/* Bind the retrieved device to the retrieved iommufd: 0 or an errno */
static int check_device_bind(struct session *s)
{
	int err = vfio_bind(s->devfd, s->fd, &s->devid);

	check_err("device_bind_ok", err, 0,
		  "bind the retrieved device to the retrieved iommufd");
	return err;
}

/*
 * Stage 2: the iommufd, with the restored HWPT found by its token @token,
 * and the device, bound to vfio-pci first, come back from the session; the
 * device binds to the iommufd and attaches to the HWPT, and DMA to the same
 * IOVAs works with no map call while a never mapped IOVA stays blocked.
 * With @keep, the device and the iommufd stay open in @keep, and the ids of
 * the restored HWPT and its IOAS go to @ids_out (@keep's devfd is left as
 * it was if a check failed on the way).
 */
static void check_restored_device(int session_fd, int memfd, uint8_t *mem,
				  const char *bdf, uint64_t token,
				  struct session *keep,
				  struct iommu_hwpt_lu_get_id *ids_out)
{
	struct iommu_hwpt_lu_get_id get = {
		.size = sizeof(get),
	};
	const struct kept_edu e = { .bdf = bdf, .prefix = "" };
	int fd, fd2, err;
	struct session s;
	size_t bar_size;
	uint32_t devid;

	vfio_bind_pci(bdf);

	fd = luo_retrieve(session_fd, 0x5a5a);
	check_err("retrieve_unknown_token_refused", fd < 0 ? -fd : 0, ENOENT,
		  "retrieve token 0x5a5a, never preserved");

	s.fd = luo_retrieve(session_fd, LU_TOKEN_IOMMUFD);
	check_err("iommufd_retrieved", s.fd < 0 ? -s.fd : 0, 0,
		  "retrieve the iommufd");
	if (s.fd < 0)
		return;
	/* LUO hands out the same file again */
	fd2 = luo_retrieve(session_fd, LU_TOKEN_IOMMUFD);
	check_err("iommufd_second_retrieve_same", fd2 < 0 ? -fd2 : 0, 0,
		  "retrieve the iommufd again");
	if (fd2 >= 0)
		close(fd2);

	get.hwpt_token = 0x5a5a;
	err = ioctl_err(s.fd, IOMMU_HWPT_LU_GET_ID, &get);
	check_err("get_id_unknown_refused", err, ENOENT,
		  "IOMMU_HWPT_LU_GET_ID of token 0x5a5a");
	get.hwpt_token = token;
	err = ioctl_err(s.fd, IOMMU_HWPT_LU_GET_ID, &get);
	check_err("get_id_ok", err, 0, "IOMMU_HWPT_LU_GET_ID of token 0x%" PRIx64,
		  token);
	if (err)
		return;
	lu_result("restored_hwpt", "%u", get.out_hwpt_id);

	s.devfd = luo_retrieve(session_fd, LU_TOKEN_DEVICE);
	check_err("device_retrieved", s.devfd < 0 ? -s.devfd : 0, 0,
		  "retrieve the device");
	if (s.devfd < 0)
		return;

	/* Only the iommufd that holds its restored HWPT may take it */
	fd = open(IOMMUFD_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s", IOMMUFD_DEV);
	err = vfio_bind(s.devfd, fd, &devid);
	check_err("bind_new_iommufd_refused", err, EBUSY,
		  "bind the retrieved device to a new iommufd");
	close(fd);

	if (check_device_bind(&s))
		return;
	vfio_attach_pt(&s, get.out_hwpt_id);
	after_attach_hook();

	err = ioas_map_file(&s, get.out_ioas_id, memfd, 0, IOVA_FREE);
	check_err("restored_ioas_immutable", err, EBUSY,
		  "IOMMU_IOAS_MAP_FILE into the restored HWPT's IOAS");
	err = obj_destroy(&s, get.out_hwpt_id);
	check_err("restored_hwpt_destroy_busy", err, EBUSY,
		  "IOMMU_DESTROY of the restored HWPT with the device attached");

	edu_bar = vfio_map_bar0(s.devfd, &bar_size);
	check_dma_restored(mem, &e);
	if (keep) {
		/* For the next update; BAR 0 stays mapped in edu_bar */
		*keep = s;
		*ids_out = get;
		return;
	}
	munmap((void *)edu_bar, bar_size);
	session_close(&s);
}

/*
 * After a live update, the next one: the restored HWPT is marked again and
 * the memfd, the iommufd and the device are preserved in session @name,
 * DMA is started, and CMD (the kexec) runs with the session open.
 */
static int lu_preserve_again(struct session *s, uint32_t hwpt, int memfd,
			     uint8_t *mem, const char *name, char **cmd)
{
	int luo_fd, session_fd, err;

	err = hwpt_mark(s, hwpt, 0, 0, TOKEN_1);
	check_err("remark_restored_hwpt_ok", err, 0,
		  "mark the restored HWPT %u with token 0x%llx", hwpt, TOKEN_1);
	luo_fd = luo_open();
	session_fd = luo_session_create(luo_fd, name);
	err = luo_preserve(session_fd, memfd, LU_TOKEN_MEMFD);
	check_err("again_preserve_memfd_ok", err, 0, "preserve the memfd");
	err = luo_preserve(session_fd, s->fd, LU_TOKEN_IOMMUFD);
	check_err("again_preserve_iommufd_ok", err, 0, "preserve the iommufd");
	err = luo_preserve(session_fd, s->devfd, LU_TOKEN_DEVICE);
	check_err("again_preserve_device_ok", err, 0, "preserve the device");
	close(luo_fd);
	if (nr_failed) {
		printf("lu-vfio: %d check(s) failed, not starting the kexec\n",
		       nr_failed);
		return LU_EXIT_FAIL;
	}
	start_inflight_dma(mem, 0);
	keep_open(session_fd);
	exec_cmd(cmd);
}

/* LU-RESULT @key: the name of error number @err, "0" for none */
static void result_errno(const char *key, int err)
{
	const char *name = err ? strerrorname_np(err) : "0";

	lu_result(key, "%s", name ? name : "unknown");
}

/* 0 if every check passed, else 1, saying how many failed */
static int exit_status(void)
{
	if (!nr_failed)
		return LU_EXIT_PASS;
	printf("lu-vfio: %d check(s) failed\n", nr_failed);
	return LU_EXIT_FAIL;
}

/*
 * Stage 2, misuse: the restored HWPT is destroyed before its device was
 * attached again, which must be refused (EBUSY): its IOAS holds the memory
 * its page table maps, and the device, which nobody attached yet, still
 * translates through that table. DMA through it still works. With
 * @after_bind, the device is retrieved and bound to the iommufd first, not
 * attached. The error number goes to LU-RESULT destroy_early_errno
 * (destroy_after_bind_errno with @after_bind).
 */
static int lu_destroy_early_cmd(bool after_bind)
{
	struct iommu_hwpt_lu_get_id get = {
		.size = sizeof(get),
	};
	struct session s = { .devfd = -1 };
	int luo_fd, session_fd, memfd, err;
	const char *dma_check;
	char bdf[NAME_MAX + 1];
	size_t bar_size;
	uint8_t *mem;

	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, LU_SESSION);
	mem = luo_retrieve_mem(session_fd, &memfd);
	s.fd = luo_retrieve_must(session_fd, LU_TOKEN_IOMMUFD, "the iommufd");
	get.hwpt_token = TOKEN_1;
	if (ioctl(s.fd, IOMMU_HWPT_LU_GET_ID, &get))
		lu_die("IOMMU_HWPT_LU_GET_ID");
	pci_find_edu_nth(1, bdf, sizeof(bdf));

	if (after_bind) {
		vfio_bind_pci(bdf);
		s.devfd = luo_retrieve_must(session_fd, LU_TOKEN_DEVICE,
					    "the device");
		if (check_device_bind(&s))
			return exit_status();
	}
	err = obj_destroy(&s, get.out_hwpt_id);
	result_errno(after_bind ? "destroy_after_bind_errno" :
				  "destroy_early_errno", err);
	if (after_bind) {
		check_err("restored_hwpt_destroy_after_bind", err, EBUSY,
			  "IOMMU_DESTROY of the restored HWPT, its device bound "
			  "but not attached");
		dma_check = "dma_after_destroy_after_bind";
	} else {
		check_err("restored_hwpt_destroy_early_busy", err, EBUSY,
			  "IOMMU_DESTROY of the restored HWPT, its device not "
			  "retrieved");
		dma_check = "dma_after_early_destroy";
	}

	/* The page table is still there: the data lands */
	edu_bar = sysfs_map_bar0(bdf, &bar_size);
	check_dma(dma_check, mem, mem + PAGE, SEED_R, SEED_S);
	munmap((void *)edu_bar, bar_size);

	err = luo_finish(session_fd);
	check_err("session_finish_ok", err, 0, "finish session '%s'",
		  LU_SESSION);
	if (s.devfd >= 0)
		close(s.devfd);
	close(s.fd);
	munmap(mem, 2 * PAGE);
	close(memfd);
	close(session_fd);
	close(luo_fd);
	return exit_status();
}

/*
 * Stage 2, misuse: the session is finished with nothing retrieved from it.
 * Its user did not take the preserved device back, so FINISH must block
 * and release it: bus mastering cleared, and the IOMMU blocking the IOVAs
 * the preserved table mapped, which DMA with bus mastering set again shows
 * (the kernel logs a DMAR fault for each).
 */
static int lu_finish_unretrieved_cmd(void)
{
	int luo_fd, session_fd, err;
	char bdf[NAME_MAX + 1];
	uint16_t cmd;

	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, LU_SESSION);
	err = luo_finish(session_fd);
	check_err("finish_unretrieved_ok", err, 0,
		  "finish session '%s' with nothing retrieved", LU_SESSION);

	pci_find_edu_nth(1, bdf, sizeof(bdf));
	lu_result("finish_edu_bdf", "%s", bdf);
	cmd = sysfs_pci_command(bdf);
	nr_failed += !lu_check("bus_master_cleared_at_finish",
			       !(cmd & PCI_COMMAND_MASTER),
			       "%s command 0x%04x", bdf, cmd);
	dma_unowned_blocked(bdf, "finish_blocked");

	close(session_fd);
	close(luo_fd);
	return exit_status();
}

/*
 * Stage 2, the next kernel did not take the preserved state (refused as a
 * whole, or its unit's part): nothing restores the preserved device's
 * table, so the IOVAs it mapped must be blocked.
 */
static int lu_dma_sysfs_cmd(const char *bdf)
{
	char bdf_buf[NAME_MAX + 1];

	if (!bdf) {
		pci_find_edu(bdf_buf, sizeof(bdf_buf));
		bdf = bdf_buf;
	}
	lu_result("offdma_bdf", "%s", bdf);
	dma_unowned_blocked(bdf, "offdma");
	return exit_status();
}

/*
 * The untranslated-DMA probe alone, of @bdf with no driver (BAR 0 through
 * sysfs, bus mastering set for it): check untranslated_probe_blocked. The
 * control of the probe: where the IOMMU passes the device's DMA through
 * untranslated (iommu.passthrough=1), the check must fail.
 */
static int lu_probe_sysfs_cmd(const char *bdf)
{
	char bdf_buf[NAME_MAX + 1], probe[160];
	uint16_t cmd;
	size_t bar_size;
	int ret;

	if (!bdf) {
		pci_find_edu(bdf_buf, sizeof(bdf_buf));
		bdf = bdf_buf;
	}
	cmd = sysfs_pci_command(bdf);
	sysfs_pci_set_command(bdf, cmd | PCI_COMMAND_MEMORY |
			      PCI_COMMAND_MASTER);
	edu_bar = sysfs_map_bar0(bdf, &bar_size);
	ret = untranslated_probe(probe, sizeof(probe));
	nr_failed += !lu_check("untranslated_probe_blocked", !ret, "%s: %s", bdf,
			       probe);
	munmap((void *)edu_bar, bar_size);
	sysfs_pci_set_command(bdf, cmd);
	return exit_status();
}

/*
 * Stage 2 after a kexec in which the first device's context entry was
 * refused and the second device, preserved in a session of its own
 * (preserve --second-session), was kept. The first device's DMA to the
 * IOVAs of its preserved table faults; its session gives the iommufd back,
 * without the HWPT, whose domain was not restored, and finishes. The
 * second session is retrieved as after any live update: its device works
 * through its restored HWPT.
 */
static int lu_retrieve_refused_cmd(void)
{
	struct iommu_hwpt_lu_get_id get = {
		.size = sizeof(get),
		.hwpt_token = TOKEN_1,
	};
	char bdf[NAME_MAX + 1], bdf2[NAME_MAX + 1];
	int luo_fd, session_fd, iommufd, memfd, err;
	uint8_t *mem;

	pci_find_edu_nth(1, bdf, sizeof(bdf));
	pci_find_edu_nth(2, bdf2, sizeof(bdf2));
	lu_result("refused_bdf", "%s", bdf);
	dma_unowned_blocked(bdf, "refused");

	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, LU_SESSION);
	iommufd = luo_retrieve(session_fd, LU_TOKEN_IOMMUFD);
	check_err("refused_iommufd_retrieved", iommufd < 0 ? -iommufd : 0, 0,
		  "retrieve the iommufd of session '%s'", LU_SESSION);
	if (iommufd >= 0) {
		err = ioctl_err(iommufd, IOMMU_HWPT_LU_GET_ID, &get);
		check_err("refused_get_id_absent", err, ENOENT,
			  "IOMMU_HWPT_LU_GET_ID of token 0x%llx, its device "
			  "refused", TOKEN_1);
	}
	check_err("refused_session_finish_ok", luo_finish(session_fd), 0,
		  "finish session '%s'", LU_SESSION);
	if (iommufd >= 0)
		close(iommufd);
	close(session_fd);

	session_fd = luo_session_retrieve(luo_fd, LU_SESSION2);
	mem = luo_retrieve_mem(session_fd, &memfd);
	check_restored_device(session_fd, memfd, mem, bdf2, TOKEN_2, NULL,
			      NULL);
	check_err("session_finish_ok", luo_finish(session_fd), 0,
		  "finish session '%s'", LU_SESSION2);
	munmap(mem, 2 * PAGE);
	close(memfd);
	close(session_fd);
	close(luo_fd);
	return exit_status();
}

/*
 * The device @bdf of session @session_fd (its memfd @memfd, mapped at @mem)
 * is taken back by its user and leaves the restored HWPT: retrieved,
 * bound to the retrieved iommufd and attached to the restored HWPT, it is
 * attached to an HWPT of its own, whose IOAS maps the memfd at IOVA_OWN,
 * which the restored table does not map, and its DMA goes through it. The
 * restored HWPT, which no device uses now, is destroyed: that frees the
 * restored domain. The device fd and the iommufd are closed; the session
 * holds their files until it finishes.
 */
static void move_restored_device(int session_fd, int memfd, uint8_t *mem,
				 const char *bdf)
{
	struct iommu_hwpt_lu_get_id get = {
		.size = sizeof(get),
		.hwpt_token = TOKEN_1,
	};
	uint32_t ioas, hwpt;
	struct session s;
	size_t bar_size;

	s.fd = luo_retrieve_must(session_fd, LU_TOKEN_IOMMUFD, "the iommufd");
	if (ioctl(s.fd, IOMMU_HWPT_LU_GET_ID, &get))
		lu_die("IOMMU_HWPT_LU_GET_ID");
	vfio_bind_pci(bdf);
	s.devfd = luo_retrieve_must(session_fd, LU_TOKEN_DEVICE, "the device");
	if (check_device_bind(&s)) {
		session_close(&s);
		return;
	}
	vfio_attach_pt(&s, get.out_hwpt_id);

	ioas = ioas_alloc(&s);
	must(ioas_map_file(&s, ioas, memfd, 0, IOVA_OWN),
	     "IOMMU_IOAS_MAP_FILE of A at iova 0x%llx", IOVA_OWN);
	must(ioas_map_file(&s, ioas, memfd, PAGE, IOVA_OWN + PAGE),
	     "IOMMU_IOAS_MAP_FILE of B at iova 0x%llx", IOVA_OWN + PAGE);
	must(hwpt_alloc(&s, ioas, &hwpt), "IOMMU_HWPT_ALLOC for IOAS %u", ioas);
	vfio_attach_pt(&s, hwpt);
	edu_bar = vfio_map_bar0(s.devfd, &bar_size);
	check_dma_at("moved_dma_own_hwpt", IOVA_OWN, mem, mem + PAGE, SEED_P,
		     SEED_R);
	munmap((void *)edu_bar, bar_size);

	check_err("moved_restored_hwpt_destroy_ok",
		  obj_destroy(&s, get.out_hwpt_id), 0,
		  "IOMMU_DESTROY of the restored HWPT %u, its device moved to "
		  "HWPT %u", get.out_hwpt_id, hwpt);
	session_close(&s);
}

/*
 * Stage 2 after preserve --second-session: each device is removed from
 * the PCI bus and found again by a rescan while the live update is not
 * finished. The second device, kept for its session, not retrieved, is
 * blocked when it is removed: after the rescan, its DMA to the IOVAs of
 * its preserved table faults. The first device is taken back by its
 * session and moved to an HWPT of its own, and the restored HWPT
 * destroyed; it is removed once its session finished (the session holds
 * the retrieved device's file until then, which keeps vfio-pci from
 * letting it go), while the second session still holds the incoming
 * state. Neither device may be restored again when it is probed again:
 * the test counts the kernel's restore lines. The second session then
 * finishes.
 */
static int lu_rescan_cmd(void)
{
	char bdf[NAME_MAX + 1], bdf2[NAME_MAX + 1];
	int luo_fd, session_fd, memfd;
	uint8_t *mem;

	pci_find_edu_nth(1, bdf, sizeof(bdf));
	pci_find_edu_nth(2, bdf2, sizeof(bdf2));
	pci_remove_rescan(bdf2);
	lu_result("rescan_kept_bdf", "%s", bdf2);
	dma_unowned_blocked(bdf2, "rescan_kept");

	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, LU_SESSION);
	mem = luo_retrieve_mem(session_fd, &memfd);
	move_restored_device(session_fd, memfd, mem, bdf);
	check_err("session_finish_ok", luo_finish(session_fd), 0,
		  "finish session '%s'", LU_SESSION);
	munmap(mem, 2 * PAGE);
	close(memfd);
	close(session_fd);
	pci_remove_rescan(bdf);
	lu_result("rescan_moved_bdf", "%s", bdf);

	session_fd = luo_session_retrieve(luo_fd, LU_SESSION2);
	check_err("kept_session_finish_ok", luo_finish(session_fd), 0,
		  "finish session '%s', its device removed before it was "
		  "retrieved", LU_SESSION2);
	close(session_fd);
	close(luo_fd);
	return exit_status();
}

/*
 * Stage 2, retrieve --extra-device, before anything is retrieved: as a
 * host does before its VMM retrieves the preserved devices, the edu
 * device @edu, the preserved device @extra and the device @control, not
 * preserved, are bound to vfio-pci, and left idle for IDLE_MS without
 * being opened. vfio-pci suspends an idle device (D3hot): @control must
 * be suspended, which shows that runtime PM works here; @extra, which the
 * update keeps doing DMA for its VM, must stay in D0.
 */
static void check_idle_power(const char *edu, const char *extra,
			     const char *control)
{
	char what[128];

	vfio_bind_pci(edu);
	vfio_bind_pci(extra);
	vfio_bind_pci(control);
	usleep(IDLE_MS * 1000);
	snprintf(what, sizeof(what), "on vfio-pci for %d ms, not opened",
		 IDLE_MS);
	check_power_state("control_idle_suspended", "control_idle_power",
			  control, "D3hot", 0, what);
	check_power_state("preserved_idle_d0", "preserved_idle_power", extra,
			  "D0", 0, what);
}

/*
 * Stage 2, retrieve --extra-device: the preserved extra device @i, @e,
 * bound to vfio-pci, comes back from session @session_fd, binds to the
 * retrieved iommufd of @kept and attaches to the restored HWPT @hwpt, as
 * the edu device did (checks <prefix>device_...); with @power, opened, it
 * must be in D0. Returns its device fd, or -1 if it was not retrieved.
 */
static int retrieve_extra_device(int session_fd, const struct session *kept,
				 uint32_t hwpt, int i, const struct kept_edu *e,
				 bool power)
{
	struct session x = { .fd = kept->fd };
	const char *bdf = e->bdf;
	char name[NAME_LEN];
	int err;

	vfio_bind_pci(bdf);
	x.devfd = luo_retrieve(session_fd, LU_TOKEN_EXTRA + i);
	check_err(kept_name(name, e, "device_retrieved"),
		  x.devfd < 0 ? -x.devfd : 0, 0, "retrieve %s", bdf);
	if (x.devfd < 0)
		return -1;
	err = vfio_bind(x.devfd, x.fd, &x.devid);
	check_err(kept_name(name, e, "device_bind_ok"), err, 0,
		  "bind %s to the retrieved iommufd", bdf);
	if (!err)
		check_err(kept_name(name, e, "device_attach_ok"),
			  vfio_attach_pt_err(&x, hwpt), 0,
			  "attach %s to the restored HWPT %u", bdf, hwpt);
	if (power)
		check_power_state("preserved_retrieved_d0",
				  "preserved_retrieved_power", bdf, "D0", 0,
				  "retrieved and opened");
	return x.devfd;
}

/* ----------------------------------------------------------------------- */
/* retrieve --hitless-replace: the restored HWPT replaced with DMA running  */

#define REPLACE_WINDOW_MS	2000	/* of replaces, DMA running */
#define DMAR_RATELIMIT_MS	5500	/* dmar_fault()'s log limit: 5 s */
#define LOOP_WAIT_MS		5000	/* for a round of the DMA loop */
#define FREED_WAIT_MS		1000	/* for freed table pages to count */
#define IOVA_C			0x600000ULL	/* page C: the other IOAS only */
#define IOVA_D			0x700000ULL	/* page D: the restored IOAS only */
#define VMSTAT_FILE		"/proc/vmstat"
#define STAT_REFRESH_FILE	"/proc/sys/vm/stat_refresh"
#define KMSG_FILE		"/dev/kmsg"

/* The DMA loop's pattern of round @n: none of the SEED_ ones */
#define LOOP_SEED(n)		((uint8_t)(0xd0 + 2 * ((n) % 23)))

/* nr_iommu_pages of /proc/vmstat, the per-CPU counts folded in first */
static long iommu_pages(void)
{
	char line[128];
	long pages = -1;
	FILE *f;

	if (sysfs_write(STAT_REFRESH_FILE, "1"))
		lu_die("write 1 to %s", STAT_REFRESH_FILE);
	f = fopen(VMSTAT_FILE, "r");
	if (!f)
		lu_die("open %s", VMSTAT_FILE);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nr_iommu_pages %ld", &pages) == 1)
			break;
	fclose(f);
	if (pages < 0)
		lu_diex("no nr_iommu_pages in %s", VMSTAT_FILE);
	return pages;
}

/*
 * The table pages of the HWPT restored with @token, from the kernel's log
 * line "iommufd: restored HWPT 0x<token>: domain N, format F, L levels,
 * P table pages, ...": P, or -1 if there is no such line.
 */
static long restored_table_pages(uint64_t token)
{
	char rec[8192], key[64], *p;
	long pages = -1;
	ssize_t n;
	int fd;

	snprintf(key, sizeof(key), "iommufd: restored HWPT %#" PRIx64 ": ",
		 token);
	fd = open(KMSG_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s", KMSG_FILE);
	/* One record a read; EPIPE: records overwritten, read on */
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		p = strstr(rec, key);
		p = p ? strstr(p, " levels, ") : NULL;
		if (p)
			sscanf(p, " levels, %ld table pages", &pages);
	}
	close(fd);
	return pages;
}

/*
 * The device's DMA in a loop while the VMM replaces its HWPT: round after
 * round, it copies A (at @iova) into its buffer and out to B (the next
 * page), each round with a pattern of its own, B filled with another
 * first, until @stop. A transfer that faulted leaves the device buffer or
 * B as it was, so that B then does not hold the round's pattern.
 */
struct dma_loop {
	uint8_t *a, *b;
	uint64_t iova;
	bool stop;		/* atomic */
	unsigned int rounds;	/* atomic: rounds done */
	unsigned int bad;	/* rounds whose B was wrong */
	char first_bad[256];
};

static void *dma_loop_run(void *arg)
{
	struct dma_loop *l = arg;
	unsigned int n;

	for (n = 0; !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE); n++) {
		uint8_t seed = LOOP_SEED(n);
		int ret_to, ret_from;
		size_t match;

		pattern_fill(l->a, XFER_LEN, seed);
		pattern_fill(l->b, XFER_LEN, seed + 1);
		ret_to = edu_dma_xfer(EDU_DMA_TO_DEVICE, l->iova, XFER_LEN);
		ret_from = edu_dma_xfer(EDU_DMA_FROM_DEVICE, l->iova + PAGE,
					XFER_LEN);
		match = pattern_count(l->b, XFER_LEN, seed);
		if ((ret_to || ret_from || match != XFER_LEN) && !l->bad++)
			snprintf(l->first_bad, sizeof(l->first_bad),
				 "first in round %u: A to device %s, device to "
				 "B %s, B holds %s (%zu/%u bytes match A)", n,
				 ret_to ? "DMA error" : "completed",
				 ret_from ? "DMA error" : "completed",
				 describe(l->b, XFER_LEN), match, XFER_LEN);
		__atomic_store_n(&l->rounds, n + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The rounds @l has done */
static unsigned int dma_loop_rounds(struct dma_loop *l)
{
	return __atomic_load_n(&l->rounds, __ATOMIC_ACQUIRE);
}

/* Wait until @l has done @n rounds, at most LOOP_WAIT_MS */
static void dma_loop_wait(struct dma_loop *l, unsigned int n)
{
	unsigned long long end = now_us() + LOOP_WAIT_MS * 1000ULL;

	while (dma_loop_rounds(l) < n && now_us() < end)
		usleep(10000);
}

/*
 * LU-CHECK @name_attach_ok and @name_dma_intact: with the device's DMA
 * running in a loop (struct dma_loop, A at @iova), the device is moved
 * from HWPT @from to @to (a replace: VFIO_DEVICE_ATTACH_IOMMUFD_PT), and
 * for REPLACE_WINDOW_MS on, to @spare (an HWPT of @to's IOAS) and back to
 * @to, again and again: a replace that is not hitless, however short its
 * gap, then meets a transfer. The loop does a round before the first
 * replace and a whole round after the last; every transfer must complete
 * and B hold A's pattern each time. LU-RESULT @name_begin and @name_end
 * bracket the window: the test reads the kernel's DMAR faults between
 * them (there must be none), with the kernel's rate limit of their lines
 * fresh at the start. @name_replaces and @name_rounds count.
 */
static void check_replace_window(const char *name, struct session *s,
				 uint8_t *mem, uint64_t iova, uint32_t from,
				 uint32_t to, uint32_t spare)
{
	struct dma_loop l = { .a = mem, .b = mem + PAGE, .iova = iova };
	unsigned int replaces = 0, before, during;
	unsigned long long start;
	char key[NAME_LEN];
	pthread_t thread;
	int err;

	dmar_fault_wait(DMAR_RATELIMIT_MS);
	snprintf(key, sizeof(key), "%s_begin", name);
	lu_result(key, "HWPT %u to %u (and %u), DMA iova 0x%" PRIx64 " to "
		  "0x%" PRIx64, from, to, spare, iova, iova + PAGE);
	err = pthread_create(&thread, NULL, dma_loop_run, &l);
	if (err)
		lu_die_err(err, "pthread_create");
	dma_loop_wait(&l, 1);
	before = dma_loop_rounds(&l);

	start = now_us();
	err = vfio_attach_pt_err(s, to);
	replaces += !err;
	while (!err && now_us() - start < REPLACE_WINDOW_MS * 1000ULL) {
		err = vfio_attach_pt_err(s, spare);
		replaces += !err;
		if (!err) {
			err = vfio_attach_pt_err(s, to);
			replaces += !err;
		}
	}
	during = dma_loop_rounds(&l) - before;

	dma_loop_wait(&l, before + during + 2);
	__atomic_store_n(&l.stop, true, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	/* The window's faults, if any, count for the next pacing */
	dmar_fault_wait(0);
	snprintf(key, sizeof(key), "%s_end", name);
	lu_result(key, "%u replaces, %u DMA rounds", replaces, l.rounds);
	snprintf(key, sizeof(key), "%s_replaces", name);
	lu_result(key, "%u", replaces);
	snprintf(key, sizeof(key), "%s_rounds", name);
	lu_result(key, "%u", l.rounds);

	snprintf(key, sizeof(key), "%s_attach_ok", name);
	check_err(key, err, 0, "replace HWPT %u by %u, then %u and %u in "
		  "turn for %d ms, ending on %u: %u replaces done", from, to,
		  spare, to, REPLACE_WINDOW_MS, to, replaces);
	snprintf(key, sizeof(key), "%s_dma_intact", name);
	nr_failed += !lu_check(key, !l.bad && before && during &&
			       l.rounds >= before + during + 2,
			       "%u DMA rounds (A to device, device to B): %u "
			       "before the %u replaces, %u during, %u after; "
			       "%u with B wrong%s%s", l.rounds, before,
			       replaces, during, l.rounds - before - during,
			       l.bad, l.bad ? ", " : "", l.first_bad);
}

/*
 * Stage 2, retrieve --hitless-replace, before the FINISH (the restored
 * IOAS is immutable: no map, unmap or copy, but it may take another
 * HWPT): the device @s, attached to the restored HWPT (@ids; marked with
 * @token), has it replaced by a new HWPT of the restored IOAS, same
 * mappings, while its DMA runs (check_replace_window(),
 * "hitless_replace_same"). The restored HWPT, which nothing uses then, is
 * destroyed: nr_iommu_pages must drop by the restored table's pages at
 * least (LU-RESULT iommu_pages_before_destroy, iommu_pages_after_destroy,
 * restored_table_pages, from the kernel log; iommu_pages_attached before
 * anything). The new HWPT's id goes to @hwpt (0 if there is none).
 */
static void check_hitless_replace_same(struct session *s,
				       const struct iommu_hwpt_lu_get_id *ids,
				       uint64_t token, uint8_t *mem,
				       uint32_t *hwpt)
{
	long before, after, pages;
	unsigned int waited;
	uint32_t spare;
	int err;

	*hwpt = 0;
	lu_result("iommu_pages_attached", "%ld", iommu_pages());
	err = hwpt_alloc(s, ids->out_ioas_id, hwpt);
	if (!err)
		err = hwpt_alloc(s, ids->out_ioas_id, &spare);
	check_err("hitless_same_hwpt_alloc_ok", err, 0, "two HWPTs on the "
		  "restored IOAS %u before the FINISH", ids->out_ioas_id);
	if (err) {
		*hwpt = 0;
		return;
	}
	check_replace_window("hitless_replace_same", s, mem, IOVA_A,
			     ids->out_hwpt_id, *hwpt, spare);

	/* The restored table is freed (the spare HWPT's is not) */
	before = iommu_pages();
	err = obj_destroy(s, ids->out_hwpt_id);
	check_err("restored_hwpt_destroy_after_replace_ok", err, 0,
		  "IOMMU_DESTROY of the restored HWPT %u, its device moved to "
		  "HWPT %u", ids->out_hwpt_id, *hwpt);
	pages = restored_table_pages(token);
	after = iommu_pages();
	for (waited = 0; before - after < pages && waited < FREED_WAIT_MS;
	     waited += 100) {
		usleep(100000);
		after = iommu_pages();
	}
	lu_result("iommu_pages_before_destroy", "%ld", before);
	lu_result("iommu_pages_after_destroy", "%ld", after);
	lu_result("restored_table_pages", "%ld", pages);
	nr_failed += !lu_check("restored_table_freed",
			       !err && pages > 0 && before - after >= pages,
			       "nr_iommu_pages %ld before the IOMMU_DESTROY of "
			       "the restored HWPT, %ld after (%u ms later): %ld "
			       "freed; its table has %ld pages (kernel log)",
			       before, after, waited, before - after, pages);
}

/*
 * Stage 2, retrieve --hitless-replace, after the FINISH: the device @s, on
 * HWPT @hwpt of the restored IOAS @ioas (check_hitless_replace_same()),
 * reaches a page D of a new memfd once it is mapped at IOVA_D there. Its
 * HWPT is then replaced while its DMA runs (check_replace_window(),
 * "hitless_replace_other") by an HWPT of a new IOAS that maps the memfd
 * @memfd's A and B (@mem) at the same IOVAs, and page C of the new memfd
 * at IOVA_C: the device reaches C, and its DMA to D, which only the old
 * IOAS maps, must fault (LU-RESULT hitless_other_old_iova) and leave D as
 * it was.
 */
static void check_hitless_replace_other(struct session *s, uint32_t ioas,
					uint32_t hwpt, int memfd, uint8_t *mem)
{
	uint32_t ioas2, hwpt2, spare2;
	uint8_t *cd;
	int cd_fd, err;

	/* D, in the restored IOAS only */
	cd = memfd_buf(2 * PAGE, &cd_fd);
	err = ioas_map_file(s, ioas, cd_fd, PAGE, IOVA_D);
	check_err("hitless_old_only_map_ok", err, 0, "IOMMU_IOAS_MAP_FILE "
		  "of page D at iova 0x%llx into the restored IOAS %u after "
		  "the FINISH", IOVA_D, ioas);
	pattern_fill(mem, XFER_LEN, SEED_P);
	check_dma_copy("hitless_old_only_dma_ok", IOVA_A, IOVA_D, cd + PAGE,
		       SEED_P, SEED_R);

	ioas2 = ioas_alloc(s);
	err = ioas_map_file(s, ioas2, memfd, 0, IOVA_A);
	if (!err)
		err = ioas_map_file(s, ioas2, memfd, PAGE, IOVA_B);
	if (!err)
		err = ioas_map_file(s, ioas2, cd_fd, 0, IOVA_C);
	if (!err)
		err = hwpt_alloc(s, ioas2, &hwpt2);
	if (!err)
		err = hwpt_alloc(s, ioas2, &spare2);
	check_err("hitless_other_ioas_ok", err, 0, "IOAS %u: A and B at the "
		  "same IOVAs, C at 0x%llx (IOMMU_IOAS_MAP_FILE); two HWPTs on "
		  "it", ioas2, IOVA_C);
	if (err)
		return;
	check_replace_window("hitless_replace_other", s, mem, IOVA_A, hwpt,
			     hwpt2, spare2);

	pattern_fill(mem, XFER_LEN, SEED_R);
	check_dma_copy("hitless_other_new_iova_dma_ok", IOVA_A, IOVA_C, cd,
		       SEED_R, SEED_S);
	/* Its lines not lost to the rate limit if the window faulted */
	dmar_fault_wait(DMAR_RATELIMIT_MS);
	check_dma_unmapped("hitless_other_old_iova_issued",
			   "hitless_other_old_iova", EDU_DMA_FROM_DEVICE, IOVA_D);
	nr_failed += !lu_check("hitless_other_old_iova_untouched",
			       pattern_count(cd + PAGE, XFER_LEN, SEED_P) ==
			       XFER_LEN, "D holds %s, expected pattern P, as "
			       "before the replace (the device wrote pattern R)",
			       describe(cd + PAGE, XFER_LEN));
	munmap(cd, 2 * PAGE);
	close(cd_fd);
}

/* lu-vfio retrieve's options */
struct retrieve_opts {
	const char *session;	/* --session NAME */
	const char *bdf;	/* --bdf: the edu device, or NULL */
	uint64_t token;		/* --hwpt-token: of its marked HWPT */
	bool msi;		/* --msi */
	const char *extra[MAX_EXTRA];	/* --extra-device BDF, repeated */
	int nr_extra;
	const char *control;	/* --idle-control BDF2 */
	const char *next;	/* --next-session NAME2 */
	char **cmd;		/* CMD, with --next-session */
	bool hitless;		/* --hitless-replace */
};

/*
 * Stage 2: session @o->session is retrieved and finished, its edu device
 * (@o->bdf, default the first; its HWPT marked with token @o->token)
 * checked on the way: the DMA started before the kexec landed, the device
 * works before and after it is attached again, and the control (not
 * preserved) lost its bus mastering. With @o->msi (preserve --msi), its
 * interrupts are checked first, quiesced by the kexec, and once the device
 * is retrieved, its MSI is set up again and works. With @o->extra
 * (preserve --extra-device, up to MAX_EXTRA times), each preserved device
 * @o->extra[i] is retrieved and attached to the restored HWPT too; if it
 * is an edu device, its DMA is checked as the first device's is (check
 * names extra_..., extra2_..., extra3_...). Once the devices are
 * retrieved, a line "lu-vfio: devices retrieved" goes to the kernel's
 * trace buffer (trace_marker), for a reader of its timeline. With
 * @o->control as well (one extra device), @o->extra[0] is checked to stay
 * in D0 while it waits idle on vfio-pci to be retrieved, as @o->control,
 * not preserved, is suspended (check_idle_power()), and when it is
 * retrieved and opened; after the FINISH, once its fds are closed,
 * vfio-pci must suspend it as any idle device. With @o->next, everything
 * is preserved again in session @o->next and CMD (the next kexec) run.
 * With @o->hitless, the restored HWPT is replaced with DMA running before
 * the FINISH (check_hitless_replace_same()), and that HWPT again after it
 * (check_hitless_replace_other()).
 */
static int lu_retrieve_cmd(const struct retrieve_opts *o)
{
	char bdf[NAME_MAX + 1], bdf2[NAME_MAX + 1];
	struct iommu_hwpt_lu_get_id ids = { 0 };
	struct session kept = { .devfd = -1 };
	struct kept_edu first = { .bdf = bdf, .prefix = "" };
	struct kept_edu x[MAX_EXTRA];
	bool x_edu[MAX_EXTRA];
	int luo_fd, session_fd, memfd, err, extra_fd[MAX_EXTRA], i;
	char name[NAME_LEN];
	uint32_t new_hwpt = 0;
	uint8_t *mem;

	for (i = 0; i < o->nr_extra; i++) {
		x[i] = extra_edu(i, o->extra[i]);
		x_edu[i] = pci_is_edu(o->extra[i]);
		extra_fd[i] = -1;
	}
	if (o->bdf)
		snprintf(bdf, sizeof(bdf), "%s", o->bdf);
	else
		pci_find_edu_nth(1, bdf, sizeof(bdf));
	pci_find_edu_control(bdf2, sizeof(bdf2));
	if (o->control)
		check_idle_power(bdf, o->extra[0], o->control);
	if (o->msi)
		check_irqs_quiesced(bdf);

	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, o->session);
	mem = luo_retrieve_mem(session_fd, &memfd);
	check_inflight_landed(mem, &first);
	for (i = 0; i < o->nr_extra; i++)
		if (x_edu[i])
			check_inflight_landed(mem, &x[i]);
	check_control_cleared(bdf2);
	check_dma_after_update(mem, &first);
	for (i = 0; i < o->nr_extra; i++)
		if (x_edu[i])
			check_dma_after_update(mem, &x[i]);

	check_restored_device(session_fd, memfd, mem, bdf, o->token,
			      o->next || o->msi || o->nr_extra || o->hitless ?
			      &kept : NULL, &ids);
	/* The VMM sets the retrieved device's interrupts up again */
	if (o->msi && kept.devfd >= 0)
		check_msi("msi_after_retrieve", kept.devfd);
	for (i = 0; i < o->nr_extra; i++) {
		if (kept.devfd >= 0)
			extra_fd[i] = retrieve_extra_device(session_fd, &kept,
							    ids.out_hwpt_id, i,
							    &x[i], o->control);
		else
			check_not_done(o->control ? "preserved_retrieved_d0" :
				       kept_name(name, &x[i], "device_retrieved"),
				       "the edu device is not attached to the "
				       "restored HWPT");
	}
	trace_mark("lu-vfio: devices retrieved");
	for (i = 0; i < o->nr_extra; i++) {
		volatile void *bar = edu_bar;
		size_t bar_size;

		if (!x_edu[i] || extra_fd[i] < 0)
			continue;
		edu_bar = vfio_map_bar0(extra_fd[i], &bar_size);
		check_dma_restored(mem, &x[i]);
		munmap((void *)edu_bar, bar_size);
		edu_bar = bar;
	}

	if (o->hitless && kept.devfd >= 0)
		check_hitless_replace_same(&kept, &ids, o->token, mem,
					   &new_hwpt);
	else if (o->hitless)
		check_not_done("hitless_replace_same_dma_intact", "the edu "
			       "device is not attached to the restored HWPT");

	err = luo_finish(session_fd);
	check_err("session_finish_ok", err, 0, "finish session '%s'",
		  o->session);
	if (o->hitless && new_hwpt)
		check_hitless_replace_other(&kept, ids.out_ioas_id, new_hwpt,
					    memfd, mem);
	else if (o->hitless)
		check_not_done("hitless_replace_other_dma_intact", "the edu "
			       "device is not on a new HWPT of the restored "
			       "IOAS");
	if (o->next) {
		close(session_fd);
		close(luo_fd);
		if (nr_failed)
			return exit_status();
		return lu_preserve_again(&kept, ids.out_hwpt_id, memfd, mem,
					 o->next, o->cmd);
	}
	/* Its BAR 0 stays mapped (edu_bar) until the exit */
	for (i = 0; i < o->nr_extra; i++)
		if (extra_fd[i] >= 0)
			close(extra_fd[i]);
	if (kept.devfd >= 0)
		session_close(&kept);
	munmap(mem, 2 * PAGE);
	close(session_fd);
	close(luo_fd);
	if (o->control)
		check_power_state("released_suspends", "released_power",
				  o->extra[0], "D3hot", SUSPEND_WAIT_MS,
				  "the update finished, its fds closed");
	return exit_status();
}

/*
 * Stage 2 (memory): the next live update is prepared and cancelled. The
 * restored HWPT @hwpt is marked again; the iommufd, its restored IOAS
 * mapping the memfd @memfd, may not be preserved in a new session that
 * does not hold the memfd (ENOENT), and is preserved once the memfd is.
 * The session is closed (cancelled: everything in it unpreserved) and the
 * mark cleared, so that it no longer freezes the IOAS. This must come
 * after the FINISH of the session the files were retrieved from: until
 * then, LUO counts them as preserved by it, and another session cannot
 * preserve them (EBUSY).
 */
static void check_chain_needs_memfd(int luo_fd, struct session *s,
				    uint32_t hwpt, int memfd)
{
	int session_fd;

	check_err("chain_remark_ok", hwpt_mark(s, hwpt, 0, 0, TOKEN_1), 0,
		  "mark the restored HWPT %u again with token 0x%llx", hwpt,
		  TOKEN_1);
	session_fd = luo_session_create(luo_fd, LU_CHAIN_SESSION);
	check_err("chain_preserve_without_memfd_refused",
		  luo_preserve(session_fd, s->fd, LU_TOKEN_IOMMUFD), ENOENT,
		  "preserve the iommufd in session '%s', which does not hold "
		  "the memfd its restored IOAS maps", LU_CHAIN_SESSION);
	check_err("chain_preserve_memfd_ok",
		  luo_preserve(session_fd, memfd, LU_TOKEN_MEMFD), 0,
		  "preserve the retrieved memfd in session '%s'",
		  LU_CHAIN_SESSION);
	check_err("chain_preserve_iommufd_ok",
		  luo_preserve(session_fd, s->fd, LU_TOKEN_IOMMUFD), 0,
		  "preserve the iommufd in session '%s' after its memfd",
		  LU_CHAIN_SESSION);
	close(session_fd);
	check_err("chain_clear_mark_ok", hwpt_clear(s, hwpt, 0), 0,
		  "session '%s' cancelled: clear the mark of the restored HWPT "
		  "%u", LU_CHAIN_SESSION, hwpt);
}

/*
 * LU-CHECK @name_a and @name_b, after @what: the device still reads the
 * data last written to A (pattern Q, at IOVA_A) and B (pattern R, at
 * IOVA_B), copied out to page C at IOVA_FREE (@c, NULL if IOVA_FREE could
 * not be mapped). B is read first, then A: the device buffer holds pattern
 * Q from the DMA before, then R, so a stale buffer cannot pass.
 */
static void check_old_data(const char *name_a, const char *name_b,
			   const char *what, uint8_t *c)
{
	if (!c) {
		check_not_done(name_b, "%s: no page to copy B into, IOVA_FREE "
			       "is not mapped", what);
		check_not_done(name_a, "%s: no page to copy A into, IOVA_FREE "
			       "is not mapped", what);
		return;
	}
	check_dma_copy(name_b, IOVA_B, IOVA_FREE, c, SEED_R, SEED_P);
	check_dma_copy(name_a, IOVA_A, IOVA_FREE, c, SEED_Q, SEED_P);
}

/*
 * Free the pages that are only waiting to be freed: a folio taken out of
 * the page cache stays allocated while a per-CPU LRU batch holds it (the
 * memfd's folios went there when they were retrieved). drop_caches drains
 * those batches on every CPU first; without that, a page freed under the
 * device could still read as it was.
 */
static void drain_freed_pages(void)
{
	if (sysfs_write("/proc/sys/vm/drop_caches", "1"))
		lu_die("write 1 to /proc/sys/vm/drop_caches");
}

/*
 * LU-CHECK @name: a hole is punched in the memfd @memfd over A (mapped at
 * @mem), and the page it freed drained: the memfd's A must read zeros.
 */
static void check_punch_a(const char *name, int memfd, uint8_t *mem)
{
	int err;

	err = fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			PAGE) ? errno : 0;
	drain_freed_pages();
	nr_failed += !lu_check(name, !err && all_bytes(mem, PAGE, 0),
			       "fallocate(PUNCH_HOLE | KEEP_SIZE) over A: %s; "
			       "the memfd's A then holds %s",
			       err ? strerror(err) : "done",
			       describe(mem, XFER_LEN));
}

/*
 * Stage 2 (memory), after the FINISH: the pages the restored table maps
 * are the memfd's, pinned by the iommufd. A hole punched in the memfd over
 * A, the memfd truncated, and closed, must not free them: the device keeps
 * reading the data written there before (the guest boots with
 * init_on_free=1: a page freed under it would read zeros). A (pattern Q)
 * is read into B after the punch: B, still the memfd's, shows what the
 * device read on any kernel. Once B is truncated too, A and B are read
 * into page C (@c, at IOVA_FREE of the restored IOAS; NULL if that could
 * not be mapped). @mem is the memfd @memfd's mapping (A and B); both are
 * closed here.
 */
static void check_memory_pinned(int memfd, uint8_t *mem, uint8_t *c)
{
	struct stat st = { 0 };
	int err;

	/* What the device must read from now on; the buffer holds S or P */
	pattern_fill(mem, XFER_LEN, SEED_Q);
	check_punch_a("memfd_hole_reads_zeros", memfd, mem);
	check_dma_copy("dma_after_punch", IOVA_A, IOVA_B, mem + PAGE, SEED_Q,
		       SEED_R);

	pattern_fill(mem + PAGE, XFER_LEN, SEED_R);
	err = ftruncate(memfd, 0) ? errno : 0;
	if (!err && fstat(memfd, &st))
		lu_die("fstat the memfd");
	drain_freed_pages();
	nr_failed += !lu_check("memfd_truncated", !err && !st.st_size,
			       "ftruncate(0) of the memfd: %s, its size then "
			       "%lld", err ? strerror(err) : "done",
			       err ? -1LL : (long long)st.st_size);
	check_old_data("dma_a_after_truncate", "dma_b_after_truncate",
		       "memfd truncated", c);

	munmap(mem, 2 * PAGE);
	close(memfd);
	drain_freed_pages();
	check_old_data("dma_a_after_close", "dma_b_after_close",
		       "memfd closed and unmapped", c);
}

/*
 * Stage 2: the memory rule of the live update (scenario lu-memory). The
 * memfd, the iommufd and the device come back from the session, the
 * device attached to the restored HWPT (check_restored_device(), whose
 * IOAS is immutable until the FINISH); the session is finished; a chained
 * update needs the memfd (check_chain_needs_memfd()). Then the restored
 * IOAS is an ordinary IOAS: a new memfd page C maps at IOVA_FREE, and the
 * device copies A into it; the memfd's pages stay pinned while the device
 * maps them (check_memory_pinned()); and IOVA_A is unmapped, after which
 * the device's read of it must fault: LU-RESULT unmapped_dma_iova says
 * where, for the test to find the DMAR fault in the kernel log.
 */
static int lu_memory_cmd(void)
{
	struct iommu_hwpt_lu_get_id ids = { 0 };
	struct session s = { .devfd = -1 };
	int luo_fd, session_fd, memfd, c_fd, err;
	char bdf[NAME_MAX + 1];
	uint8_t *mem, *c;

	pci_find_edu_nth(1, bdf, sizeof(bdf));
	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, LU_SESSION);
	mem = luo_retrieve_mem(session_fd, &memfd);
	check_restored_device(session_fd, memfd, mem, bdf, TOKEN_1, &s, &ids);
	if (s.devfd < 0) {
		printf("lu-vfio: the device is not attached to the restored "
		       "HWPT: the memory checks are not done\n");
		return LU_EXIT_FAIL;
	}
	check_err("session_finish_ok", luo_finish(session_fd), 0,
		  "finish session '%s'", LU_SESSION);
	/* The session holds none of its files any longer */
	close(session_fd);
	check_chain_needs_memfd(luo_fd, &s, ids.out_hwpt_id, memfd);
	close(luo_fd);

	/* An ordinary IOAS now: C maps, and the device copies A into it */
	c = memfd_buf(PAGE, &c_fd);
	err = ioas_map_file(&s, ids.out_ioas_id, c_fd, 0, IOVA_FREE);
	check_err("restored_ioas_map_after_finish", err, 0,
		  "IOMMU_IOAS_MAP_FILE of a new memfd page into the restored "
		  "HWPT's IOAS %u at iova 0x%llx, after the FINISH",
		  ids.out_ioas_id, IOVA_FREE);
	if (!err) {
		pattern_fill(mem, XFER_LEN, SEED_S);
		check_dma_copy("dma_restored_ioas_new_map", IOVA_A, IOVA_FREE,
			       c, SEED_S, SEED_P);
	} else {
		check_not_done("dma_restored_ioas_new_map", "iova 0x%llx is "
			       "not mapped", IOVA_FREE);
	}

	check_memory_pinned(memfd, mem, err ? NULL : c);

	err = ioas_unmap(&s, ids.out_ioas_id, IOVA_A);
	check_err("restored_ioas_unmap_ok", err, 0,
		  "IOMMU_IOAS_UNMAP of A at iova 0x%llx from the restored "
		  "HWPT's IOAS %u, after the FINISH", IOVA_A, ids.out_ioas_id);
	/* A read, not a write: nothing lands if it does not fault */
	if (!err)
		check_dma_unmapped("dma_unmapped_a_issued", "unmapped_dma_iova",
				   EDU_DMA_TO_DEVICE, IOVA_A);
	else
		check_not_done("dma_unmapped_a_issued", "iova 0x%llx is still "
			       "mapped", IOVA_A);

	munmap(c, PAGE);
	close(c_fd);
	session_close(&s);
	return exit_status();
}

/*
 * Keep the page mapped at @page allocated, whatever its file does with it:
 * vmsplice() puts it in a new pipe (@pipefd), which holds a reference to it
 * until both ends are closed.
 */
static void hold_page(uint8_t *page, int pipefd[2])
{
	struct iovec iov = { .iov_base = page, .iov_len = PAGE };

	if (pipe2(pipefd, O_CLOEXEC))
		lu_die("pipe2");
	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)PAGE)
		lu_die("vmsplice a page into a pipe");
}

/*
 * Stage 2 (memfd-first), misuse: the memfd is retrieved first and a hole
 * punched in it over A before the iommufd is retrieved, so that the
 * restored HWPT's page table maps a page the memfd no longer holds. The
 * kernel must refuse that HWPT (IOMMU_HWPT_LU_GET_ID of its token gives
 * ENOENT) and, as nobody owns the pages its table maps, block and release
 * the device kept on it: the device then binds to the retrieved iommufd
 * (LU-RESULT memfd_first_bind_errno says what the bind gave), and with bus
 * mastering set again its DMA to the preserved IOVAs must fault
 * (dma_unowned_blocked(): the test reads the DMAR faults in the kernel
 * log). B must still hold what the device wrote there in stage 1 (pattern
 * Q); A is filled with R before the punch, so that a DMA that went
 * through, from the old A to B, would not leave Q in B. The session then
 * finishes.
 *
 * A pipe holds the old page of A (hold_page()) until the end: otherwise
 * the page the punch frees may be the very page the memfd allocates for A
 * again (the next allocation on that CPU takes it), and the restored table
 * would map the memfd's pages after all.
 */
static int lu_memfd_first_cmd(void)
{
	struct iommu_hwpt_lu_get_id get = {
		.size = sizeof(get),
		.hwpt_token = TOKEN_1,
	};
	int luo_fd, session_fd, memfd, err, old_a[2];
	char bdf[NAME_MAX + 1];
	struct session s;
	uint8_t *mem;
	size_t match;

	pci_find_edu_nth(1, bdf, sizeof(bdf));
	vfio_bind_pci(bdf);
	luo_fd = luo_open();
	session_fd = luo_session_retrieve(luo_fd, LU_SESSION);
	mem = luo_retrieve_mem(session_fd, &memfd);
	pattern_fill(mem, XFER_LEN, SEED_R);
	hold_page(mem, old_a);
	check_punch_a("memfd_a_punched", memfd, mem);

	s.fd = luo_retrieve_must(session_fd, LU_TOKEN_IOMMUFD, "the iommufd");
	check_err("get_id_refused_memfd_changed",
		  ioctl_err(s.fd, IOMMU_HWPT_LU_GET_ID, &get), ENOENT,
		  "IOMMU_HWPT_LU_GET_ID of token 0x%llx, a hole punched in its "
		  "memfd before the iommufd was retrieved", TOKEN_1);
	s.devfd = luo_retrieve_must(session_fd, LU_TOKEN_DEVICE, "the device");
	err = vfio_bind(s.devfd, s.fd, &s.devid);
	result_errno("memfd_first_bind_errno", err);
	check_err("device_bind_after_refusal", err, 0,
		  "bind the retrieved device to the retrieved iommufd, its "
		  "HWPT refused");

	dma_unowned_blocked(bdf, "memfd_first_blocked");
	match = pattern_count(mem + PAGE, XFER_LEN, SEED_Q);
	nr_failed += !lu_check("memfd_b_untouched", match == XFER_LEN,
			       "B holds %s (%zu/%u bytes match what the device "
			       "wrote there in stage 1)",
			       describe(mem + PAGE, XFER_LEN), match, XFER_LEN);

	check_err("session_finish_ok", luo_finish(session_fd), 0,
		  "finish session '%s'", LU_SESSION);
	session_close(&s);
	close(old_a[0]);
	close(old_a[1]);
	munmap(mem, 2 * PAGE);
	close(memfd);
	close(session_fd);
	close(luo_fd);
	return exit_status();
}


/*
 * The edu device @bdf (LU-RESULT edu_bdf; its group's other member
 * @member: member_bdf) bound to vfio-pci and to a new iommufd @s, attached
 * to an HWPT (@hwpt) of one IOAS that maps the memfd's pages A and B
 * (attach_memfd_hwpt()). Returns the memfd's mapping.
 */
static uint8_t *group_pair_open(const char *bdf, const char *member,
				struct session *s, int *memfd, uint32_t *hwpt,
				size_t *bar_size)
{
	char cdev[NAME_MAX + 1];

	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	lu_result("edu_bdf", "%s", bdf);
	lu_result("member_bdf", "%s", member);
	session_open(cdev, s);
	return attach_memfd_hwpt(s, memfd, hwpt, bar_size);
}

/*
 * Stage 1, group-refused: @bdf and @member are one IOMMU group (behind a
 * PCIe-to-PCI bridge, which DMAs for both with one requester ID). @bdf
 * alone is bound to an iommufd and attached to a marked HWPT whose IOAS
 * maps a memfd; @member is bound to no iommufd. With the memfd and the
 * iommufd preserved in a session, preserving @bdf must be refused with
 * EBUSY (a group is preserved whole or not at all), or, if the kernel
 * checks that when the session is frozen, the kexec must be: CMD loads
 * the next kernel (lu-kexec --load-only), then reboot(KEXEC) must fail
 * with EBUSY. The kernel names @member in its log. LU-RESULT
 * group_preserve_errno and group_kexec_errno say what came back (a kexec
 * that is not refused does not come back). The refusal leaves no trace:
 * @bdf's DMA works, and once that session is closed and @member bound to
 * the iommufd and attached to the same HWPT, both are preserved in a new
 * session, which is closed in turn.
 */
static int lu_group_refused_cmd(const char *bdf, const char *member,
				char **cmd)
{
	int memfd, luo_fd, session_fd, member_fd, err, kexec_err = 0;
	char e[ERR_STR_LEN], e2[ERR_STR_LEN];
	struct kept_edu mx;
	uint32_t hwpt;
	struct session s;
	size_t bar_size;
	uint8_t *mem;

	mem = group_pair_open(bdf, member, &s, &memfd, &hwpt, &bar_size);
	check_dma("group_dma_before_preserve", mem, mem + PAGE, SEED_P,
		  SEED_R);
	must(hwpt_mark(&s, hwpt, 0, 0, TOKEN_1),
	     "mark HWPT %u with token 0x%llx", hwpt, TOKEN_1);

	luo_fd = luo_open();
	session_fd = luo_session_create(luo_fd, LU_SESSION);
	check_err("group_preserve_memfd_ok",
		  luo_preserve(session_fd, memfd, LU_TOKEN_MEMFD), 0,
		  "preserve the memfd");
	check_err("group_preserve_iommufd_ok",
		  luo_preserve(session_fd, s.fd, LU_TOKEN_IOMMUFD), 0,
		  "preserve the iommufd");
	err = luo_preserve(session_fd, s.devfd, LU_TOKEN_DEVICE);
	result_errno("group_preserve_errno", err);
	if (!err) {
		/* LUO has one user at a time: lu-kexec may need it */
		close(luo_fd);
		run_cmd(cmd);
		fflush(NULL);
		sync();
		kexec_err = reboot(LINUX_REBOOT_CMD_KEXEC) ? errno : 0;
		result_errno("group_kexec_errno", kexec_err);
		luo_fd = luo_open();
	}
	nr_failed += !lu_check("group_member_unbound_refused",
			       err == EBUSY || (!err && kexec_err == EBUSY),
			       "preserve %s, %s of its IOMMU group bound to no "
			       "iommufd: %s%s%s, expected errno EBUSY from the "
			       "one or the other", bdf, member, err_str(e, err),
			       err ? "" : "; the kexec: ",
			       err ? "" : err_str(e2, kexec_err));
	check_dma("group_dma_after_refusal", mem, mem + PAGE, SEED_Q,
		  SEED_S);
	close(session_fd);

	mx = extra_edu(0, member);
	member_fd = extra_device_attach(&s, hwpt, &mx);
	session_fd = luo_session_create(luo_fd, LU_SESSION);
	must(luo_preserve(session_fd, memfd, LU_TOKEN_MEMFD),
	     "preserve the memfd again");
	must(luo_preserve(session_fd, s.fd, LU_TOKEN_IOMMUFD),
	     "preserve the iommufd again");
	check_err("group_whole_preserve_ok",
		  luo_preserve(session_fd, s.devfd, LU_TOKEN_DEVICE), 0,
		  "preserve %s, %s of its IOMMU group on the same HWPT",
		  bdf, member);
	check_err("group_whole_preserve_member_ok",
		  luo_preserve(session_fd, member_fd, LU_TOKEN_EXTRA), 0,
		  "preserve %s in the same session", member);
	close(session_fd);

	close(luo_fd);
	close(member_fd);
	munmap((void *)edu_bar, bar_size);
	session_close(&s);
	munmap(mem, 2 * PAGE);
	close(memfd);
	return exit_status();
}

/*
 * alias-removal (one stage, no live update): @bdf and @member are behind a
 * PCIe-to-PCI bridge, one IOMMU group, attached to one HWPT; the DMA of
 * both arrives with the bridge's requester ID. Its context entry was set
 * up by the probe of the first of them, @bdf (in VT-d scalable mode it
 * points at @bdf's PASID table). @bdf is closed and removed from the bus:
 * the entry must pass to @member, whose DMA must work as before
 * (alias_member_dma_after_removal), with the kernel's log saying nothing
 * of a fault.
 */
static int lu_alias_removal_cmd(const char *bdf, const char *member)
{
	struct kept_edu mx = extra_edu(0, member);
	size_t bar_size, member_bar_size;
	volatile void *member_bar;
	char path[PATH_MAX];
	int memfd, member_fd;
	struct session s;
	uint32_t hwpt;
	uint8_t *mem;

	mem = group_pair_open(bdf, member, &s, &memfd, &hwpt, &bar_size);
	member_fd = extra_device_attach(&s, hwpt, &mx);
	check_dma("alias_dma_before_removal", mem, mem + PAGE, SEED_P, SEED_R);
	munmap((void *)edu_bar, bar_size);
	member_bar = vfio_map_bar0(member_fd, &member_bar_size);
	vfio_pci_enable_master(member_fd);
	edu_bar = member_bar;
	check_dma_at("alias_member_dma_before_removal", IOVA_A + mx.off,
		     mem + mx.off, mem + PAGE + mx.off, SEED_P, SEED_R);

	close(s.devfd);
	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/remove", bdf);
	if (sysfs_write(path, "1"))
		lu_die("write %s", path);
	lu_result("alias_removed_bdf", "%s", bdf);
	check_dma_at("alias_member_dma_after_removal", IOVA_A + mx.off,
		     mem + mx.off, mem + PAGE + mx.off, SEED_Q, SEED_S);

	munmap((void *)member_bar, member_bar_size);
	close(member_fd);
	close(s.fd);
	munmap(mem, 2 * PAGE);
	close(memfd);
	return exit_status();
}

/* Whether the sysfs name @name is a PCI device's, DDDD:BB:DD.F */
static bool is_pci_name(const char *name)
{
	return strlen(name) == 12 && name[4] == ':' && name[7] == ':' &&
	       name[10] == '.';
}

#define MAX_BRIDGES		16

/*
 * Stage 2, bridges BDF...: before anything is retrieved, every bridge
 * upstream of each preserved device BDF (the PCI devices on its sysfs
 * path) must have kept bus mastering across the kexec: check
 * bridge_bus_master_kept_<bridge> for each (once), with its command
 * register and driver. LU-RESULT upstream_bridges_<BDF> lists the bridges
 * above BDF from the root bus down, comma separated, or says "none".
 */
static int lu_bridges_cmd(char **bdfs)
{
	char done[MAX_BRIDGES][NAME_MAX + 1];
	int nr_done = 0, i;

	for (; *bdfs; bdfs++) {
		char path[PATH_MAX], real[PATH_MAX], list[256] = "";
		char key[NAME_LEN], name[NAME_LEN], drv[NAME_MAX + 1];
		char *comp, *save;
		uint16_t cmd;

		snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s", *bdfs);
		if (!realpath(path, real))
			lu_die("realpath %s", path);
		for (comp = strtok_r(real, "/", &save); comp;
		     comp = strtok_r(NULL, "/", &save)) {
			if (!is_pci_name(comp) || !strcmp(comp, *bdfs))
				continue;
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", list[0] ? "," : "", comp);
			for (i = 0; i < nr_done && strcmp(done[i], comp); i++)
				;
			if (i < nr_done)
				continue;
			if (nr_done == MAX_BRIDGES)
				lu_diex("more than %d bridges", MAX_BRIDGES);
			snprintf(done[nr_done++], NAME_MAX + 1, "%s", comp);
			cmd = sysfs_pci_command(comp);
			pci_driver_name(comp, drv, sizeof(drv));
			snprintf(name, sizeof(name), "bridge_bus_master_kept_%s",
				 comp);
			nr_failed += !lu_check(name, cmd & PCI_COMMAND_MASTER,
					       "%s (driver %s) command 0x%04x, "
					       "upstream of %s", comp,
					       drv[0] ? drv : "none", cmd,
					       *bdfs);
		}
		snprintf(key, sizeof(key), "upstream_bridges_%s", *bdfs);
		lu_result(key, "%s", list[0] ? list : "none");
	}
	return exit_status();
}

/* ----------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lu-vfio mark-checks [--bdf DDDD:BB:DD.F]\n"
		"       lu-vfio preserve [--bdf DDDD:BB:DD.F] [--cancel-only] "
		"[--second-session] [--msi] [--extra-device BDF]... -- CMD...\n"
		"       lu-vfio preserve-session2 [--bdf DDDD:BB:DD.F] -- CMD...\n"
		"       lu-vfio retrieve [--session NAME] [--bdf DDDD:BB:DD.F] "
		"[--hwpt-token TOKEN] [--msi]\n"
		"                        [--extra-device BDF]... "
		"[--idle-control BDF2]\n"
		"                        [--next-session NAME2 -- CMD... | "
		"--hitless-replace]\n"
		"       lu-vfio group-refused --bdf DDDD:BB:DD.F --member BDF2 "
		"-- CMD...\n"
		"       lu-vfio alias-removal --bdf DDDD:BB:DD.F --member BDF2\n"
		"       lu-vfio bridges BDF...\n"
		"       lu-vfio retrieve-refused\n"
		"       lu-vfio destroy-early [--after-bind]\n"
		"       lu-vfio memory\n"
		"       lu-vfio memfd-first\n"
		"       lu-vfio finish-unretrieved\n"
		"       lu-vfio rescan\n"
		"       lu-vfio dma-sysfs [--bdf DDDD:BB:DD.F]\n"
		"       lu-vfio probe-sysfs [--bdf DDDD:BB:DD.F]\n"
		"  mark-checks  check the rules of IOMMU_HWPT_LU_SET_PRESERVE\n"
		"               with an edu device bound to vfio-pci\n"
		"  preserve     preserve a memfd and an iommufd with a marked\n"
		"               HWPT in session '" LU_SESSION "', then run CMD\n"
		"               (the kexec) with the session open; with\n"
		"               --cancel-only, only the cancelled session; with\n"
		"               --second-session, the second edu device too, in\n"
		"               session '" LU_SESSION2 "' of its own; with --msi,\n"
		"               the device's MSI on first, left on; with\n"
		"               --extra-device, BDF (an e1000e, or an edu device\n"
		"               with DMA of its own) on the marked HWPT too,\n"
		"               preserved after the device (up to 3 of them)\n"
		"  preserve-session2  a second VMM in a process of its own: the\n"
		"               edu device (default: the second) in session\n"
		"               '" LU_SESSION2 "', DMA in flight, then CMD\n"
		"  retrieve     after the kexec: retrieve and finish the session\n"
		"               NAME (default '" LU_SESSION "') with the edu\n"
		"               device (default: the first) on the HWPT marked\n"
		"               with TOKEN (default 0x1234); with --msi, check\n"
		"               the device's interrupts quiesced first and its\n"
		"               MSI set up again after; with --extra-device\n"
		"               (preserve --extra-device BDF), BDF retrieved and\n"
		"               attached too, its DMA checked if it is an edu\n"
		"               device; with --idle-control (one BDF): BDF,\n"
		"               idle on vfio-pci, must stay in D0 while BDF2,\n"
		"               not preserved, suspends, and in D0 once\n"
		"               retrieved;\n"
		"               after the FINISH it must suspend; with\n"
		"               --next-session, preserve everything again in\n"
		"               NAME2 and run CMD (the next kexec); with\n"
		"               --hitless-replace, replace the restored HWPT\n"
		"               with DMA running by an HWPT of the same IOAS,\n"
		"               then, after the FINISH, that by one of another\n"
		"  retrieve-refused  after a kexec that refused the first\n"
		"               device (preserve --second-session): its session\n"
		"               gives no HWPT, its DMA faults; the second\n"
		"               session is retrieved and its device works\n"
		"  destroy-early  after the kexec: destroy the restored HWPT\n"
		"               before its device is attached: refused; with\n"
		"               --after-bind, retrieve the device and bind it\n"
		"               to the iommufd first\n"
		"  memory       after the kexec: the restored IOAS pins the\n"
		"               memfd's pages; a chained update needs the\n"
		"               memfd; after the FINISH, the IOAS maps and\n"
		"               unmaps, and punching, truncating or closing the\n"
		"               memfd frees nothing the device reaches\n"
		"  memfd-first  after the kexec: punch a hole in the memfd\n"
		"               before the iommufd is retrieved; its HWPT is\n"
		"               refused, the device blocked\n"
		"  finish-unretrieved  after the kexec: finish the session\n"
		"               with nothing retrieved; the device is blocked\n"
		"  rescan       after preserve --second-session: remove and\n"
		"               rescan the second device, not retrieved, and the\n"
		"               first, moved off its restored HWPT, before the\n"
		"               second session finishes\n"
		"  dma-sysfs    after a kexec whose kernel did not take the\n"
		"               preserved state: DMA to the preserved IOVAs\n"
		"               through BAR 0 in sysfs\n"
		"  probe-sysfs  the untranslated-DMA probe alone, through BAR 0\n"
		"               in sysfs (see untranslated_probe())\n"
		"  group-refused  preserve the edu device whose IOMMU group\n"
		"               member BDF2 is bound to no iommufd: refused\n"
		"               (EBUSY), or else the kexec into the kernel CMD\n"
		"               loads; then both, on one HWPT: preserved\n"
		"  alias-removal  BDF and BDF2 (behind a PCIe-to-PCI bridge) on\n"
		"               one HWPT: BDF removed, BDF2's DMA goes on\n"
		"  bridges      after the kexec, before any retrieve: the\n"
		"               bridges above each BDF kept bus mastering\n"
		"  --bdf        the edu device (default: the first %04x:%04x)\n",
		EDU_VENDOR_ID, EDU_DEVICE_ID);
}

enum { OPT_BDF = 256, OPT_HELP, OPT_CANCEL_ONLY, OPT_SECOND_SESSION,
       OPT_AFTER_BIND, OPT_MSI, OPT_EXTRA_DEVICE, OPT_MEMBER };

/* Whether command @cmd takes option @opt */
static bool cmd_takes(const char *cmd, int opt)
{
	switch (opt) {
	case OPT_BDF:
		return strcmp(cmd, "destroy-early") &&
		       strcmp(cmd, "memory") &&
		       strcmp(cmd, "memfd-first") &&
		       strcmp(cmd, "finish-unretrieved") &&
		       strcmp(cmd, "retrieve-refused") &&
		       strcmp(cmd, "rescan") && strcmp(cmd, "bridges");
	case OPT_CANCEL_ONLY:
	case OPT_SECOND_SESSION:
	case OPT_MSI:
	case OPT_EXTRA_DEVICE:
		return !strcmp(cmd, "preserve");
	case OPT_AFTER_BIND:
		return !strcmp(cmd, "destroy-early");
	case OPT_MEMBER:
		return !strcmp(cmd, "group-refused") ||
		       !strcmp(cmd, "alias-removal");
	default:
		return true;
	}
}

/* @bdf, the value of option @opt, if it can be a device name */
static const char *check_bdf(const char *opt, const char *bdf)
{
	if (!bdf[0] || strchr(bdf, '/'))
		lu_diex("%s: bad device name '%s'", opt, bdf);
	return bdf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bdf",	required_argument,	NULL, OPT_BDF },
		{ "cancel-only", no_argument,		NULL, OPT_CANCEL_ONLY },
		{ "second-session", no_argument,	NULL, OPT_SECOND_SESSION },
		{ "after-bind", no_argument,		NULL, OPT_AFTER_BIND },
		{ "msi",	no_argument,		NULL, OPT_MSI },
		{ "extra-device", required_argument,	NULL, OPT_EXTRA_DEVICE },
		{ "member",	required_argument,	NULL, OPT_MEMBER },
		{ "help",	no_argument,		NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	bool cancel_only = false, second_session = false, after_bind = false;
	bool msi = false;
	const char *bdf = NULL, *extra[MAX_EXTRA], *member = NULL, *cmd;
	int opt, idx, nr_extra = 0;

	lu_init_stdio();

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? LU_EXIT_ERROR : LU_EXIT_PASS;
	}
	if (!strcmp(argv[1], "retrieve")) {
		struct retrieve_opts o = {
			.session = LU_SESSION,
			.token = TOKEN_1,
		};
		int i = 2;

		for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--");
		     i++) {
			if (!strcmp(argv[i], "--msi"))
				o.msi = true;
			else if (!strcmp(argv[i], "--hitless-replace"))
				o.hitless = true;
			else if (i + 1 < argc && !strcmp(argv[i], "--session"))
				o.session = argv[++i];
			else if (i + 1 < argc && !strcmp(argv[i], "--bdf"))
				o.bdf = check_bdf("--bdf", argv[++i]);
			else if (i + 1 < argc &&
				 !strcmp(argv[i], "--hwpt-token") &&
				 lu_parse_u64(argv[i + 1], &o.token))
				i++;
			else if (i + 1 < argc &&
				 !strcmp(argv[i], "--next-session"))
				o.next = argv[++i];
			else if (i + 1 < argc &&
				 !strcmp(argv[i], "--extra-device") &&
				 o.nr_extra < MAX_EXTRA)
				o.extra[o.nr_extra++] =
					check_bdf("--extra-device", argv[++i]);
			else if (i + 1 < argc &&
				 !strcmp(argv[i], "--idle-control"))
				o.control = check_bdf("--idle-control",
						      argv[++i]);
			else
				break;
		}
		if ((o.next ? (i >= argc || strcmp(argv[i], "--") ||
			       i + 1 >= argc) : i != argc) ||
		    (o.control && o.nr_extra != 1) ||
		    (o.nr_extra && o.next) ||
		    (o.hitless && (o.next || o.control))) {
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		if (o.next)
			o.cmd = argv + i + 1;
		return lu_retrieve_cmd(&o);
	}
	if (strcmp(argv[1], "mark-checks") && strcmp(argv[1], "preserve") &&
	    strcmp(argv[1], "preserve-session2") &&
	    strcmp(argv[1], "group-refused") && strcmp(argv[1], "bridges") &&
	    strcmp(argv[1], "alias-removal") &&
	    strcmp(argv[1], "retrieve-refused") &&
	    strcmp(argv[1], "destroy-early") && strcmp(argv[1], "memory") &&
	    strcmp(argv[1], "memfd-first") &&
	    strcmp(argv[1], "finish-unretrieved") &&
	    strcmp(argv[1], "rescan") && strcmp(argv[1], "dma-sysfs") &&
	    strcmp(argv[1], "probe-sysfs")) {
		lu_msg("unknown command '%s'", argv[1]);
		usage(stderr);
		return LU_EXIT_ERROR;
	}
	cmd = argv[1];

	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt >= OPT_BDF && !cmd_takes(cmd, opt)) {
			lu_msg("%s does not take --%s", cmd, opts[idx].name);
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		switch (opt) {
		case OPT_BDF:
			bdf = optarg;
			break;
		case OPT_CANCEL_ONLY:
			cancel_only = true;
			break;
		case OPT_SECOND_SESSION:
			second_session = true;
			break;
		case OPT_AFTER_BIND:
			after_bind = true;
			break;
		case OPT_MSI:
			msi = true;
			break;
		case OPT_EXTRA_DEVICE:
			if (nr_extra == MAX_EXTRA) {
				lu_msg("--extra-device: at most %d", MAX_EXTRA);
				usage(stderr);
				return LU_EXIT_ERROR;
			}
			extra[nr_extra++] = check_bdf("--extra-device", optarg);
			break;
		case OPT_MEMBER:
			member = check_bdf("--member", optarg);
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return LU_EXIT_PASS;
		default:
			usage(stderr);
			return LU_EXIT_ERROR;
		}
	}
	if (bdf)
		check_bdf("--bdf", bdf);
	if (!strcmp(cmd, "preserve")) {
		if (optind >= argc) {
			lu_msg("preserve needs the command to run: -- CMD...");
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		return lu_preserve_cmd(bdf, cancel_only, second_session, msi,
				       extra, nr_extra, argv + optind);
	}
	if (!strcmp(cmd, "preserve-session2")) {
		if (optind >= argc) {
			lu_msg("preserve-session2 needs the command to run: "
			       "-- CMD...");
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		return lu_preserve_session2_cmd(bdf, argv + optind);
	}
	if (!strcmp(cmd, "group-refused")) {
		if (!bdf || !member || optind >= argc) {
			lu_msg("group-refused needs --bdf, --member and the "
			       "command that loads the next kernel: -- CMD...");
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		return lu_group_refused_cmd(bdf, member, argv + optind);
	}
	if (!strcmp(cmd, "alias-removal")) {
		if (!bdf || !member || optind != argc) {
			lu_msg("alias-removal needs --bdf and --member");
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		return lu_alias_removal_cmd(bdf, member);
	}
	if (!strcmp(cmd, "bridges")) {
		if (optind >= argc) {
			lu_msg("bridges needs the preserved devices: BDF...");
			usage(stderr);
			return LU_EXIT_ERROR;
		}
		for (idx = optind; idx < argc; idx++)
			check_bdf("bridges", argv[idx]);
		return lu_bridges_cmd(argv + optind);
	}
	if (optind < argc) {
		lu_msg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return LU_EXIT_ERROR;
	}
	if (!strcmp(cmd, "retrieve-refused"))
		return lu_retrieve_refused_cmd();
	if (!strcmp(cmd, "destroy-early"))
		return lu_destroy_early_cmd(after_bind);
	if (!strcmp(cmd, "memory"))
		return lu_memory_cmd();
	if (!strcmp(cmd, "memfd-first"))
		return lu_memfd_first_cmd();
	if (!strcmp(cmd, "finish-unretrieved"))
		return lu_finish_unretrieved_cmd();
	if (!strcmp(cmd, "rescan"))
		return lu_rescan_cmd();
	if (!strcmp(cmd, "dma-sysfs"))
		return lu_dma_sysfs_cmd(bdf);
	if (!strcmp(cmd, "probe-sysfs"))
		return lu_probe_sysfs_cmd(bdf);
	return mark_checks(bdf);
}
