/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CMA pageblock map (GET /v1/cma/map) drawn for people: coloured
 * cells on a terminal, letters where there is no colour, and SVG.
 *
 * Owns: the colour, letter and name of each pageblock state as people see
 * them, the layout (CTL_MAP_ROW pageblocks a row, each row led by the
 * guest-physical address of its first pageblock) and each pool's legend
 * (pageblocks and bytes per state). Takes the same plain structs the API
 * is given, so it needs neither the VM nor the socket.
 */
#ifndef VMM_CONTROL_MAP_RENDER_H
#define VMM_CONTROL_MAP_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/control/api.h"

#define CTL_MAP_ROW   64 /* pageblocks a row */
#define CTL_MAP_GROUP 16 /* a blank between groups of this many, on a terminal */

/* Colour for @out: a terminal, and NO_COLOR unset or empty (no-color.org). */
bool ctl_map_want_colour(FILE *out);

/*
 * Each of the @n pools as a title line, rows of cells and a legend. With
 * @colour, cells are "█" in ANSI colours; without, the states' letters
 * (U B R L W).
 */
void ctl_map_text(FILE *out, const struct ctl_cma_map *pools, unsigned int n,
		  uint64_t pageblock_size, bool colour);

/*
 * The same as one self-contained SVG document: a title, a grid of rects
 * (one per pageblock, with a tooltip) and a legend per pool. Returns 0,
 * or -1 if writing @out failed.
 */
int ctl_map_svg(FILE *out, const struct ctl_cma_map *pools, unsigned int n,
		uint64_t pageblock_size);

#endif
