// SPDX-License-Identifier: GPL-2.0-only
/*
 * The QEMU guest agent's protocol (vmm/agent/qga.h): the commands as
 * qemu-ga reads them, and the reply parser against well-formed replies
 * (those qemu-ga 7.2 gave under QEMU), replies split anywhere, garbage,
 * replies too long, errors, and replies to another command.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/vmm/agent/fake_qga.h"
#include "vmm/agent/qga.h"

/* What qemu-ga 7.2 sent back under QEMU (tools/guest/build's image). */
#define QGA_FLUSH_ERROR                                                                            \
	"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray "           \
	"'\\uFFFD'\"}}\n"
#define QGA_SYNC_REPLY	"\xff{\"return\": 1234567, \"id\": 1234567}\n"
#define QGA_OPEN_REPLY	"{\"return\": 1000, \"id\": 8}\n"
#define QGA_CLOSE_REPLY "{\"return\": {}, \"id\": 10}\n"
#define QGA_CLOSE_ERROR                                                                            \
	"{\"id\": 15, \"error\": {\"class\": \"GenericError\", \"desc\": \"handle '1001' has "     \
	"not been found\"}}\n"
#define QGA_EOF_REPLY "{\"return\": {\"count\": 0, \"buf-b64\": \"\", \"eof\": true}, \"id\": 13}\n"

static struct qga_parser parser;

static int setup(void **state)
{
	(void)state;
	qga_parser_init(&parser, QGA_REPLY_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	qga_parser_release(&parser);
	return 0;
}

static void expect(enum qga_command cmd, uint64_t id)
{
	struct qga_request req = { .cmd = cmd, .id = id, .count = 16384, .handle = 1000 };

	qga_parser_expect(&parser, &req);
}

/* Feed all of @s in pieces of @piece bytes; the last event other than NEED_MORE. */
static enum qga_event feed_split(const char *s, size_t len, size_t piece, struct qga_reply *last)
{
	enum qga_event ev = QGA_NEED_MORE;
	struct qga_reply r;
	size_t off = 0;

	while (off < len) {
		size_t chunk = len - off < piece ? len - off : piece;

		while (chunk) {
			size_t n = qga_parser_feed(&parser, (const uint8_t *)s + off, chunk, &r);

			assert_true(n > 0 && n <= chunk);
			off += n;
			chunk -= n;
			if (r.event != QGA_NEED_MORE) {
				ev = r.event;
				*last = r;
			}
		}
	}
	return ev;
}

static enum qga_event feed(const char *s, struct qga_reply *last)
{
	return feed_split(s, strlen(s), SIZE_MAX, last);
}

/* Through a sync, as every exchange starts. */
static void synced(void)
{
	struct qga_reply r;

	expect(QGA_SYNC, 1234567);
	assert_int_equal(feed(QGA_FLUSH_ERROR QGA_SYNC_REPLY, &r), QGA_REPLY);
	assert_true(parser.synced);
}

/* ---- commands ---- */

static void check_written(const struct qga_request *req, const char *want)
{
	struct strbuf sb = STRBUF_INIT(SIZE_MAX);

	assert_int_equal(qga_write(&sb, req), 0);
	assert_string_equal(strbuf_str(&sb), want);
	strbuf_release(&sb);
}

static void test_commands_as_written(void **state)
{
	struct qga_request sync = { .cmd = QGA_SYNC, .id = 1234567 };
	struct qga_request open = { .cmd = QGA_FILE_OPEN, .id = 8, .path = "/proc/meminfo" };
	struct qga_request read = { .cmd = QGA_FILE_READ, .id = 9, .handle = 1000, .count = 16384 };
	struct qga_request close = { .cmd = QGA_FILE_CLOSE, .id = 10, .handle = 1000 };

	(void)state;
	check_written(&sync,
		      "\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":1234567},"
		      "\"id\":1234567}\n");
	check_written(&open, "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"/proc/"
			     "meminfo\",\"mode\":\"r\"},\"id\":8}\n");
	check_written(&read, "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,"
			     "\"count\":16384},\"id\":9}\n");
	check_written(
		&close,
		"{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1000},\"id\":10}\n");
}

/* A path with quotes and control bytes is escaped, not spliced into the JSON. */
static void test_command_path_escaped(void **state)
{
	struct qga_request open = { .cmd = QGA_FILE_OPEN, .id = 1, .path = "/a\"b\n" };

	(void)state;
	check_written(&open,
		      "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"/a\\\"b\\n\","
		      "\"mode\":\"r\"},\"id\":1}\n");
}

