#!/usr/bin/env python3
"""tools/vm as a person uses it, through terminals (ptys): the guest's
console in one, this machine's shell in another, a shell on the host
cmavm runs on in a third. The VM's API socket is /tmp/vm1.sock, as
docs/api.md's examples have it, and:

- what is typed on the console reaches the guest's shell, and its answer
  comes back;
- from this machine, `cmavm ctl --wait` finds the VM, `cmavm ctl list`
  lists it by name, and every curl line of docs/api.md runs as written
  with a 2xx answer (shutdown last), as do its `cmavm ctl --socket` lines;
- `tools/vm shell` is a shell on the arm64 host, where cmavm ctl finds
  the same VM without flags;
- Ctrl-C on the console reaches the guest's shell (the terminal is raw);
- api.md's shutdown stops the VM; tools/vm exits 0 and takes the socket
  with it. (Ctrl-a x through a terminal: test_lifecycle.)"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import common
import testhost

SOCK = "/tmp/vm1.sock"
NAME = "docs"
API_MD = os.path.join(common.ROOT, "docs", "api.md")
# Run last: shutdown ends it all.
LATE = ("/v1/vm/shutdown",)
VM_PY = os.path.join(common.ROOT, "tools", "vm.py")


def api_md_lines(prefix):
    """Every command of docs/api.md's sh blocks that starts with @prefix,
    its continuation lines joined, in the page's order."""
    with open(API_MD) as f:
        text = f.read()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            if command.startswith(prefix):
                found.append(command)
    return found


