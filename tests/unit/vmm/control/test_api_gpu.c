// SPDX-License-Identifier: GPL-2.0-only
/*
 * /v1/gpu (vmm/control/api/gpu.c) through the fake VM (fake_vm.h): the
 * GPU's state as JSON, a new display size, a screenshot as PNG bytes, a
 * scanout exported as a dma-buf whose descriptor goes with the answer;
 * every refusal with its status and sentence; and the screenshot and the
 * export through the real HTTP server (http_harness.h), the descriptor
 * received with SCM_RIGHTS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_vm.h"
#include "http_harness.h"

#define NO_GPU "this VM has no GPU; start cmavm with --gpu to use /v1/gpu"

static json_t *at(json_t *array, size_t i)
{
	json_t *v = json_array_get(array, i);

	assert_non_null(v);
	return v;
}

static void expect_null(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_null(v))
		fail_msg("%s is not null", key);
}

/* ---- GET /v1/gpu ---- */

static void test_the_gpu_whole(void **state)
{
	struct answer a = get("/v1/gpu");
	json_t *scanouts, *rect, *cursor, *export;

	assert_int_equal(a.status, 200);
	assert_string_equal(str_at(a.json, "name"), "virtio-gpu0");
	assert_string_equal(str_at(a.json, "backing"), "huge");
	assert_int_equal(int_at(a.json, "region_bytes"), 64 << 20);
	assert_int_equal(int_at(a.json, "used_bytes"), 6 << 20);
	assert_int_equal(int_at(a.json, "page_size"), 2 << 20);
	assert_int_equal(int_at(a.json, "resources_total"), 2);
	scanouts = json_object_get(a.json, "scanouts");
	assert_int_equal(json_array_size(scanouts), 2);
	assert_int_equal(int_at(at(scanouts, 0), "id"), 0);
	assert_true(json_is_true(json_object_get(at(scanouts, 0), "enabled")));
	assert_int_equal(int_at(at(scanouts, 0), "width"), 1024);
	assert_int_equal(int_at(at(scanouts, 0), "height"), 768);
	assert_int_equal(int_at(at(scanouts, 0), "resource_id"), 1);
	assert_int_equal(int_at(at(scanouts, 0), "flushes"), 42);
	rect = json_object_get(at(scanouts, 0), "rect");
	assert_int_equal(int_at(rect, "x"), 0);
	assert_int_equal(int_at(rect, "width"), 1024);
	assert_int_equal(int_at(rect, "height"), 768);
	/* nothing shown: no resource */
	assert_true(json_is_false(json_object_get(at(scanouts, 1), "enabled")));
	expect_null(at(scanouts, 1), "resource_id");
	cursor = json_object_get(a.json, "cursor");
	assert_int_equal(int_at(cursor, "resource_id"), 2);
	assert_int_equal(int_at(cursor, "x"), 100);
	assert_int_equal(int_at(cursor, "y"), 200);
	assert_int_equal(int_at(cursor, "hot_y"), 2);
	export = json_object_get(a.json, "export");
	assert_true(json_is_true(json_object_get(export, "available")));
	assert_string_equal(str_at(export, "why"), "");
	done(&a);
}

