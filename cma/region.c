// SPDX-License-Identifier: GPL-2.0-only
/*
 * A region of host memory for device buffers (cma/region.h): its memfd,
 * the placement of buffers in it, measuring them, exporting them as
 * udmabufs. The files are made and mapped with the engine's helpers
 * (cma/backing.c), frame numbers read as the engine reads them
 * (cma/pagemap.c).
 */
#include "cma/region.h"
#include "cma/hugepages.h"
#include "cma/internal.h"
#include "cma/size.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/udmabuf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define UDMABUF_DEV	  "/dev/udmabuf"
#define UDMABUF_LIMIT	  "/sys/module/udmabuf/parameters/size_limit_mb"
#define UDMABUF_LIMIT_DEF 64  /* MiB: size_limit_mb unless set */
#define PFN_CHUNK	  512 /* frame numbers read at once: one 2 MiB page's */

struct extent {
	uint64_t off, len;
};

struct cma_region {
	char name[64];
	enum cma_region_backing backing;
	int fd;
	uint8_t *base;
	uint64_t size;
	uint64_t page_size;	/* placement's: buffers stay within one, or start at one */
	int udmabuf;		/* /dev/udmabuf, or -1 (then @why says why) */
	uint64_t udmabuf_limit; /* size_limit_mb in bytes, as creation read it; 0: unknown */
	char why[200];		/* why export cannot work here, or "" */
	pthread_mutex_t lock;	/* guards what follows */
	uint64_t used;
	size_t nr;				  /* extents in use */
	struct extent ext[CMA_REGION_MAX_ALLOCS]; /* by offset */
};

static const char *const backing_names[] = {
	[CMA_REGION_HUGE] = "huge",
	[CMA_REGION_CONTIGUOUS] = "contiguous",
	[CMA_REGION_MEMFD] = "memfd",
};
#define NR_BACKINGS (sizeof(backing_names) / sizeof(backing_names[0]))

const char *cma_region_backing_name(enum cma_region_backing b)
{
	return (size_t)b < NR_BACKINGS ? backing_names[b] : "?";
}

int cma_region_backing_parse(const char *name, enum cma_region_backing *out)
{
	for (size_t i = 0; i < NR_BACKINGS; i++) {
		if (!strcmp(name, backing_names[i])) {
			*out = (enum cma_region_backing)i;
			return 0;
		}
	}
	return -1;
}

static int say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

uint64_t cma_region_backing_page(enum cma_region_backing b)
{
	return b == CMA_REGION_CONTIGUOUS ? GIGANTIC : CMA_HUGE_PAGE;
}

/* What a file is: hugetlbfs tells its page size by st_blksize. */
static enum cma_region_backing backing_of(int fd)
{
	uint64_t page = file_page_size(fd);

	if (page == GIGANTIC)
		return CMA_REGION_CONTIGUOUS;
	return page == CMA_HUGE_PAGE ? CMA_REGION_HUGE : CMA_REGION_MEMFD;
}

/*
 * A region of @size on @page huge pages cannot be had: how many are
 * missing, and how to add them. @errnum: what failed, or 0 before trying.
 */
static int short_of_huge_pages(const char *name, uint64_t size, uint64_t page, int errnum,
			       char *err, size_t errlen)
{
	struct cma_hugepages host = cma_host_hugepages(page);
	uint64_t have = host.usable, need = size / page;
	char sz[32], psz[32];

	size_str(size, sz);
	size_str(page, psz);
	if (have >= need)
		return say(err, errlen,
			   "region %s: %s on %s huge pages could not be populated: %s; %s", name,
			   sz, psz, strerror(errnum), no_memory_hint(page));
	return say(err, errlen,
		   "region %s: %s needs %llu free %s huge pages and the host has %llu (%llu "
		   "missing); %s, N = %llu here",
		   name, sz, (unsigned long long)need, psz, (unsigned long long)have,
		   (unsigned long long)(need - have), no_memory_hint(page),
		   (unsigned long long)(host.total + need - have));
}

/* Every page made now, so that a host short of them fails here and not with SIGBUS later. */
static int populate(struct cma_region *r, char *err, size_t errlen)
{
	int errnum;

	if (!fallocate(r->fd, 0, 0, (off_t)r->size))
		return 0;
	errnum = errno;
	punch(r->fd, 0, r->size); /* what it did get goes back before the pages are counted */
	if (r->backing != CMA_REGION_MEMFD)
		return short_of_huge_pages(r->name, r->size, file_page_size(r->fd), errnum, err,
					   errlen);
	return say(err, errlen, "region %s: populating its memfd: %s; %s", r->name,
		   strerror(errnum), no_memory_hint(CMA_PAGE));
}

