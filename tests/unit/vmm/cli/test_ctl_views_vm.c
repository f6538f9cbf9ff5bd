// SPDX-License-Identifier: GPL-2.0-only
/*
 * The views of the VM (vmm/cli/ctl_views_vm.c), each fed the JSON the API
 * answers (vmm/control/api.h) and its text compared whole: columns,
 * sizes, "?" and 0 for what the answer lacks, "-" for empty cells.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "capture.h"
#include "vmm/cli/ctl.h"

static void test_status_with_its_pools_below(void **state)
{
	assert_view(ctl_show_status,
		    "{'state': 'running', 'vcpus': 2, 'memory_bytes': 536870912,"
		    " 'memory_resident_bytes': 73400320, 'pools': ["
		    "  {'name': 'linux,cma', 'kind': 'cma', 'default': true, 'base': 2617245696,"
		    "   'size': 67108864, 'why': 'highest free 4 MiB-aligned range below 4 GiB'},"
		    "  {'name': 'fw', 'kind': 'coherent', 'default': false, 'base': 2596274176,"
		    "   'size': 4194304, 'why': 'next free range down'}],"
		    " 'cmdline': 'console=ttyS0 quiet', 'uptime_s': 3725}",
		    "state     running\n"
		    "vcpus     2\n"
		    "memory    512 MiB\n"
		    "resident  70 MiB\n"
		    "uptime    1h 02m 05s\n"
		    "cmdline   console=ttyS0 quiet\n"
		    "\n"
		    "pool       kind      default  base        size    why\n"
		    "linux,cma  cma       yes      0x9c000000  64 MiB  highest free 4 MiB-aligned "
		    "range below 4 GiB\n"
		    "fw         coherent  no       0x9ac00000  4 MiB   next free range down\n");
}

/* A paused VM without pools: its fields after the name, and its rows. */
#define PAUSED_VM                                                                                  \
	" 'state': 'paused', 'vcpus': 1, 'memory_bytes': 134217728,"                               \
	" 'memory_resident_bytes': 0, 'pools': [], 'cmdline': '', 'uptime_s': 65}"
#define PAUSED_VM_ROWS                                                                             \
	"state     paused\n"                                                                       \
	"vcpus     1\n"                                                                            \
	"memory    128 MiB\n"                                                                      \
	"resident  0 bytes\n"                                                                      \
	"uptime    1m 05s\n"                                                                       \
	"cmdline   \n"

static void test_status_without_pools_has_no_second_table(void **state)
{
	/* an empty cmdline is an empty last cell: its key keeps its padding */
	assert_view(ctl_show_status, "{" PAUSED_VM, PAUSED_VM_ROWS);
}

/* A VM run with --name says it first; one without (null) has no such row. */
static void test_status_of_a_named_vm(void **state)
{
	assert_view(ctl_show_status, "{'name': 'web-1'," PAUSED_VM,
		    "name      web-1\n" PAUSED_VM_ROWS);
	assert_view(ctl_show_status, "{'name': null," PAUSED_VM, PAUSED_VM_ROWS);
	assert_view(ctl_show_status, "{'name': ''," PAUSED_VM, PAUSED_VM_ROWS);
}

/* A running VM's status, its rows as printed once guest_cma adds its two. */
#define STATUS_JSON                                                                                \
	"{'state': 'running', 'vcpus': 1, 'memory_bytes': 134217728,"                              \
	" 'memory_resident_bytes': 0, 'pools': [], 'cmdline': 'quiet', 'uptime_s': 5,"
#define STATUS_ROWS                                                                                \
	"state          running\n"                                                                 \
	"vcpus          1\n"                                                                       \
	"memory         128 MiB\n"                                                                 \
	"resident       0 bytes\n"                                                                 \
	"uptime         5 s\n"                                                                     \
	"cmdline        quiet\n"

