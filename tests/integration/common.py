"""What the integration tests share: a host to run cmavm on, and readers
for what cmavm and the guest print."""
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import testhost  # noqa: E402

# panic=-1: a guest panic ends the run at once instead of hanging to the timeout
GUEST_CMDLINE = "console=ttyS0 quiet panic=-1"

PLAN_POOL = re.compile(
    r"^cmavm: pool (\S+) at (0x[0-9a-f]+) size (\d+) MiB \(([^)]*)\): (.*)$", re.M)
GUEST_POOL = re.compile(
    r"^guest: dmesg: Reserved memory: created (CMA|DMA) memory pool at (0x[0-9a-f]+), "
    r"size (\d+) MiB$", re.M)
GUEST_MEMINFO = re.compile(r"^guest: meminfo: (CmaTotal|CmaFree):\s+(\d+) kB$", re.M)


def log_file(name):
    """Each test's whole console goes to a log beside the build's own logs."""
    d = os.path.join(os.getcwd(), "meson-logs", "integration")
    os.makedirs(d, exist_ok=True)
    return open(os.path.join(d, name + ".log"), "w")


def host(name):
    return testhost.Host(log=log_file(name))


def planned_pools(text):
    """{name: (base, size_mib, kind)} from cmavm's plan lines."""
    return {m[1]: (int(m[2], 16), int(m[3]), m[4]) for m in PLAN_POOL.finditer(text)}


def guest_pools(text):
    """[(CMA|DMA, base, size_mib)] from the guest's own dmesg lines."""
    return [(m[1], int(m[2], 16), int(m[3])) for m in GUEST_POOL.finditer(text)]


def guest_meminfo(text):
    return {m[1]: int(m[2]) for m in GUEST_MEMINFO.finditer(text)}


def main():
    unittest.main(verbosity=2)
