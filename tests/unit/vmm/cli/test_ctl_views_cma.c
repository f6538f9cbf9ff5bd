// SPDX-License-Identifier: GPL-2.0-only
/*
 * The views of the host CMA engine (vmm/cli/ctl_views_cma.c), each fed the
 * JSON the API answers (vmm/control/api.h) and its text compared whole;
 * map --svg written to a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/ctl.h"
#include "vmm/control/map_render.h"

/* Two windows, each with what its own moves cost: paused ones, and live ones. */
#define WINDOW_HUGE                                                                                \
	"{'id': 1, 'pool': 'linux,cma', 'offset': 0, 'length': 67108864, 'gpa': 2617245696,"       \
	" 'level': 'huge', 'largest_run': 67108864, 'contiguous_2m': 32, 'commit_ns': 123456789,"  \
	" 'commit_pause_ns': 85300, 'pauses': 3, 'pause_ns_max': 412345, 'stalls': 0,"             \
	" 'stall_ns_max': 0, 'migrations': 2}"
#define WINDOW_EMPTY                                                                               \
	"{'id': 2, 'pool': 'gpu', 'offset': 16777216, 'length': 0, 'gpa': 2634022912,"             \
	" 'level': 'resident', 'largest_run': 0, 'contiguous_2m': 0, 'commit_ns': 2500000,"        \
	" 'commit_pause_ns': 0, 'pauses': 0, 'pause_ns_max': 0, 'stalls': 11,"                     \
	" 'stall_ns_max': 12500000, 'migrations': 0}"

static void test_cma_pools_bytes_per_state(void **state)
{
	assert_view(ctl_show_cma_pools,
		    "[{'name': 'linux,cma', 'kind': 'cma', 'default': true, 'base': 2617245696,"
		    "  'size': 67108864, 'bytes': {'unbacked': 33554432, 'backed': 20971520,"
		    "  'reported': 4194304, 'ballooned': 2097152, 'window': 6291456}},"
		    " {'name': 'gpu', 'kind': 'cma', 'default': false, 'base': 2600468480,"
		    "  'size': 16777216, 'bytes': {'unbacked': 16777216, 'backed': 0,"
		    "  'reported': 0, 'ballooned': 0, 'window': 0}}]",
		    "pool       kind  default  base        size    unbacked  backed   reported  "
		    "ballooned  window\n"
		    "linux,cma  cma   yes      0x9c000000  64 MiB  32 MiB    20 MiB   4 MiB     "
		    "2 MiB      6 MiB\n"
		    "gpu        cma   no       0x9b000000  16 MiB  16 MiB    0 bytes  0 bytes   "
		    "0 bytes    0 bytes\n");
}

static void test_no_cma_pools(void **state)
{
	assert_view(ctl_show_cma_pools, "[]", "no CMA pools\n");
}

/* What the renderer draws for @pools (its own tests in tests/unit/vmm/control). */
static char *rendered(const struct ctl_cma_map *pools, unsigned int n, uint64_t pageblock_size)
{
	struct memout out;

	ctl_map_text(memout_open(&out), pools, n, pageblock_size, false);
	return memout_text(&out);
}

static void test_cma_map_is_the_renderer_s_in_letters_off_a_terminal(void **state)
{
	static const struct ctl_cma_map pools[] = {
		{ "linux,cma", 0x9c000000, "UUUUBBBBRRLLWWWWUUUUUUUUUUUUUUUU" },
		{ "big", 0x90000000,
		  "UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU"
		  "BBBBBBBBBBBBBBBBWWWW" },
		{ "?", 0, "" },
	};
	char *want = rendered(pools, 3, 2 << 20);

	/* a pool without name or blocks is "?" with none */
	assert_view(ctl_show_cma_map,
		    "{'pageblock_size': 2097152, 'pools': ["
		    " {'name': 'linux,cma', 'base': 2617245696,"
		    "  'blocks': 'UUUUBBBBRRLLWWWWUUUUUUUUUUUUUUUU'},"
		    " {'name': 'big', 'base': 2415919104, 'blocks':"
		    "  'UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU"
		    "BBBBBBBBBBBBBBBBWWWW'},"
		    " {}]}",
		    want);
	free(want);
	want = rendered(NULL, 0, 2 << 20);
	assert_view(ctl_show_cma_map, "{'pageblock_size': 2097152, 'pools': []}", want);
	assert_string_equal(want, "no CMA pools\n");
	free(want);
}

