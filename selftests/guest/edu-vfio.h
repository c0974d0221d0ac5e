/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding QEMU's edu device and opening it through VFIO: sysfs, driver
 * binding, the VFIO cdev, config space and BAR 0; DMA through BAR 0 and
 * the byte patterns that check it; memfd buffers. Shared by the guest
 * programs; each is a single static binary.
 */
#ifndef EDU_VFIO_H
#define EDU_VFIO_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "edu.h"
#include "lu-util.h"

#define PCI_DEVICES_DIR		"/sys/bus/pci/devices"
#define PCI_DRIVERS_PROBE	"/sys/bus/pci/drivers_probe"
#define VFIO_PCI_DRIVER		"vfio-pci"
#define VFIO_CDEV_DIR		"/dev/vfio/devices"

static inline int sysfs_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, len);
	if (n >= 0 && (size_t)n != len) {
		errno = EIO;
		n = -1;
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

static inline int sysfs_read_ulong(const char *path, unsigned long *val)
{
	char buf[64], *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? errno : EIO;
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	*val = strtoul(buf, &end, 0);
	if (errno || end == buf) {
		errno = errno ? errno : EINVAL;
		return -1;
	}
	return 0;
}

/* Name of the driver bound to @bdf in @name, or "" if there is none. */
static inline void pci_driver_name(const char *bdf, char *name, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			lu_die("readlink %s", path);
		name[0] = '\0';
		return;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		lu_diex("driver name of %s too long: %s", bdf, base);
	strcpy(name, base);
}

static inline int dirent_not_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Vendor and device ID of @bdf from sysfs: 0, or -1 and errno */
static inline int pci_ids(const char *bdf, unsigned long *vendor,
		   unsigned long *device)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/vendor", bdf);
	if (sysfs_read_ulong(path, vendor))
		return -1;
	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/device", bdf);
	return sysfs_read_ulong(path, device);
}

/* Whether @bdf is an edu device */
static inline bool pci_is_edu(const char *bdf)
{
	unsigned long vendor, device;

	return !pci_ids(bdf, &vendor, &device) && vendor == EDU_VENDOR_ID &&
	       device == EDU_DEVICE_ID;
}

#define CMDLINE_FILE		"/proc/cmdline"
#define EDUS_PARAM		"lu.edus="

/*
 * The edu devices the test names on the kernel command line,
 * lu.edus=BDF,BDF,...: the preserved devices first, the device that is
 * not preserved (the control) last. Returns how many there are, 0 if
 * there is no lu.edus=; the @nth (from 1) goes to @bdf if there is one.
 */
