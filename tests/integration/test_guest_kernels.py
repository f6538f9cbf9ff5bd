#!/usr/bin/env python3
"""The guests beside the default one (Debian 13's 6.12 with 4 KiB pages,
which every other integration test boots): 6.12 with 16 KiB pages, whose
pageblock is 32 MiB, and Debian 12's 6.1. One boot of each, with a
shell, and from both sides:

- cmavm reads the page size from the Image header and says so; its pools
  are where the guest's own dmesg says they are, each a whole number of
  the guest's pageblocks at an address aligned to one, and CmaTotal is
  their sum;
- the engine's map has one letter per guest pageblock;
- a huge window over the default pool, whose pageblocks the guest's data
  fills, lies on 2 MiB host pages (sixteen to a 32 MiB pageblock) and
  the guest's checksum of its data is unchanged after commit and release;
- a balloon target gives at least 90% of itself back to the host.

$CMAVM_GUEST_KERNELS (e.g. "6.12-16k") picks a subset."""
import os

import common
import testhost

MEMORY_MIB = 512
POOL_MIB = 64
FILL_MIB = 200
BALLOON_MIB = 96
MIB = 1 << 20
JOB = """cmavm run --memory %dM --cma %dM --dma-pool cam:32M --dma-pool fw:32M:no-map \\
    --api-socket api.sock --balloon-stats 0 \\
    --cmdline "%s init_on_free=1 cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % (MEMORY_MIB, POOL_MIB, common.GUEST_CMDLINE)


class GuestKernel:
    """One flavour's boot; the test classes below name it."""
    JOB = JOB

    @classmethod
    def setUpClass(cls):
        wanted = os.environ.get("CMAVM_GUEST_KERNELS")
        if wanted and cls.GUEST not in wanted.split():
            raise common.unittest.SkipTest("not in $CMAVM_GUEST_KERNELS")
        super().setUpClass()
        cls.page = testhost.GUEST_PAGE_SIZE[cls.GUEST]
        cls.pageblock = {4096: 2 * MIB, 16384: 32 * MIB, 65536: 512 * MIB}[cls.page]
        cls.boot_out = cls.s.output
        cls.pools = common.vm_pools(cls.s)

    def cma(self, path):
        ok, answer = common.api(self.s, "GET", path)
        self.assertTrue(ok, answer)
        return answer

    def test_1_page_size_from_the_image_header(self):
        self.assertIn("cmavm: guest pages %d KiB (its Image header), so pageblocks of %d MiB"
                      % (self.page // 1024, self.pageblock // MIB), self.boot_out)

    def test_2_pools_where_planned_in_whole_pageblocks(self):
        guest = common.guest_pools(self.boot_out)
        for name, p in self.pools.items():
            want = ("CMA" if p["kind"] == "cma" else "DMA", p["base"], p["size"] // MIB)
            self.assertIn(want, guest, "pool %s: the guest said %s" % (name, guest))
            if p["kind"] == "cma":
                self.assertEqual(p["base"] % self.pageblock, 0, name)
                self.assertEqual(p["size"] % self.pageblock, 0, name)
        self.assertEqual(len(guest), len(self.pools))
        reusable = sum(p["size"] for p in self.pools.values() if p["kind"] == "cma")
        self.assertEqual(common.guest_meminfo(self.boot_out)["CmaTotal"], reusable // 1024)

    def test_3_the_map_counts_guest_pageblocks(self):
        m = self.cma("/v1/cma/map")
        self.assertEqual(m["pageblock_size"], self.pageblock)
        blocks = {p["name"]: p["blocks"] for p in m["pools"]}
        self.assertEqual(len(blocks["linux,cma"]), POOL_MIB * MIB // self.pageblock)
        self.assertEqual(len(blocks["cam"]), 32 * MIB // self.pageblock)

    def test_4_huge_window_keeps_the_guests_data(self):
        s = self.s
        # the window, and a migrated pageblock's new pages beside it
        s.host("echo %d > /proc/sys/vm/nr_hugepages"
               % ((POOL_MIB * MIB + self.pageblock) // (2 * MIB) + 4))
        common.guest_run(s, "mkdir -p /mnt && mount -t tmpfs -o size=%dm none /mnt && "
                         "dd if=/dev/urandom of=/mnt/data bs=1M count=%d 2>/dev/null"
                         % (FILL_MIB + 16, FILL_MIB))
        before = common.guest_run(s, "md5sum /mnt/data").split()[-2]
        self.assertIn("B", "".join(p["blocks"] for p in self.cma("/v1/cma/map")["pools"]
                                   if p["name"] == "linux,cma"),
                      "the guest's data never reached its default pool")
        ok, w = common.api(s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "huge"})
        self.assertTrue(ok, w)
        self.assertEqual(w["length"], POOL_MIB * MIB)
        # each guest pageblock on pageblock / 2 MiB host huge pages, each contiguous
        self.assertEqual(w["contiguous_2m"], POOL_MIB // 2)
        self.assertEqual(common.guest_run(s, "md5sum /mnt/data").split()[-2], before)
        ok, m = common.api(s, "PUT", "/v1/cma/migrate", {"pool": "linux,cma", "block": 1})
        self.assertTrue(ok, m)
        self.assertEqual(m["gpa"], self.pools["linux,cma"]["base"] + self.pageblock)
        ok, r = common.api(s, "PUT", "/v1/cma/windows/release", {"id": w["id"]})
        self.assertTrue(ok, r)
        self.assertEqual(common.guest_run(s, "md5sum /mnt/data").split()[-2], before)
        common.guest_run(s, "rm /mnt/data && umount /mnt")

    def test_5_balloon_gives_memory_back(self):
        def resident():
            return common.ctl_json(self.s, "status")["memory_resident_bytes"]

        def actual():
            return common.ctl_json(self.s, "balloon")["actual_bytes"]

        # Every free page touched first, so that whichever the balloon takes
        # is one the host backs (pages the guest freed at boot it never wrote).
        common.guest_run(self.s, "mount -t tmpfs none /mnt && dd if=/dev/zero of=/mnt/fill "
                         "bs=1M count=$(($(awk '/MemAvailable/ {print $2}' /proc/meminfo) "
                         "/ 1024 - 48)) 2>/dev/null; rm /mnt/fill; umount /mnt")
        before = resident()
        common.ctl_json(self.s, "balloon set %dM" % BALLOON_MIB)
        self.assertTrue(common.wait_for(lambda: actual() == BALLOON_MIB * MIB, 60),
                        "the guest did not inflate to %d MiB" % BALLOON_MIB)
        self.assertGreaterEqual(before - resident(), 0.9 * BALLOON_MIB * MIB)
        common.ctl_json(self.s, "balloon set 0")
        self.assertTrue(common.wait_for(lambda: actual() == 0, 60))


class Linux612Pages16K(GuestKernel, common.GuestShellTest):
    NAME, GUEST = "guest_6.12-16k", "6.12-16k"


class Linux61(GuestKernel, common.GuestShellTest):
    NAME, GUEST = "guest_6.1", "6.1"



if __name__ == "__main__":
    common.main()