static void test_cma_map_as_svg(void **state)
{
	json_t *map = answer_json("{'pageblock_size': 2097152, 'pools': [{'name': 'linux,cma',"
				  " 'base': 2617245696, 'blocks': 'UBRLW'}]}");
	char path[] = "/tmp/cmavm-test-map-XXXXXX", said_text[128] = "", expect[128] = "wrote ";
	static char svg[65536];
	FILE *said = fmemopen(said_text, sizeof(said_text), "w"), *f;
	int fd = mkstemp(path);
	size_t len;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ctl_write_svg(path, map, said), CLI_EXIT_OK);
	fclose(said);
	assert_string_equal(said_text, strcat(strcat(expect, path), "\n"));
	/* the whole document, as the renderer draws it (tests/unit/vmm/control) */
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(svg, 1, sizeof(svg) - 1, f);
	fclose(f);
	svg[len] = '\0';
	assert_true(!strncmp(svg, "<?xml", 5));
	assert_non_null(strstr(svg, "<svg "));
	assert_non_null(strstr(svg, "linux,cma"));
	assert_string_equal(svg + len - 7, "</svg>\n");
	unlink(path);
	json_decref(map);
}

static void test_cma_map_svg_to_a_place_that_cannot_be_written(void **state)
{
	json_t *map = answer_json("{'pageblock_size': 2097152, 'pools': []}");
	struct capture cap;
	char *err;

	capture_start(&cap, stderr);
	assert_int_equal(ctl_write_svg("/nonexistent/dir/map.svg", map, stdout), CLI_EXIT_FAILED);
	err = captured(&cap, stderr);
	assert_string_equal(err, "cmavm: error: cannot write the SVG map to "
				 "/nonexistent/dir/map.svg: No such file or directory\r\n");
	free(err);
	json_decref(map);
}

static void test_window_committed(void **state)
{
	assert_view(ctl_show_window, WINDOW_HUGE,
		    "window                  1\n"
		    "pool                    linux,cma\n"
		    "range                   0x9c000000-0x9fffffff (64 MiB at offset 0 bytes)\n"
		    "level                   huge\n"
		    "largest contiguous run  64 MiB (32 of 32 2 MiB pieces contiguous)\n"
		    "commit                  123.46 ms, guest paused 85.3 µs\n"
		    "pauses                  3, longest 412.3 µs\n"
		    "writer stalls           0\n"
		    "migrations              2\n");
	/* from a VM that counted only the longest pause of the last commit */
	assert_view(ctl_show_window,
		    "{'id': 3, 'pool': 'gpu', 'offset': 2097152, 'length': 6291456,"
		    " 'gpa': 2602565632, 'level': 'contiguous', 'largest_run': 4194304,"
		    " 'contiguous_2m': 2, 'pause_ns_max': 1200000000, 'commit_ns': 0}",
		    "window                  3\n"
		    "pool                    gpu\n"
		    "range                   0x9b200000-0x9b7fffff (6 MiB at offset 2 MiB)\n"
		    "level                   contiguous\n"
		    "largest contiguous run  4 MiB (2 of 3 2 MiB pieces contiguous)\n"
		    "commit                  0.0 µs\n"
		    "pauses                  -\n"
		    "writer stalls           -\n"
		    "migrations              -\n");
}

static void test_window_empty_and_run_unknown(void **state)
{
	assert_view(ctl_show_window, WINDOW_EMPTY,
		    "window                  2\n"
		    "pool                    gpu\n"
		    "range                   0x9d000000 (empty) (0 bytes at offset 16 MiB)\n"
		    "level                   resident\n"
		    "largest contiguous run  unknown (needs root)\n"
		    "commit                  2.50 ms, no guest pause\n"
		    "pauses                  0\n"
		    "writer stalls           11, longest 12.50 ms\n"
		    "migrations              0\n");
}

/*
 * Windows without a state are from a VM before moves had one: committed.
 * Each row has its own window's pauses and stalls, and the longest of each.
 */
