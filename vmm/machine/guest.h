/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which kernel the guest runs, as far as its memory rules care: the page
 * size and the version series.
 *
 * Owns: reading the page size from the arm64 Image header (flags bits 1-2,
 * Documentation/arch/arm64/booting.rst), settling it against
 * --guest-page-size, and reading the version from the banner the Image
 * carries ("Linux version 6.12.117+deb12-arm64 ..."). The rules each
 * series and page size imply are fdt/guest_rules.h's.
 */
#ifndef VMM_MACHINE_GUEST_H
#define VMM_MACHINE_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "fdt/guest_rules.h"

struct kernel_image;

/* The page size an Image header declares: 4, 16 or 64 KiB, or 0 when it does not say. */
uint64_t arm64_image_page_size(const uint8_t *header);

/*
 * The guest's page size: the header's; @flag (the value of the flag named
 * @flag_name, 0 if not given) where the header does not say; 4 KiB where
 * neither does, with a note. A flag that contradicts the header is an
 * error. 0, or -1 said why.
 */
int guest_page_size_settle(const struct kernel_image *k, const char *flag_name, uint64_t flag,
			   uint64_t *page_size);

/*
 * The version in the kernel banner of the uncompressed Image at @path
 * ("6.12.117+deb12-arm64"), into @out. 0; KERNEL_VERSION_NONE when it has
 * no banner, KERNEL_VERSION_GZIP for a gzip file (which hides it); -1 when
 * the file cannot be read (said why).
 */
#define KERNEL_VERSION_NONE 1
#define KERNEL_VERSION_GZIP 2
int kernel_image_version(const char *path, char *out, size_t len);

/*
 * The series whose rules govern a kernel of @version: 6.12 from 6.12 on,
 * else 6.1. 0 when @version is that series itself, 1 when it is only the
 * nearest, -1 when @version is no kernel version or one before 5.18 (whose
 * CMA alignment was larger: no series cmavm models is near).
 */
int guest_series_of_version(const char *version, enum guest_series *series);

#endif