static void test_resources_with_their_host_storage(void **state)
{
	struct answer a = get("/v1/gpu");
	json_t *list = json_object_get(a.json, "resources"), *fb, *cursor;

	assert_int_equal(json_array_size(list), 2);
	fb = at(list, 0);
	assert_int_equal(int_at(fb, "id"), 1);
	assert_int_equal(int_at(fb, "width"), 1024);
	assert_string_equal(str_at(fb, "format"), "B8G8R8X8");
	assert_int_equal(int_at(fb, "stride"), 4096);
	assert_int_equal(int_at(fb, "bytes"), 3 << 20);
	assert_int_equal(int_at(fb, "offset"), 0);
	assert_true(json_is_true(json_object_get(fb, "backed")));
	assert_int_equal(int_at(fb, "backing_entries"), 1);
	assert_int_equal(int_at(fb, "largest_run"), 4 << 20);
	assert_true(json_is_true(json_object_get(fb, "contiguous")));
	assert_int_equal(int_at(fb, "runs"), 1);
	assert_int_equal(int_at(fb, "host_phys"), FAKE_GPU_PHYS);
	assert_string_equal(str_at(fb, "host_phys_hex"), "0x8a2000000");
	assert_int_equal(json_array_size(json_object_get(fb, "scanouts")), 1);
	assert_int_equal(json_integer_value(at(json_object_get(fb, "scanouts"), 0)), 0);
	/* where cmavm cannot see frame numbers: unknown, not 0 or false */
	cursor = at(list, 1);
	assert_int_equal(int_at(cursor, "offset"), 4 << 20);
	expect_null(cursor, "largest_run");
	expect_null(cursor, "contiguous");
	expect_null(cursor, "runs");
	expect_null(cursor, "host_phys");
	expect_null(cursor, "host_phys_hex");
	assert_int_equal(json_array_size(json_object_get(cursor, "scanouts")), 0);
	done(&a);
}

static void test_no_cursor_and_no_export_say_so(void **state)
{
	struct answer a;
	json_t *export;

	vm.gpu.cursor.resource_id = 0;
	vm.gpu.export_why = "this host has no /dev/udmabuf; load it with 'modprobe udmabuf'";
	vm.gpu.nr_resources_total = 70; /* more than are listed */
	a = get("/v1/gpu");
	assert_int_equal(a.status, 200);
	expect_null(a.json, "cursor");
	export = json_object_get(a.json, "export");
	assert_true(json_is_false(json_object_get(export, "available")));
	assert_string_equal(str_at(export, "why"), vm.gpu.export_why);
	assert_int_equal(int_at(a.json, "resources_total"), 70);
	done(&a);
}

/* ---- what every endpoint says without a GPU ---- */

static void test_a_vm_without_a_gpu_answers_404(void **state)
{
	vm.has_gpu = false;
	expect_error(get("/v1/gpu"), 404, NO_GPU);
	expect_error(put("/v1/gpu/display", "{\"width\": 1280, \"height\": 800}"), 404, NO_GPU);
	expect_error(get("/v1/gpu/screenshot"), 404, NO_GPU);
	expect_error(put("/v1/gpu/export", "{\"scanout\": 0}"), 404, NO_GPU);
}

static void test_a_cmavm_without_the_callbacks_cannot_yet(void **state)
{
	struct ctl_ops none = ops;

	none.gpu_get = NULL;
	none.gpu_set_display = NULL;
	none.gpu_screenshot = NULL;
	none.gpu_export = NULL;
	expect_error(call_ops(&none, "GET", "/v1/gpu", NULL, NULL), 501,
		     "this cmavm cannot read the GPU's state yet");
	expect_error(call_ops(&none, "GET", "/v1/gpu/screenshot", NULL, NULL), 501,
		     "this cmavm cannot take a screenshot yet");
	expect_error(call_ops(&none, "PUT", "/v1/gpu/export", NULL, NULL), 501,
		     "this cmavm cannot export the scanout as a dma-buf yet");
}

static void test_methods_and_the_endpoint_list(void **state)
{
	struct answer a = get("/v1/gpus");

	expect_405(put("/v1/gpu", "{}"), "GET");
	expect_405(get("/v1/gpu/display"), "PUT");
	expect_405(put("/v1/gpu/screenshot", "{}"), "GET");
	expect_405(get("/v1/gpu/export"), "PUT");
	assert_int_equal(a.status, 404);
	assert_non_null(strstr(a.text, "GET /v1/gpu, PUT /v1/gpu/display, GET /v1/gpu/screenshot, "
				       "PUT /v1/gpu/export"));
	done(&a);
}

/* ---- PUT /v1/gpu/display ---- */

