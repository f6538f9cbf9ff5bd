#!/usr/bin/env python3
"""A contiguous window: with a 1 GiB huge page on the host (the emulated
host boots with hugepagesz=1G hugepages=1), the whole default pool moves
onto host-physically contiguous memory, shown by the host's pagemap as one
run, and the guest's data survives the move there and back. (The emulated
host gets 3 GiB: with 2 GiB its kernel finds no free 1 GiB-aligned GiB at
boot.)"""
import common

api = common.api

POOL_MIB = 64
JOB = """cmavm run --memory 384M --api-socket api.sock --balloon-stats 0 \\
    --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % common.GUEST_CMDLINE


class Contiguous(common.unittest.TestCase):
    def test_whole_pool_on_one_contiguous_run(self):
        s = common.host("cma_contiguous", host_cmdline="hugepagesz=1G hugepages=1",
                      host_memory_mib=3072).start(JOB)
        try:
            s.expect(r"^guest: shell ready$", 180)
            rc, out = s.host("cat /sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages")
            if s.host_shell is None and (rc or out.split()[-1] == "0"):
                # A real arm64 host is configured by its owner, not by this test.
                self.skipTest("this host has no free 1 GiB huge page (boot it with "
                              "hugepagesz=1G hugepages=1)")
            self.assertEqual(out.split()[-1], "1", "the emulated host has no 1 GiB page:\n" + out)
            common.guest_run(s, "mkdir -p /mnt && mount -t tmpfs -o size=256m none /mnt && "
                             "dd if=/dev/urandom of=/mnt/data bs=1M count=200 2>/dev/null")
            before = common.guest_run(s, "md5sum /mnt/data").split()[-2]

            ok, w = api(s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "contiguous"})
            self.assertTrue(ok, w)
            self.assertEqual(w["level"], "contiguous")
            self.assertEqual(w["length"], POOL_MIB << 20)
            # One host-physically contiguous run covers the whole window.
            self.assertGreaterEqual(w["largest_run"], POOL_MIB << 20)
            self.assertEqual(common.guest_run(s, "md5sum /mnt/data").split()[-2], before)
            ok, m = api(s, "GET", "/v1/cma/map")
            self.assertEqual(m["pools"][0]["blocks"], "W" * (POOL_MIB // 2))

            ok, r = api(s, "PUT", "/v1/cma/windows/release", {"id": w["id"]})
            self.assertTrue(ok, r)
            self.assertEqual(common.guest_run(s, "md5sum /mnt/data").split()[-2], before)
            rc, out = s.host("cat /sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages")
            self.assertEqual(out.split()[-1], "1", "the 1 GiB page was not given back")
            s.send("poweroff -f\n")
            s.expect(r"^@@cmavm-exit=0$", 60)
            s.wait(60)
        finally:
            s.kill()


if __name__ == "__main__":
    common.main()