static inline int cmdline_edus(int nth, char *bdf, size_t size)
{
	char line[4096], *word, *save, *dev;
	ssize_t len;
	int n = 0, fd;

	fd = open(CMDLINE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		lu_die("open %s", CMDLINE_FILE);
	len = read(fd, line, sizeof(line) - 1);
	if (len < 0)
		lu_die("read %s", CMDLINE_FILE);
	close(fd);
	line[len] = '\0';

	for (word = strtok_r(line, " \n", &save); word;
	     word = strtok_r(NULL, " \n", &save))
		if (!strncmp(word, EDUS_PARAM, strlen(EDUS_PARAM)))
			break;
	if (!word)
		return 0;
	word += strlen(EDUS_PARAM);
	for (dev = strtok_r(word, ",", &save); dev;
	     dev = strtok_r(NULL, ",", &save))
		if (++n == nth)
			snprintf(bdf, size, "%s", dev);
	return n;
}

/*
 * The @nth (from 1) edu device into @bdf: the @nth that lu.edus= names,
 * or else the @nth in PCI address order.
 */
static inline void pci_find_edu_nth(int nth, char *bdf, size_t size)
{
	struct dirent **list;
	int i, n, found = 0, seen = 0;

	n = cmdline_edus(nth, bdf, size);
	if (n) {
		if (nth > n)
			lu_diex("%s names %d edu device(s), not %d",
				EDUS_PARAM, n, nth);
		if (!pci_is_edu(bdf))
			lu_diex("%s device %d, %s, is not a PCI device "
				"%04x:%04x", EDUS_PARAM, nth, bdf,
				EDU_VENDOR_ID, EDU_DEVICE_ID);
		return;
	}

	n = scandir(PCI_DEVICES_DIR, &list, dirent_not_dot, alphasort);
	if (n < 0)
		lu_die("scandir %s", PCI_DEVICES_DIR);

	for (i = 0; i < n; i++) {
		unsigned long vendor, device;

		if (!found) {
			if (pci_ids(list[i]->d_name, &vendor, &device))
				lu_die("read the IDs of %s", list[i]->d_name);
			if (vendor == EDU_VENDOR_ID && device == EDU_DEVICE_ID &&
			    ++seen == nth) {
				snprintf(bdf, size, "%s", list[i]->d_name);
				found = 1;
			}
		}
		free(list[i]);
	}
	free(list);

	if (!found)
		lu_diex("no PCI device %04x:%04x number %d in %s", EDU_VENDOR_ID,
			EDU_DEVICE_ID, nth, PCI_DEVICES_DIR);
}

/*
 * The edu device that is never preserved, the control, into @bdf: the
 * last that lu.edus= names, or else the second in PCI address order.
 */
static inline void pci_find_edu_control(char *bdf, size_t size)
{
	int n = cmdline_edus(0, NULL, 0);

	pci_find_edu_nth(n ? n : 2, bdf, size);
}

static inline void pci_find_edu(char *bdf, size_t size)
{
	pci_find_edu_nth(1, bdf, size);
}

/* Make vfio-pci the driver of @bdf, unbinding whatever driver it had. */
static inline void vfio_bind_pci(const char *bdf)
{
	char path[PATH_MAX], drv[NAME_MAX + 1];

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s", bdf);
	if (access(path, F_OK))
		lu_die("PCI device %s", path);

	pci_driver_name(bdf, drv, sizeof(drv));
	if (!strcmp(drv, VFIO_PCI_DRIVER))
		return;

	if (drv[0]) {
		snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/driver/unbind",
			 bdf);
		if (sysfs_write(path, bdf))
			lu_die("unbind %s from %s", bdf, drv);
	}

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/driver_override",
		 bdf);
	if (sysfs_write(path, VFIO_PCI_DRIVER))
		lu_die("write %s", path);
	if (sysfs_write(PCI_DRIVERS_PROBE, bdf))
		lu_die("write %s to %s", bdf, PCI_DRIVERS_PROBE);

	pci_driver_name(bdf, drv, sizeof(drv));
	if (strcmp(drv, VFIO_PCI_DRIVER))
		lu_diex("%s is bound to '%s' after probing, not %s", bdf, drv,
			VFIO_PCI_DRIVER);
}

/* Name of the VFIO cdev ("vfioN") of @bdf in @name. */
static inline void vfio_find_cdev(const char *bdf, char *name, size_t size)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), PCI_DEVICES_DIR "/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		lu_die("opendir %s", path);
	errno = 0;
	while ((d = readdir(dir))) {
		if (!strncmp(d->d_name, "vfio", 4)) {
			snprintf(name, size, "%s", d->d_name);
			closedir(dir);
			return;
		}
	}
	if (errno)
		lu_die("readdir %s", path);
	closedir(dir);
	lu_diex("no vfio cdev under %s", path);
}

static inline int vfio_open_cdev(const char *name)
{
	char path[PATH_MAX];
	int fd, tries;

	snprintf(path, sizeof(path), VFIO_CDEV_DIR "/%s", name);
	/* devtmpfs creates the node at device_add(); allow a little slack */
	for (tries = 0; tries < 100; tries++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	if (fd < 0)
		lu_die("open %s", path);
	return fd;
}

static inline void vfio_region_info(int devfd, uint32_t index,
			     struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, info))
		lu_die("VFIO_DEVICE_GET_REGION_INFO index %u", index);
}

/* Set memory decoding and bus mastering in the PCI command register. */
static inline void vfio_pci_enable_master(int devfd)
{
	struct vfio_region_info cfg;
	uint16_t cmd;
	ssize_t n;

	vfio_region_info(devfd, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);

	n = pread(devfd, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND);
	if (n != sizeof(cmd)) {
		errno = n < 0 ? errno : EIO;
		lu_die("read PCI command register");
	}
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	n = pwrite(devfd, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND);
	if (n != sizeof(cmd)) {
		errno = n < 0 ? errno : EIO;
		lu_die("write PCI command register");
	}

	n = pread(devfd, &cmd, sizeof(cmd), cfg.offset + PCI_COMMAND);
	if (n != sizeof(cmd)) {
		errno = n < 0 ? errno : EIO;
		lu_die("read back PCI command register");
	}
	if (!(cmd & PCI_COMMAND_MASTER))
		lu_diex("bus mastering did not stick (command 0x%04x)", cmd);
}