static void test_display_resizes_and_answers_the_scanout(void **state)
{
	struct answer a = put("/v1/gpu/display", "{\"width\": 1280, \"height\": 800}");

	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "id"), 0);
	assert_int_equal(int_at(a.json, "width"), 1280);
	assert_int_equal(int_at(a.json, "height"), 800);
	assert_int_equal(vm.gpu.scanouts[0].width, 1280);
	done(&a);

	a = put("/v1/gpu/display", "{\"scanout\": 1, \"width\": 16, \"height\": 8192}");
	assert_int_equal(a.status, 200);
	assert_int_equal(int_at(a.json, "id"), 1);
	assert_true(json_is_true(json_object_get(a.json, "enabled")));
	assert_int_equal(int_at(a.json, "width"), 16);
	assert_int_equal(int_at(a.json, "height"), 8192);
	assert_int_equal(vm.gpu_scanout, 1);
	done(&a);
}

static void test_display_sizes_out_of_range(void **state)
{
	static const char *const bodies[] = {
		"{\"width\": 0, \"height\": 800}",	  "{\"width\": 15, \"height\": 800}",
		"{\"width\": 8193, \"height\": 800}",	  "{\"width\": -1280, \"height\": 800}",
		"{\"width\": \"1280\", \"height\": 800}", "{\"width\": 1280.5, \"height\": 800}",
		"{\"width\": null, \"height\": 800}",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		expect_error(put("/v1/gpu/display", bodies[i]), 400,
			     "width must be a whole number of pixels from 16 to 8192, not ");
	expect_error(put("/v1/gpu/display", "{\"width\": 1280, \"height\": 99999}"), 400,
		     "height must be a whole number of pixels from 16 to 8192, not 99999; e.g. "
		     "{\"width\": 1280, \"height\": 800}");
	assert_int_equal(vm.gpu_calls, 0);
}

static void test_display_bodies_refused(void **state)
{
	expect_error(put("/v1/gpu/display", "{\"width\": 1280}"), 400,
		     "PUT /v1/gpu/display needs width and height, e.g. {\"width\": 1280, "
		     "\"height\": 800}");
	expect_error(put("/v1/gpu/display", NULL), 400, "PUT /v1/gpu/display needs a JSON body");
	expect_error(put("/v1/gpu/display", "[1280, 800]"), 400,
		     "PUT /v1/gpu/display needs a JSON object");
	expect_error(put("/v1/gpu/display", "{\"width\": 1280,"), 400,
		     "malformed JSON at line 1, column 15");
	expect_error(put("/v1/gpu/display", "{\"w\": 1280, \"height\": 800}"), 400,
		     "unknown field 'w'; PUT /v1/gpu/display takes width, height and optionally "
		     "scanout");
	expect_error(put("/v1/gpu/display", "{\"scanout\": \"0\", \"width\": 16, \"height\": 16}"),
		     400,
		     "scanout must be a non-negative integer, not \"0\"; e.g. {\"scanout\": 0}");
	expect_error(call("PUT", "/v1/gpu/display", "text/plain", "1280x800"), 415,
		     "the API takes application/json");
	assert_int_equal(vm.gpu_calls, 0);
}

static void test_display_of_an_unknown_scanout(void **state)
{
	expect_error(put("/v1/gpu/display", "{\"scanout\": 5, \"width\": 640, \"height\": 480}"),
		     404, "the GPU has no scanout 5; it has 2 (0 and 1)");
	assert_int_equal(vm.gpu_calls, 1);
}

static int refuse_display(void *opaque, unsigned int scanout, uint32_t width, uint32_t height,
			  char *err, size_t errlen)
{
	snprintf(err, errlen, "%ux%u does not fit in the GPU's memory; ask for less", width,
		 height);
	return -EINVAL;
}

static int break_display(void *opaque, unsigned int scanout, uint32_t width, uint32_t height,
			 char *err, size_t errlen)
{
	return -EFAULT;
}

static void test_display_refused_by_the_device(void **state)
{
	struct ctl_ops with = ops;

	with.gpu_set_display = refuse_display;
	expect_error(call_ops(&with, "PUT", "/v1/gpu/display", "application/json",
			      "{\"width\": 8192, \"height\": 8192}"),
		     400, "8192x8192 does not fit in the GPU's memory; ask for less");
	with.gpu_set_display = break_display;
	expect_error(call_ops(&with, "PUT", "/v1/gpu/display", "application/json",
			      "{\"width\": 640, \"height\": 480}"),
		     500, "internal error: cannot change the display's size: Bad address");
}

/* ---- GET /v1/gpu/screenshot ---- */

static void expect_png(struct answer a)
{
	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	assert_string_equal(a.content_type, "image/png");
	assert_null(a.json);
	assert_int_equal(a.data_len, fake_png_len);
	assert_memory_equal(a.data, fake_png, fake_png_len);
	done(&a);
}

static void test_screenshot_is_a_png(void **state)
{
	expect_png(get("/v1/gpu/screenshot"));
	assert_int_equal(vm.gpu_scanout, 0);
	vm.gpu.scanouts[1].resource_id = 1;
	expect_png(get("/v1/gpu/screenshot?scanout=1"));
	assert_int_equal(vm.gpu_scanout, 1);
	expect_png(get("/v1/gpu/screenshot?scanout=1&"));
	assert_int_equal(vm.gpu_calls, 3);
}

static void test_screenshot_of_a_scanout_showing_nothing(void **state)
{
	expect_error(get("/v1/gpu/screenshot?scanout=1"), 409,
		     "scanout 1 shows nothing yet; wait until the guest draws on it");
	expect_error(get("/v1/gpu/screenshot?scanout=7"), 404, "the GPU has no scanout 7");
}

static void test_screenshot_queries_refused(void **state)
{
	static const char *const cases[][2] = {
		{ "?scanout=x", "scanout must be a scanout's number, not 'x'; e.g. "
				"/v1/gpu/screenshot?scanout=0" },
		{ "?scanout=", "scanout must be a scanout's number, not ''" },
		{ "?scanout=-1", "scanout must be a scanout's number, not '-1'" },
		{ "?scanout=12345678901", "not '12345678901'" },
		{ "?frob=1", "unknown query parameter 'frob=1'; GET /v1/gpu/screenshot takes only "
			     "scanout=N" },
		{ "?scanout=0&size=2", "unknown query parameter 'size=2'" },
	};
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "/v1/gpu/screenshot%s", cases[i][0]);
		expect_error(get(path), 400, cases[i][1]);
	}
	expect_error(call("GET", "/v1/gpu/screenshot", "application/json", "{}"), 400,
		     "GET /v1/gpu/screenshot takes no body");
	assert_int_equal(vm.gpu_calls, 0);
}