class LiveVm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.path.exists(SOCK):
            os.unlink(SOCK)
        cls.rundir = tempfile.mkdtemp(prefix="cmavm-rundir-")
        cls.cwd = tempfile.mkdtemp(prefix="cmavm-live-")
        cls.env = dict(os.environ, XDG_RUNTIME_DIR=cls.rundir,
                       PATH=os.path.join(common.ROOT, "build", "vmm") + ":" + os.environ["PATH"])
        cls.log = common.log_file("live_vm")
        cls.vm = testhost.Session(["python3", VM_PY, "--name", NAME, "--api-socket", SOCK],
                                  env=cls.env, tty=True, log=cls.log)
        # The API answers before the guest's shell is up, or after: either order.
        deadline = time.monotonic() + 300
        for line in ("guest: shell ready",
                     "cmavm: the VM's API socket is on this machine too: %s" % SOCK):
            while line not in cls.vm.output:
                if time.monotonic() > deadline or cls.vm.proc.poll() is not None:
                    raise AssertionError("no '%s' from tools/vm; it printed:\n%s"
                                         % (line, cls.vm.output[-3000:]))
                time.sleep(0.5)

    @classmethod
    def tearDownClass(cls):
        cls.vm.kill()
        shutil.rmtree(cls.cwd, ignore_errors=True)
        shutil.rmtree(cls.rundir, ignore_errors=True)

    def here(self, command, timeout=120):
        """@command in this machine's shell: (exit status, output)."""
        p = subprocess.run(command, shell=True, cwd=self.cwd, env=self.env, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode("utf-8", "replace")
        self.log.write("\n@@here: %s\n%s" % (command, out))
        return p.returncode, out

    def test_1_the_console_is_the_guests(self):
        rc, out = self.vm.guest("echo $((6*7)); uname -m")
        self.assertEqual(rc, 0)
        self.assertEqual(out.split(), ["42", "aarch64"])
        # the terminal is raw: Ctrl-C reaches the guest's shell, not tools/vm
        self.vm.send("sleep 600\n")
        time.sleep(2)
        self.vm.send("\x03")
        rc, out = self.vm.guest("echo alive")
        self.assertEqual(out.split(), ["alive"])
        self.assertIsNone(self.vm.proc.poll())

    def test_2_cmavm_ctl_from_this_machine(self):
        rc, out = self.here("cmavm ctl --socket %s --wait 30 status" % SOCK)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^name +%s$" % NAME)
        self.assertRegex(out, r"(?m)^state +running$")
        # its name finds it too, through the link cmavm makes for it in
        # the socket directory (cmavm-docs.sock -> /tmp/vm1.sock)
        rc, out = self.here("cmavm ctl list")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^%s +running +\d+ +\d+ MiB .* %s$" % (NAME, SOCK))
        self.assertTrue(os.path.islink(os.path.join(self.rundir, "cmavm-%s.sock" % NAME)))
        rc, out = self.here("cmavm ctl --name %s --json status" % NAME)
        self.assertEqual(rc, 0, out)
        self.assertIn('"name": "%s"' % NAME, out)

    def test_3_a_shell_on_the_host(self):
        sh = testhost.Session(["python3", VM_PY, "shell", NAME], env=self.env, tty=True,
                              log=self.log)
        try:
            sh.expect(r"Ctrl-\] leaves it", 30)
            sh.send("echo @@arch-$(uname -m); cmavm ctl status | grep -E '^(name|state) '\n")
            sh.expect(r"^@@arch-aarch64\r?$", 60)
            sh.expect(r"^name +%s\r?$" % NAME, 60)
            sh.expect(r"^state +running\r?$", 60)
            sh.send("\x1d")
            self.assertEqual(sh.wait(30), 0)
        finally:
            sh.kill()

    def curl(self, command):
        for _ in range(20):
            rc, out = self.here(command.split("  #")[0] + " -w '\\n@@http=%{http_code}'")
            self.assertEqual(rc, 0, "%s: %s" % (command, out))
            status = int(re.search(r"@@http=(\d+)", out)[1])
            # 409 "try again": the guest is still setting up (a display just resized)
            if status != 409 or "try again" not in out:
                break
            time.sleep(1)
        self.assertTrue(200 <= status < 300, "%s answered %d: %s" % (command, status, out))

    def test_4_every_curl_of_api_md(self):
        commands = api_md_lines("curl ")
        self.assertGreaterEqual(len(commands), 20)
        for command in commands:
            if not any(late in command for late in LATE):
                self.curl(command)
        # taken after the display's resize (the page's order): the guest kept showing
        with open(os.path.join(self.cwd, "shot.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        rc, out = self.here("cmavm ctl --socket %s gpu | grep -E '^0 '" % SOCK)
        self.assertRegex(out, r"^0 +connected +1280x800 +resource \d+", out)

    def test_5_every_cmavm_ctl_line_of_api_md(self):
        # Lines with [optional] words are forms, not commands; gpu export
        # needs the dma-buf's descriptor, which no socket forward carries;
        # window 1 went with the curl line that released it.
        done = 0
        for command in api_md_lines("cmavm ctl --socket %s " % SOCK):
            if "[" in command or " export " in command or "window release" in command:
                continue
            rc, out = self.here(command)
            self.assertEqual(rc, 0, "%s: %s" % (command, out))
            done += 1
        self.assertGreaterEqual(done, 10)

    def test_6_shutdown_last(self):
        for late in LATE:
            for command in api_md_lines("curl "):
                if late in command:
                    self.curl(command)

    def test_7_tools_vm_ends_and_takes_the_socket(self):
        self.assertEqual(self.vm.wait(120), 0, self.vm.output[-2000:])
        for _ in range(20):
            if not os.path.exists(SOCK):
                break
            time.sleep(0.1)
        self.assertFalse(os.path.exists(SOCK))
        self.assertEqual(os.listdir(self.rundir), [])



class Terminated(unittest.TestCase):
    """tools/vm stopped by a signal (its terminal closed, a kill) takes the
    emulated host, the socket and its link with it: nothing runs on."""

    def test_sigterm(self):
        rundir = tempfile.mkdtemp(prefix="cmavm-rundir-")
        env = dict(os.environ, XDG_RUNTIME_DIR=rundir)
        vm = testhost.Session(["python3", VM_PY, "--name", "term"], env=env, tty=True,
                              log=common.log_file("live_vm_term"))
        sock = os.path.join(rundir, "cmavm-term.sock")
        try:
            vm.expect(r"^cmavm: the VM's API socket is on this machine too: %s" % sock, 300)
            os.kill(vm.proc.pid, signal.SIGTERM)
            self.assertEqual(vm.wait(60), 128 + signal.SIGTERM)
            self.assertEqual(os.listdir(rundir), [])
            left = subprocess.run(["pgrep", "-f", "cmavm-vm-term/shell.sock"],
                                  stdout=subprocess.PIPE).stdout.decode()
            self.assertEqual(left, "", "the emulated host outlived tools/vm")
        finally:
            vm.kill()
            shutil.rmtree(rundir, ignore_errors=True)


class BackgroundRun(unittest.TestCase):
    """docs/api.md's script form, as written, on the host cmavm runs on: a
    VM started in the background is waited for with --wait, and stays up
    (its guest's shell keeps waiting for input: stdin's end does not reach
    the guest)."""

    def test_the_script_form(self):
        script = [c for c in api_md_lines("cmavm ") if "</dev/null &" in c or "--wait 60" in c]
        self.assertEqual(len(script), 2, script)
        job = ("%s\n%s\necho \"@@waited $?\"\nsleep 5\n"
               "cmavm ctl --socket %s status | grep -E '^state'\n"
               "cmavm ctl --socket %s shutdown\nwait\necho \"@@done\"\n"
               % (script[0], script[1], SOCK, SOCK))
        s = common.host("live_vm_script").start(job)
        try:
            s.expect(r"^@@waited 0$", 300)
            s.expect(r"^state +running$", 60)
            s.expect(r"^@@done$", 120)
        finally:
            s.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
