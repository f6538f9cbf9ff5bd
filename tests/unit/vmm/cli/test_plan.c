// SPDX-License-Identifier: GPL-2.0-only
/*
 * `cmavm plan` whole (vmm/cli/cmd_plan*.c): the example profiles of
 * docs/examples/ end to end, human and JSON; the alerting rules through
 * `promtool check rules` (skipped where promtool is absent); a fleet;
 * --observed from a metrics file and from a control socket that answers
 * GET /v1/guest/cma; bad profiles and bad words, each with its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "tests/unit/lib/canned_server.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/cmd_plan.h"
#include "vmm/cli/commands.h"

#ifndef PLAN_EXAMPLES
#error "meson gives PLAN_EXAMPLES, the path of docs/examples"
#endif

struct run {
	int status;
	char *out, *err;
};

/* cmavm plan with @words split at blanks; {} stands for @arg. */
static struct run plan(const char *words, const char *arg)
{
	char *copy = strdup(words), *argv[16] = { "plan" }, *save, *w;
	struct capture out, err;
	struct run r;
	int argc = 1;

	assert_non_null(copy);
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(argc < 15);
		argv[argc++] = !strcmp(w, "{}") ? (char *)arg : w;
	}
	optind = 0;
	capture_start(&out, stdout);
	capture_start(&err, stderr);
	r.status = cmd_plan(argc, argv);
	fflush(stdout);
	r.err = captured(&err, stderr);
	r.out = captured(&out, stdout);
	free(copy);
	return r;
}

static void run_done(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define EXAMPLE(name) PLAN_EXAMPLES "/" name

static void assert_has(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("'%s' is not in:\n%s", part, text);
}

/* A temporary file holding @text; its path is returned in @path[64]. */
static void temp_file(char path[64], const char *suffix, const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, 64, "/tmp/cmavm-plan-XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- the examples ---- */

static void test_display_1080p(void **state)
{
	struct run r = plan(EXAMPLE("display-1080p.json"), NULL);

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_string_equal(r.err, "");
	assert_has(r.out, "panel   display  linux,cma  8294400 (8100 KiB)  8388608 (8 MiB)  3      "
			  "25165824 (24 MiB)\n");
	assert_has(r.out, "linux,cma  cma   25165824 (24 MiB)  8388608 (8 MiB)  12165120 (11880 "
			  "KiB)  37748736 (36 MiB)  contiguous\n");
	assert_has(r.out, "  CmaTotal:          36864 kB\n");
	assert_has(r.out, "cmavm run flags:\n  --memory 1G --cma 36M,window=contiguous\n");
	assert_has(r.out, "hugepagesz=1G hugepages=1");
	assert_has(r.out, "\t\tlinux,cma@bdc00000 {\n\t\t\tcompatible = \"shared-dma-pool\";\n"
			  "\t\t\treg = <0x0 0xbdc00000 0x0 0x2400000>;\n\t\t\treusable;\n"
			  "\t\t\tlinux,cma-default;\n\t\t\tphandle = <0x10>;\n");
	assert_has(r.out, "  requests:\n    memory: 1088Mi\n    hugepages-1Gi: 1Gi\n");
	assert_has(r.out, "cmavm_guest_cma_free_bytes{job=\"cmavm\", instance=~\"kiosk-.*\"} < "
			  "8388608");
	run_done(&r);
}

static void test_camera_pipeline(void **state)
{
	struct run r = plan(EXAMPLE("camera-pipeline.json"), NULL);

	assert_int_equal(r.status, CLI_EXIT_OK);
	/* cam + enc + isp-fw: 24 + 32 + 3 = 59 MiB; + 8 MiB + 15%: 76 MiB */
	assert_has(r.out, "linux,cma  cma   61865984 (59 MiB)  8388608 (8 MiB)");
	assert_has(r.out, "linux,cma: peak with cam, enc, isp-fw; largest allocation from enc\n");
	/* The host has 2 MiB pages on node 1 only */
	assert_has(r.out, "--memory 2G --cma 76M,window=huge\n");
	assert_has(r.out, "on NUMA node 1 (run cmavm there: numactl -N 1 -m 1)");
	assert_has(r.out, "  2 MiB pages: 38 free on node 1 (it has 512)\n");
	assert_has(r.out, "    hugepages-2Mi: 76Mi\n");
	run_done(&r);
}

static void test_json(void **state)
{
	struct run r = plan("--json " EXAMPLE("display-1080p.json"), NULL);
	json_t *j, *pool;

	assert_int_equal(r.status, CLI_EXIT_OK);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	pool = json_array_get(json_object_get(j, "pools"), 0);
	assert_int_equal(json_integer_value(json_object_get(pool, "size")), 37748736);
	assert_int_equal(json_integer_value(json_object_get(pool, "base")), 0xbdc00000);
	assert_string_equal(json_string_value(json_object_get(pool, "level")), "contiguous");
	assert_int_equal(json_integer_value(json_object_get(j, "cma_total_kb")), 36864);
	assert_string_equal(json_string_value(json_object_get(j, "run_flags")),
			    "--memory 1G --cma 36M,window=contiguous");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(j, "kubernetes"), "limits"),
				    "hugepages-1Gi")),
			    "1Gi");
	assert_has(json_string_value(json_object_get(j, "alert_rules")), "groups:\n");
	json_decref(j);
	run_done(&r);
}