static void test_status_with_the_guest_s_own_cma_figures(void **state)
{
	assert_view(ctl_show_status,
		    STATUS_JSON " 'guest_cma': {'agent': true, 'agent_state': 'answering',"
				" 'cma_total_bytes': 67108864, 'cma_free_bytes': 41943040,"
				" 'peak_used_bytes': 31457280, 'alloc_fail': 2,"
				" 'reported_free_bytes': 2097152}}",
		    STATUS_ROWS
		    "guest CMA      40 MiB free of 64 MiB, peak use 30 MiB, 2 failed allocations\n"
		    "reported free  2 MiB of pool pageblocks (free page reporting)\n");
	assert_view(ctl_show_status,
		    STATUS_JSON " 'guest_cma': {'agent': false, 'agent_state': 'silent',"
				" 'cma_total_bytes': null, 'reported_free_bytes': 0}}",
		    STATUS_ROWS
		    "guest CMA      no figures: guest agent silent\n"
		    "reported free  0 bytes of pool pageblocks (free page reporting)\n");
}

static void test_status_shows_what_the_answer_lacks_as_unknown_or_0(void **state)
{
	assert_view(ctl_show_status, "{'uptime_s': 7}",
		    "state     ?\n"
		    "vcpus     0\n"
		    "memory    0 bytes\n"
		    "resident  0 bytes\n"
		    "uptime    7 s\n"
		    "cmdline   ?\n");
	/* a negative number is no number */
	assert_view(ctl_show_status, "{'vcpus': -2, 'uptime_s': -1}",
		    "state     ?\n"
		    "vcpus     0\n"
		    "memory    0 bytes\n"
		    "resident  0 bytes\n"
		    "uptime    0 s\n"
		    "cmdline   ?\n");
}

static void test_state(void **state)
{
	assert_view(ctl_show_state, "{'state': 'paused'}", "state  paused\n");
	assert_view(ctl_show_state, "{}", "state  ?\n");
}

static void test_balloon(void **state)
{
	assert_view(ctl_show_balloon,
		    "{'target_bytes': 134217728, 'actual_bytes': 67108864, 'deflate_on_oom': true,"
		    " 'free_page_reporting': false, 'stats_interval_s': 5}",
		    "target               128 MiB\n"
		    "actual               64 MiB\n"
		    "deflate_on_oom       yes\n"
		    "free_page_reporting  no\n"
		    "statistics           every 5 s\n");
	assert_view(ctl_show_balloon,
		    "{'target_bytes': 0, 'actual_bytes': 4097, 'deflate_on_oom': false,"
		    " 'free_page_reporting': true, 'stats_interval_s': 0}",
		    "target               0 bytes\n"
		    "actual               4097 bytes\n"
		    "deflate_on_oom       no\n"
		    "free_page_reporting  yes\n"
		    "statistics           off\n");
}

static void test_balloon_stats_amounts_of_memory_are_sizes(void **state)
{
	/* in the answer's order, with "updated" last whatever its place */
	assert_view(ctl_show_balloon_stats,
		    "{'swap_in': 0, 'swap_out': 4096, 'majflt': 12, 'updated_s_ago': 3,"
		    " 'minflt': 3456, 'memfree': 123453440, 'memtot': 536870912,"
		    " 'avail': 400003072, 'caches': 1048576, 'htlb_pgalloc': 0, 'htlb_pgfail': 0}",
		    "swap_in       0 bytes\n"
		    "swap_out      4 KiB\n"
		    "majflt        12\n"
		    "minflt        3456\n"
		    "memfree       120560 KiB\n"
		    "memtot        512 MiB\n"
		    "avail         390628 KiB\n"
		    "caches        1 MiB\n"
		    "htlb_pgalloc  0\n"
		    "htlb_pgfail   0\n"
		    "updated       3 s ago\n");
}

static void test_balloon_stats_none_reported(void **state)
{
	assert_view(ctl_show_balloon_stats, "{'updated_s_ago': 12}", "updated  12 s ago\n");
	assert_view(ctl_show_balloon_stats, "{}", "updated  0 s ago\n");
}