static void test_windows(void **state)
{
	assert_view(ctl_show_windows, "[" WINDOW_HUGE ", " WINDOW_EMPTY "]",
		    "id  pool       range                  length   offset   level     "
		    "state      largest run           pauses / stalls (longest)\n"
		    "1   linux,cma  0x9c000000-0x9fffffff  64 MiB   0 bytes  huge      "
		    "committed  64 MiB                3 (412.3 µs) / 0\n"
		    "2   gpu        0x9d000000 (empty)     0 bytes  16 MiB   resident  "
		    "committed  unknown (needs root)  0 / 11 (12.50 ms)\n");
}

/* Windows 3 and 4 are from a VM that did not count pauses and stalls per window: "-". */
static void test_windows_being_moved_show_how_far(void **state)
{
	assert_view(ctl_show_windows,
		    "[{'id': 1, 'pool': 'linux,cma', 'offset': 0, 'length': 33554432,"
		    "  'gpa': 2617245696, 'level': 'huge', 'largest_run': 0, 'contiguous_2m': 0,"
		    "  'pauses': 1, 'pause_ns_max': 2500000, 'stalls': 0, 'stall_ns_max': 0,"
		    "  'state': 'committing', 'done_bytes': 12582912},"
		    " {'id': 2, 'pool': 'linux,cma', 'offset': 33554432, 'length': 33554432,"
		    "  'gpa': 2650800128, 'level': 'contiguous', 'largest_run': 33554432,"
		    "  'contiguous_2m': 16, 'pauses': 0, 'pause_ns_max': 0, 'stalls': 7,"
		    "  'stall_ns_max': 1500000, 'state': 'releasing', 'done_bytes': 0},"
		    " {'id': 3, 'pool': 'gpu', 'offset': 0, 'length': 2097152, 'gpa': 2600468480,"
		    "  'level': 'resident', 'largest_run': 2097152, 'contiguous_2m': 1,"
		    "  'pause_ns_max': 1000, 'commit_ns': 5000, 'state': 'committed',"
		    "  'done_bytes': 0},"
		    " {'id': 4, 'pool': 'gpu', 'offset': 2097152, 'length': 2097152,"
		    "  'gpa': 2602565632, 'level': 'huge', 'state': 'committing',"
		    "  'done_bytes': 2097152}]",
		    "id  pool       range                  length  offset   level       "
		    "state            largest run           pauses / stalls (longest)\n"
		    "1   linux,cma  0x9c000000-0x9dffffff  32 MiB  0 bytes  huge        "
		    "committing 37%   unknown (needs root)  1 (2.50 ms) / 0\n"
		    "2   linux,cma  0x9e000000-0x9fffffff  32 MiB  32 MiB   contiguous  "
		    "releasing 0%     32 MiB                0 / 7 (1.50 ms)\n"
		    "3   gpu        0x9b000000-0x9b1fffff  2 MiB   0 bytes  resident    "
		    "committed        2 MiB                 -\n"
		    "4   gpu        0x9b200000-0x9b3fffff  2 MiB   2 MiB    huge        "
		    "committing 100%  unknown (needs root)  -\n");
}

static void test_no_windows_says_how_to_commit_one(void **state)
{
	assert_view(ctl_show_windows, "[]",
		    "no windows; commit one with 'cmavm ctl window commit POOL LEVEL'\n");
}

static void test_released_and_migrated(void **state)
{
	assert_view(ctl_show_released, "{'released': 3}", "released window 3\n");
	assert_view(ctl_show_migrated, "{'gpa': 2619342848, 'pause_ns': 85312}",
		    "gpa    0x9c200000\n"
		    "pause  85.3 µs\n");
	/* the pause in µs however long */
	assert_view(ctl_show_migrated, "{'gpa': 0, 'pause_ns': 2500000000}",
		    "gpa    0x00000000\n"
		    "pause  2500000.0 µs\n");
}

static void test_cma_stats(void **state)
{
	assert_view(ctl_show_cma_stats,
		    "{'pageblock_size': 2097152, 'commits': 2, 'releases': 1, 'migrations': 3,"
		    " 'rollbacks': 0, 'refused_discards': 5, 'refused_discard_bytes': 10485760,"
		    " 'pauses': 4, 'pause_ns_total': 1234567, 'pause_ns_max': 999999,"
		    " 'pause_ns_last': 1500000000, 'resident_bytes': 33554432}",
		    "pageblock size    2 MiB\n"
		    "resident          32 MiB\n"
		    "commits           2\n"
		    "releases          1\n"
		    "migrations        3\n"
		    "rollbacks         0\n"
		    "refused discards  5 (10 MiB)\n"
		    "pauses            4\n"
		    "pause total       1.23 ms\n"
		    "pause mean        308.6 µs\n"
		    "pause longest     1000.0 µs\n"
		    "pause last        1.50 s\n");
}

