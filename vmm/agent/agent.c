// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest agent's reading cycle: see agent.h. One command is in flight
 * at a time; a reply moves the cycle one step on, and the next command
 * goes out from agent_run(), never from the callback that brought the
 * reply (the console device's lock is held there).
 */
#include "vmm/agent/internal.h"
#include "vmm/util/log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CMD_MAX 512 /* the longest command written */

static const char *const files[] = { "/proc/meminfo", "/proc/vmstat" };
#define NR_FILES (sizeof(files) / sizeof(files[0]))

/* ---- the state, and its log lines ---- */

static bool trouble(const char *state)
{
	return strcmp(state, "answering") && strcmp(state, "waiting");
}

/* @why is logged when the state turns to @state, never while it stays. */
static void set_state(struct guest_agent *a, const char *state, const char *why)
{
	if (!strcmp(a->state, state))
		return;
	if (trouble(state))
		pr_warn("guest agent on %s: %s; asking again every %u s while the port is open",
			QGA_PORT_NAME, why, a->interval_s);
	else if (!strcmp(state, "answering"))
		pr_info("guest agent on %s: answering%s; its CMA figures every %u s", QGA_PORT_NAME,
			trouble(a->state) ? " again" : "", a->interval_s);
	a->state = state;
}

/* ---- the cycle ---- */

/* On the cycles' beat: a cycle that ran long skips the starts it missed. */
static void schedule_next_cycle(struct guest_agent *a, uint64_t now)
{
	uint64_t period = a->interval_s * 1000ull, next = a->cycle_start_ms + period;

	if (next <= now)
		next += ((now - next) / period + 1) * period;
	a->deadline_ms = next;
}

static void end_cycle(struct guest_agent *a, uint64_t now)
{
	a->step = STEP_IDLE;
	a->awaiting = false;
	schedule_next_cycle(a, now);
}

/* Cut short: the handle it may have left open is closed by the next cycle. */
static void abort_cycle(struct guest_agent *a, uint64_t now, const char *state, const char *why)
{
	if (a->handle_open) {
		a->stale_handle = a->handle;
		a->stale_open = true;
		a->handle_open = false;
	}
	qga_parser_desync(&a->parser);
	end_cycle(a, now);
	set_state(a, state, why);
}

static void finish_cycle(struct guest_agent *a, uint64_t now)
{
	uint64_t used = cma_figures_used(&a->cycle);

	a->last = a->cycle;
	if (used > a->peak_used)
		a->peak_used = used;
	a->readings++;
	a->updated_ms = now;
	end_cycle(a, now);
	set_state(a, "answering", NULL);
}

static void start_cycle(struct guest_agent *a, uint64_t now)
{
	a->cycle_start_ms = now;
	a->step = STEP_SYNC;
	a->file = 0;
	memset(&a->cycle, 0, sizeof(a->cycle));
}

static struct qga_request step_request(const struct guest_agent *a)
{
	struct qga_request req = { .id = a->next_id };

	switch (a->step) {
	case STEP_IDLE:
	case STEP_SYNC:
		req.cmd = QGA_SYNC;
		break;
	case STEP_CLOSE_STALE:
		req.cmd = QGA_FILE_CLOSE;
		req.handle = a->stale_handle;
		break;
	case STEP_OPEN:
		req.cmd = QGA_FILE_OPEN;
		req.path = files[a->file];
		break;
	case STEP_READ:
		req.cmd = QGA_FILE_READ;
		req.handle = a->handle;
		req.count = AGENT_READ_COUNT;
		break;
	case STEP_CLOSE:
		req.cmd = QGA_FILE_CLOSE;
		req.handle = a->handle;
		break;
	}
	return req;
}

/* A port that takes less than the whole command is left to time out, as a silent agent. */
static void send_step(struct guest_agent *a, uint64_t now)
{
	struct qga_request req = step_request(a);

	strbuf_reset(&a->cmd);
	if (qga_write(&a->cmd, &req)) {
		abort_cycle(a, now, "silent", "no memory for a command");
		return;
	}
	a->next_id++;
	qga_parser_expect(&a->parser, &req);
	a->awaiting = true;
	a->deadline_ms = now + a->timeout_ms;
	a->t.send(a->t.opaque, strbuf_str(&a->cmd), strbuf_len(&a->cmd));
}

/* ---- replies ---- */

static void file_closed(struct guest_agent *a, uint64_t now)
{
	const char *text = strbuf_str(&a->text);
	size_t len = strbuf_len(&a->text);

	a->handle_open = false;
	if (a->file == 0)
		cma_figures_meminfo(&a->cycle, text, len);
	else
		cma_figures_vmstat(&a->cycle, text, len, a->page_size);
	if (++a->file < NR_FILES)
		a->step = STEP_OPEN;
	else
		finish_cycle(a, now);
}

static void file_read(struct guest_agent *a, const struct qga_reply *r, uint64_t now)
{
	char why[128];

	if (strbuf_add(&a->text, r->read.data, r->read.len)) {
		a->errors++;
		snprintf(why, sizeof(why), "it sent %s longer than %u bytes", files[a->file],
			 AGENT_FILE_MAX);
		abort_cycle(a, now, "garbled", why);
		return;
	}
	if (r->read.eof || !r->read.len)
		a->step = STEP_CLOSE;
}

static void on_reply(struct guest_agent *a, const struct qga_reply *r, uint64_t now)
{
	switch (a->step) {
	case STEP_SYNC:
		a->step = a->stale_open ? STEP_CLOSE_STALE : STEP_OPEN;
		break;
	case STEP_CLOSE_STALE:
		a->stale_open = false;
		a->step = STEP_OPEN;
		break;
	case STEP_OPEN:
		a->handle = r->handle;
		a->handle_open = true;
		strbuf_reset(&a->text);
		a->step = STEP_READ;
		break;
	case STEP_READ:
		file_read(a, r, now);
		break;
	case STEP_CLOSE:
		file_closed(a, now);
		break;
	case STEP_IDLE:
		break;
	}
}

/* A close that fails loses nothing read; any other command refused ends the cycle. */
static void on_error(struct guest_agent *a, const struct qga_reply *r, uint64_t now)
{
	char why[QGA_CLASS_MAX + QGA_DESC_MAX + 64];

	if (a->step == STEP_CLOSE_STALE) { /* that agent may have restarted since */
		on_reply(a, r, now);
		return;
	}
	a->errors++;
	if (a->step == STEP_CLOSE) {
		file_closed(a, now);
		return;
	}
	snprintf(why, sizeof(why), "it refused %s: %s: %s", qga_command_name(r->cmd), r->err_class,
		 r->err_desc);
	abort_cycle(a, now, "refusing", why);
}

static void on_event(struct guest_agent *a, const struct qga_reply *r, uint64_t now)
{
	char why[128];

	switch (r->event) {
	case QGA_REPLY:
		a->awaiting = false;
		on_reply(a, r, now);
		break;
	case QGA_ERROR:
		a->awaiting = false;
		on_error(a, r, now);
		break;
	case QGA_REFUSED:
		a->errors++;
		snprintf(why, sizeof(why), "it sent %s", r->why);
		abort_cycle(a, now, "garbled", why);
		break;
	case QGA_STALE:
	case QGA_NEED_MORE:
		break;
	}
}

void agent_received(struct guest_agent *a, const uint8_t *data, size_t len)
{
	uint64_t now = agent_now_ms(a);
	struct qga_reply r;

	while (len) {
		size_t n = qga_parser_feed(&a->parser, data, len, &r);

		on_event(a, &r, now);
		data += n;
		len -= n;
	}
	agent_kick(a);
}

/* ---- the port, the clock ---- */

/*
 * An open while open is a new agent behind a close nobody passed on (a
 * device reset on a vCPU thread): that cycle is over and its handles
 * with it, and a new one starts at once.
 */
void agent_port_opened(struct guest_agent *a, bool open)
{
	uint64_t now = agent_now_ms(a);

	if (!open && !a->port_open)
		return;
	if (a->port_open) {
		abort_cycle(a, now,
			    open	  ? a->state
			    : a->readings ? "silent"
					  : "waiting",
			    "the guest closed the agent's port");
		a->stale_open = false;
	}
	a->port_open = open;
	if (open)
		a->deadline_ms = now;
	agent_kick(a);
}

static void timed_out(struct guest_agent *a, uint64_t now)
{
	char why[128];

	a->errors++;
	snprintf(why, sizeof(why), "no answer to %s within %u ms",
		 qga_command_name(step_request(a).cmd), a->timeout_ms);
	abort_cycle(a, now, "silent", why);
}

void agent_run(struct guest_agent *a)
{
	uint64_t now = agent_now_ms(a);

	if (a->step != STEP_IDLE && a->awaiting && now >= a->deadline_ms)
		timed_out(a, now);
	if (a->step == STEP_IDLE && a->port_open && now >= a->deadline_ms)
		start_cycle(a, now);
	if (a->step != STEP_IDLE && !a->awaiting)
		send_step(a, now);
	agent_arm_timer(a, now);
}

/* ---- the figures ---- */

void agent_figures(const struct guest_agent *a, struct agent_cma *out)
{
	memset(out, 0, sizeof(*out));
	out->agent = a->readings > 0;
	out->state = a->state;
	out->interval_s = a->interval_s;
	out->readings = a->readings;
	out->agent_errors = a->errors;
	if (!a->readings)
		return;
	out->updated.tv_sec = (time_t)(a->updated_ms / 1000);
	out->updated.tv_nsec = (long)(a->updated_ms % 1000) * 1000000L;
	out->cma_total_bytes = a->last.total_bytes;
	out->cma_free_bytes = a->last.free_bytes;
	out->nr_free_cma_bytes = a->last.nr_free_bytes;
	out->alloc_success = a->last.alloc_success;
	out->alloc_fail = a->last.alloc_fail;
	out->peak_used_bytes = a->peak_used;
}

/* ---- life ---- */

void agent_set_page_size(struct guest_agent *a, unsigned int page_size)
{
	a->page_size = page_size;
}

struct guest_agent *agent_create(struct ev_loop *loop, const struct agent_transport *t,
				 unsigned int interval_s)
{
	struct guest_agent *a = calloc(1, sizeof(*a));
	struct timespec now;

	if (!a)
		return NULL;
	json_object_seed(0);
	a->loop = loop;
	a->t = *t;
	a->interval_s = interval_s ? interval_s : AGENT_DEFAULT_INTERVAL_S;
	a->timeout_ms = AGENT_REPLY_TIMEOUT_MS;
	a->page_size = AGENT_DEFAULT_PAGE_SIZE;
	if (a->timeout_ms > a->interval_s * 1000ull)
		a->timeout_ms = a->interval_s * 1000;
	qga_parser_init(&a->parser, QGA_REPLY_MAX);
	strbuf_init(&a->cmd, CMD_MAX);
	strbuf_init(&a->text, AGENT_FILE_MAX);
	a->state = "waiting";
	/* Ids unlike those of an earlier cmavm whose late replies may still be in the port. */
	clock_gettime(CLOCK_REALTIME, &now);
	a->next_id = (uint64_t)now.tv_sec * 1000 + 1;
	return a;
}

void agent_destroy(struct guest_agent *a)
{
	if (!a)
		return;
	qga_parser_release(&a->parser);
	strbuf_release(&a->cmd);
	strbuf_release(&a->text);
	free(a);
}
