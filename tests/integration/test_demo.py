#!/usr/bin/env python3
"""The README's demo (tools/demo.py), run as a new user runs it, with a
flag of their own, its output read as they would read it (not on a
terminal: no colours, no picture):

- the user's `--dma-pool extra:8M` adds a pool to the demo's own: the
  table after power-off lists gpu, fw, extra and linux,cma, each as the
  guest says cmavm placed it, and CmaTotal agrees;
- the engine's steps ran over the default pool (a window committed over
  linux,cma, the pageblock map drawn) and no step failed;
- the output is cmavm's lines, the guest's report and the demo's steps,
  not the guest shell's banner, its echo of what the demo types, terminal
  escapes, the harness's @@ markers or the power-off said twice; the
  whole console is kept in the demo's log;
- a flag cmavm refuses ends the demo at once with cmavm's error and the
  log's path, non-zero, and no table."""
import os
import re
import subprocess
import sys
import unittest

import common
import demo  # noqa: E402  (tools/, on the path through common)
import testhost  # noqa: E402

# The user's pool: 8 MiB, or one pageblock of a guest with larger pages.
PAGEBLOCK_MIB = testhost.PAGEBLOCK_MIB[testhost.GUEST_PAGE_SIZE[testhost.choose_guest()]]
EXTRA_MIB = max(8, PAGEBLOCK_MIB)

DEMO = os.path.join(common.ROOT, "tools", "demo.py")
POOL_ROW = (r"(?m)^%s\s+0x[0-9a-f]+, \d+ MiB, (CMA|no-map)\s+(CMA|DMA) pool at 0x[0-9a-f]+, "
            r"\d+ MiB\s+ok$")


def run_demo(name, flags, timeout):
    """tools/demo.py FLAGS as a user would run it, its output captured (in
    NAME.log) and its console log in NAME-console.log: (exit status,
    output, console log's path)."""
    logs = os.path.join(os.getcwd(), "meson-logs", "integration")
    console = os.path.join(logs, name + "-console.log")
    env = dict(os.environ, CMAVM_DEMO_LOG=console)
    p = subprocess.run([sys.executable, DEMO] + flags, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    with common.log_file(name) as f:
        f.write(out)
    return p.returncode, out, console


class DemoWithAUserPool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rc, cls.out, cls.console = run_demo("demo", ["--dma-pool", "extra:%dM" % EXTRA_MIB], 540)
        cls.lines = cls.out.splitlines()

    def test_exits_0(self):
        self.assertEqual(self.rc, 0, self.out[-3000:])

    def test_table_has_the_demos_pools_and_the_users(self):
        for name in ("gpu", "fw", "extra", "linux,cma"):
            self.assertRegex(self.out, POOL_ROW % re.escape(name))
        self.assertRegex(self.out, r"(?m)^extra\s+0x[0-9a-f]+, %d MiB, CMA\s" % EXTRA_MIB)
        self.assertRegex(self.out, r"(?m)^CmaTotal\s+\d+ MiB of reusable pools\s+\d+ kB\s+ok$")
        self.assertNotIn("MISMATCH", self.out)

    def test_engine_steps_ran_over_the_default_pool(self):
        # window list: a committed window over the whole default pool
        self.assertRegex(self.out, r"(?m)^\d+\s+linux,cma\s+0x[0-9a-f]+-0x[0-9a-f]+\s+64 MiB\s")
        # the map: the pool's heading, then its pageblocks, all in that window
        self.assertRegex(self.out, r"(?m)^linux,cma\s+base (0x[0-9a-f]+)\s+size 64 MiB\s+"
                         r"%d pageblocks of %d MiB\n\s+\1\s+W+( W+)*$"
                         % (64 // PAGEBLOCK_MIB, PAGEBLOCK_MIB))

    def test_no_step_failed(self):
        self.assertNotIn("that did not work here", self.out)

    def test_no_shell_noise(self):
        for noise in ("BusyBox v", "built-in shell", "\x1b", "@@"):
            self.assertNotIn(noise, self.out)

    def test_no_command_typed_into_the_guest_is_shown(self):
        typed = demo.guest_commands(demo.GPU_MODE)
        for line in self.lines:
            shown = line.strip()
            self.assertFalse(len(shown) >= 8 and any(shown in t for t in typed),
                             "the guest shell's echo is shown: %r" % line)
        self.assertNotIn(demo.POWER_OFF, self.lines)

    def test_power_off_said_once(self):
        said = [s for s in self.lines if re.search(r"power(ed)? (off|down)", s, re.I)]
        self.assertEqual(said, ["cmavm: the guest powered off (PSCI, vCPU 0)"])

    def test_whole_console_kept_in_the_log(self):
        with open(self.console) as f:
            raw = f.read()
        self.assertIn("BusyBox v", raw)
        self.assertIn("@@cmavm-exit=0", raw)
        self.assertRegex(self.lines[-1], r"^==> the whole console, unfiltered: \S*%s$"
                         % re.escape(os.path.basename(self.console)))


class DemoWithARefusedFlag(unittest.TestCase):
    def test_refusal_is_shown_without_a_table(self):
        rc, out, console = run_demo("demo-refused", ["--memory", "1"], 300)
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^cmavm: error: --memory 1 .*at least 128 MiB")
        self.assertRegex(out, r"(?m)^==> cmavm exited with 2 before the guest's report: "
                         r"cmavm: error: --memory 1 ")
        self.assertNotIn("cmavm placed it", out)
        self.assertNotIn("guest: ", out)
        self.assertIn("the whole console, unfiltered: ", out.splitlines()[-1])


if __name__ == "__main__":
    common.main()