static int empty_screenshot(void *opaque, unsigned int scanout, uint8_t **png, size_t *len,
			    char *err, size_t errlen)
{
	return 0;
}

static void test_a_screenshot_without_bytes_is_the_vm_s_bug(void **state)
{
	struct ctl_ops with = ops;

	with.gpu_screenshot = empty_screenshot;
	expect_error(call_ops(&with, "GET", "/v1/gpu/screenshot", NULL, NULL), 500,
		     "internal error: cannot take a screenshot: Protocol error");
}

/* ---- PUT /v1/gpu/export ---- */

static void expect_exported(struct answer a)
{
	struct stat st;

	if (a.status != 200)
		fail_msg("status %d: %s", a.status, a.text);
	assert_true(a.fd >= 0);
	assert_int_equal(fstat(a.fd, &st), 0);
	assert_int_equal(st.st_size, 3 << 20);
	assert_int_equal(int_at(a.json, "scanout"), 0);
	assert_int_equal(int_at(a.json, "resource_id"), 1);
	assert_int_equal(int_at(a.json, "width"), 1024);
	assert_int_equal(int_at(a.json, "height"), 768);
	assert_int_equal(int_at(a.json, "stride"), 4096);
	assert_string_equal(str_at(a.json, "format"), "B8G8R8X8");
	assert_string_equal(str_at(a.json, "fourcc"), "XR24");
	assert_int_equal(int_at(a.json, "offset"), 0);
	assert_int_equal(int_at(a.json, "size"), 3 << 20);
	assert_int_equal(int_at(a.json, "host_phys"), FAKE_GPU_PHYS);
	assert_string_equal(str_at(a.json, "host_phys_hex"), "0x8a2000000");
	assert_true(json_is_true(json_object_get(a.json, "contiguous")));
	done(&a);
}

