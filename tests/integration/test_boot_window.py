#!/usr/bin/env python3
"""Boot windows: `--cma 64M,window=huge` puts the whole default pool on
host 2 MiB huge pages before the guest's first instruction. Right after
boot the window is listed at huge with every pageblock on one host-physical
2 MiB run (pagemap: cmavm runs as root in the emulated host), the engine
counts one boot commit and no pause, and the guest has its CMA pool and
runs; released through the API, the guest's data stays and the guest runs
on. Before that, in the same host: with too few huge pages, and with bad
window flags, cmavm stops before any guest starts and says why. On a host
with a 1 GiB page, `--cma 64M,window=contiguous` boots the guest with the
whole pool on one host-physical run, and a boot window the engine refuses
stops cmavm before the guest, with the engine's reason."""
import re

import common

api = common.api

MEMORY_MIB = 384
POOL_MIB = 64
BLOCKS = POOL_MIB // 2
FILL_MIB = 256
FEW_PAGES = 4
CMDLINE = common.GUEST_CMDLINE + " cmavm.mode=shell"

# name: (flags, exit code, what the message must say). Each fails before a guest.
CASES = {
    "few-huge-pages": ("--cma 64M,window=huge", 1,
                       "boot windows at huge (--cma 64M,window=huge) need %d free 2 MiB huge "
                       "pages and the host has %d free, so the guest does not start; add them "
                       "as root: echo %d > /proc/sys/vm/nr_hugepages"
                       % (BLOCKS, FEW_PAGES, BLOCKS)),
    "no-gigantic-page": ("--cma 64M,window=contiguous", 1,
                         "boot windows at contiguous (--cma 64M,window=contiguous) need 1 free "
                         "1 GiB huge pages and the host has 0 free, so the guest does not "
                         "start; 1 GiB pages are set aside when the host boots: add "
                         "hugepagesz=1G hugepages=1 to the host kernel's command line"),
    "unknown-level": ("--cma 64M,window=hug", 2,
                      "--cma 64M,window=hug: unknown window level 'hug'; use resident, huge or "
                      "contiguous"),
    "unknown-pool": ("--window gpu:huge", 2,
                     "--window gpu:huge: there is no pool named 'gpu'; the pools are linux,cma"),
    "not-pageblocks": ("--window linux,cma:huge:1M:4M", 2,
                       "--window linux,cma:huge:1M:4M: offset 1 MiB is not a whole number of the guest's 2 MiB pageblocks (4 KiB pages); use 0 or 2 MiB"),
    "outside-pool": ("--window linux,cma:huge:32M:64M", 2,
                     "--window linux,cma:huge:32M:64M: [32 MiB, +64 MiB) is not inside pool 'linux,cma' (64 MiB)"),
    "overlapping": ("--cma 64M,window=huge --window linux,cma:resident:0:2M", 2,
                    "--cma 64M,window=huge overlaps --window linux,cma:resident:0:2M in pool "
                    "'linux,cma'; boot windows may not overlap"),
}


def job():
    # A real arm64 host's huge pages are root's to set, and the test needs to.
    lines = ['echo %d > /proc/sys/vm/nr_hugepages || { echo "@@huge-pages-refused"; exit 0; }'
             % FEW_PAGES]
    for name, (flags, _, _) in CASES.items():
        lines += ['echo "@@case %s"' % name,
                  'cmavm run --memory %dM %s --cmdline "%s"' % (MEMORY_MIB, flags, CMDLINE),
                  'echo "@@case-exit %s $?"' % name]
    lines += ["echo %d > /proc/sys/vm/nr_hugepages" % (BLOCKS + 8),
              'cmavm run --memory %dM --cma %dM,window=huge --api-socket api.sock '
              '--balloon-stats 0 --cmdline "%s"' % (MEMORY_MIB, POOL_MIB, CMDLINE),
              'echo "@@cmavm-exit=$?"']
    return "\n".join(lines)


