// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: what the guest's agent sends cmavm (vmm/agent/). Three
 * readers, driven by one stream of operations:
 *   - the reply parser (qga.h) alone, with a reply limit of 512 bytes so
 *     that "too long" is within the inputs' reach;
 *   - the /proc parsers (cma_figures.h), on any text;
 *   - the client's cycle (agent.h) with no event loop, on a fake clock:
 *     bytes from the agent, the port opening and closing, time passing.
 * Operations, one byte each then their arguments (little-endian):
 *   0 EXPECT  cmd:u8 id:u8 count:u16     the parser awaits a command
 *   1 FEED    len:u16 bytes              bytes to the parser
 *   2 DESYNC
 *   3 MEMINFO len:u16 bytes
 *   4 VMSTAT  shift:u8 len:u16 bytes     page size 1 << (12 + shift % 5)
 *   5 AGENT   len:u16 bytes              bytes to the client; "$I" becomes the id
 *                                        of the last command it sent, so that a
 *                                        sync can be answered
 *   6 PORT    open:u8
 *   7 TIME    ms:u16                     the clock moves on; agent_run()
 *   8 BASE64  len:u16 bytes
 *
 * Beyond the sanitizers: the parser never holds more than its limit nor
 * consumes nothing; a read's reply never gives more than was asked; the
 * client's state is one of its five, it shows figures only after a
 * reading, and its peak is never below the last reading's use.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_input.h"
#include "vmm/agent/agent.h"
#include "vmm/agent/cma_figures.h"
#include "vmm/agent/qga.h"

#define PARSER_MAX 512
#define LEN_MAX	   4096
#define BIG	   11 /* "$I" (2 bytes) becomes up to 20 digits */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_agent: %s\n", what);
		abort();
	}
}

struct rig {
	struct qga_parser parser;
	struct guest_agent *agent;
	uint64_t now;
	uint64_t last_id;
	bool sent;
};

static size_t rig_send(void *opaque, const void *data, size_t len)
{
	struct rig *r = opaque;
	char text[1024];
	const char *id;

	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)data);
	id = strstr(text, ",\"id\":");
	check(id != NULL, "a command without its id");
	r->last_id = strtoull(id + 6, NULL, 10);
	r->sent = true;
	return len;
}

static uint64_t rig_now(void *opaque)
{
	return ((struct rig *)opaque)->now;
}

/* A byte string of up to LEN_MAX - 1 bytes (fewer at the input's end); its length. */
static size_t take(struct fuzz_input *in, uint8_t *buf)
{
	return fin_bytes(in, buf, fin_u16(in) % LEN_MAX);
}

static void feed_parser(struct rig *r, const uint8_t *buf, size_t len)
{
	struct qga_reply out;

	while (len) {
		bool read = r->parser.awaiting && r->parser.want.cmd == QGA_FILE_READ;
		unsigned int count = r->parser.want.count;
		size_t n = qga_parser_feed(&r->parser, buf, len, &out);

		check(n > 0 && n <= len, "the parser took no bytes, or more than it was given");
		check(strbuf_len(&r->parser.obj) <= PARSER_MAX,
		      "the parser holds more than its limit");
		if (out.event == QGA_REPLY && out.cmd == QGA_FILE_READ)
			check(read && out.read.len <= count, "a read gave more than was asked");
		buf += n;
		len -= n;
	}
}

/* "$I" in @buf becomes the last id sent, into @out (which holds LEN_MAX * BIG bytes). */
static size_t substitute(const struct rig *r, const uint8_t *buf, size_t len, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '$' && i + 1 < len && buf[i + 1] == 'I') {
			o += (size_t)sprintf((char *)out + o, "%" PRIu64, r->last_id);
			i++;
		} else {
			out[o++] = buf[i];
		}
	}
	return o;
}

static void check_agent(const struct rig *r)
{
	static const char *const states[] = { "waiting", "answering", "silent", "garbled",
					      "refusing" };
	struct agent_cma f;
	bool known = false;

	agent_figures(r->agent, &f);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		known |= !strcmp(f.state, states[i]);
	check(known, "the agent's state is none of the five");
	check(f.agent == (f.readings > 0), "figures shown without a reading");
	if (f.cma_free_bytes && f.cma_total_bytes >= f.cma_free_bytes) /* both were there */
		check(f.peak_used_bytes >= f.cma_total_bytes - f.cma_free_bytes,
		      "the peak is below the last reading's use");
}

static void expect(struct rig *r, struct fuzz_input *in)
{
	struct qga_request req = {
		.cmd = (enum qga_command)(fin_u8(in) % 4),
		.id = fin_u8(in),
		.count = fin_u16(in),
		.path = "/proc/meminfo",
	};

	qga_parser_expect(&r->parser, &req);
}

static void one_op(struct rig *r, struct fuzz_input *in, uint8_t *buf, uint8_t *big)
{
	struct cma_figures f = { 0 };
	uint8_t op = fin_u8(in) % 9, shift;
	size_t len;

	switch (op) {
	case 0:
		expect(r, in);
		return;
	case 2:
		qga_parser_desync(&r->parser);
		return;
	case 6:
		agent_port_opened(r->agent, fin_u8(in) & 1);
		agent_run(r->agent);
		return;
	case 7:
		r->now += fin_u16(in);
		agent_run(r->agent);
		return;
	}
	shift = op == 4 ? fin_u8(in) : 0;
	len = take(in, buf);
	if (op == 1)
		feed_parser(r, buf, len);
	else if (op == 3)
		cma_figures_meminfo(&f, (const char *)buf, len);
	else if (op == 4)
		cma_figures_vmstat(&f, (const char *)buf, len, 4096u << (shift % 5));
	else if (op == 5) {
		agent_received(r->agent, big, substitute(r, buf, len, big));
		agent_run(r->agent);
	} else if (op == 8)
		qga_base64_decode((const char *)buf, len, big);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = fin_make(data, size);
	struct agent_transport t = { .send = rig_send, .now_ms = rig_now };
	static uint8_t buf[LEN_MAX], big[LEN_MAX * BIG];
	struct rig r = { .now = 1000000 };

	t.opaque = &r;
	qga_parser_init(&r.parser, PARSER_MAX);
	r.agent = agent_create(NULL, &t, 0);
	check(r.agent != NULL, "no agent");
	while (!fin_done(&in)) {
		one_op(&r, &in, buf, big);
		check_agent(&r);
	}
	agent_destroy(r.agent);
	qga_parser_release(&r.parser);
	return 0;
}