static void test_export_answers_the_buffer_with_its_fd(void **state)
{
	expect_exported(put("/v1/gpu/export", "{\"scanout\": 0}"));
	expect_exported(put("/v1/gpu/export", NULL)); /* the first scanout */
	expect_exported(put("/v1/gpu/export", "{}"));
	assert_int_equal(vm.gpu_calls, 3);
}

static void expect_no_fd(struct answer a, int status, const char *needle)
{
	assert_int_equal(a.fd, -1);
	expect_error(a, status, needle);
}

static void test_export_refused(void **state)
{
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": 1}"), 409, "scanout 1 shows nothing yet");
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": 3}"), 404, "the GPU has no scanout 3");
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": -1}"), 400,
		     "scanout must be a non-negative integer, not -1; e.g. {\"scanout\": 0}");
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": 0, \"format\": \"XR24\"}"), 400,
		     "unknown field 'format'; PUT /v1/gpu/export takes only scanout");
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": 0"), 400, "malformed JSON");
	vm.export_fail = -EOPNOTSUPP;
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": 0}"), 501,
		     "this host has no /dev/udmabuf; load it with 'modprobe udmabuf'");
	vm.export_fail = -EIO;
	expect_no_fd(put("/v1/gpu/export", "{\"scanout\": 0}"), 500,
		     "cannot export the scanout as a dma-buf: Input/output error");
}

static int export_without_fd(void *opaque, unsigned int scanout, struct ctl_gpu_export *out,
			     char *err, size_t errlen)
{
	out->width = 1024;
	return 0;
}

static void test_an_export_without_a_descriptor_is_the_vm_s_bug(void **state)
{
	struct ctl_ops with = ops;

	with.gpu_export = export_without_fd;
	expect_no_fd(call_ops(&with, "PUT", "/v1/gpu/export", NULL, NULL), 500,
		     "internal error: cannot export the scanout as a dma-buf: Protocol error");
}

/* ---- through the HTTP server ---- */

struct wire {
	char head[2048];
	char *body;
	size_t body_len;
	int fd; /* the descriptor that came with it; -1: none */
};

