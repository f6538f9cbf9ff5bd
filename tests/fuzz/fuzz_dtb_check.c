// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target: `cmavm dtb check` (fdt/dtb_check.h), the whole check and
 * the printed report, on the input as a DTB. Bytes after the blob's
 * totalsize, if any, are the --cmdline (up to the first NUL); without
 * them the blob's own /chosen/bootargs count, as the guest reads them.
 * The guest judged for comes from the header's boot_cpuid_phys, which
 * nothing else reads: bit 0 the series, bits 1-2 the page size (4K, 16K,
 * 64K, or 0 for "unset"), bit 3 an invalid page size that must be refused.
 *
 * Beyond the sanitizers: a refusal says why, and a report keeps within
 * its arrays with every text terminated. libfdt itself is Debian's, not
 * instrumented: the checker's own reads are watched, libfdt's are not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdt/dtb_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dtb_check: %s\n", what);
		abort();
	}
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_report(const struct dtb_report *rep)
{
	check(rep->nr_entries <= DTB_MAX_ENTRIES && rep->nr_lines <= DTB_MAX_LINES &&
		      rep->nr_ram <= DTB_MAX_RAM,
	      "report counts past its arrays");
	for (size_t i = 0; i < rep->nr_entries; i++) {
		const struct dtb_entry *e = &rep->entries[i];

		check(terminated(e->path, sizeof(e->path)) &&
			      terminated(e->reason, sizeof(e->reason)) &&
			      terminated(e->note, sizeof(e->note)),
		      "unterminated entry text");
	}
	for (size_t i = 0; i < rep->nr_lines; i++)
		check(terminated(rep->lines[i].text, sizeof(rep->lines[i].text)),
		      "unterminated line");
	check(terminated(rep->cmdline_source, sizeof(rep->cmdline_source)) &&
		      terminated(rep->default_area.text, sizeof(rep->default_area.text)) &&
		      terminated(rep->cma.value, sizeof(rep->cma.value)) &&
		      terminated(rep->cma.ignored, sizeof(rep->cma.ignored)),
	      "unterminated text");
}

/* The bytes after the blob, as a string; NULL if there are none. */
static char *trailing_cmdline(const uint8_t *data, size_t size)
{
	uint32_t total;
	char *cmdline;

	if (size < 8)
		return NULL;
	total = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 |
		data[7];
	if (total >= size)
		return NULL;
	cmdline = malloc(size - total + 1);
	if (!cmdline)
		abort();
	memcpy(cmdline, data + total, size - total);
	cmdline[size - total] = '\0';
	return cmdline;
}

/* The guest from the low byte of boot_cpuid_phys (header offset 0x1c). */
static struct guest_kernel input_guest(const uint8_t *data, size_t size)
{
	static const uint64_t pages[] = { SZ_4K, 4 * SZ_4K, SZ_64K, 0 };
	uint8_t pick = size >= 0x20 ? data[0x1f] : 0;
	struct guest_kernel g = { (enum guest_series)(pick & 1), pages[(pick >> 1) & 3] };

	if (pick & 8)
		g.page_size = 2 * SZ_4K; /* no arm64 page size */
	return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dtb_report rep; /* ~80 KiB */
	static FILE *out;
	char *cmdline = trailing_cmdline(data, size);
	struct guest_kernel guest = input_guest(data, size);

	if (!out)
		out = fopen("/dev/null", "w");
	if (!out)
		abort();
	if (dtb_check_guest(data, size, cmdline, &guest, &rep)) {
		check(rep.error[0] && terminated(rep.error, sizeof(rep.error)),
		      "refused without a reason");
	} else {
		check(guest_kernel_valid(&guest), "judged for a page size arm64 does not have");
		check(rep.guest.series == guest.series &&
			      rep.guest.page_size == guest_page_size(&guest),
		      "judged for another guest than asked");
		check_report(&rep);
		dtb_report_print(&rep, out);
		dtb_report_rejects(&rep);
	}
	free(cmdline);
	return 0;
}
