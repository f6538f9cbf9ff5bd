/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to the agent's tests: a QEMU guest agent in a few lines, which
 * answers cmavm's commands as qemu-ga 7.2 does (the replies the guest
 * image's agent gave under QEMU, byte for byte in shape): a 0xFF is
 * answered with a JSON parse error, a guest-sync-delimited with a 0xFF
 * and its id, files are numbered from 1000 and read as base64.
 */
#ifndef TESTS_UNIT_VMM_AGENT_FAKE_QGA_H
#define TESTS_UNIT_VMM_AGENT_FAKE_QGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util/strbuf.h"

#define FAKE_QGA_FILES	  256
#define FAKE_QGA_COMMANDS 256

struct fake_qga {
	/* how it behaves; the test may change these between commands */
	const char *meminfo, *vmstat; /* NULL: no such file */
	bool silent;		      /* takes commands, answers none */
	unsigned int answer_limit;    /* answers none past this many commands (0: no limit) */
	bool no_ids;		      /* leaves "id" out of its replies (older agents) */
	const char *refuse;	      /* a command it answers with an error */
	unsigned int read_max;	      /* the most bytes a read gives (0: what was asked) */

	struct strbuf out; /* replies not yet taken by the test */
	/* what it was asked, in order: "guest-file-close 1000" */
	char asked[FAKE_QGA_COMMANDS][48];
	unsigned int nr_asked;
	unsigned int flushes; /* 0xFF bytes received */

	struct strbuf line;
	struct {
		const char *text;
		size_t off;
		bool open;
	} files[FAKE_QGA_FILES];
};

void fake_qga_init(struct fake_qga *f);
void fake_qga_release(struct fake_qga *f);
/* Bytes cmavm sent; replies to the commands they complete go to @f->out. */
void fake_qga_input(struct fake_qga *f, const void *data, size_t len);
/* The last command asked, "" if none. */
const char *fake_qga_last(const struct fake_qga *f);
/* How many commands asked start with @prefix. */
unsigned int fake_qga_count(const struct fake_qga *f, const char *prefix);

/* Standard base64 of @len bytes, into @sb. */
void fake_base64(struct strbuf *sb, const void *data, size_t len);

/* /proc/meminfo and /proc/vmstat of the guest image under QEMU (6.1, 64 MiB of CMA). */
extern const char fake_meminfo[];
extern const char fake_vmstat[];

#endif
