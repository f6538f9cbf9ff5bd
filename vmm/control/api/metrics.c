// SPDX-License-Identifier: GPL-2.0-only
/*
 * GET /metrics (and /v1/metrics): the VM's readings in Prometheus' text
 * format, for a scraper or `cmavm ctl metrics` (vmm/control/metrics.h
 * makes them). Not JSON: the only endpoint whose answer is text.
 */
#include "vmm/control/api/internal.h"

#include <string.h>

#include "vmm/control/metrics.h"

void api_get_metrics(const struct ctl_ops *ops, json_t *body, struct http_response *resp)
{
	struct strbuf text = STRBUF_INIT(METRICS_MAX);
	int err = metrics_expose(ops, NULL, &text); /* the scraper labels its target */
	size_t len = strbuf_len(&text);

	if (err) {
		strbuf_release(&text);
		http_response_error(resp, 500,
				    "the metrics could not be made: %s (more than %u MiB of them, "
				    "or out of memory); report it",
				    strerror(-err), METRICS_MAX >> 20);
		return;
	}
	/* the response frees the buffer's storage, which is malloc()ed */
	http_response_data(resp, 200, METRICS_CONTENT_TYPE, len ? text.data : NULL, len);
}
