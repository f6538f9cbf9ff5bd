// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio ABI cmavm takes from the kernel's UAPI headers, pinned to the
 * numbers of the virtio 1.2 specification, written out by hand here so
 * that the product's constants and the tests' are not the same thing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_blk.h>

#include "vmm/virtio/virtio.h"

/* 4.2.2 MMIO Device Register Layout */
static void test_mmio_registers(void **state)
{
	(void)state;
	assert_int_equal(VIRTIO_MMIO_MAGIC_VALUE, 0x000);
	assert_int_equal(VIRTIO_MMIO_VERSION, 0x004);
	assert_int_equal(VIRTIO_MMIO_DEVICE_ID, 0x008);
	assert_int_equal(VIRTIO_MMIO_VENDOR_ID, 0x00c);
	assert_int_equal(VIRTIO_MMIO_DEVICE_FEATURES, 0x010);
	assert_int_equal(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0x014);
	assert_int_equal(VIRTIO_MMIO_DRIVER_FEATURES, 0x020);
	assert_int_equal(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0x024);
	assert_int_equal(VIRTIO_MMIO_QUEUE_SEL, 0x030);
	assert_int_equal(VIRTIO_MMIO_QUEUE_NUM_MAX, 0x034);
	assert_int_equal(VIRTIO_MMIO_QUEUE_NUM, 0x038);
	assert_int_equal(VIRTIO_MMIO_QUEUE_READY, 0x044);
	assert_int_equal(VIRTIO_MMIO_QUEUE_NOTIFY, 0x050);
	assert_int_equal(VIRTIO_MMIO_INTERRUPT_STATUS, 0x060);
	assert_int_equal(VIRTIO_MMIO_INTERRUPT_ACK, 0x064);
	assert_int_equal(VIRTIO_MMIO_STATUS, 0x070);
	assert_int_equal(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x080);
	assert_int_equal(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x084);
	assert_int_equal(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x090);
	assert_int_equal(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0x094);
	assert_int_equal(VIRTIO_MMIO_QUEUE_USED_LOW, 0x0a0);
	assert_int_equal(VIRTIO_MMIO_QUEUE_USED_HIGH, 0x0a4);
	assert_int_equal(VIRTIO_MMIO_CONFIG_GENERATION, 0x0fc);
	assert_int_equal(VIRTIO_MMIO_CONFIG, 0x100);
	assert_int_equal(VIRTIO_MMIO_INT_VRING, 1);
	assert_int_equal(VIRTIO_MMIO_INT_CONFIG, 2);
}

/* 2.1 Device Status Field, 6 Reserved Feature Bits, 5 Device Types */
static void test_status_features_ids(void **state)
{
	(void)state;
	assert_int_equal(VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	assert_int_equal(VIRTIO_CONFIG_S_DRIVER, 2);
	assert_int_equal(VIRTIO_CONFIG_S_DRIVER_OK, 4);
	assert_int_equal(VIRTIO_CONFIG_S_FEATURES_OK, 8);
	assert_int_equal(VIRTIO_CONFIG_S_NEEDS_RESET, 64);
	assert_int_equal(VIRTIO_CONFIG_S_FAILED, 128);
	assert_int_equal(VIRTIO_RING_F_INDIRECT_DESC, 28);
	assert_int_equal(VIRTIO_RING_F_EVENT_IDX, 29);
	assert_int_equal(VIRTIO_F_VERSION_1, 32);
	assert_int_equal(VIRTIO_F_ACCESS_PLATFORM, 33);
	assert_int_equal(VIRTIO_ID_BLOCK, 2);
	assert_int_equal(VIRTIO_ID_RNG, 4);
	assert_int_equal(VIRTIO_ID_BALLOON, 5);
}

/* 2.7 Split Virtqueues */
static void test_split_ring(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vring_desc), 16);
	assert_int_equal(VRING_DESC_F_NEXT, 1);
	assert_int_equal(VRING_DESC_F_WRITE, 2);
	assert_int_equal(VRING_DESC_F_INDIRECT, 4);
	assert_int_equal(VRING_AVAIL_F_NO_INTERRUPT, 1);
	assert_int_equal(VRING_USED_F_NO_NOTIFY, 1);
	assert_int_equal(sizeof(struct vring_used_elem), 8);
	/* with EVENT_IDX: notify only once the index passes the other side's event index */
	assert_int_equal(vring_need_event(5, 6, 5), 1);
	assert_int_equal(vring_need_event(7, 6, 5), 0);
}