class BootWindow(common.GuestShellTest):
    JOB, NAME = job(), "boot_window"

    @classmethod
    def setUpClass(cls):
        s = cls.s = common.host(cls.NAME).start(cls.JOB)
        try:
            m = s.expect(r"^(guest: shell ready|@@huge-pages-refused)$", 180)
        except Exception:
            s.kill()
            raise
        if m[1] != "guest: shell ready":
            s.kill()
            raise common.unittest.SkipTest("this user cannot set /proc/sys/vm/nr_hugepages "
                                           "(run the test as root)")
        # Right after boot, before anything else asks the engine for anything.
        cls.windows = api(s, "GET", "/v1/cma/windows")
        cls.stats = api(s, "GET", "/v1/cma/stats")
        cls.map = api(s, "GET", "/v1/cma/map")
        cls.boot_out = s.output

    def cases(self):
        out = {}
        for m in re.finditer(r"(?ms)^@@case (\S+)$(.*?)^@@case-exit \1 (\d+)$", self.boot_out):
            out[m[1]] = (m[2], int(m[3]))
        return out

    def test_1_bad_windows_stop_cmavm_before_the_guest(self):
        cases = self.cases()
        self.assertEqual(sorted(cases), sorted(CASES))
        for name, (_, code, message) in CASES.items():
            text, rc = cases[name]
            with self.subTest(case=name):
                self.assertEqual(rc, code)
                self.assertIn("cmavm: error: " + message, text)
                # Nothing of a guest: no console handed over, no guest line.
                self.assertNotIn("cmavm: console:", text)
                self.assertNotRegex(text, r"(?m)^guest:")

    def test_2_window_is_committed_before_the_guest_starts(self):
        out = self.boot_out[self.boot_out.rfind("@@case-exit"):]
        plan = re.search(r"(?m)^cmavm: boot window: pool linux,cma \[0x[0-9a-f]+, \+64 MiB\) "
                         r"at huge, before the guest starts \(--cma 64M,window=huge\)$", out)
        self.assertIsNotNone(plan, "the plan does not show the boot window:\n" + out[-3000:])
        log = re.search(r"(?m)^cmavm: window 1: pool linux,cma \[0x[0-9a-f]+, \+64 MiB\) "
                        r"committed at huge, before the guest starts; largest host-contiguous "
                        r"run ", out)
        self.assertIsNotNone(log, "cmavm did not log the boot window:\n" + out[-3000:])
        self.assertLess(log.start(), re.search(r"(?m)^guest:", out).start())

    def test_3_window_is_listed_at_huge_every_pageblock_one_run(self):
        ok, ws = self.windows
        self.assertTrue(ok, ws)
        self.assertEqual(len(ws), 1)
        w = ws[0]
        self.assertEqual((w["pool"], w["level"], w["offset"], w["length"]),
                         ("linux,cma", "huge", 0, POOL_MIB << 20))
        # Every pageblock on one host-physically contiguous 2 MiB page (pagemap, as root).
        self.assertEqual(w["contiguous_2m"], BLOCKS)
        self.assertGreaterEqual(w["largest_run"], 2 << 20)
        self.assertEqual(w["pause_ns_max"], 0)
        ok, m = self.map
        self.assertTrue(ok, m)
        self.assertEqual([p["blocks"] for p in m["pools"] if p["name"] == "linux,cma"],
                         ["W" * BLOCKS])

    def test_4_one_boot_commit_no_pause_no_move(self):
        ok, st = self.stats
        self.assertTrue(ok, st)
        self.assertEqual(st["boot_commits"], 1)
        self.assertEqual(st["commits"], 1)
        self.assertEqual(st["pauses"], 0)
        self.assertEqual(st["migrations"], 0)
        self.assertEqual(st["rollbacks"], 0)

    def test_5_guest_has_its_pool_and_runs(self):
        out = self.boot_out[self.boot_out.rfind("@@case-exit"):]
        self.assertEqual(common.guest_meminfo(out)["CmaTotal"], POOL_MIB * 1024)
        self.assertEqual([p for p in common.guest_pools(out) if p[0] == "CMA"][0][2], POOL_MIB)
        self.assertEqual(common.guest_run(self.s, "echo $((6*7))").split()[-1], "42")

    def test_6_release_keeps_the_guest_and_its_data(self):
        s = self.s
        common.guest_run(s, "mkdir -p /mnt && mount -t tmpfs -o size=%dm none /mnt && "
                         "dd if=/dev/urandom of=/mnt/data bs=1M count=%d 2>/dev/null"
                         % (FILL_MIB + 16, FILL_MIB))
        before = common.guest_run(s, "md5sum /mnt/data").split()[-2]
        ok, ws = api(s, "GET", "/v1/cma/windows")
        self.assertTrue(ok, ws)
        ok, r = api(s, "PUT", "/v1/cma/windows/release", {"id": ws[0]["id"]})
        self.assertTrue(ok, r)
        self.assertEqual(r["released"], ws[0]["id"])
        ok, ws = api(s, "GET", "/v1/cma/windows")
        self.assertEqual(ws, [])
        ok, st = api(s, "GET", "/v1/cma/stats")
        self.assertEqual((st["releases"], st["boot_commits"]), (1, 1))
        self.assertEqual(common.guest_run(s, "md5sum /mnt/data").split()[-2], before)
        self.assertEqual(common.guest_run(s, "echo $((6*7))").split()[-1], "42")


