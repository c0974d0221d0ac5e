// SPDX-License-Identifier: GPL-2.0
/*
 * lu-bench: the costs a VMM sees in a device live update, for make bench
 * (selftests/bench/bench.py). Prints times, asserts none.
 *
 *   lu-bench preserve --mib N --reps R
 *   lu-bench fresh --mib N --reps R
 *   lu-bench kexec --mib N -- CMD...
 *   lu-bench restore --mib N
 *
 * The VMM is the one of lu-vmm.h: the first edu device bound to vfio-pci
 * and to an iommufd, attached to an HWPT whose IOAS maps a memfd, here the
 * whole of a memfd of N MiB at IOVA_BASE (its pages touched first, as a
 * VM's memory would be). Times are CLOCK_MONOTONIC, in microseconds:
 *
 * preserve  the HWPT marked, then R times: a new session, the memfd, the
 *           iommufd and the device preserved in it (LU-RESULT
 *           preserve_memfd_us, preserve_iommufd_us, preserve_device_us, R
 *           values each), and the session closed, which unpreserves all
 *           (preserve_close_us).
 * fresh     what a VMM pays without live update, R times: a new IOAS
 *           that maps the memfd with IOMMU_IOAS_MAP_FILE (pinning it), a
 *           new HWPT of the device on it, the device attached to it
 *           (fresh_us); then the device goes back to its HWPT and the new
 *           objects are destroyed. In stage 2 after restore, the memfd is
 *           the retrieved one.
 * kexec     preserve as above, once, with the names and tokens of
 *           lu-vmm.h, and run CMD (the kexec) with the session open.
 * restore   in the next kernel: the session retrieved, then the memfd,
 *           then the iommufd, which restores the marked HWPT and rebuilds
 *           its IOAS, pinning the memfd (restore_iommufd_us), the HWPT
 *           found by its token (restore_get_id_us), the device retrieved
 *           and bound to the iommufd (restore_device_bind_us, which a VMM
 *           starting over pays too) and attached to the HWPT
 *           (restore_attach_us); then the session finished and fresh
 *           --reps R on the same memfd, the device bound already.
 */
#include "lu-util.h"

#include <getopt.h>
#include <sys/mman.h>
#include <time.h>

#include "lu-vmm.h"

#define IOVA_BASE		0x40000000ULL	/* 1 GiB */
#define MAX_REPS		32

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* "LU-RESULT key v1 v2 ..." */
static void result_list(const char *key, const unsigned long long *v, int n)
{
	char buf[MAX_REPS * 21];
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%llu",
				i ? " " : "", v[i]);
	lu_result(key, "%s", buf);
}

/* The device of @s on a new HWPT of a new IOAS mapping the memfd */
static void setup(struct session *s, size_t len, int *memfd, uint32_t *hwpt)
{
	char bdf[NAME_MAX + 1], cdev[NAME_MAX + 1];
	uint32_t ioas;
	uint8_t *mem;

	pci_find_edu(bdf, sizeof(bdf));
	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	session_open(cdev, s);
	mem = memfd_buf(len, memfd);
	/* memfd_buf() zeroed every page: all are allocated, as a VM's are */
	munmap(mem, len);
	ioas = ioas_alloc(s);
	must(hwpt_alloc(s, ioas, hwpt), "IOMMU_HWPT_ALLOC");
	vfio_attach_pt(s, *hwpt);
	must(ioas_map_file_len(s, ioas, *memfd, 0, len, IOVA_BASE), "IOMMU_IOAS_MAP_FILE of %zu bytes",
	     len);
}

static int preserve_all(int luo_fd, struct session *s, int memfd,
			unsigned long long t[3])
{
	int sfd = luo_session_create(luo_fd, LU_SESSION);
	unsigned long long t0 = now_us();

	must(luo_preserve(sfd, memfd, LU_TOKEN_MEMFD), "preserve the memfd");
	t[0] = now_us() - t0;
	t0 = now_us();
	must(luo_preserve(sfd, s->fd, LU_TOKEN_IOMMUFD), "preserve the iommufd");
	t[1] = now_us() - t0;
	t0 = now_us();
	must(luo_preserve(sfd, s->devfd, LU_TOKEN_DEVICE), "preserve the device");
	t[2] = now_us() - t0;
	return sfd;
}

static void cmd_preserve(size_t len, int reps)
{
	unsigned long long t[4][MAX_REPS], one[3];
	struct session s;
	uint32_t hwpt;
	int memfd, luo_fd, sfd, i;

	setup(&s, len, &memfd, &hwpt);
	must(hwpt_mark(&s, hwpt, 0, 0, TOKEN_1), "IOMMU_HWPT_LU_SET_PRESERVE");
	luo_fd = luo_open();
	for (i = 0; i < reps; i++) {
		unsigned long long t0;

		sfd = preserve_all(luo_fd, &s, memfd, one);
		t[0][i] = one[0];
		t[1][i] = one[1];
		t[2][i] = one[2];
		t0 = now_us();
		close(sfd);
		t[3][i] = now_us() - t0;
	}
	result_list("preserve_memfd_us", t[0], reps);
	result_list("preserve_iommufd_us", t[1], reps);
	result_list("preserve_device_us", t[2], reps);
	result_list("preserve_close_us", t[3], reps);
}