static void test_devices(void **state)
{
	assert_view(
		ctl_show_devices,
		"[{'name': 'virtio-blk0', 'type': 'blk', 'mmio_base': 167772160, 'irq': 16,"
		"  'features_offered': 12968787492, 'features_acked': 8673820228, 'status': 15,"
		"  'counters': {'reads': 12, 'writes': 3, 'bytes_read': 49152,"
		"               'bytes_written': 1048576, 'flushes': 1, 'errors': 0},"
		"  'queues': [{'size': 256, 'enabled': true, 'broken': false, 'desc': 2617245696,"
		"              'driver': 2617249792, 'device': 2617253888}]},"
		" {'name': 'virtio-rng0', 'type': 'rng', 'mmio_base': 167772672, 'irq': 17,"
		"  'features_offered': 8589934592, 'features_acked': 8589934592, 'status': 79,"
		"  'counters': {'requests': 2, 'bytes': 64},"
		"  'queues': [{'size': 64, 'enabled': true, 'broken': true, 'desc': 0, 'driver': 0,"
		"              'device': 0}]},"
		" {'name': 'virtio-balloon0', 'type': 'balloon', 'mmio_base': 167773184, 'irq': 18,"
		"  'features_offered': 4294967334, 'features_acked': 4294967302, 'status': 11,"
		"  'counters': {'inflated_pages': 32768, 'deflated_pages': 0},"
		"  'queues': [{'size': 128, 'enabled': true, 'broken': false},"
		"             {'size': 128, 'enabled': false, 'broken': false},"
		"             {'size': 128, 'enabled': true, 'broken': false}]}]",
		"name             type     mmio_base   irq  status            features "
		"acked/offered   "
		"queues     counters\n"
		"virtio-blk0      blk      0x0a000000  16   0xf driver_ok     "
		"0x204fffe44/0x304fffe24  "
		"256        reads 12, writes 3, bytes_read 48 KiB, bytes_written 1 MiB, flushes 1, "
		"errors 0\n"
		"virtio-rng0      rng      0x0a000200  17   0x4f needs_reset  "
		"0x200000000/0x200000000  "
		"64!        requests 2, bytes 64 bytes\n"
		"virtio-balloon0  balloon  0x0a000400  18   0xb features_ok   "
		"0x100000006/0x100000026  "
		"128 - 128  inflated_pages 32768, deflated_pages 0\n");
}

static void test_devices_status_steps_and_empty_cells(void **state)
{
	/* the furthest step of the status register; "-" for no queues or counters */
	assert_view(ctl_show_devices,
		    "[{'name': 'virtio-x0', 'type': 'x', 'mmio_base': 0, 'irq': 0,"
		    "  'features_offered': 0, 'features_acked': 0, 'status': 0, 'counters': {},"
		    "  'queues': []},"
		    " {'name': 'virtio-y0', 'type': 'y', 'mmio_base': 1, 'irq': 1,"
		    "  'features_offered': 1, 'features_acked': 1, 'status': 128, 'counters': {},"
		    "  'queues': []},"
		    " {'name': 'virtio-z0', 'type': 'z', 'status': 3},"
		    " {'name': 'virtio-w0', 'type': 'w', 'status': 1},"
		    " {'status': 64}]",
		    "name       type  mmio_base   irq  status            features acked/offered  "
		    "queues  counters\n"
		    "virtio-x0  x     0x00000000  0    0x0 reset         0x0/0x0                 - "
		    "      "
		    "-\n"
		    "virtio-y0  y     0x00000001  1    0x80 failed       0x1/0x1                 - "
		    "      "
		    "-\n"
		    "virtio-z0  z     0x00000000  0    0x3 driver        0x0/0x0                 - "
		    "      "
		    "-\n"
		    "virtio-w0  w     0x00000000  0    0x1 acknowledge   0x0/0x0                 - "
		    "      "
		    "-\n"
		    "?          ?     0x00000000  0    0x40 needs_reset  0x0/0x0                 - "
		    "      "
		    "-\n");
}

static void test_no_devices(void **state)
{
	assert_view(ctl_show_devices, "[]", "no devices\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_with_its_pools_below),
		cmocka_unit_test(test_status_of_a_named_vm),
		cmocka_unit_test(test_status_without_pools_has_no_second_table),
		cmocka_unit_test(test_status_with_the_guest_s_own_cma_figures),
		cmocka_unit_test(test_status_shows_what_the_answer_lacks_as_unknown_or_0),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_balloon_stats_amounts_of_memory_are_sizes),
		cmocka_unit_test(test_balloon_stats_none_reported),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_devices_status_steps_and_empty_cells),
		cmocka_unit_test(test_no_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
