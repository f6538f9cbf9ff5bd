"""What the integration tests share: a host to run cmavm on, readers for
what the guest prints, and the VM's own answers through `cmavm ctl --json`
(what cmavm knows is read from its JSON, not from its log lines)."""
import json
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import testhost  # noqa: E402

# panic=-1: a guest panic ends the run at once instead of hanging to the timeout
GUEST_CMDLINE = "console=ttyS0 quiet panic=-1"

GUEST_POOL = re.compile(
    r"^guest: dmesg: Reserved memory: created (CMA|DMA) memory pool at (0x[0-9a-f]+), "
    r"size (\d+) MiB$", re.M)
GUEST_MEMINFO = re.compile(r"^guest: meminfo: (CmaTotal|CmaFree):\s+(\d+) kB$", re.M)


def log_file(name):
    """Each test's whole console goes to a log beside the build's own logs."""
    d = os.path.join(os.getcwd(), "meson-logs", "integration")
    os.makedirs(d, exist_ok=True)
    return open(os.path.join(d, name + ".log"), "w")


def host(name, host_cmdline="", host_memory_mib=2048, host_kernel=None, guest=None):
    """Where the test's jobs run; @host_kernel picks the emulated host's
    kernel ("6.12", "6.1"; None: $CMAVM_HOST_KERNEL, else 6.12), @guest the
    guest flavour cmavm boots by default (testhost.GUEST_FLAVOURS; None:
    $CMAVM_GUEST, else testhost.DEFAULT_GUEST)."""
    return testhost.Host(log=log_file(name), host_cmdline=host_cmdline,
                         host_memory_mib=host_memory_mib, host_kernel=host_kernel,
                         guest=guest)


def guest_pools(text):
    """[(CMA|DMA, base, size_mib)] from the guest's own dmesg lines."""
    return [(m[1], int(m[2], 16), int(m[3])) for m in GUEST_POOL.finditer(text)]


def guest_meminfo(text):
    return {m[1]: int(m[2]) for m in GUEST_MEMINFO.finditer(text)}


class GuestShellTest(unittest.TestCase):
    """Tests that share one guest with a shell on its console: the class
    sets JOB (whose cmavm runs with cmavm.mode=shell and prints
    "@@cmavm-exit=N" after) and NAME (its log), optionally FILES and
    GUEST (a guest flavour; None: the run's, see host())."""
    JOB = NAME = None
    FILES = GUEST = None

    @classmethod
    def setUpClass(cls):
        cls.s = host(cls.NAME, guest=cls.GUEST).start(cls.JOB, files=cls.FILES)
        try:
            cls.s.expect(r"^guest: shell ready$", 180)
        except Exception:
            cls.s.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        """The guest powers off; cmavm must end with 0."""
        try:
            cls.s.send("poweroff -f\n")
            cls.s.expect(r"^@@cmavm-exit=0$", 60)
            cls.s.wait(60)
        finally:
            cls.s.kill()


def main():
    unittest.main(verbosity=2)


def power_off(session):
    """Power the guest off from its shell; cmavm must end with 0."""
    session.send("poweroff -f\n")
    session.expect(r"^@@cmavm-exit=0$", 60)
    session.wait(60)


def ctl_json(session, args, sock="api.sock"):
    """`cmavm ctl --json ARGS` on the host beside the VM; the parsed answer."""
    rc, out = session.host("cmavm ctl --socket %s --json %s" % (sock, args))
    if rc != 0:
        raise AssertionError("cmavm ctl %s failed (%d): %s" % (args, rc, out))
    return parse_json(out)


def vm_pools(session, sock="api.sock"):
    """{name: pool} as the running VM places them (GET /v1/vm through
    `cmavm ctl --json status`): base and size in bytes, kind "cma"
    (reusable) or "coherent" (no-map), default, and why it is there."""
    return {p["name"]: p for p in ctl_json(session, "status", sock)["pools"]}


def parse_json(out):
    """The JSON document in a command's output (after anything logged before it)."""
    return json.loads(out[min(i for i in (out.find("{"), out.find("[")) if i >= 0):])


def api(session, method, path, body=None, sock="api.sock", timeout=300):
    """A control API request through `cmavm ctl raw`: (True, parsed JSON) on
    success, (False, the error text) on a refusal."""
    cmd = "cmavm ctl --socket %s raw %s %s" % (sock, method, path)
    if body is not None:
        cmd += " '%s'" % json.dumps(body)
    rc, out = session.host(cmd, timeout=timeout)
    if rc:
        return False, out
    return True, parse_json(out)


def wait_for(predicate, timeout, interval=0.25):
    """Poll @predicate until it returns a true value; that value, or the last one."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def guest_run(session, command, timeout=120):
    """Type @command into the guest shell (Session.guest); what it printed,
    or an AssertionError if it failed."""
    rc, out = session.guest(command, timeout)
    if rc != 0:
        raise AssertionError("guest command '%s' failed (%d):\n%s" % (command, rc, out))
    return out