static void test_cma_stats_live(void **state)
{
	assert_view(ctl_show_cma_stats,
		    "{'pageblock_size': 2097152, 'commits': 3, 'boot_commits': 1, 'releases': 1,"
		    " 'migrations': 3, 'rollbacks': 0, 'refused_discards': 0,"
		    " 'refused_discard_bytes': 0, 'pauses': 0, 'pause_ns_total': 0,"
		    " 'pause_ns_max': 0, 'pause_ns_last': 0, 'stalls': 4, 'stall_ns_total': 800000,"
		    " 'stall_ns_max': 500000, 'stall_ns_last': 100000, 'resident_bytes': 0,"
		    " 'moves': 'live', 'live_why': ''}",
		    "pageblock size    2 MiB\n"
		    "resident          0 bytes\n"
		    "commits           3\n"
		    "  before boot     1\n"
		    "releases          1\n"
		    "migrations        3\n"
		    "rollbacks         0\n"
		    "refused discards  0 (0 bytes)\n"
		    "pauses            0\n"
		    "pause total       0.0 µs\n"
		    "pause mean        -\n"
		    "pause longest     0.0 µs\n"
		    "pause last        0.0 µs\n"
		    "writer stalls     4\n"
		    "stall mean        200.0 µs\n"
		    "stall longest     500.0 µs\n"
		    "moves             live (only writers of a moving range wait)\n");
	assert_view(ctl_show_cma_stats,
		    "{'pauses': 2, 'pause_ns_total': 2000, 'moves': 'pause',"
		    " 'live_why': 'no userfaultfd write-protect'}",
		    "pageblock size    0 bytes\n"
		    "resident          0 bytes\n"
		    "commits           0\n"
		    "releases          0\n"
		    "migrations        0\n"
		    "rollbacks         0\n"
		    "refused discards  0 (0 bytes)\n"
		    "pauses            2\n"
		    "pause total       2.0 µs\n"
		    "pause mean        1.0 µs\n"
		    "pause longest     0.0 µs\n"
		    "pause last        0.0 µs\n"
		    "moves             one guest pause a commit (no userfaultfd write-protect)\n");
}

static void test_cma_stats_without_pauses_has_no_mean(void **state)
{
	assert_view(ctl_show_cma_stats,
		    "{'pageblock_size': 2097152, 'commits': 0, 'releases': 0, 'migrations': 0,"
		    " 'rollbacks': 0, 'refused_discards': 0, 'refused_discard_bytes': 0,"
		    " 'pauses': 0, 'pause_ns_total': 0, 'pause_ns_max': 0, 'pause_ns_last': 0,"
		    " 'resident_bytes': 0}",
		    "pageblock size    2 MiB\n"
		    "resident          0 bytes\n"
		    "commits           0\n"
		    "releases          0\n"
		    "migrations        0\n"
		    "rollbacks         0\n"
		    "refused discards  0 (0 bytes)\n"
		    "pauses            0\n"
		    "pause total       0.0 µs\n"
		    "pause mean        -\n"
		    "pause longest     0.0 µs\n"
		    "pause last        0.0 µs\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cma_pools_bytes_per_state),
		cmocka_unit_test(test_no_cma_pools),
		cmocka_unit_test(test_cma_map_is_the_renderer_s_in_letters_off_a_terminal),
		cmocka_unit_test(test_cma_map_as_svg),
		cmocka_unit_test(test_cma_map_svg_to_a_place_that_cannot_be_written),
		cmocka_unit_test(test_window_committed),
		cmocka_unit_test(test_window_empty_and_run_unknown),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_windows_being_moved_show_how_far),
		cmocka_unit_test(test_no_windows_says_how_to_commit_one),
		cmocka_unit_test(test_released_and_migrated),
		cmocka_unit_test(test_cma_stats),
		cmocka_unit_test(test_cma_stats_without_pauses_has_no_mean),
		cmocka_unit_test(test_cma_stats_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