static inline volatile void *vfio_map_bar0(int devfd, size_t *size)
{
	struct vfio_region_info bar;
	void *p;

	vfio_region_info(devfd, VFIO_PCI_BAR0_REGION_INDEX, &bar);
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size == 0)
		lu_diex("BAR0 cannot be mmapped (flags 0x%x size 0x%llx)",
			bar.flags, (unsigned long long)bar.size);

	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd,
		 bar.offset);
	if (p == MAP_FAILED)
		lu_die("mmap BAR0");
	*size = bar.size;
	return p;
}

/* ----------------------------------------------------------------------- */
/* DMA and buffer contents                                                 */

/* Byte patterns: pattern(seed, i) differs from any other seed at every i */
#define SEED_P			0x11
#define SEED_Q			0x5a
#define SEED_R			0xa3
#define SEED_S			0xc6

static volatile void *edu_bar;

/* One transfer between @iova and the start of the edu buffer. */
static inline int edu_dma_xfer(enum edu_dma_dir dir, uint64_t iova, uint32_t len)
{
	int ret = edu_dma(edu_bar, dir, iova, 0, len, EDU_DMA_TIMEOUT_MS);
	const char *what = dir == EDU_DMA_TO_DEVICE ? "to device from" :
						      "from device to";

	if (ret == -ETIMEDOUT)
		lu_msg("DMA %s iova 0x%" PRIx64 " len %u: timed out after "
		       "%d ms (command 0x%" PRIx64 ")", what, iova, len,
		       EDU_DMA_TIMEOUT_MS,
		       edu_read64(edu_bar, EDU_REG_DMA_CMD));
	else if (ret)
		lu_msg("DMA %s iova 0x%" PRIx64 " len %u: %s", what, iova, len,
		       strerror(-ret));
	return ret;
}

static inline uint8_t pattern_byte(uint8_t seed, size_t i)
{
	return (uint8_t)(i * 13 + seed);
}

static inline void pattern_fill(uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, i);
}

/* Number of bytes of @buf that hold pattern @seed. */
static inline size_t pattern_count(const uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += buf[i] == pattern_byte(seed, i);
	return n;
}

static inline int all_bytes(const uint8_t *buf, size_t len, uint8_t val)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != val)
			return 0;
	return 1;
}

/* The name of the byte pattern of @seed, for check details */
static inline const char *pattern_name(uint8_t seed)
{
	switch (seed) {
	case SEED_P:
		return "pattern P";
	case SEED_Q:
		return "pattern Q";
	case SEED_R:
		return "pattern R";
	case SEED_S:
		return "pattern S";
	default:
		return "another pattern";
	}
}

/* Short description of what @buf holds, for check details. */
static inline const char *describe(const uint8_t *buf, size_t len)
{
	static const uint8_t seeds[] = { SEED_P, SEED_Q, SEED_R, SEED_S };
	static char other[64];
	size_t i;

	for (i = 0; i < sizeof(seeds); i++)
		if (pattern_count(buf, len, seeds[i]) == len)
			return pattern_name(seeds[i]);
	if (all_bytes(buf, len, 0x00))
		return "all 0x00";
	if (all_bytes(buf, len, 0xff))
		return "all 0xff";
	snprintf(other, sizeof(other),
		 "other data (%02x %02x %02x %02x ...)", buf[0], buf[1],
		 buf[2], buf[3]);
	return other;
}

/* Shared mapping of a fresh, zeroed memfd of @len bytes. */
static inline uint8_t *memfd_buf(size_t len, int *fdp)
{
	void *p;
	int fd;

	fd = memfd_create("edu-buf", MFD_CLOEXEC);
	if (fd < 0)
		lu_die("memfd_create");
	if (ftruncate(fd, len))
		lu_die("ftruncate memfd to %zu", len);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		lu_die("mmap memfd");
	memset(p, 0, len);
	*fdp = fd;
	return p;
}

#endif /* EDU_VFIO_H */