/* `promtool check rules` on @yaml: its exit status as system() gives it. */
static int promtool_check(const char *yaml)
{
	char path[64], cmd[160];
	int status;

	temp_file(path, ".yml", yaml);
	snprintf(cmd, sizeof(cmd), "promtool check rules %s >/dev/null 2>&1", path);
	status = system(cmd);
	unlink(path);
	return status;
}

/* The rules as promtool reads them; a skip where promtool is not installed. */
static void check_rules(const char *profile)
{
	struct run r = plan("--alerts {}", profile);

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_has(r.out, "- alert: CmavmGuestCmaAllocFailing\n");
	assert_int_equal(promtool_check(r.out), 0);
	run_done(&r);
}

static void test_alert_rules_pass_promtool(void **state)
{
	if (system("command -v promtool >/dev/null 2>&1")) {
		print_message("promtool is not installed (Debian package prometheus): skipped\n");
		skip();
	}
	check_rules(EXAMPLE("display-1080p.json"));
	check_rules(EXAMPLE("camera-pipeline.json"));
	/* promtool does find a broken rule: the check can fail */
	assert_int_not_equal(promtool_check("groups:\n  - name: x\n    rules:\n      - alert: A\n"
					    "        expr: 'rate(x[5m]) >'\n"),
			     0);
}

static void test_fleet(void **state)
{
	struct run r = plan("--fleet " EXAMPLE("fleet.json") " --json", NULL);
	json_t *j, *a;

	assert_int_equal(r.status, CLI_EXIT_OK);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	a = json_object_get(json_array_get(json_object_get(j, "hosts"), 0), "classes");
	/* camera (2112 MiB) first: 8 VMs on edge-a's eight 1 GiB pages */
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(a, "camera"), "contiguous")), 8);
	/* then 30 kiosks at huge on node 1's 1024 pages (18 each) */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "kiosk"), "huge")),
			 30);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(a, "kiosk"), "fit_alone")), 47);
	json_decref(j);
	run_done(&r);
	r = plan("--fleet " EXAMPLE("fleet.json"), NULL);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_has(r.out, "edge-a  kiosk   30   0           30    0\n");
	assert_has(r.out, "camera:\n  resources:\n    requests:\n      memory: 2112Mi\n");
	run_done(&r);
}

static void test_fleet_errors(void **state)
{
	char path[64];
	struct run r;

	temp_file(path, ".json",
		  "{\"hosts\": [{\"ram\": \"8G\"}], \"classes\": [{\"name\": \"x\", \"count\": 1, "
		  "\"profile\": {\"ram\": \"128M\", \"devices\": [{\"name\": \"a\", \"type\": "
		  "\"custom\", \"size\": \"100M\"}]}}]}");
	r = plan("--fleet {}", path);
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_has(r.err, "classes[0] 'x': the pools take 216 MiB");
	run_done(&r);
	unlink(path);
	temp_file(path, ".json", "{\"hosts\": [], \"classes\": []}");
	r = plan("--fleet {}", path);
	assert_int_equal(r.status, CLI_EXIT_USAGE);
	assert_has(r.err, "hosts must be a list of 1 to 32 hosts");
	run_done(&r);
	unlink(path);
	temp_file(path, ".json",
		  "{\"hosts\": [{\"ram\": \"8G\"}], \"classes\": [{\"name\": \"x\", "
		  "\"profile\": \"no-such.json\", \"window\": \"fast\"}]}");
	r = plan("--fleet {}", path);
	assert_int_equal(r.status, CLI_EXIT_USAGE);
	assert_has(r.err, "classes[0] 'x': window is the lowest level the class accepts");
	run_done(&r);
	unlink(path);
}

/* ---- --observed ---- */