CONTIGUOUS_JOB = """echo %d > /proc/sys/vm/nr_hugepages
echo "@@case refused"
cmavm run --memory %dM --cma %dM,window=huge --dma-pool gpu:16M,window=contiguous \\
    --cmdline "%s"
echo "@@case-exit refused $?"
cmavm run --memory %dM --cma %dM,window=contiguous --api-socket api.sock --balloon-stats 0 \\
    --cmdline "%s"
echo "@@cmavm-exit=$?"
""" % (BLOCKS + 8, MEMORY_MIB, POOL_MIB, CMDLINE, MEMORY_MIB, POOL_MIB, CMDLINE)


class ContiguousBootWindow(common.unittest.TestCase):
    """The emulated host boots with one 1 GiB page (and 3 GiB, as
    test_cma_contiguous explains)."""

    def test_contiguous_at_boot_and_a_refused_one(self):
        s = common.host("boot_window_contiguous", host_cmdline="hugepagesz=1G hugepages=1",
                        host_memory_mib=3072).start(CONTIGUOUS_JOB)
        try:
            if s.host_shell is None:
                self.skipTest("a real arm64 host's huge pages are its owner's")
            s.expect(r"^guest: shell ready$", 180)
            ok, ws = api(s, "GET", "/v1/cma/windows")
            ok2, st = api(s, "GET", "/v1/cma/stats")
            common.guest_run(s, "true")
            s.send("poweroff -f\n")
            s.expect(r"^@@cmavm-exit=0$", 60)
            s.wait(60)
        finally:
            s.kill()
        out = s.output
        refused = re.search(r"(?ms)^@@case refused$(.*?)^@@case-exit refused (\d+)$", out)
        self.assertEqual(refused[2], "1")
        self.assertIn("cmavm: error: --dma-pool gpu:16M,window=contiguous: the boot window was "
                      "not committed, so the guest does not start: part of the 1 GiB span is "
                      "in another window", refused[1])
        self.assertNotIn("cmavm: console:", refused[1])
        self.assertNotRegex(refused[1], r"(?m)^guest:")

        self.assertTrue(ok, ws)
        self.assertEqual([(w["level"], w["length"]) for w in ws],
                         [("contiguous", POOL_MIB << 20)])
        # One host-physically contiguous run covers the whole window.
        self.assertGreaterEqual(ws[0]["largest_run"], POOL_MIB << 20)
        self.assertTrue(ok2, st)
        self.assertEqual((st["boot_commits"], st["pauses"]), (1, 0))
        tail = out[refused.end():]
        self.assertEqual(common.guest_meminfo(tail)["CmaTotal"], POOL_MIB * 1024)


if __name__ == "__main__":
    common.main()
