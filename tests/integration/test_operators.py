#!/usr/bin/env python3
"""What an operator sees and sizes with. `cmavm plan` sizes a VM class,
cmavm runs with exactly the flags it printed, and the guest reports the
planned CmaTotal. The guest's own CMA figures come through Debian's
qemu-guest-agent in the guest: while the guest fills a tmpfs that spills
into its pool, the agent's CmaFree reaches GET /v1/guest/cma and /metrics
and follows the guest's /proc/meminfo within one interval; the live
exposition passes `promtool check metrics`, and so does the file
--metrics-file keeps for node-exporter. A guest without the agent's
port still shows the pool pageblocks it reported free."""
import json
import re
import os
import shutil
import subprocess
import tempfile

import common

ROOT = common.ROOT
PLANNER = os.path.join(ROOT, "build", "vmm", "cmavm")  # plans on any host
INTERVAL_S = 2
FILL_MIB = 256
PROFILE = {
    "name": "camera-kiosk",
    "ram": "384M",
    "page_size": "4K",
    "devices": [
        {"name": "panel", "type": "display", "width": 1920, "height": 1080,
         "format": "xrgb8888", "buffers": 3},
        {"name": "frames", "type": "custom", "size": "3M", "count": 6},
        {"name": "meta", "type": "custom", "size": "64K", "count": 16},
    ],
    "host": {"ram": "2G", "nodes": [{"hugepages_2m": 64}]},
}


def plan():
    tmp = tempfile.mkdtemp(prefix="cmavm-plan-")
    path = os.path.join(tmp, "profile.json")
    with open(path, "w") as f:
        json.dump(PROFILE, f)
    out = subprocess.run([PLANNER, "plan", path, "--json"], check=True, capture_output=True,
                         text=True).stdout
    shutil.rmtree(tmp)
    return json.loads(out)


def job(flags):
    """The planned VM with its agent; then the same without the agent's
    port, and without the plan's window: the guest's reports of free pages
    inside a window are refused, not kept (docs/cma-engine.md)."""
    run = "cmavm run %s --api-socket api.sock --cmdline '%s cmavm.mode=shell'"
    plain = re.sub(r",window=\w+", "", flags)
    return ("echo 64 > /proc/sys/vm/nr_hugepages\nmkdir -p /tmp/prom\n"
            + run % (flags, common.GUEST_CMDLINE)
            + " --agent-interval %d --metrics-file /tmp/prom/vm1.prom --name kiosk-1\n"
            % INTERVAL_S
            + "echo \"@@cmavm-exit=$?\"\n"
            + run % (plain, common.GUEST_CMDLINE) + " --agent-interval 0\n"
            + "echo \"@@cmavm-exit=$?\"\n")


def meminfo_kb(s, field):
    out = common.guest_run(s, "awk '/^%s:/ {print $2}' /proc/meminfo" % field)
    return int(out.split()[-1])


def guest_cma(s):
    ok, g = common.api(s, "GET", "/v1/guest/cma")
    assert ok, g
    return g


def metrics(s):
    rc, out = s.host("cmavm ctl --socket api.sock metrics", timeout=60)
    assert rc == 0, out
    return out[out.find("# HELP"):]


def sample(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class Operators(common.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plan = plan()
        s = cls.s = common.host("operators").start(job(cls.plan["run_flags"]))
        try:
            s.expect(r"^guest: shell ready$", 180)
            m = re.search(r"(?m)^guest: agent: (.*)$", s.output)
            cls.agent_line = m[1] if m else "no agent line"
            cls.first = common.wait_for(lambda: guest_cma(s)["agent"] and guest_cma(s), 60)
            cls.cma_total_kb = meminfo_kb(s, "CmaTotal")
            cls.before = guest_cma(s)
            common.guest_run(s, "mkdir -p /mnt && mount -t tmpfs -o size=%dm none /mnt && "
                             "dd if=/dev/urandom of=/mnt/fill bs=1M count=%d 2>/dev/null"
                             % (FILL_MIB + 16, FILL_MIB))
            cls.free_kb = meminfo_kb(s, "CmaFree")
            cls.after = common.wait_for(
                lambda: (abs(guest_cma(s)["cma_free_bytes"] - cls.free_kb * 1024) <= 1 << 20
                         and guest_cma(s)), INTERVAL_S + 1)
            cls.exposition = metrics(s)
            rc, cls.metrics_file = s.host("sleep 6; cat /tmp/prom/vm1.prom; ls /tmp/prom")
            s.send("poweroff -f\n")
            s.expect(r"^@@cmavm-exit=0$", 60)
            s.expect(r"^guest: shell ready$", 180)
            cls.without = common.wait_for(lambda: guest_cma(s)["reported_free_bytes"] > 0 and
                                          guest_cma(s), 30) or guest_cma(s)
            common.power_off(s)
        except Exception:
            s.kill()
            raise

    def assert_promtool_passes(self, exposition):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is missing: tools/deps installs it (Debian's prometheus)")
        r = subprocess.run([promtool, "check", "metrics"], input=exposition,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_1_the_guest_has_the_planned_cma_total(self):
        self.assertEqual(self.cma_total_kb, self.plan["cma_total_kb"])
        self.assertIn("--memory 384M", self.plan["run_flags"])

    def test_2_the_agent_reads_the_guest_s_own_figures(self):
        self.assertTrue(self.first, "the guest agent never answered (%s)" % self.agent_line)
        self.assertEqual(self.first["cma_total_bytes"], self.cma_total_kb * 1024)
        self.assertGreaterEqual(self.first["readings"], 1)

    def test_3_its_cma_free_follows_the_guest_within_an_interval(self):
        self.assertTrue(self.after, "the agent's CmaFree never came within 1 MiB of the "
                        "guest's %d kB" % self.free_kb)
        used = self.before["cma_free_bytes"] - self.after["cma_free_bytes"]
        self.assertGreater(used, 8 << 20, "the fill did not reach the pool")
        self.assertGreaterEqual(self.after["peak_used_bytes"],
                                self.after["cma_total_bytes"] - self.after["cma_free_bytes"])

    def test_4_metrics_carry_them_and_pass_promtool(self):
        self.assertEqual(sample(self.exposition, "cmavm_guest_agent_up"), 1)
        self.assertEqual(sample(self.exposition, "cmavm_guest_cma_size_bytes"),
                         self.cma_total_kb * 1024)
        self.assertIsNotNone(sample(self.exposition, "cmavm_guest_cma_free_bytes"))
        self.assert_promtool_passes(self.exposition)

    def test_4b_the_metrics_file_for_node_exporter(self):
        text = self.metrics_file[self.metrics_file.find("# HELP"):]
        # labelled with the VM's --name, not the file's
        self.assertIn('cmavm_guest_agent_up{vm="kiosk-1"} 1', text)
        self.assertNotIn("vm1.prom.tmp", self.metrics_file, "a temporary file was left behind")
        self.assert_promtool_passes(text[:text.rfind("\nvm1.prom") + 1])

    def test_5_without_an_agent_reported_free_pageblocks_still_show(self):
        self.assertFalse(self.without["agent"])
        self.assertEqual(self.without["agent_state"], "no port")
        self.assertIsNone(self.without["cma_free_bytes"])
        self.assertGreater(self.without["reported_free_bytes"], 0)


if __name__ == "__main__":
    common.main()