/* The descriptor in @msg's SCM_RIGHTS, or -1. */
static int fd_in(struct msghdr *msg)
{
	struct cmsghdr *cm;
	int fd = -1;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/*
 * Up to @len bytes into @buf, keeping a descriptor that comes along.
 * EINTR is retried: the teardown of an earlier test's ring, done later by
 * a kernel worker, interrupts this thread's recvmsg() (http_harness.c).
 */
static size_t receive(int sock, char *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	int got;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		fail_msg("recvmsg() %zd (%s) before the whole answer", n,
			 n ? strerror(errno) : "end of stream");
	got = fd_in(&msg);
	if (got >= 0) {
		assert_int_equal(*fd, -1); /* one answer, one descriptor */
		*fd = got;
	}
	return (size_t)n;
}

/* One whole answer (Content-Length says how much) on @sock. */
static struct wire read_wire(int sock)
{
	static char buf[64 * 1024];
	struct wire w = { .fd = -1 };
	size_t have = 0, head_len = 0, want = 0;
	char *end = NULL, *cl;

	while (!end || have < head_len + want) {
		assert_true(have < sizeof(buf) - 1);
		have += receive(sock, buf + have, sizeof(buf) - 1 - have, &w.fd);
		buf[have] = '\0';
		if (end || !(end = strstr(buf, "\r\n\r\n")))
			continue;
		head_len = (size_t)(end - buf) + 4;
		cl = strcasestr(buf, "\r\nContent-Length: ");
		assert_non_null(cl);
		want = strtoul(cl + 18, NULL, 10);
	}
	assert_true(head_len < sizeof(w.head));
	memcpy(w.head, buf, head_len);
	w.head[head_len] = '\0';
	w.body = malloc(want + 1);
	assert_non_null(w.body);
	memcpy(w.body, buf + head_len, want);
	w.body[want] = '\0';
	w.body_len = want;
	return w;
}

static struct wire ask_server(const char *request)
{
	struct fixture *f = fixture_open(ctl_api_handle, (void *)&ops);
	int sock = connect_to(f->path);
	struct wire w;

	assert_true(sock >= 0);
	assert_int_equal(write(sock, request, strlen(request)), (ssize_t)strlen(request));
	w = read_wire(sock);
	close(sock);
	fixture_close(f);
	return w;
}

static void test_the_server_sends_the_png(void **state)
{
	struct wire w = ask_server("GET /v1/gpu/screenshot?scanout=0 HTTP/1.1\r\n\r\n");

	assert_non_null(strstr(w.head, "HTTP/1.1 200 "));
	assert_non_null(strcasestr(w.head, "\r\nContent-Type: image/png\r\n"));
	assert_int_equal(w.body_len, fake_png_len);
	assert_memory_equal(w.body, fake_png, fake_png_len);
	assert_int_equal(w.fd, -1);
	free(w.body);
}

static void test_the_server_sends_the_dmabuf_with_the_answer(void **state)
{
	struct wire w =
		ask_server("PUT /v1/gpu/export HTTP/1.1\r\nContent-Type: application/json\r\n"
			   "Content-Length: 14\r\n\r\n{\"scanout\": 0}");
	json_t *answer = json_loads(w.body, 0, NULL);
	struct stat st;

	assert_non_null(strstr(w.head, "HTTP/1.1 200 "));
	assert_non_null(strcasestr(w.head, "\r\n" HTTP_FD_HEADER ": 1\r\n"));
	assert_int_equal(int_at(answer, "stride"), 4096);
	assert_true(w.fd >= 0);
	assert_int_equal(fstat(w.fd, &st), 0);
	assert_int_equal(st.st_size, 3 << 20);
	close(w.fd);
	json_decref(answer);
	free(w.body);
}

static void test_the_server_sends_no_fd_with_a_refusal(void **state)
{
	struct wire w;

	vm.export_fail = -EOPNOTSUPP;
	w = ask_server("PUT /v1/gpu/export HTTP/1.1\r\n\r\n");
	assert_non_null(strstr(w.head, "HTTP/1.1 501 "));
	assert_non_null(strstr(w.body, "modprobe udmabuf"));
	assert_int_equal(w.fd, -1);
	free(w.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		API_TEST(test_the_gpu_whole),
		API_TEST(test_resources_with_their_host_storage),
		API_TEST(test_no_cursor_and_no_export_say_so),
		API_TEST(test_a_vm_without_a_gpu_answers_404),
		API_TEST(test_a_cmavm_without_the_callbacks_cannot_yet),
		API_TEST(test_methods_and_the_endpoint_list),
		API_TEST(test_display_resizes_and_answers_the_scanout),
		API_TEST(test_display_sizes_out_of_range),
		API_TEST(test_display_bodies_refused),
		API_TEST(test_display_of_an_unknown_scanout),
		API_TEST(test_display_refused_by_the_device),
		API_TEST(test_screenshot_is_a_png),
		API_TEST(test_screenshot_of_a_scanout_showing_nothing),
		API_TEST(test_screenshot_queries_refused),
		API_TEST(test_a_screenshot_without_bytes_is_the_vm_s_bug),
		API_TEST(test_export_answers_the_buffer_with_its_fd),
		API_TEST(test_export_refused),
		API_TEST(test_an_export_without_a_descriptor_is_the_vm_s_bug),
		API_TEST(test_the_server_sends_the_png),
		API_TEST(test_the_server_sends_the_dmabuf_with_the_answer),
		API_TEST(test_the_server_sends_no_fd_with_a_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
