/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Register layout of QEMU's "edu" educational PCI device (1234:11e8) and
 * small inline helpers for guest test programs that drive it from user
 * space through a VFIO BAR0 mapping.
 *
 * The device has a 4 KiB internal DMA buffer at device address 0x40000.
 * A DMA copies between that buffer and a bus address (an IOVA when an
 * IOMMU translates the device).  The device masks bus addresses to 28
 * bits, and QEMU aborts the whole VM if a transfer does not fit inside
 * the internal buffer, so every helper here checks the bounds first.
 * Completion is signalled by the device clearing the start bit of the
 * command register about 100 ms (virtual time) after it was set.
 *
 * Writing bits to EDU_REG_IRQ_RAISE sets them in the interrupt status and
 * raises an interrupt: an MSI when MSI is on (one vector, which the
 * device cannot mask), else INTx, held until EDU_REG_IRQ_ACK clears every
 * status bit.
 */
#ifndef LU_GUEST_EDU_H
#define LU_GUEST_EDU_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

/* BAR0 registers */
#define EDU_REG_ID		0x00	/* 32-bit, 0xMMmm00ed */
#define EDU_REG_LIVENESS	0x04	/* 32-bit, reads back ~last write */
#define EDU_REG_IRQ_STATUS	0x24	/* 32-bit, interrupt status bits */
#define EDU_REG_IRQ_RAISE	0x60	/* 32-bit, write: set status bits, raise */
#define EDU_REG_IRQ_ACK		0x64	/* 32-bit, write: clear status bits */
#define EDU_REG_DMA_SRC		0x80	/* 64-bit source bus address */
#define EDU_REG_DMA_DST		0x88	/* 64-bit destination bus address */
#define EDU_REG_DMA_CNT		0x90	/* 64-bit byte count */
#define EDU_REG_DMA_CMD		0x98	/* 64-bit command / status */

#define EDU_ID_MAGIC		0xed	/* low byte of EDU_REG_ID */

/* EDU_REG_DMA_CMD bits */
#define EDU_DMA_CMD_START	0x1	/* set to start, cleared when done */
#define EDU_DMA_CMD_TO_RAM	0x2	/* 0: RAM -> device, 1: device -> RAM */
#define EDU_DMA_CMD_IRQ		0x4	/* raise an interrupt when done */

/* Internal DMA buffer, as seen in the device's own address space */
#define EDU_DMA_BUF_ADDR	0x40000ULL
#define EDU_DMA_BUF_SIZE	4096U

/* The device masks bus addresses to this many bits */
#define EDU_DMA_ADDR_BITS	28
#define EDU_DMA_ADDR_LIMIT	(1ULL << EDU_DMA_ADDR_BITS)

#define EDU_DMA_TIMEOUT_MS	5000

enum edu_dma_dir {
	EDU_DMA_TO_DEVICE,	/* RAM at iova -> internal buffer */
	EDU_DMA_FROM_DEVICE,	/* internal buffer -> RAM at iova */
};

static inline uint32_t edu_read32(volatile void *bar, unsigned int off)
{
	return *(volatile uint32_t *)((volatile uint8_t *)bar + off);
}

static inline void edu_write32(volatile void *bar, unsigned int off,
			       uint32_t val)
{
	*(volatile uint32_t *)((volatile uint8_t *)bar + off) = val;
}

static inline uint64_t edu_read64(volatile void *bar, unsigned int off)
{
	return *(volatile uint64_t *)((volatile uint8_t *)bar + off);
}

static inline void edu_write64(volatile void *bar, unsigned int off,
			       uint64_t val)
{
	*(volatile uint64_t *)((volatile uint8_t *)bar + off) = val;
}

/* True if the ID register carries the edu signature byte. */
static inline int edu_id_ok(volatile void *bar, uint32_t *id)
{
	uint32_t v = edu_read32(bar, EDU_REG_ID);

	if (id)
		*id = v;
	return (v & 0xff) == EDU_ID_MAGIC;
}

/* True if the liveness register returns the inverse of @val. */
static inline int edu_liveness_ok(volatile void *bar, uint32_t val)
{
	edu_write32(bar, EDU_REG_LIVENESS, val);
	return edu_read32(bar, EDU_REG_LIVENESS) == (uint32_t)~val;
}

static inline int edu_dma_busy(volatile void *bar)
{
	return edu_read64(bar, EDU_REG_DMA_CMD) & EDU_DMA_CMD_START;
}

/*
 * Check that a transfer of @len bytes between bus address @iova and
 * offset @buf_off of the internal buffer is one the device accepts
 * without clamping the address or aborting QEMU.
 */
static inline int edu_dma_range_ok(uint64_t iova, uint32_t buf_off,
				   uint32_t len)
{
	if (len == 0 || buf_off >= EDU_DMA_BUF_SIZE ||
	    len > EDU_DMA_BUF_SIZE - buf_off)
		return 0;
	if (iova >= EDU_DMA_ADDR_LIMIT || len > EDU_DMA_ADDR_LIMIT - iova)
		return 0;
	return 1;
}

/*
 * Program and start one transfer.  Returns 0, -EINVAL for a range the
 * device would reject, or -EBUSY if a transfer is still running (the
 * device ignores register writes while it is busy).
 */
static inline int edu_dma_start(volatile void *bar, enum edu_dma_dir dir,
				uint64_t iova, uint32_t buf_off, uint32_t len)
{
	uint64_t dev = EDU_DMA_BUF_ADDR + buf_off;
	uint64_t cmd = EDU_DMA_CMD_START;

	if (!edu_dma_range_ok(iova, buf_off, len))
		return -EINVAL;
	if (edu_dma_busy(bar))
		return -EBUSY;

	if (dir == EDU_DMA_TO_DEVICE) {
		edu_write64(bar, EDU_REG_DMA_SRC, iova);
		edu_write64(bar, EDU_REG_DMA_DST, dev);
	} else {
		edu_write64(bar, EDU_REG_DMA_SRC, dev);
		edu_write64(bar, EDU_REG_DMA_DST, iova);
		cmd |= EDU_DMA_CMD_TO_RAM;
	}
	edu_write64(bar, EDU_REG_DMA_CNT, len);
	/* CPU writes to the DMA buffer must be visible before the start */
	__sync_synchronize();
	edu_write64(bar, EDU_REG_DMA_CMD, cmd);
	return 0;
}

static inline uint64_t edu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Poll until the running transfer finishes.  Returns 0, or -ETIMEDOUT
 * if the start bit is still set after @timeout_ms milliseconds.
 */
static inline int edu_dma_wait(volatile void *bar, unsigned int timeout_ms)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	uint64_t deadline = edu_now_ms() + timeout_ms;

	while (edu_dma_busy(bar)) {
		if (edu_now_ms() > deadline)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	/* DMA writes must be visible before the CPU reads the buffer */
	__sync_synchronize();
	return 0;
}

/* Start one transfer and wait for it; see edu_dma_start/edu_dma_wait. */
static inline int edu_dma(volatile void *bar, enum edu_dma_dir dir,
			  uint64_t iova, uint32_t buf_off, uint32_t len,
			  unsigned int timeout_ms)
{
	int ret = edu_dma_start(bar, dir, iova, buf_off, len);

	if (ret)
		return ret;
	return edu_dma_wait(bar, timeout_ms);
}

#endif /* LU_GUEST_EDU_H */
