#!/usr/bin/env python3
"""The host CMA engine against a running guest. The guest fills a tmpfs
file (enough to spill into its CMA pool) and keeps its checksum; the host
commits a window over the whole default pool at huge, then at resident,
then releases it, migrates a pageblock, and lets the balloon inflate over a
committed window; after each step the guest finds its file unchanged. As
root, the host's pagemap shows every pageblock of a huge window on one
host-physically contiguous 2 MiB run."""
import common

api = common.api

MEMORY_MIB = 384
FILL_MIB = 256
POOL_MIB = 64
BLOCKS = POOL_MIB // 2
JOB = """cmavm run --memory %dM --api-socket api.sock --balloon-stats 0 \\
    --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % (MEMORY_MIB, common.GUEST_CMDLINE)


class Engine(common.GuestShellTest):
    JOB, NAME = JOB, "cma_engine"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s
        rc, out = s.host("echo %d > /proc/sys/vm/nr_hugepages; "
                         "grep HugePages_Free /proc/meminfo" % (BLOCKS + 8))
        cls.huge_pages = int(out.split()[-1]) if rc == 0 else 0
        before = int(common.guest_run(s, "awk '/CmaFree/ {print $2}' /proc/meminfo").split()[-1])
        common.guest_run(s, "mkdir -p /mnt && mount -t tmpfs -o size=%dm none /mnt && "
                         "dd if=/dev/urandom of=/mnt/data bs=1M count=%d 2>/dev/null"
                         % (FILL_MIB + 16, FILL_MIB))
        after = int(common.guest_run(s, "awk '/CmaFree/ {print $2}' /proc/meminfo").split()[-1])
        cls.cma_used_kb = before - after
        cls.sum = cls.checksum()

    @classmethod
    def checksum(cls):
        return common.guest_run(cls.s, "md5sum /mnt/data").split()[-2]

    def map_letters(self):
        ok, m = api(self.s, "GET", "/v1/cma/map")
        self.assertTrue(ok, m)
        return [p for p in m["pools"] if p["name"] == "linux,cma"][0]["blocks"]

    def test_1_guest_data_lies_in_the_pool(self):
        self.assertGreater(self.cma_used_kb, 8 * 1024,
                           "the guest's file did not reach its CMA pool")
        self.assertIn("B", self.map_letters())

    def test_2_huge_then_resident_then_release_keep_every_byte(self):
        if self.s.host_shell is None and self.huge_pages < BLOCKS:
            self.skipTest("this host has fewer than %d free 2 MiB huge pages and this user "
                          "cannot add them (echo N > /proc/sys/vm/nr_hugepages as root)" % BLOCKS)
        self.assertGreaterEqual(self.huge_pages, BLOCKS, "the host has no huge pages")
        ok, w = api(self.s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "huge"})
        self.assertTrue(ok, w)
        self.assertEqual(w["length"], POOL_MIB << 20)
        self.assertEqual(w["level"], "huge")
        # Every pageblock on one host-physically contiguous 2 MiB page (pagemap, as root).
        self.assertEqual(w["contiguous_2m"], BLOCKS)
        self.assertGreaterEqual(w["largest_run"], 2 << 20)
        self.assertEqual(self.map_letters(), "W" * BLOCKS)
        self.assertEqual(self.checksum(), self.sum)

        # A migrated pageblock of a huge window lands on a new 2 MiB page: still one
        # physical run, the data intact (one copy, no write-back).
        for block in (1, BLOCKS - 2):
            ok, m = api(self.s, "PUT", "/v1/cma/migrate", {"pool": "linux,cma", "block": block})
            self.assertTrue(ok, m)
        ok, ws = api(self.s, "GET", "/v1/cma/windows")
        self.assertEqual([x["contiguous_2m"] for x in ws if x["id"] == w["id"]], [BLOCKS])
        self.assertEqual(self.checksum(), self.sum)

        ok, w2 = api(self.s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "resident"})
        self.assertTrue(ok, w2)
        self.assertEqual(w2["id"], w["id"])
        self.assertEqual(w2["level"], "resident")
        self.assertEqual(self.checksum(), self.sum)

        ok, r = api(self.s, "PUT", "/v1/cma/windows/release", {"id": w["id"]})
        self.assertTrue(ok, r)
        self.assertNotIn("W", self.map_letters())
        self.assertEqual(self.checksum(), self.sum)

    def test_3_migrate_a_pageblock(self):
        ok, before = api(self.s, "GET", "/v1/cma/stats")
        live = before["moves"] == "live"
        for block in (0, BLOCKS // 2, BLOCKS - 1):
            ok, m = api(self.s, "PUT", "/v1/cma/migrate", {"pool": "linux,cma", "block": block})
            self.assertTrue(ok, m)
            # live: only a writer of the block waits; otherwise the guest pauses
            if live:
                self.assertEqual(m["pause_ns"], 0)
            else:
                self.assertGreater(m["pause_ns"], 0)
        self.assertEqual(self.checksum(), self.sum)
        ok, st = api(self.s, "GET", "/v1/cma/stats")
        self.assertGreaterEqual(st["migrations"], before["migrations"] + 3)
        self.assertEqual(st["pauses"] == before["pauses"], live)

    def test_4_balloon_over_a_window_leaves_it_intact(self):
        ok, w = api(self.s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "huge"})
        self.assertTrue(ok, w)
        ok, _ = api(self.s, "PUT", "/v1/balloon", {"target_mib": MEMORY_MIB - FILL_MIB - 48})
        common.wait_for(lambda: api(self.s, "GET", "/v1/balloon")[1]["actual_bytes"] > 32 << 20,
                        60)
        ok, st = api(self.s, "GET", "/v1/cma/stats")
        self.assertGreater(st["refused_discard_bytes"], 0,
                           "the balloon never reached the window, so nothing was shown")
        self.assertEqual(self.map_letters(), "W" * BLOCKS)
        ok, ws = api(self.s, "GET", "/v1/cma/windows")
        self.assertEqual(ws[0]["contiguous_2m"], BLOCKS)
        self.assertEqual(self.checksum(), self.sum)
        api(self.s, "PUT", "/v1/balloon", {"target_mib": 0})
        ok, r = api(self.s, "PUT", "/v1/cma/windows/release", {"id": w["id"]})
        self.assertTrue(ok, r)
        self.assertEqual(self.checksum(), self.sum)

    def test_5_commit_without_huge_pages_fails_and_rolls_back(self):
        self.s.host("echo 0 > /proc/sys/vm/nr_hugepages")
        ok, err = api(self.s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "huge"})
        self.assertFalse(ok)
        self.assertIn("huge pages", err)
        self.assertNotIn("W", self.map_letters())
        self.assertEqual(self.checksum(), self.sum)


if __name__ == "__main__":
    common.main()
