#!/usr/bin/env python3
"""Both emulated host kernels, whatever $CMAVM_HOST_KERNEL says: each boots
the demo guest, and `cmavm-bench uffd-probe` tells what its userfaultfd
can do. On 6.12, write-protect works on shmem (a memfd) and on hugetlbfs,
what live window moves need; on 6.1 (arm64 has no userfaultfd
write-protect before 6.10) UFFDIO_API refuses the feature, the fact the
fallback path relies on. Natively there is no choice of host kernel: the
test is skipped."""
import os
import re

import common

BENCH = os.path.join(common.testhost.BUILD_VMM, "tools", "bench", "cmavm-bench")
JOB = """chmod +x cmavm-bench
echo 4 > /proc/sys/vm/nr_hugepages
./cmavm-bench uffd-probe
echo "@@probe-exit=$?"
cmavm run --cmdline "%s"
echo "@@cmavm-exit=$?"
""" % common.GUEST_CMDLINE
REFUSED = "unsupported: UFFDIO_API refused UFFD_FEATURE_WP_HUGETLBFS_SHMEM"


def run_on(kernel):
    """(the release the emulated host runs, {case: result}, probe exit, the
    whole output) of JOB on the emulated host with @kernel."""
    s = common.host("host_kernel_" + kernel, host_kernel=kernel).start(
        JOB, files={"cmavm-bench": BENCH})
    try:
        release = re.search(r"(?m)^@@host: ready, (\S+),", s.output)[1]
        probe = s.expect(r"(?s)^uffd-probe: .*?^@@probe-exit=(\d+)$", 60)
        s.expect(r"^@@cmavm-exit=(\d+)$", 180)
        s.wait(60)
    finally:
        s.kill()
    cases = dict(re.findall(r"(?m)^uffd-wp (\w+): (.*)$", probe[0]))
    return release, cases, int(probe[1]), s.output


@common.unittest.skipIf(common.testhost.NATIVE, "natively the host's kernel is this machine's own")
class HostKernels(common.unittest.TestCase):
    def check_boots_a_guest(self, out):
        self.assertRegex(out, r"(?m)^guest: report done$")
        self.assertRegex(out, r"(?m)^@@cmavm-exit=0$")

    def test_6_12_has_uffd_write_protect_on_shmem_and_hugetlb(self):
        release, cases, rc, out = run_on("6.12")
        self.assertRegex(release, r"^6\.12\.")
        self.assertEqual(cases, {"shmem": "ok", "hugetlb": "ok"}, out[-2000:])
        self.assertEqual(rc, 0)
        self.check_boots_a_guest(out)

    def test_6_1_refuses_uffd_write_protect(self):
        release, cases, rc, out = run_on("6.1")
        self.assertRegex(release, r"^6\.1\.")
        self.assertEqual(sorted(cases), ["hugetlb", "shmem"], out[-2000:])
        for case, result in cases.items():
            self.assertTrue(result.startswith(REFUSED), "%s: %s" % (case, result))
        self.assertNotEqual(rc, 0)
        self.check_boots_a_guest(out)


if __name__ == "__main__":
    common.main()
