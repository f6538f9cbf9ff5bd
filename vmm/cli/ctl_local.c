// SPDX-License-Identifier: GPL-2.0-only
/*
 * The `cmavm ctl` commands that are not one request to one VM: `list`
 * (every VM whose socket is in the default place), `connect` (this
 * process's stdin and stdout joined to a VM's socket, so the API can be
 * carried over ssh, nc or a VM's console) and --wait (until a VM
 * answers, for scripts that start one and talk to it next).
 */
#include "vmm/cli/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/cli/cli.h"
#include "vmm/control/client.h"
#include "vmm/util/log.h"
#include "vmm/util/strbuf.h"

#define LIST_MAX	64 /* sockets shown by `ctl list` */
#define PROBE_TIMEOUT_S 2  /* for one VM's answer to `ctl list` */
#define WAIT_POLL_MS	100
#define CONNECT_CHUNK	65536

/* ---- list ---- */

/*
 * A socket of ours in @dir named like a VM's: cmavm.sock, cmavm-NAME.sock;
 * or a link of ours so named to one (a named VM's whose --api-socket is
 * elsewhere).
 */
static bool is_vm_socket(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st, link;

	if (strcmp(name, CTL_SOCKET_NAME) && fnmatch("cmavm-*.sock", name, 0))
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !lstat(path, &link) && (link.st_uid == geteuid() || !geteuid()) &&
	       !stat(path, &st) && S_ISSOCK(st.st_mode);
}

/* @path, or where it leads if it is a link: the socket to show. */
static void socket_shown(json_t *vm, const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n > 0)
		target[n] = '\0';
	json_object_set_new(vm, "socket", json_string(n > 0 ? target : path));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The VM sockets in @dir, sorted, malloc()ed into @names; their number. */
static size_t find_vm_sockets(const char *dir, char *names[LIST_MAX])
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < LIST_MAX)
		if (is_vm_socket(dir, de->d_name))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	return n;
}

/* The VM at @path, as one JSON object: its GET /v1/vm, or why it said nothing. */
static json_t *probe_vm(const char *path)
{
	struct ctl_reply reply;
	json_t *vm = NULL;

	if (!ctl_request_quiet(path, "GET", "/v1/vm", PROBE_TIMEOUT_S, &reply)) {
		if (reply.status == 200)
			vm = json_loads(reply.body, 0, NULL);
		ctl_reply_free(&reply);
	}
	if (!json_is_object(vm)) {
		json_decref(vm);
		vm = json_pack("{s:s}", "state", "not answering");
	}
	socket_shown(vm, path);
	return vm;
}

/* Every VM with a socket in ctl_socket_dir(), as a JSON array. */
static json_t *list_vms(void)
{
	const char *dir = ctl_socket_dir();
	char *names[LIST_MAX], path[PATH_MAX];
	json_t *vms = json_array();
	size_t i, n = find_vm_sockets(dir, names);

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		json_array_append_new(vms, probe_vm(path));
		free(names[i]);
	}
	return vms;
}

static const char *const list_header[] = {
	"name", "state", "vcpus", "memory", "uptime", "socket", NULL,
};

static void list_row(struct table *t, json_t *vm)
{
	const char *name = json_string_value(json_object_get(vm, "name"));
	bool up = json_object_get(vm, "vcpus") != NULL;
	struct cell vcpus, memory, uptime;

	table_row(t, name && *name ? name : "-", view_str(vm, "state"),
		  up ? cell_u64(&vcpus, view_u64(vm, "vcpus")) : "-",
		  up ? cell_size(&memory, view_u64(vm, "memory_bytes")) : "-",
		  up ? cell_duration(&uptime, view_u64(vm, "uptime_s")) : "-",
		  view_str(vm, "socket"), NULL);
}

int ctl_list(bool as_json)
{
	json_t *vms = list_vms();

	if (as_json) {
		json_dumpf(vms, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!json_array_size(vms)) {
		printf("no VM has its API socket in %s (VMs started with --api-socket elsewhere "
		       "are not listed)\n",
		       ctl_socket_dir());
	} else {
		view_list(stdout, vms, list_header, list_row, NULL);
	}
	json_decref(vms);
	return CLI_EXIT_OK;
}

/* ---- --wait ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Until the VM at @path answers GET /v1/vm (not just until its socket
 * exists: the socket may be a stale one, or a forwarder's whose VM is not
 * up yet), at most @seconds. 0, or -1 with the error printed.
 */
int ctl_wait_for_vm(const char *path, unsigned int seconds)
{
	double deadline = now_s() + seconds;
	struct ctl_reply reply;
	int status;

	for (;;) {
		status = 0;
		if (!ctl_request_quiet(path, "GET", "/v1/vm", PROBE_TIMEOUT_S, &reply)) {
			status = reply.status;
			ctl_reply_free(&reply);
		}
		if (status == 200)
			return 0;
		if (now_s() >= deadline)
			break;
		poll(NULL, 0, WAIT_POLL_MS);
	}
	pr_err("no VM answered at %s within %u s (--wait %u); is 'cmavm run' still starting, "
	       "or did it stop? Its own output says",
	       path, seconds, seconds);
	return -1;
}

/* ---- connect ---- */

/* Copy what @from has to @to; false at end of stream or on an error. */
static bool pass_on(int from, int to)
{
	char buf[CONNECT_CHUNK];
	ssize_t n = read(from, buf, sizeof(buf)), done = 0, w;

	if (n < 0 && errno == EINTR)
		return true;
	while (n > 0 && done < n) {
		w = write(to, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		done += w;
	}
	return n > 0;
}

int ctl_connect(const char *path)
{
	struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN } };
	int sock = ctl_connect_api(path, 0);

	if (sock < 0)
		return CLI_EXIT_FAILED;
	fds[1] = (struct pollfd){ .fd = sock, .events = POLLIN };
	/* Until the VM's side ends: stdin's end only ends what we send. */
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents && !pass_on(STDIN_FILENO, sock)) {
			shutdown(sock, SHUT_WR);
			fds[0].fd = -1;
		}
		if (fds[1].revents && !pass_on(sock, STDOUT_FILENO))
			break;
	}
	close(sock);
	return CLI_EXIT_OK;
}