/* fresh_us: R times a new IOAS mapping @memfd, a new HWPT, attached */
static void fresh(struct session *s, uint32_t hwpt, int memfd, size_t len,
		  int reps)
{
	unsigned long long t[MAX_REPS];
	int i;

	for (i = 0; i < reps; i++) {
		unsigned long long t0 = now_us();
		uint32_t ioas, h;

		ioas = ioas_alloc(s);
		must(ioas_map_file_len(s, ioas, memfd, 0, len, IOVA_BASE), "IOMMU_IOAS_MAP_FILE");
		must(hwpt_alloc(s, ioas, &h), "IOMMU_HWPT_ALLOC");
		vfio_attach_pt(s, h);
		t[i] = now_us() - t0;
		vfio_attach_pt(s, hwpt);
		must(obj_destroy(s, h), "IOMMU_DESTROY of HWPT %u", h);
		must(obj_destroy(s, ioas), "IOMMU_DESTROY of IOAS %u", ioas);
	}
	result_list("fresh_us", t, reps);
}

static void cmd_fresh(size_t len, int reps)
{
	struct session s;
	uint32_t hwpt;
	int memfd;

	setup(&s, len, &memfd, &hwpt);
	fresh(&s, hwpt, memfd, len, reps);
}

static LU_NORETURN void cmd_kexec(size_t len, char **cmd)
{
	unsigned long long t[3];
	struct session s;
	uint32_t hwpt;
	int memfd, sfd;

	setup(&s, len, &memfd, &hwpt);
	must(hwpt_mark(&s, hwpt, 0, 0, TOKEN_1), "IOMMU_HWPT_LU_SET_PRESERVE");
	sfd = preserve_all(luo_open(), &s, memfd, t);
	keep_open(sfd);
	exec_cmd(cmd);
}

static void cmd_restore(size_t len, int reps)
{
	struct iommu_hwpt_lu_get_id get = {
		.size = sizeof(get),
		.hwpt_token = TOKEN_1,
	};
	unsigned long long t0, t[4];
	char bdf[NAME_MAX + 1], cdev[NAME_MAX + 1];
	int luo_fd, sfd, memfd;
	struct session s;

	luo_fd = luo_open();
	sfd = luo_session_retrieve(luo_fd, LU_SESSION);
	memfd = luo_retrieve(sfd, LU_TOKEN_MEMFD);
	if (memfd < 0)
		lu_die_err(-memfd, "retrieve the memfd");

	t0 = now_us();
	s.fd = luo_retrieve(sfd, LU_TOKEN_IOMMUFD);
	if (s.fd < 0)
		lu_die_err(-s.fd, "retrieve the iommufd");
	t[0] = now_us() - t0;
	t0 = now_us();
	must(ioctl_err(s.fd, IOMMU_HWPT_LU_GET_ID, &get),
	     "IOMMU_HWPT_LU_GET_ID of token 0x%llx", TOKEN_1);
	t[1] = now_us() - t0;

	pci_find_edu(bdf, sizeof(bdf));
	vfio_bind_pci(bdf);
	vfio_find_cdev(bdf, cdev, sizeof(cdev));
	t0 = now_us();
	s.devfd = luo_retrieve(sfd, LU_TOKEN_DEVICE);
	if (s.devfd < 0)
		lu_die_err(-s.devfd, "retrieve the device");
	must(vfio_bind(s.devfd, s.fd, &s.devid), "VFIO_DEVICE_BIND_IOMMUFD");
	t[2] = now_us() - t0;
	t0 = now_us();
	vfio_attach_pt(&s, get.out_hwpt_id);
	t[3] = now_us() - t0;
	lu_result("restore_iommufd_us", "%llu", t[0]);
	lu_result("restore_get_id_us", "%llu", t[1]);
	lu_result("restore_device_bind_us", "%llu", t[2]);
	lu_result("restore_attach_us", "%llu", t[3]);

	must(luo_finish(sfd), "LIVEUPDATE_SESSION_FINISH");
	fresh(&s, get.out_hwpt_id, memfd, len, reps);
}

static LU_NORETURN void usage(void)
{
	lu_diex("usage: lu-bench preserve|fresh|restore --mib N [--reps R] | "
		"lu-bench kexec --mib N -- CMD...");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ }
	};
	uint64_t mib = 0, reps = 1;
	const char *what;
	int c;

	lu_init_stdio();
	if (argc < 2)
		usage();
	what = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			mib = lu_parse_u64_or_die("--mib", optarg);
		else if (c == 'r')
			reps = lu_parse_u64_or_die("--reps", optarg);
		else
			usage();
	}
	if (!mib || mib > 4096 || !reps || reps > MAX_REPS)
		lu_diex("--mib must be 1..4096 and --reps 1..%d", MAX_REPS);

	if (!strcmp(what, "preserve"))
		cmd_preserve(mib << 20, reps);
	else if (!strcmp(what, "fresh"))
		cmd_fresh(mib << 20, reps);
	else if (!strcmp(what, "restore"))
		cmd_restore(mib << 20, reps);
	else if (!strcmp(what, "kexec") && optind < argc)
		cmd_kexec(mib << 20, argv + optind);
	else
		usage();
	return LU_EXIT_PASS;
}
