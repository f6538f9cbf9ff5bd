// SPDX-License-Identifier: GPL-2.0-only
/*
 * The views of the GPU (vmm/cli/ctl_views_gpu.c), each fed the JSON the
 * API answers (vmm/control/api/gpu.c) and its text compared whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "vmm/cli/ctl.h"

#define SCANOUT_0                                                                                  \
	"{'id': 0, 'enabled': true, 'width': 1024, 'height': 768, 'resource_id': 1,"               \
	" 'rect': {'x': 0, 'y': 0, 'width': 1024, 'height': 768}, 'flushes': 42}"
#define SCANOUT_1                                                                                  \
	"{'id': 1, 'enabled': false, 'width': 800, 'height': 600, 'resource_id': null,"            \
	" 'rect': {'x': 0, 'y': 0, 'width': 0, 'height': 0}, 'flushes': 0}"
#define FRAMEBUFFER                                                                                \
	"{'id': 1, 'width': 1024, 'height': 768, 'format': 'B8G8R8X8', 'stride': 4096,"            \
	" 'bytes': 3145728, 'offset': 0, 'backed': true, 'backing_entries': 1,"                    \
	" 'largest_run': 4194304, 'contiguous': true, 'runs': 1, 'host_phys': 37077647360,"        \
	" 'host_phys_hex': '0x8a2000000', 'scanouts': [0]}"
#define CURSOR                                                                                     \
	"{'id': 2, 'width': 64, 'height': 64, 'format': 'B8G8R8A8', 'stride': 256,"                \
	" 'bytes': 16384, 'offset': 4194304, 'backed': true, 'backing_entries': 3,"                \
	" 'largest_run': null, 'contiguous': null, 'runs': null, 'host_phys': null,"               \
	" 'host_phys_hex': null, 'scanouts': []}"
#define SPLIT                                                                                      \
	"{'id': 7, 'width': 3840, 'height': 2160, 'format': 'R8G8B8X8', 'stride': 15360,"          \
	" 'bytes': 33177600, 'offset': 8388608, 'backed': false, 'backing_entries': 0,"            \
	" 'largest_run': 2097152, 'contiguous': false, 'runs': 16, 'host_phys': 4294967296,"       \
	" 'host_phys_hex': '0x100000000', 'scanouts': [0, 1]}"
#define HALF_KNOWN                                                                                 \
	"{'id': 8, 'width': 16, 'height': 16, 'format': 'B8G8R8X8', 'stride': 64,"                 \
	" 'bytes': 1024, 'offset': 0, 'backed': true, 'backing_entries': 2,"                       \
	" 'largest_run': 2097152, 'contiguous': false, 'runs': null, 'host_phys': 4096,"           \
	" 'host_phys_hex': '0x1000', 'scanouts': []}"

static char *gpu_answer(const char *resources, const char *cursor, const char *export,
			unsigned int total)
{
	char *text;

	assert_true(asprintf(&text,
			     "{'name': 'virtio-gpu0', 'backing': 'huge', 'region_bytes': 67108864,"
			     " 'used_bytes': 6291456, 'page_size': 2097152, 'resources_total': %u,"
			     " 'scanouts': [" SCANOUT_0 ", " SCANOUT_1 "],"
			     " 'resources': [%s], 'cursor': %s, 'export': %s}",
			     total, resources, cursor, export) > 0);
	return text;
}

static void expect_gpu_view(const char *resources, const char *cursor, const char *export,
			    unsigned int total, const char *want)
{
	char *answer = gpu_answer(resources, cursor, export, total);

	assert_view(ctl_show_gpu, answer, want);
	free(answer);
}

#define HEAD_AVAILABLE                                                                             \
	"gpu             virtio-gpu0\n"                                                            \
	"memory          6 MiB of 64 MiB in use (huge backing, 2 MiB pages)\n"                     \
	"dma-buf export  available: cmavm ctl gpu export -- PROGRAM\n"                             \
	"cursor          resource 2 on scanout 0 at 100,200\n"                                     \
	"\n"
#define SCANOUTS                                                                                   \
	"scanout  display    mode      shows       part shown       flushes\n"                     \
	"0        connected  1024x768  resource 1  1024x768 at 0,0  42\n"                          \
	"1        off        800x600   nothing     -                0\n"                           \
	"\n"

static void test_the_gpu_whole(void **state)
{
	expect_gpu_view(FRAMEBUFFER ", " CURSOR,
			"{'resource_id': 2, 'scanout': 0, 'x': 100, 'y': 200}",
			"{'available': true, 'why': ''}", 2,
			HEAD_AVAILABLE SCANOUTS
			"resource  size      format    stride  storage  contiguity  host-physical  "
			"guest backing  shown on\n"
			"1         1024x768  B8G8R8X8  4096    3 MiB    1 run       0x8a2000000    "
			"1 entry        0\n"
			"2         64x64     B8G8R8A8  256     16 KiB   unknown     unknown        "
			"3 entries      -\n"
			"unknown: cmavm sees where host memory lies only when it runs as root\n");
}

static void test_runs_and_what_is_half_known(void **state)
{
	expect_gpu_view(SPLIT ", " HALF_KNOWN,
			"{'resource_id': 2, 'scanout': 0, 'x': 100, 'y': 200}",
			"{'available': true, 'why': ''}", 2,
			HEAD_AVAILABLE SCANOUTS
			"resource  size       format    stride  storage    contiguity         "
			"host-physical  guest backing  shown on\n"
			"7         3840x2160  R8G8B8X8  15360   32400 KiB  16 runs            "
			"0x100000000    none           0, 1\n"
			"8         16x16      B8G8R8X8  64      1 KiB      largest run 2 MiB  "
			"0x00001000     2 entries      -\n");
}

static void test_no_cursor_no_export_no_resources(void **state)
{
	expect_gpu_view("", "null",
			"{'available': false, 'why': 'this host has no /dev/udmabuf; load it "
			"with modprobe udmabuf'}",
			0,
			"gpu             virtio-gpu0\n"
			"memory          6 MiB of 64 MiB in use (huge backing, 2 MiB pages)\n"
			"dma-buf export  unavailable: this host has no /dev/udmabuf; load it with "
			"modprobe udmabuf\n"
			"cursor          none\n"
			"\n" SCANOUTS "no resources: the guest has created none yet\n");
}

static void test_more_resources_than_listed(void **state)
{
	char *answer = gpu_answer(FRAMEBUFFER, "null", "{'available': true, 'why': ''}", 70);
	char *text = view_text(ctl_show_gpu, answer);

	assert_non_null(strstr(text, "0x8a2000000    1 entry        0\n"
				     "70 resources in all; the first 1 are listed\n"));
	assert_null(strstr(text, "unknown"));
	free(text);
	free(answer);
}

static void test_a_scanout_after_a_resize(void **state)
{
	assert_view(ctl_show_gpu_scanout, SCANOUT_0,
		    "scanout     0\n"
		    "display     connected, 1024x768\n"
		    "shows       resource 1\n"
		    "part shown  1024x768 at 0,0\n");
	assert_view(ctl_show_gpu_scanout, SCANOUT_1,
		    "scanout     1\n"
		    "display     off, 800x600\n"
		    "shows       nothing\n"
		    "part shown  -\n");
}

#define EXPORTED                                                                                   \
	"{'scanout': 1, 'resource_id': 1, 'width': 1024, 'height': 768, 'stride': 4096,"           \
	" 'format': 'B8G8R8X8', 'fourcc': 'XR24', 'offset': 0, 'size': 3145728,"                   \
	" 'host_phys': 37077647360, 'host_phys_hex': '0x8a2000000', 'contiguous': true}"

#define HAND_IT_ON                                                                                 \
	"\nThe dma-buf lives only as long as a process holds it: hand it to a program\n"           \
	"with 'cmavm ctl gpu export --scanout 1 -- PROGRAM [ARGS...]', which runs\n"               \
	"PROGRAM with it as fd 3 and CMAVM_DMABUF_FD, _WIDTH, _HEIGHT, _STRIDE,\n"                 \
	"_FORMAT, _FOURCC, _OFFSET and _SIZE in its environment, e.g.\n"                           \
	"  cmavm ctl gpu export --scanout 1 -- cmavm-dmabuf --save scanout1.png\n"

static void test_an_exported_buffer_and_how_to_hand_it_on(void **state)
{
	assert_view(ctl_show_exported, EXPORTED,
		    "scanout        1\n"
		    "resource       1\n"
		    "pixels         1024x768, stride 4096 bytes, B8G8R8X8 (DRM fourcc XR24)\n"
		    "dma-buf        3 MiB, first pixel at offset 0 bytes\n"
		    "host-physical  0x8a2000000, contiguous\n" HAND_IT_ON);
	assert_view(ctl_show_exported,
		    "{'scanout': 1, 'resource_id': 3, 'width': 16, 'height': 16, 'stride': 64,"
		    " 'format': 'R8G8B8X8', 'fourcc': 'XB24', 'offset': 4096, 'size': 8192,"
		    " 'host_phys': null, 'host_phys_hex': null, 'contiguous': false}",
		    "scanout        1\n"
		    "resource       3\n"
		    "pixels         16x16, stride 64 bytes, R8G8B8X8 (DRM fourcc XB24)\n"
		    "dma-buf        8 KiB, first pixel at offset 4 KiB\n"
		    "host-physical  unknown (needs root)\n" HAND_IT_ON);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_gpu_whole),
		cmocka_unit_test(test_runs_and_what_is_half_known),
		cmocka_unit_test(test_no_cursor_no_export_no_resources),
		cmocka_unit_test(test_more_resources_than_listed),
		cmocka_unit_test(test_a_scanout_after_a_resize),
		cmocka_unit_test(test_an_exported_buffer_and_how_to_hand_it_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