static void test_command_too_long_for_buffer(void **state)
{
	struct qga_request open = { .cmd = QGA_FILE_OPEN, .id = 1, .path = "/proc/meminfo" };
	struct strbuf sb = STRBUF_INIT(20);

	(void)state;
	assert_int_equal(qga_write(&sb, &open), -ENOSPC);
	assert_int_equal(strbuf_len(&sb), 0);
	strbuf_release(&sb);
}

/* ---- well-formed replies ---- */

/* The sync: qemu-ga's error for our 0xFF and anything before its own 0xFF is dropped. */
static void test_sync_after_flush_error(void **state)
{
	struct qga_reply r;

	(void)state;
	expect(QGA_SYNC, 1234567);
	assert_int_equal(feed("{\"return\": 99, \"id\": 99}\n" QGA_FLUSH_ERROR QGA_SYNC_REPLY, &r),
			 QGA_REPLY);
	assert_int_equal(r.cmd, QGA_SYNC);
	assert_false(parser.awaiting);
}

static void test_open_read_close(void **state)
{
	struct strbuf reply = STRBUF_INIT(SIZE_MAX);
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_OPEN, 8);
	assert_int_equal(feed(QGA_OPEN_REPLY, &r), QGA_REPLY);
	assert_int_equal(r.cmd, QGA_FILE_OPEN);
	assert_int_equal(r.handle, 1000);

	strbuf_addf(&reply, "{\"return\": {\"count\": %zu, \"buf-b64\": \"", strlen(fake_meminfo));
	fake_base64(&reply, fake_meminfo, strlen(fake_meminfo));
	strbuf_addf(&reply, "\", \"eof\": true}, \"id\": 9}\n");
	expect(QGA_FILE_READ, 9);
	assert_int_equal(feed(strbuf_str(&reply), &r), QGA_REPLY);
	assert_int_equal(r.cmd, QGA_FILE_READ);
	assert_true(r.read.eof);
	assert_int_equal(r.read.len, strlen(fake_meminfo));
	assert_memory_equal(r.read.data, fake_meminfo, r.read.len);

	expect(QGA_FILE_READ, 13);
	assert_int_equal(feed(QGA_EOF_REPLY, &r), QGA_REPLY);
	assert_int_equal(r.read.len, 0);
	assert_true(r.read.eof);
	expect(QGA_FILE_CLOSE, 10);
	assert_int_equal(feed(QGA_CLOSE_REPLY, &r), QGA_REPLY);
	assert_int_equal(r.cmd, QGA_FILE_CLOSE);
	strbuf_release(&reply);
}

/* An agent that leaves ids out is understood by the shape of its replies. */
static void test_reply_without_id(void **state)
{
	struct qga_reply r;

	(void)state;
	expect(QGA_SYNC, 5);
	assert_int_equal(feed("\xff{\"return\": 5}\n", &r), QGA_REPLY);
	expect(QGA_FILE_OPEN, 6);
	assert_int_equal(feed("{\"return\": 1001}", &r), QGA_REPLY);
	assert_int_equal(r.handle, 1001);
}

/* Split anywhere, byte by byte included, and with braces and quotes inside strings. */
static void test_split_replies(void **state)
{
	const char *err = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"a } \\\" { ]\"}, "
			  "\"id\": 7}";
	struct qga_reply r;

	(void)state;
	for (size_t piece = 1; piece < 40; piece++) {
		expect(QGA_SYNC, 1234567);
		assert_int_equal(feed_split(QGA_FLUSH_ERROR QGA_SYNC_REPLY,
					    strlen(QGA_FLUSH_ERROR QGA_SYNC_REPLY), piece, &r),
				 QGA_REPLY);
		expect(QGA_FILE_CLOSE, 7);
		assert_int_equal(feed_split(err, strlen(err), piece, &r), QGA_ERROR);
		assert_string_equal(r.err_desc, "a } \" { ]");
	}
}

/* One feed holding two replies hands them back one at a time. */
static void test_two_replies_in_one_feed(void **state)
{
	const char *both = QGA_SYNC_REPLY QGA_OPEN_REPLY;
	struct qga_reply r;
	size_t n;

	(void)state;
	expect(QGA_SYNC, 1234567);
	n = qga_parser_feed(&parser, (const uint8_t *)both, strlen(both), &r);
	assert_int_equal(r.event, QGA_REPLY);
	assert_int_equal(n, strlen(QGA_SYNC_REPLY) - 1); /* its newline comes with the next */
	expect(QGA_FILE_OPEN, 8);
	assert_int_equal(feed(both + n, &r), QGA_REPLY);
	assert_int_equal(r.handle, 1000);
}

/* ---- errors ---- */