#define METRICS                                                                                    \
	"# TYPE cmavm_guest_cma_size_bytes gauge\n"                                                \
	"cmavm_guest_cma_size_bytes{instance=\"kiosk-1\"} 37748736\n"                              \
	"cmavm_guest_cma_free_bytes{instance=\"kiosk-1\"} 4194304\n"                               \
	"cmavm_guest_cma_peak_used_bytes{instance=\"kiosk-1\"} 35651584\n"                         \
	"cmavm_guest_cma_alloc_fail_total{instance=\"kiosk-1\"} 3\n"                               \
	"cmavm_guest_cma_size_bytes{instance=\"kiosk-2\"} 37748736\n"                              \
	"cmavm_guest_cma_free_bytes{instance=\"kiosk-2\"} 20971520\n"                              \
	"cmavm_guest_cma_peak_used_bytes{instance=\"kiosk-2\"} 25165824\n"                         \
	"cmavm_guest_cma_alloc_fail_total{instance=\"kiosk-2\"} 0\n"

static void test_observed_metrics_file(void **state)
{
	char path[64];
	struct run r;

	temp_file(path, ".prom", METRICS);
	r = plan("--observed {} --profile " EXAMPLE("display-1080p.json"), path);
	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_has(r.out, "{instance=\"kiosk-1\"}  37748736 (36 MiB)  4194304 (4 MiB)");
	assert_has(r.out, "allocation failures: 3\n");
	/* failed at 36 MiB: 36 + 8 + 15% of 36 (5.4) = 49.4: 50 MiB */
	assert_has(r.out, "Recommended CMA: 52428800 (50 MiB)");
	assert_has(r.out, "Verdict: grow");
	assert_has(r.out, "cmavm run flag: --cma 50M\n");
	run_done(&r);
	unlink(path);
	temp_file(path, ".prom", "cmavm_guest_agent_up 0\n");
	r = plan("--observed {}", path);
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_has(r.err, "has no cmavm_guest_cma_size_bytes (cmavm_guest_agent_up is 0)");
	run_done(&r);
	unlink(path);
}

/* Found by fuzz_plan: "nan" is a number to strtod(), and no byte count. */
static void test_observed_metrics_not_numbers(void **state)
{
	static struct plan_seen seen[4];
	char err[256];
	size_t n = 0;

	assert_int_equal(plan_observe_metrics("cmavm_guest_cma_size_bytes nan\n"
					      "cmavm_guest_cma_size_bytes{vm=\"b\"} inf\n"
					      "cmavm_guest_cma_size_bytes{vm=\"c\"} -1\n",
					      "m", seen, 4, &n, err, sizeof(err)),
			 -1);
	assert_int_equal(n, 0);
	assert_has(err, "m has no cmavm_guest_cma_size_bytes");
	assert_int_equal(plan_observe_metrics("cmavm_guest_cma_size_bytes{vm=\"a}\\\"\"} 4096\n",
					      "m", seen, 4, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(seen[0].obs.total, 4096);
	assert_string_equal(seen[0].source, "m{vm=\"a}\\\"\"}");
}

static struct canned_server *guest_cma(const char *body)
{
	static char answer[2048];

	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s",
		 strlen(body), body);
	return canned_server_start(answer, 0);
}

static void test_observed_socket(void **state)
{
	struct canned_server *vm = guest_cma(
		"{\"agent\": true, \"agent_state\": \"answering\", \"cma_total_bytes\": 67108864, "
		"\"cma_free_bytes\": 50331648, \"peak_used_bytes\": 20971520, \"alloc_fail\": 0}");
	struct run r = plan("--observed {} --largest 4M --json", vm->path);
	json_t *j = json_loads(r.out, 0, NULL);

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_has(vm->request, "GET /v1/guest/cma HTTP/1.1\r\n");
	assert_non_null(j);
	/* 20 + 4 + 15% of 20 (3) = 27: 28 MiB, down from 64 */
	assert_int_equal(json_integer_value(json_object_get(j, "recommended_bytes")), 28 << 20);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "shrink");
	assert_string_equal(json_string_value(json_object_get(j, "flag")), "--cma 28M");
	json_decref(j);
	canned_server_stop(vm);
	run_done(&r);
	vm = guest_cma("{\"agent\": false, \"agent_state\": \"no port\"}");
	r = plan("--observed {}", vm->path);
	assert_int_equal(r.status, CLI_EXIT_FAILED);
	assert_has(r.err, "no guest agent has answered (no port)");
	canned_server_stop(vm);
	run_done(&r);
}

/* ---- what is refused ---- */