/* 5.2 Block Device */
static void test_blk(void **state)
{
	(void)state;
	assert_int_equal(VIRTIO_BLK_F_SEG_MAX, 2);
	assert_int_equal(VIRTIO_BLK_F_RO, 5);
	assert_int_equal(VIRTIO_BLK_F_BLK_SIZE, 6);
	assert_int_equal(VIRTIO_BLK_F_FLUSH, 9);
	assert_int_equal(VIRTIO_BLK_F_DISCARD, 13);
	assert_int_equal(VIRTIO_BLK_F_WRITE_ZEROES, 14);
	assert_int_equal(VIRTIO_BLK_T_IN, 0);
	assert_int_equal(VIRTIO_BLK_T_OUT, 1);
	assert_int_equal(VIRTIO_BLK_T_FLUSH, 4);
	assert_int_equal(VIRTIO_BLK_T_GET_ID, 8);
	assert_int_equal(VIRTIO_BLK_T_DISCARD, 11);
	assert_int_equal(VIRTIO_BLK_T_WRITE_ZEROES, 13);
	assert_int_equal(VIRTIO_BLK_S_OK, 0);
	assert_int_equal(VIRTIO_BLK_S_IOERR, 1);
	assert_int_equal(VIRTIO_BLK_S_UNSUPP, 2);
	assert_int_equal(sizeof(struct virtio_blk_outhdr), 16);
	assert_int_equal(offsetof(struct virtio_blk_config, capacity), 0);
	assert_int_equal(offsetof(struct virtio_blk_config, seg_max), 12);
	assert_int_equal(offsetof(struct virtio_blk_config, blk_size), 20);
	assert_int_equal(offsetof(struct virtio_blk_config, max_discard_sectors), 36);
	assert_int_equal(offsetof(struct virtio_blk_config, max_write_zeroes_sectors), 48);
	assert_int_equal(sizeof(struct virtio_blk_discard_write_zeroes), 16);
}

/* 5.5 Traditional Memory Balloon Device */
static void test_balloon(void **state)
{
	(void)state;
	assert_int_equal(VIRTIO_BALLOON_F_STATS_VQ, 1);
	assert_int_equal(VIRTIO_BALLOON_F_DEFLATE_ON_OOM, 2);
	assert_int_equal(VIRTIO_BALLOON_F_REPORTING, 5);
	assert_int_equal(VIRTIO_BALLOON_PFN_SHIFT, 12);
	assert_int_equal(offsetof(struct virtio_balloon_config, num_pages), 0);
	assert_int_equal(offsetof(struct virtio_balloon_config, actual), 4);
	assert_int_equal(sizeof(struct virtio_balloon_stat), 10);
	assert_int_equal(VIRTIO_BALLOON_S_SWAP_IN, 0);
	assert_int_equal(VIRTIO_BALLOON_S_MEMFREE, 4);
	assert_int_equal(VIRTIO_BALLOON_S_MEMTOT, 5);
	assert_int_equal(VIRTIO_BALLOON_S_AVAIL, 6);
	assert_int_equal(VIRTIO_BALLOON_S_HTLB_PGFAIL, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_registers), cmocka_unit_test(test_status_features_ids),
		cmocka_unit_test(test_split_ring),     cmocka_unit_test(test_blk),
		cmocka_unit_test(test_balloon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