static void test_error_reply(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_CLOSE, 15);
	assert_int_equal(feed(QGA_CLOSE_ERROR, &r), QGA_ERROR);
	assert_int_equal(r.cmd, QGA_FILE_CLOSE);
	assert_string_equal(r.err_class, "GenericError");
	assert_string_equal(r.err_desc, "handle '1001' has not been found");
	assert_false(parser.awaiting);
}

static void test_error_without_desc_refused(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_OPEN, 2);
	assert_int_equal(feed("{\"error\": {\"class\": 5}, \"id\": 2}", &r), QGA_REFUSED);
}

/* A description longer than the reply's array is cut, still terminated. */
static void test_error_desc_truncated(void **state)
{
	struct strbuf s = STRBUF_INIT(SIZE_MAX);
	struct qga_reply r;

	(void)state;
	synced();
	strbuf_addf(&s, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"");
	for (int i = 0; i < 1000; i++)
		strbuf_add(&s, "x", 1);
	strbuf_addf(&s, "\"}}");
	expect(QGA_FILE_OPEN, 2);
	assert_int_equal(feed(strbuf_str(&s), &r), QGA_ERROR);
	assert_int_equal(strlen(r.err_desc), QGA_DESC_MAX - 1);
	strbuf_release(&s);
}

/* ---- garbage, and resynchronising ---- */

/* Garbage is refused once; what follows is dropped until a 0xFF. */
static void test_garbage_then_resync(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_OPEN, 8);
	assert_int_equal(feed("garbage " QGA_OPEN_REPLY, &r), QGA_REFUSED);
	assert_string_equal(r.why, "bytes that are not JSON");
	assert_false(parser.awaiting);
	expect(QGA_FILE_OPEN, 8);
	assert_int_equal(feed(QGA_OPEN_REPLY, &r), QGA_NEED_MORE);
	synced();
}

static void test_braces_but_not_json(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_OPEN, 2);
	assert_int_equal(feed("{\"return\": 5,,}", &r), QGA_REFUSED);
	assert_string_equal(r.why, "bytes that are not JSON");
	expect(QGA_SYNC, 3);
	assert_int_equal(feed("\xff{\"return\": 3, \"return\": 3}", &r), QGA_REFUSED);
	assert_false(parser.awaiting);
}

/* A 0xFF in the middle of an awaited reply cuts it off. */
static void test_reply_cut_short(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_OPEN, 2);
	assert_int_equal(feed("{\"return\": \xff 1000}", &r), QGA_REFUSED);
	assert_false(parser.synced);
}

/* Bytes nobody asked for are refused. */
static void test_unasked_reply(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	assert_int_equal(feed(QGA_OPEN_REPLY, &r), QGA_REFUSED);
	assert_string_equal(r.why, "a reply to no command");
}

/* Before the first sync, everything is dropped: the stream is not trusted yet. */
static void test_unsynced_at_start(void **state)
{
	struct qga_reply r;

	(void)state;
	expect(QGA_FILE_OPEN, 8);
	assert_int_equal(feed(QGA_OPEN_REPLY "garbage", &r), QGA_NEED_MORE);
	assert_true(parser.awaiting);
}

/* ---- too long ---- */

static void test_oversized_reply(void **state)
{
	struct strbuf s = STRBUF_INIT(SIZE_MAX);
	struct qga_reply r;

	(void)state;
	synced();
	strbuf_addf(&s, "{\"return\": {\"count\": 1, \"buf-b64\": \"");
	while (strbuf_len(&s) < QGA_REPLY_MAX + 100)
		strbuf_add(&s, "QUFB", 4);
	strbuf_addf(&s, "\", \"eof\": false}, \"id\": 2}\n");
	expect(QGA_FILE_READ, 2);
	assert_int_equal(feed_split(strbuf_str(&s), strbuf_len(&s), 4096, &r), QGA_REFUSED);
	assert_string_equal(r.why, "a reply longer than its limit");
	assert_true(parser.obj.alloc <=
		    2 * (QGA_REPLY_MAX + 1)); /* doubling stopped at the limit */
	/* the rest of it is dropped, and the next sync is understood */
	expect(QGA_SYNC, 3);
	assert_int_equal(feed("}}}\xff{\"return\": 3, \"id\": 3}\n", &r), QGA_REPLY);
	strbuf_release(&s);
}