static const struct {
	const char *profile, *message;
	int status;
} bad[] = {
	{ "{\"ram\": \"1G\", \"devices\": [], \"extra\": 1}",
	  "the profile: unknown key 'extra'; the keys are name, description, ram", CLI_EXIT_USAGE },
	{ "{\"ram\": \"1G\", \"devices\": [", "line 1, column", CLI_EXIT_USAGE },
	{ "{\"devices\": []}", "ram is missing: the guest's RAM, like \"2G\"", CLI_EXIT_USAGE },
	{ "{\"ram\": \"1G\", \"page_size\": \"8K\", \"devices\": []}",
	  "page_size 8 KiB: arm64 guests have 4K, 16K or 64K pages", CLI_EXIT_USAGE },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"camera\", \"width\": "
	  "1920, "
	  "\"height\": 1080, \"format\": \"nv99\"}]}",
	  "devices[0] 'a': format must be one of nv12", CLI_EXIT_USAGE },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"display\", \"widht\": "
	  "1}]}",
	  "devices[0] 'a': unknown key 'widht'", CLI_EXIT_USAGE },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"custom\", \"size\": "
	  "\"1M\"}],"
	  " \"concurrent\": [\"a\", \"zz\"]}",
	  "concurrent: there is no device 'zz'; the devices are a", CLI_EXIT_USAGE },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"custom\", \"size\": "
	  "\"1M\", "
	  "\"pool\": \"Cam\"}]}",
	  "pool name 'Cam' must start with a lower-case letter", CLI_EXIT_USAGE },
	{ "{\"ram\": \"256M\", \"devices\": [{\"name\": \"a\", \"type\": \"custom\", \"size\": "
	  "\"100M\", \"count\": 2}]}",
	  "the pools take 330 MiB and the guest needs 104 MiB besides", CLI_EXIT_FAILED },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"custom\", \"size\": "
	  "\"1M\", "
	  "\"alignment\": \"3M\"}]}",
	  "device 'a': alignment 3 MiB is not a power of two", CLI_EXIT_FAILED },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"custom\", \"size\": "
	  "\"64M\", "
	  "\"pool\": \"cam\"}], \"pools\": {\"cam\": {\"size\": \"32M\"}}}",
	  "device 'a' allocates 64 MiB at once (as CMA places it), more than pool 'cam''s fixed "
	  "size 32 MiB",
	  CLI_EXIT_FAILED },
	{ "{\"ram\": \"1G\", \"devices\": [{\"name\": \"a\", \"type\": \"custom\", \"size\": "
	  "\"1M\"}, "
	  "{\"name\": \"b\", \"type\": \"custom\", \"size\": \"1M\"}], \"groups\": [[\"a\"]]}",
	  "device 'b' is in no group", CLI_EXIT_FAILED },
};

static void test_bad_profiles(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[64];
		struct run r;

		temp_file(path, ".json", bad[i].profile);
		r = plan("{}", path);
		if (r.status != bad[i].status || !strstr(r.err, bad[i].message))
			fail_msg("%s: exit %d, said: %s", bad[i].profile, r.status, r.err);
		assert_string_equal(r.out, "");
		unlink(path);
		run_done(&r);
	}
}

/* A FIFO given as the profile is refused at once, not waited on for a writer. */
static void test_fifo_profile_is_refused(void **state)
{
	char dir[] = "/tmp/cmavm-plan-fifo-XXXXXX", path[64];
	struct run r;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/profile.json", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	r = plan("{}", path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "is not a regular file"));
	unlink(path);
	rmdir(dir);
	run_done(&r);
}

static void test_usage_errors(void **state)
{
	static const struct {
		const char *words, *message;
	} cases[] = {
		{ "", "'plan' needs a profile" },
		{ "a.json b.json", "'plan' takes one profile" },
		{ "--observed", "--observed needs at least one source" },
		{ "--fleet f.json p.json", "--fleet takes no profile" },
		{ "--largest 4M p.json", "go with --observed" },
		{ "--alerts --json p.json", "--alerts prints one profile's rules" },
		{ "--observed --largest 4Q x", "--largest 4Q" },
		{ "--frobnicate", "'plan' has no option '--frobnicate'" },
		{ "--fleet", "--fleet needs a value" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = plan(cases[i].words, NULL);

		if (r.status != CLI_EXIT_USAGE || !strstr(r.err, cases[i].message))
			fail_msg("'%s': exit %d, said: %s", cases[i].words, r.status, r.err);
		run_done(&r);
	}
}

static void test_help(void **state)
{
	struct run r = plan("--help", NULL);

	assert_int_equal(r.status, CLI_EXIT_OK);
	assert_has(r.out, "Usage: cmavm plan PROFILE.json");
	run_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_display_1080p),
		cmocka_unit_test(test_camera_pipeline),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_alert_rules_pass_promtool),
		cmocka_unit_test(test_fleet),
		cmocka_unit_test(test_fleet_errors),
		cmocka_unit_test(test_observed_metrics_file),
		cmocka_unit_test(test_observed_metrics_not_numbers),
		cmocka_unit_test(test_observed_socket),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_fifo_profile_is_refused),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
