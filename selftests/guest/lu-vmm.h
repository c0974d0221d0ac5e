/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a VMM does for the live update of a VFIO device, shared by the
 * guest programs that act as one (lu-vfio, lu-failnth): the edu device's
 * cdev bound to an iommufd and attached to an HWPT whose IOAS maps the two
 * pages A and B of a memfd, the HWPT marked for preservation, the memfd,
 * the iommufd and the device preserved in a LUO session (the names and
 * tokens that lu-vfio retrieve looks for in the next kernel), DMA left in
 * flight and the kexec run with the session open.
 */
#ifndef LU_VMM_H
#define LU_VMM_H

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/liveupdate.h>
#include <linux/vfio.h>

#include "edu-vfio.h"
#include "lu-util.h"

#define IOMMUFD_DEV		"/dev/iommu"

#define PAGE			0x1000UL
#define XFER_LEN		1024U		/* bytes per DMA */

/* IOVAs; all below the edu device's 28-bit DMA limit */
#define IOVA_A			0x100000ULL	/* page A; other IOASes too */
#define IOVA_B			(IOVA_A + PAGE)	/* page B */

#define TOKEN_1			0x1234ULL	/* the marked HWPT (lu-vfio: HWPT 1) */

#define LUO_DEV			"/dev/liveupdate"
#define LU_SESSION		"lu-iommufd"
#define LU_TOKEN_MEMFD		1ULL
#define LU_TOKEN_IOMMUFD	2ULL
#define LU_TOKEN_DEVICE		3ULL

#define ERR_STR_LEN		32

/* A VFIO device fd bound to an iommufd */
struct session {
	int devfd;
	int fd;			/* iommufd */
	uint32_t devid;
};

/* ----------------------------------------------------------------------- */
/* Errors                                                                  */

/* Die with error number @err unless it is 0: for steps that must work. */
static inline LU_PRINTF(2, 3) void must(int err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	lu_vmsg(err, NULL, fmt, ap);
	va_end(ap);
	exit(LU_EXIT_ERROR);
}