/* Exactly at the limit is taken. */
static void test_reply_at_limit(void **state)
{
	struct qga_parser small;
	const char *sync = "\xff{\"return\": 1}";
	struct qga_reply r;
	struct qga_request req = { .cmd = QGA_SYNC, .id = 1 };

	(void)state;
	qga_parser_init(&small, strlen(sync) - 1);
	qga_parser_expect(&small, &req);
	qga_parser_feed(&small, (const uint8_t *)sync, strlen(sync), &r);
	assert_int_equal(r.event, QGA_REPLY);
	qga_parser_release(&small);
	qga_parser_init(&small, strlen(sync) - 2);
	qga_parser_expect(&small, &req);
	qga_parser_feed(&small, (const uint8_t *)sync, strlen(sync), &r);
	assert_int_equal(r.event, QGA_REFUSED);
	qga_parser_release(&small);
}

/* ---- replies to another command ---- */

static void test_mismatched_id(void **state)
{
	struct qga_reply r;

	(void)state;
	synced();
	expect(QGA_FILE_OPEN, 9);
	assert_int_equal(feed(QGA_OPEN_REPLY, &r), QGA_REFUSED); /* id 8 */
	assert_string_equal(r.why, "a reply to another command");
}

static void test_mismatched_shape(void **state)
{
	static const char *const wrong[] = {
		"{\"return\": 1000}", /* a handle for a read */
		"{\"return\": {\"count\": 2, \"buf-b64\": \"QQ==\", \"eof\": true}}", /* 1 byte */
		"{\"return\": {\"count\": 1, \"buf-b64\": \"Q===\", \"eof\": true}}", /* bad b64 */
		"{\"return\": {\"count\": 1, \"buf-b64\": \"QQ==\", \"eof\": 1}}",
		"{\"return\": {\"count\": 1, \"eof\": true}}",
		"{\"return\": 1, \"error\": {\"class\": \"a\", \"desc\": \"b\"}}",
		"{\"id\": 2}",
		"[1]",
	};
	struct qga_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		synced();
		expect(QGA_FILE_READ, 2);
		assert_int_not_equal(feed(wrong[i], &r), QGA_REPLY);
		assert_int_equal(r.event, QGA_REFUSED);
	}
}

/* A read that gives more than was asked for is refused. */
static void test_read_over_count(void **state)
{
	struct qga_request req = { .cmd = QGA_FILE_READ, .id = 2, .handle = 1000, .count = 2 };
	struct qga_reply r;

	(void)state;
	synced();
	qga_parser_expect(&parser, &req);
	assert_int_equal(
		feed("{\"return\": {\"count\": 3, \"buf-b64\": \"QUFB\", \"eof\": false}}", &r),
		QGA_REFUSED);
}

/* An earlier sync's answer is stale: the parser waits for the next 0xFF. */
static void test_stale_sync_reply(void **state)
{
	struct qga_reply r;

	(void)state;
	expect(QGA_SYNC, 20);
	assert_int_equal(feed("\xff{\"return\": 19, \"id\": 19}\n", &r), QGA_STALE);
	assert_true(parser.awaiting);
	assert_int_equal(feed(QGA_OPEN_REPLY, &r), QGA_NEED_MORE);
	assert_int_equal(feed("\xff{\"return\": 20, \"id\": 20}\n", &r), QGA_REPLY);
}

/* ---- base64 ---- */

static void test_base64(void **state)
{
	uint8_t out[16];

	(void)state;
	assert_int_equal(qga_base64_decode("", 0, out), 0);
	assert_int_equal(qga_base64_decode("QUJD", 4, out), 3);
	assert_memory_equal(out, "ABC", 3);
	assert_int_equal(qga_base64_decode("QUI=", 4, out), 2);
	assert_memory_equal(out, "AB", 2);
	assert_int_equal(qga_base64_decode("QQ==", 4, out), 1);
	assert_int_equal(qga_base64_decode("+/+/", 4, out), 3);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
	assert_int_equal(qga_base64_decode("QUJ", 3, out), -1);
	assert_int_equal(qga_base64_decode("Q===", 4, out), -1);
	assert_int_equal(qga_base64_decode("QQ==QUJD", 8, out), -1);
	assert_int_equal(qga_base64_decode("QU=D", 4, out), -1);
	assert_int_equal(qga_base64_decode("QU\nD", 4, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_as_written),
		cmocka_unit_test(test_command_path_escaped),
		cmocka_unit_test(test_command_too_long_for_buffer),
		cmocka_unit_test_setup_teardown(test_sync_after_flush_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_read_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_without_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_replies_in_one_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_without_desc_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_desc_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_then_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_braces_but_not_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unasked_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsynced_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_reply, setup, teardown),
		cmocka_unit_test(test_reply_at_limit),
		cmocka_unit_test_setup_teardown(test_mismatched_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mismatched_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_over_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_sync_reply, setup, teardown),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
