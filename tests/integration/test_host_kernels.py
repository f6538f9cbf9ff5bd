#!/usr/bin/env python3
"""Both emulated host kernels, whatever $CMAVM_HOST_KERNEL says: each boots
the demo guest, and `cmavm-bench uffd-probe` tells what its userfaultfd
can do. On 6.12, write-protect works on shmem (a memfd) and on hugetlbfs,
what live window moves need; on 6.1 (arm64 has no userfaultfd
write-protect before 6.10) UFFDIO_API refuses the feature, the fact the
fallback path relies on. Natively there is no choice of host kernel: the
test is skipped. Each also says whether a GPU scanout can leave as a
dma-buf: 6.12 has udmabuf built in, Debian's 6.1 has none, and cmavm says
so, naming the missing host feature, when asked to export there."""
import os
import re

import common

BENCH = os.path.join(common.testhost.BUILD_VMM, "tools", "bench", "cmavm-bench")
JOB = """chmod +x cmavm-bench
echo 8 > /proc/sys/vm/nr_hugepages
./cmavm-bench uffd-probe
echo "@@probe-exit=$?"
cmavm run --gpu 640x480 --api-socket api.sock --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % common.GUEST_CMDLINE
REFUSED = "unsupported: UFFDIO_API refused UFFD_FEATURE_WP_HUGETLBFS_SHMEM"


def run_on(kernel):
    """(the release the emulated host runs, {case: result}, probe exit, the
    whole output, the GPU's export {"available", "why"}, (exit, output) of
    `cmavm ctl gpu export` once the guest showed something) of JOB on the
    emulated host with @kernel."""
    s = common.host("host_kernel_" + kernel, host_kernel=kernel).start(
        JOB, files={"cmavm-bench": BENCH})
    try:
        release = re.search(r"(?m)^@@host: ready, (\S+),", s.output)[1]
        probe = s.expect(r"(?s)^uffd-probe: .*?^@@probe-exit=(\d+)$", 60)
        s.expect(r"^guest: shell ready$", 180)
        ok, gpu = common.api(s, "GET", "/v1/gpu")
        assert ok, gpu
        common.wait_for(lambda: common.api(s, "GET", "/v1/gpu")[1]["scanouts"][0]["resource_id"],
                        30)
        export = s.host("cmavm ctl --socket api.sock gpu export --scanout 0 -- true")
        common.power_off(s)
    finally:
        s.kill()
    cases = dict(re.findall(r"(?m)^uffd-wp (\w+): (.*)$", probe[0]))
    return release, cases, int(probe[1]), s.output, gpu["export"], export


@common.unittest.skipIf(common.testhost.NATIVE, "natively the host's kernel is this machine's own")
class HostKernels(common.unittest.TestCase):
    def check_boots_a_guest(self, out):
        self.assertRegex(out, r"(?m)^guest: report done$")
        self.assertRegex(out, r"(?m)^@@cmavm-exit=0$")

    def test_6_12_has_uffd_write_protect_on_shmem_and_hugetlb(self):
        release, cases, rc, out, export, (export_rc, export_out) = run_on("6.12")
        self.assertRegex(release, r"^6\.12\.")
        self.assertEqual(cases, {"shmem": "ok", "hugetlb": "ok"}, out[-2000:])
        self.assertEqual(rc, 0)
        self.check_boots_a_guest(out)
        self.assertEqual(export, {"available": True, "why": ""})
        self.assertEqual(export_rc, 0, export_out)

    def test_6_1_refuses_uffd_write_protect(self):
        release, cases, rc, out, export, (export_rc, export_out) = run_on("6.1")
        self.assertRegex(release, r"^6\.1\.")
        self.assertEqual(sorted(cases), ["hugetlb", "shmem"], out[-2000:])
        for case, result in cases.items():
            self.assertTrue(result.startswith(REFUSED), "%s: %s" % (case, result))
        self.assertNotEqual(rc, 0)
        self.check_boots_a_guest(out)
        # Debian's 6.1 is built without CONFIG_UDMABUF: no dma-buf, and cmavm says why.
        self.assertFalse(export["available"])
        self.assertIn("no /dev/udmabuf", export["why"])
        self.assertIn("CONFIG_UDMABUF", export["why"])
        self.assertNotEqual(export_rc, 0)
        self.assertIn("CONFIG_UDMABUF", export_out)


if __name__ == "__main__":
    common.main()