/* 0, or the error number of a failed ioctl */
static inline int ioctl_err(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

/* "errno EBUSY", or "success" for 0, in @buf. */
static inline const char *err_str(char buf[ERR_STR_LEN], int err)
{
	const char *name = err ? strerrorname_np(err) : NULL;

	if (!err)
		snprintf(buf, ERR_STR_LEN, "success");
	else if (name)
		snprintf(buf, ERR_STR_LEN, "errno %s", name);
	else
		snprintf(buf, ERR_STR_LEN, "errno %d", err);
	return buf;
}

/* ----------------------------------------------------------------------- */
/* VFIO                                                                    */

/* Bind the device fd @devfd to @iommufd: 0 and its id in @devid, or an errno */
static inline int vfio_bind(int devfd, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	int err = ioctl_err(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);

	*devid = bind.out_devid;
	return err;
}

/* Open the VFIO cdev @cdev and bind it to a new iommufd. */
static inline void session_open(const char *cdev, struct session *s)
{
	s->devfd = vfio_open_cdev(cdev);
	s->fd = open(IOMMUFD_DEV, O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		lu_die("open %s", IOMMUFD_DEV);
	must(vfio_bind(s->devfd, s->fd, &s->devid), "VFIO_DEVICE_BIND_IOMMUFD");
}

/* Attach the device to the HWPT or IOAS @pt_id: 0 or an errno */
static inline int vfio_attach_pt_err(struct session *s, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = pt_id,
	};

	return ioctl_err(s->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
}

static inline void vfio_attach_pt(struct session *s, uint32_t pt_id)
{
	must(vfio_attach_pt_err(s, pt_id),
	     "VFIO_DEVICE_ATTACH_IOMMUFD_PT pt %u", pt_id);
}

/* ----------------------------------------------------------------------- */
/* iommufd: each returns 0 or the error number of the ioctl                */

static inline uint32_t ioas_alloc(struct session *s)
{
	struct iommu_ioas_alloc alloc = {
		.size = sizeof(alloc),
	};

	must(ioctl_err(s->fd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC");
	return alloc.out_ioas_id;
}

/* A paging HWPT of the device for IOAS @ioas, in @hwpt. */
static inline int hwpt_alloc(struct session *s, uint32_t ioas, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.dev_id = s->devid,
		.pt_id = ioas,
	};
	int err = ioctl_err(s->fd, IOMMU_HWPT_ALLOC, &alloc);

	*hwpt = alloc.out_hwpt_id;
	return err;
}

/* @len bytes of @memfd from offset @start, mapped at @iova. */
static inline int ioas_map_file_len(struct session *s, uint32_t ioas,
				    int memfd, uint64_t start, uint64_t len,
				    uint64_t iova)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.fd = memfd,
		.start = start,
		.length = len,
		.iova = iova,
	};

	return ioctl_err(s->fd, IOMMU_IOAS_MAP_FILE, &map);
}

/* One page of @memfd at offset @start, mapped at @iova. */
static inline int ioas_map_file(struct session *s, uint32_t ioas, int memfd,
				uint64_t start, uint64_t iova)
{
	return ioas_map_file_len(s, ioas, memfd, start, PAGE, iova);
}

static inline int obj_destroy(struct session *s, uint32_t id)
{
	struct iommu_destroy destroy = {
		.size = sizeof(destroy),
		.id = id,
	};

	return ioctl_err(s->fd, IOMMU_DESTROY, &destroy);
}

static inline int hwpt_mark(struct session *s, uint32_t hwpt, uint32_t flags,
		     uint32_t reserved, uint64_t token)
{
	struct iommu_hwpt_lu_set_preserve mark = {
		.size = sizeof(mark),
		.flags = flags,
		.hwpt_id = hwpt,
		.__reserved = reserved,
		.hwpt_token = token,
	};

	return ioctl_err(s->fd, IOMMU_HWPT_LU_SET_PRESERVE, &mark);
}

/* Clear the mark of @hwpt; @token must be 0 */
static inline int hwpt_clear(struct session *s, uint32_t hwpt, uint64_t token)
{
	return hwpt_mark(s, hwpt, IOMMU_HWPT_LU_CLEAR, 0, token);
}

/*
 * The device of @s, its BAR 0 mapped (edu_bar, @bar_size) and bus
 * mastering on, attached to a new HWPT (@hwpt) of a new IOAS that maps the
 * two pages A and B of a new memfd (@memfd) at IOVA_A and IOVA_B. Return:
 * the memfd's pages, mapped.
 */
static inline uint8_t *attach_memfd_hwpt(struct session *s, int *memfd,
				  uint32_t *hwpt, size_t *bar_size)
{
	uint32_t ioas = ioas_alloc(s);
	uint8_t *mem;

	must(hwpt_alloc(s, ioas, hwpt), "IOMMU_HWPT_ALLOC for IOAS %u", ioas);
	vfio_attach_pt(s, *hwpt);
	mem = memfd_buf(2 * PAGE, memfd);
	must(ioas_map_file(s, ioas, *memfd, 0, IOVA_A),
	     "IOMMU_IOAS_MAP_FILE of A at iova 0x%llx", IOVA_A);
	must(ioas_map_file(s, ioas, *memfd, PAGE, IOVA_B),
	     "IOMMU_IOAS_MAP_FILE of B at iova 0x%llx", IOVA_B);
	edu_bar = vfio_map_bar0(s->devfd, bar_size);
	vfio_pci_enable_master(s->devfd);
	return mem;
}

/* ----------------------------------------------------------------------- */
/* LUO sessions, DMA in flight, the kexec                                  */

static inline int luo_open(void)
{
	int fd = open(LUO_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		lu_die("open %s", LUO_DEV);
	return fd;
}

static inline int luo_session_create(int luo_fd, const char *name)
{
	struct liveupdate_ioctl_create_session create = {
		.size = sizeof(create),
	};

	snprintf((char *)create.name, sizeof(create.name), "%s", name);
	if (ioctl(luo_fd, LIVEUPDATE_IOCTL_CREATE_SESSION, &create))
		lu_die("create live update session '%s'", name);
	return create.fd;
}

static inline int luo_preserve(int session_fd, int fd, uint64_t token)
{
	struct liveupdate_session_preserve_fd preserve = {
		.size = sizeof(preserve),
		.fd = fd,
		.token = token,
	};

	return ioctl_err(session_fd, LIVEUPDATE_SESSION_PRESERVE_FD, &preserve);
}

/* The session @name of the previous kernel */
static inline int luo_session_retrieve(int luo_fd, const char *name)
{
	struct liveupdate_ioctl_retrieve_session retrieve = {
		.size = sizeof(retrieve),
	};

	snprintf((char *)retrieve.name, sizeof(retrieve.name), "%s", name);
	if (ioctl(luo_fd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &retrieve))
		lu_die("retrieve session '%s'", name);
	return retrieve.fd;
}

/* The file preserved with @token, or a negative errno */
static inline int luo_retrieve(int session_fd, uint64_t token)
{
	struct liveupdate_session_retrieve_fd rfd = {
		.size = sizeof(rfd),
		.token = token,
	};
	int err = ioctl_err(session_fd, LIVEUPDATE_SESSION_RETRIEVE_FD, &rfd);

	return err ? -err : rfd.fd;
}

static inline int luo_finish(int session_fd)
{
	struct liveupdate_session_finish finish = {
		.size = sizeof(finish),
	};

	return ioctl_err(session_fd, LIVEUPDATE_SESSION_FINISH, &finish);
}

/*
 * DMA in flight across the kexec, at @off into A and B (0, or an extra
 * edu device's, extra_layout): the device's buffer gets pattern Q from A, B
 * is filled with S, and the copy from the device to B is started and not
 * waited for. The next stage finds Q in B.
 */
static inline void start_inflight_dma(uint8_t *mem, size_t off)
{
	pattern_fill(mem + off, XFER_LEN, SEED_Q);
	pattern_fill(mem + PAGE + off, XFER_LEN, SEED_S);
	must(-edu_dma_xfer(EDU_DMA_TO_DEVICE, IOVA_A + off, XFER_LEN),
	     "DMA from A to the device");
	must(-edu_dma_start(edu_bar, EDU_DMA_FROM_DEVICE, IOVA_B + off, 0,
			    XFER_LEN),
	     "start the DMA from the device to B");
	printf("%s: DMA from the device to iova 0x%llx started; kexec now\n",
	       program_invocation_short_name, IOVA_B + off);
}

/* Keep the session fd @fd open across the exec of CMD (the kexec). */
static inline void keep_open(int fd)
{
	if (fcntl(fd, F_SETFD, 0))
		lu_die("clear FD_CLOEXEC on the session fd");
}

/* Run CMD (the kexec, or what runs it); the sessions kept open stay so. */
static inline LU_NORETURN void exec_cmd(char **cmd)
{
	fflush(NULL);
	execvp(cmd[0], cmd);
	lu_die("exec %s", cmd[0]);
}

#endif /* LU_VMM_H */
