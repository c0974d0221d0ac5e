// SPDX-License-Identifier: GPL-2.0
/*
 * edu-dma - prove that DMA from QEMU's edu PCI device goes through the IOMMU.
 *
 * The device is bound to vfio-pci and opened through its VFIO cdev, bound to
 * iommufd and attached to a fresh IOAS.  Two memfd pages, A and B, are mapped
 * at fixed IOVAs.  The device then copies a pattern from A into its internal
 * buffer and back out into B: if B ends up holding the pattern, the device
 * used our IOVAs and the IOMMU translated them to our pages.  B is then
 * unmapped from the IOAS and the device is told to write to and read from
 * B's old IOVA: the page must keep its content, and the device must not see
 * the page's bytes, so the IOMMU really blocks what is not mapped.
 *
 * Results are printed as "LU-CHECK <name> PASS|FAIL <detail>" and
 * "LU-RESULT <key> <value>" lines on stdout.  Exit status: 0 when every check
 * passes, 1 when a check fails, 2 when a setup step or system call fails.
 */
#include "lu-util.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "edu.h"
#include "edu-vfio.h"

#define IOMMUFD_DEV		"/dev/iommu"

#define BUF_PAGE		0x1000UL	/* A at iova, B at iova + BUF_PAGE */
#define NR_PAGES		2
#define XFER_LEN		1024U		/* bytes per DMA */

#define DEFAULT_MAP_IOVA	0x100000ULL
#define DEFAULT_UNMAPPED_IOVA	0x800000ULL

struct options {
	const char *bdf;
	uint64_t map_iova;
	uint64_t dma_iova;
	uint64_t unmapped_iova;
};

struct iommufd_ctx {
	int fd;
	uint32_t devid;
	uint32_t ioas_id;
};

static int nr_failed;

/* ----------------------------------------------------------------------- */
/* sysfs                                                                   */

/* ----------------------------------------------------------------------- */
/* VFIO                                                                    */

/* ----------------------------------------------------------------------- */
/* iommufd                                                                 */

/* Bind the device to a new iommufd and attach it to a new, empty IOAS. */
static void iommufd_setup(int devfd, struct iommufd_ctx *ctx)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
	};
	struct iommu_ioas_alloc alloc = {
		.size = sizeof(alloc),
	};
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};

	ctx->fd = open(IOMMUFD_DEV, O_RDWR | O_CLOEXEC);
	if (ctx->fd < 0)
		lu_die("open %s", IOMMUFD_DEV);

	bind.iommufd = ctx->fd;
	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		lu_die("VFIO_DEVICE_BIND_IOMMUFD");
	ctx->devid = bind.out_devid;

	if (ioctl(ctx->fd, IOMMU_IOAS_ALLOC, &alloc))
		lu_die("IOMMU_IOAS_ALLOC");
	ctx->ioas_id = alloc.out_ioas_id;

	attach.pt_id = ctx->ioas_id;
	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		lu_die("VFIO_DEVICE_ATTACH_IOMMUFD_PT ioas %u", ctx->ioas_id);
}

static void ioas_map(struct iommufd_ctx *ctx, void *va, uint64_t len,
		     uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ctx->ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	if (ioctl(ctx->fd, IOMMU_IOAS_MAP, &map))
		lu_die("IOMMU_IOAS_MAP iova 0x%" PRIx64 " length 0x%" PRIx64,
		       iova, len);
}

static void ioas_unmap(struct iommufd_ctx *ctx, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ctx->ioas_id,
		.iova = iova,
		.length = len,
	};

	if (ioctl(ctx->fd, IOMMU_IOAS_UNMAP, &unmap))
		lu_die("IOMMU_IOAS_UNMAP iova 0x%" PRIx64 " length 0x%" PRIx64,
		       iova, len);
	if (unmap.length != len)
		lu_diex("IOMMU_IOAS_UNMAP iova 0x%" PRIx64 " unmapped 0x%llx "
			"bytes, expected 0x%" PRIx64, iova,
			(unsigned long long)unmap.length, len);
}

/* ----------------------------------------------------------------------- */
/* Checks                                                                  */

static int check_edu_id(void)
{
	uint32_t id;
	int id_ok, live_ok;

	id_ok = edu_id_ok(edu_bar, &id);
	live_ok = edu_liveness_ok(edu_bar, 0x12345678) &&
		  edu_liveness_ok(edu_bar, 0xa5a5a5a5);
	nr_failed += !lu_check("edu_id", id_ok && live_ok,
			       "id=0x%08x liveness %s", id,
			       live_ok ? "ok" : "bad");
	return id_ok && live_ok;
}

static void check_dma_to_device(uint8_t *a, uint64_t iova)
{
	int ret;

	pattern_fill(a, XFER_LEN, SEED_P);
	ret = edu_dma_xfer(EDU_DMA_TO_DEVICE, iova, XFER_LEN);
	nr_failed += !lu_check("dma_to_device", !ret,
			       "%u bytes of pattern P from A at iova 0x%" PRIx64
			       " to device buffer: %s", XFER_LEN, iova,
			       ret ? "DMA error" : "completed");
}