/*
 * A udmabuf needs F_SEAL_SHRINK (its pages must stay) and refuses
 * F_SEAL_WRITE; F_SEAL_GROW keeps the region the size it was made.
 */
static int seal(struct cma_region *r, char *err, size_t errlen)
{
	if (!fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		return 0;
	return say(err, errlen,
		   "region %s: sealing its memfd: %s (made without MFD_ALLOW_SEALING?)", r->name,
		   strerror(errno));
}

/*
 * Mapped at a boundary of the file's pages, every page table entry made
 * now: pagemap shows frame numbers of mapped pages only.
 */
static int map_region(struct cma_region *r, char *err, size_t errlen)
{
	uint8_t *p;

	if (file_page_size(r->fd) <= CMA_HUGE_PAGE) {
		r->base = map_aligned(r->size, PROT_READ | PROT_WRITE, r->fd, 0);
	} else {
		/* hugetlbfs places a mapping of its pages at their boundary itself */
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		r->base = p == MAP_FAILED ? NULL : p;
	}
	if (!r->base)
		return say(err, errlen, "region %s: mapping it: %s", r->name, strerror(errno));
	for (uint64_t off = 0; off < r->size; off += CMA_PAGE)
		(void)*(volatile uint8_t *)(r->base + off);
	return 0;
}

static int make_udmabuf(const struct cma_region *r, uint64_t offset, uint64_t len)
{
	struct udmabuf_create c = {
		.memfd = (uint32_t)r->fd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = offset,
		.size = len,
	};

	return ioctl(r->udmabuf, UDMABUF_CREATE, &c);
}

/* Why UDMABUF_CREATE of @len bytes failed with @errnum, as a host feature to add. */
static void explain_udmabuf(const struct cma_region *r, int errnum, uint64_t len, char *out,
			    size_t outlen)
{
	unsigned long long need_mb = (len + (1ULL << 20) - 1) >> 20;

	if (errnum == EBADFD && r->backing != CMA_REGION_MEMFD)
		say(out, outlen,
		    "this kernel's udmabuf refuses memfds on hugetlb pages: use backing=memfd "
		    "(no contiguity promised) or a kernel whose udmabuf takes them");
	else if (errnum == EINVAL && r->udmabuf_limit && len > r->udmabuf_limit)
		say(out, outlen,
		    "udmabuf's size_limit_mb module parameter is %llu and this buffer needs "
		    "%llu MiB: load udmabuf with size_limit_mb=%llu (or write it to " UDMABUF_LIMIT
		    ")",
		    (unsigned long long)(r->udmabuf_limit >> 20), need_mb, need_mb);
	else if (errnum == EINVAL && !r->udmabuf_limit && need_mb > UDMABUF_LIMIT_DEF)
		say(out, outlen,
		    "udmabuf refused %llu MiB (%s): its size_limit_mb module parameter (%d "
		    "unless set) may be too small: load udmabuf with size_limit_mb=%llu",
		    need_mb, strerror(errnum), UDMABUF_LIMIT_DEF, need_mb);
	else
		say(out, outlen, "udmabuf: UDMABUF_CREATE: %s", strerror(errnum));
}

/*
 * /dev/udmabuf now (a sandboxed thread exports later), tried on the first
 * page, so that cma_region_export_why() knows before anyone asks.
 */
static void open_udmabuf(struct cma_region *r)
{
	int fd;

	r->udmabuf = open(UDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (r->udmabuf < 0) {
		if (errno == ENOENT)
			say(r->why, sizeof(r->why),
			    "no " UDMABUF_DEV ": load the udmabuf module (modprobe udmabuf) or run "
			    "a kernel built with CONFIG_UDMABUF");
		else
			say(r->why, sizeof(r->why), "cannot open " UDMABUF_DEV ": %s",
			    strerror(errno));
		return;
	}
	r->udmabuf_limit = cma_read_number(UDMABUF_LIMIT) << 20;
	fd = make_udmabuf(r, 0, CMA_PAGE);
	if (fd >= 0) {
		close(fd);
		return;
	}
	explain_udmabuf(r, errno, CMA_PAGE, r->why, sizeof(r->why));
	close(r->udmabuf);
	r->udmabuf = -1;
}

/* The file's geometry as placement needs it; @r's size from @r's file. */
static int check_geometry(struct cma_region *r, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(r->fd, &st))
		return say(err, errlen, "region %s: fstat: %s", r->name, strerror(errno));
	r->size = (uint64_t)st.st_size;
	if (!is_power_of_2(r->page_size) || r->page_size < file_page_size(r->fd))
		return say(err, errlen,
			   "region %s: a page of %llu bytes: not a power of two at "
			   "least the file's page",
			   r->name, (unsigned long long)r->page_size);
	if (!r->size || !is_aligned(r->size, r->page_size))
		return say(err, errlen,
			   "region %s: a file of %llu bytes: not a multiple of its "
			   "page",
			   r->name, (unsigned long long)r->size);
	return 0;
}

struct cma_region *cma_region_create_on(const char *name, int fd, uint64_t page_size, char *err,
					size_t errlen)
{
	struct cma_region *r = calloc(1, sizeof(*r));

	if (!r) {
		close(fd);
		say(err, errlen, "region %s: %s", name, no_memory_hint(CMA_PAGE));
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->fd = fd;
	r->udmabuf = -1;
	r->page_size = page_size;
	r->backing = backing_of(fd);
	pthread_mutex_init(&r->lock, NULL);
	if (check_geometry(r, err, errlen) || populate(r, err, errlen) || seal(r, err, errlen) ||
	    map_region(r, err, errlen)) {
		cma_region_destroy(r);
		return NULL;
	}
	open_udmabuf(r);
	pagemap_open(); /* for cma_region_measure(), on a thread that may open nothing */
	return r;
}

struct cma_region *cma_region_create(const char *name, enum cma_region_backing backing,
				     uint64_t size, char *err, size_t errlen)
{
	uint64_t page = cma_region_backing_page(backing);
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd;

	if ((size_t)backing >= NR_BACKINGS || !size || size > UINT64_MAX - page) {
		say(err, errlen, "region %s: no region of %llu bytes on backing %d", name,
		    (unsigned long long)size, (int)backing);
		return NULL;
	}
	size = align_up(size, page);
	if (backing != CMA_REGION_MEMFD) {
		/* counted first: a file short of pages would take the free ones a while */
		if (cma_host_hugepages(page).usable < size / page) {
			short_of_huge_pages(name, size, page, 0, err, errlen);
			return NULL;
		}
		flags |= MFD_HUGETLB | (page == GIGANTIC ? MFD_HUGE_1GB : MFD_HUGE_2MB);
	}
	fd = memfd_sized(name, flags, size);
	if (fd < 0) {
		say(err, errlen, "region %s: memfd_create: %s; %s", name, strerror(-fd),
		    no_memory_hint(backing == CMA_REGION_MEMFD ? CMA_PAGE : page));
		return NULL;
	}
	return cma_region_create_on(name, fd, page, err, errlen);
}

void cma_region_destroy(struct cma_region *r)
{
	if (!r)
		return;
	if (r->base)
		munmap(r->base, r->size);
	if (r->udmabuf >= 0)
		close(r->udmabuf);
	close(r->fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

uint8_t *cma_region_base(const struct cma_region *r)
{
	return r->base;
}

uint64_t cma_region_size(const struct cma_region *r)
{
	return r->size;
}

uint64_t cma_region_page_size(const struct cma_region *r)
{
	return r->page_size;
}

enum cma_region_backing cma_region_backing(const struct cma_region *r)
{
	return r->backing;
}

uint64_t cma_region_used(const struct cma_region *r)
{
	struct cma_region *w = (struct cma_region *)r; /* the lock is not the state read */
	uint64_t used;

	pthread_mutex_lock(&w->lock);
	used = r->used;
	pthread_mutex_unlock(&w->lock);
	return used;
}

/*
 * Where @len bytes may start in the free gap [lo, hi) under the placement
 * rule, or UINT64_MAX: within one page when they fit in one, else at a
 * page boundary.
 */
static uint64_t fit_in_gap(uint64_t lo, uint64_t hi, uint64_t len, uint64_t page)
{
	uint64_t at = lo;

	if (len > page || align_down(at, page) != align_down(at + len - 1, page))
		at = align_up(at, page);
	return at <= hi && hi - at >= len ? at : UINT64_MAX;
}

/* The first place for @len bytes: 0 with the extent's index in *@i and offset in *@at. */
static int first_fit(const struct cma_region *r, uint64_t len, size_t *i, uint64_t *at)
{
	for (size_t k = 0; k <= r->nr; k++) {
		uint64_t lo = k ? r->ext[k - 1].off + r->ext[k - 1].len : 0;
		uint64_t hi = k < r->nr ? r->ext[k].off : r->size;

		*at = fit_in_gap(lo, hi, len, r->page_size);
		if (*at != UINT64_MAX) {
			*i = k;
			return 0;
		}
	}
	return -ENOSPC;
}

int cma_region_alloc(struct cma_region *r, uint64_t len, uint64_t *offset)
{
	uint64_t at = 0;
	size_t i = 0;
	int ret;

	if (!len)
		return -EINVAL;
	if (len > r->size)
		return -ENOSPC;
	len = align_up(len, CMA_PAGE);
	pthread_mutex_lock(&r->lock);
	ret = r->nr == CMA_REGION_MAX_ALLOCS ? -ENOSPC : first_fit(r, len, &i, &at);
	if (!ret) {
		memmove(&r->ext[i + 1], &r->ext[i], (r->nr - i) * sizeof(r->ext[0]));
		r->ext[i] = (struct extent){ at, len };
		r->nr++;
		r->used += len;
	}
	pthread_mutex_unlock(&r->lock);
	if (ret)
		return ret;
	/* the extent is the caller's alone now: no need of the lock to clear it */
	memset(r->base + at, 0, len);
	*offset = at;
	return 0;
}

/* The index of the extent at @offset, or r->nr. */
static size_t find_extent(const struct cma_region *r, uint64_t offset)
{
	size_t lo = 0, hi = r->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->ext[mid].off < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nr && r->ext[lo].off == offset ? lo : r->nr;
}

void cma_region_free(struct cma_region *r, uint64_t offset)
{
	size_t i;

	pthread_mutex_lock(&r->lock);
	i = find_extent(r, offset);
	if (i < r->nr) {
		r->used -= r->ext[i].len;
		r->nr--;
		memmove(&r->ext[i], &r->ext[i + 1], (r->nr - i) * sizeof(r->ext[0]));
	}
	pthread_mutex_unlock(&r->lock);
}

static bool range_ok(const struct cma_region *r, uint64_t offset, uint64_t len)
{
	return len && offset < r->size && len <= r->size - offset;
}

/* Runs of consecutive frames among @n frame numbers, carried on from *@prev and *@run. */
static bool count_runs(const uint64_t *pfn, size_t n, uint64_t *prev, uint64_t *run,
		       struct cma_region_contiguity *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!pfn[i]) /* hidden (not root) or not present */
			return false;
		if (*run && pfn[i] == *prev + 1) {
			(*run)++;
		} else {
			*run = 1;
			out->runs++;
		}
		*prev = pfn[i];
		if (*run * CMA_PAGE > out->largest_run)
			out->largest_run = *run * CMA_PAGE;
	}
	return true;
}

void cma_region_measure(const struct cma_region *r, uint64_t offset, uint64_t len,
			struct cma_region_contiguity *out)
{
	uint64_t first = offset / CMA_PAGE, end, pfn[PFN_CHUNK], prev = 0, run = 0;
	struct cma_region_contiguity c = { 0 };

	*out = c;
	if (!range_ok(r, offset, len))
		return;
	end = align_up(offset + len, CMA_PAGE) / CMA_PAGE;
	for (uint64_t p = first; p < end; p += PFN_CHUNK) {
		size_t n = end - p < PFN_CHUNK ? (size_t)(end - p) : PFN_CHUNK;

		if (read_pfns(r->base + p * CMA_PAGE, n, pfn) ||
		    !count_runs(pfn, n, &prev, &run, &c))
			return;
		if (p == first)
			c.host_phys = pfn[0] * CMA_PAGE + offset % CMA_PAGE;
	}
	c.verified = true;
	*out = c;
}

int cma_region_export(const struct cma_region *r, uint64_t offset, uint64_t len, char *err,
		      size_t errlen)
{
	char sz[32];
	int fd;

	if (!range_ok(r, offset, len) || !is_aligned(offset | len, CMA_PAGE))
		return say(err, errlen,
			   "region %s: no udmabuf of [%#llx, +%#llx): a range must be 4 KiB "
			   "aligned, not empty and inside the region's %s",
			   r->name, (unsigned long long)offset, (unsigned long long)len,
			   size_str(r->size, sz));
	if (r->udmabuf < 0)
		return say(err, errlen, "%s", r->why);
	fd = make_udmabuf(r, offset, len);
	if (fd < 0)
		explain_udmabuf(r, errno, len, err, errlen);
	return fd;
}

const char *cma_region_export_why(const struct cma_region *r)
{
	return r->why;
}