static void check_dma_from_device(uint8_t *b, uint64_t iova)
{
	size_t match;
	int ret;

	memset(b, 0, BUF_PAGE);
	ret = edu_dma_xfer(EDU_DMA_FROM_DEVICE, iova, XFER_LEN);
	match = pattern_count(b, XFER_LEN, SEED_P);
	nr_failed += !lu_check("dma_from_device", !ret && match == XFER_LEN,
			       "device buffer to B at iova 0x%" PRIx64
			       ": %s, B holds %s (%zu/%u bytes match P)", iova,
			       ret ? "DMA error" : "completed",
			       describe(b, XFER_LEN), match, XFER_LEN);
}

/*
 * B's page is no longer in the IOAS: a device write to its old IOVA must
 * not reach the page, and a write to an IOVA that was never mapped must
 * complete harmlessly (it faults in the IOMMU) without touching A.
 */
static void check_unmapped_write(uint8_t *a, uint8_t *b, uint64_t b_iova,
				 uint64_t unmapped_iova)
{
	int ret_b, ret_u, b_ok, a_ok;

	pattern_fill(b, XFER_LEN, SEED_Q);
	ret_b = edu_dma_xfer(EDU_DMA_FROM_DEVICE, b_iova, XFER_LEN);
	b_ok = pattern_count(b, XFER_LEN, SEED_Q) == XFER_LEN;

	ret_u = edu_dma_xfer(EDU_DMA_FROM_DEVICE, unmapped_iova, XFER_LEN);
	a_ok = pattern_count(a, XFER_LEN, SEED_P) == XFER_LEN;

	nr_failed += !lu_check("unmapped_write_blocked",
			       !ret_b && !ret_u && b_ok && a_ok,
			       "DMA to B's old iova 0x%" PRIx64
			       ": %s, B holds %s; DMA to iova 0x%" PRIx64
			       ": %s, A holds %s", b_iova,
			       ret_b ? "DMA error" : "completed",
			       describe(b, XFER_LEN), unmapped_iova,
			       ret_u ? "DMA error" : "completed",
			       describe(a, XFER_LEN));
}

/*
 * The device reads B's old IOVA while the page holds R, then writes its
 * buffer to A, which was set to S beforehand.  A must have changed (the
 * write to A works, so the check has teeth) and must not hold R.
 */
static void check_unmapped_read(uint8_t *a, uint8_t *b, uint64_t a_iova,
				uint64_t b_iova)
{
	int ret_r, ret_w, landed, leaked;

	pattern_fill(b, XFER_LEN, SEED_R);
	pattern_fill(a, XFER_LEN, SEED_S);
	ret_r = edu_dma_xfer(EDU_DMA_TO_DEVICE, b_iova, XFER_LEN);
	ret_w = edu_dma_xfer(EDU_DMA_FROM_DEVICE, a_iova, XFER_LEN);

	landed = pattern_count(a, XFER_LEN, SEED_S) != XFER_LEN;
	leaked = pattern_count(a, XFER_LEN, SEED_R) == XFER_LEN;

	nr_failed += !lu_check("unmapped_read_blocked",
			       !ret_r && !ret_w && landed && !leaked,
			       "DMA from B's old iova 0x%" PRIx64
			       ": %s; device buffer to A at iova 0x%" PRIx64
			       ": %s, A holds %s%s", b_iova,
			       ret_r ? "DMA error" : "completed", a_iova,
			       ret_w ? "DMA error" : "completed",
			       describe(a, XFER_LEN),
			       !landed ? " (DMA to A did not land)" :
			       leaked ? " (device read the unmapped page)" :
			       "");
}

/* ----------------------------------------------------------------------- */
/* Arguments                                                               */

static void LU_NORETURN usage(const char *msg)
{
	if (msg)
		lu_msg("%s", msg);
	fprintf(stderr,
		"usage: edu-dma [--bdf DDDD:BB:DD.F] [--map-iova HEX] "
		"[--dma-iova HEX] [--unmapped-iova HEX]\n"
		"  --bdf            edu device (default: first %04x:%04x)\n"
		"  --map-iova       IOVA where buffers A and B are mapped "
		"(default 0x%llx)\n"
		"  --dma-iova       IOVA the device is told A is at "
		"(default: map-iova)\n"
		"  --unmapped-iova  IOVA that is never mapped "
		"(default 0x%llx)\n"
		"IOVAs must be below 0x%llx.\n",
		EDU_VENDOR_ID, EDU_DEVICE_ID, DEFAULT_MAP_IOVA,
		DEFAULT_UNMAPPED_IOVA, EDU_DMA_ADDR_LIMIT);
	exit(LU_EXIT_ERROR);
}

static uint64_t parse_hex(const char *opt, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || end == s || *end || s[0] == '-') {
		lu_msg("--%s: bad hex value '%s'", opt, s);
		usage(NULL);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "bdf", required_argument, NULL, 'b' },
		{ "map-iova", required_argument, NULL, 'm' },
		{ "dma-iova", required_argument, NULL, 'd' },
		{ "unmapped-iova", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int dma_set = 0, c;

	o->bdf = NULL;
	o->map_iova = DEFAULT_MAP_IOVA;
	o->unmapped_iova = DEFAULT_UNMAPPED_IOVA;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bdf = optarg;
			break;
		case 'm':
			o->map_iova = parse_hex("map-iova", optarg);
			break;
		case 'd':
			o->dma_iova = parse_hex("dma-iova", optarg);
			dma_set = 1;
			break;
		case 'u':
			o->unmapped_iova = parse_hex("unmapped-iova", optarg);
			break;
		case 'h':
		default:
			usage(NULL);
		}
	}
	if (optind != argc)
		usage("unexpected argument");
	if (!dma_set)
		o->dma_iova = o->map_iova;

	if (o->bdf && (!o->bdf[0] || strchr(o->bdf, '/')))
		usage("bad --bdf");
	if (o->map_iova % BUF_PAGE)
		usage("--map-iova must be 4 KiB aligned");
	if (o->map_iova >= EDU_DMA_ADDR_LIMIT ||
	    NR_PAGES * BUF_PAGE > EDU_DMA_ADDR_LIMIT - o->map_iova)
		usage("--map-iova: mapping does not fit below the DMA limit");
	if (o->dma_iova >= EDU_DMA_ADDR_LIMIT ||
	    BUF_PAGE + XFER_LEN > EDU_DMA_ADDR_LIMIT - o->dma_iova)
		usage("--dma-iova: buffers do not fit below the DMA limit");
	if (o->unmapped_iova >= EDU_DMA_ADDR_LIMIT ||
	    XFER_LEN > EDU_DMA_ADDR_LIMIT - o->unmapped_iova)
		usage("--unmapped-iova: transfer does not fit below the "
		      "DMA limit");
	if (o->unmapped_iova + XFER_LEN > o->map_iova &&
	    o->unmapped_iova < o->map_iova + NR_PAGES * BUF_PAGE)
		usage("--unmapped-iova overlaps the mapped buffers");
}

/* ----------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	char bdf_buf[NAME_MAX + 1], cdev[NAME_MAX + 1];
	struct iommufd_ctx ctx;
	struct options o;
	size_t bar_size;
	uint8_t *mem, *a, *b;
	int devfd, memfd;

	lu_init_stdio();
	parse_args(argc, argv, &o);

	if (!o.bdf) {
		pci_find_edu(bdf_buf, sizeof(bdf_buf));
		o.bdf = bdf_buf;
	}
	vfio_bind_pci(o.bdf);
	vfio_find_cdev(o.bdf, cdev, sizeof(cdev));
	lu_result("edu_bdf", "%s", o.bdf);
	lu_result("edu_vfio_dev", "%s", cdev);

	devfd = vfio_open_cdev(cdev);
	iommufd_setup(devfd, &ctx);

	/* A and B are separate IOAS areas so that B can be unmapped alone */
	mem = memfd_buf(NR_PAGES * BUF_PAGE, &memfd);
	a = mem;
	b = mem + BUF_PAGE;
	ioas_map(&ctx, a, BUF_PAGE, o.map_iova);
	ioas_map(&ctx, b, BUF_PAGE, o.map_iova + BUF_PAGE);
	printf("edu-dma: devid %u ioas %u, A at iova 0x%" PRIx64
	       ", B at iova 0x%" PRIx64 ", DMA to iova 0x%" PRIx64 "\n",
	       ctx.devid, ctx.ioas_id, o.map_iova, o.map_iova + BUF_PAGE,
	       o.dma_iova);

	edu_bar = vfio_map_bar0(devfd, &bar_size);
	vfio_pci_enable_master(devfd);

	if (!check_edu_id()) {
		lu_msg("%s does not look like an edu device, skipping the DMA "
		       "checks", o.bdf);
		return LU_EXIT_FAIL;
	}

	check_dma_to_device(a, o.dma_iova);
	check_dma_from_device(b, o.dma_iova + BUF_PAGE);

	ioas_unmap(&ctx, o.map_iova + BUF_PAGE, BUF_PAGE);
	check_unmapped_write(a, b, o.dma_iova + BUF_PAGE, o.unmapped_iova);
	check_unmapped_read(a, b, o.dma_iova, o.dma_iova + BUF_PAGE);

	/* Closing the device fd detaches and unbinds it from iommufd */
	munmap((void *)edu_bar, bar_size);
	close(devfd);
	close(ctx.fd);
	munmap(mem, NR_PAGES * BUF_PAGE);
	close(memfd);

	if (nr_failed) {
		printf("edu-dma: %d check(s) failed\n", nr_failed);
		return LU_EXIT_FAIL;
	}
	lu_result("edu_dma", "ok");
	return LU_EXIT_PASS;
}
