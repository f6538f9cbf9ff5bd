#!/usr/bin/env python3
"""The balloon, measured on the host's memfd: inflating by Y MiB gives at
least 90% of Y back to the host, deflating returns it to the guest, and the
guest's statistics arrive through the control socket.

The guest boots with init_on_free=1, so that every free page has been
touched (and is resident) before the balloon takes it; that also turns
free page reporting off (virtballoon_validate), so the two do not mix."""
import common
import testhost

TARGET_MIB = 128
JOB = """cmavm run --balloon-stats 1 --api-socket api.sock \\
    --cmdline "%s init_on_free=1 cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % common.GUEST_CMDLINE


def mem_free_kb(session):
    """MemFree, and the free pages the per-CPU lists hold, which MemFree
    leaves out: 6.12 tunes those lists up to megabytes per CPU (pcp high
    auto-tuning, 6.7), where the pages the balloon gives back land first."""
    out = common.guest_run(session, "awk '/^MemFree:/ {print $2}' /proc/meminfo; "
                           "awk '$1 == \"count:\" {n += $2} END {print n}' /proc/zoneinfo")
    free_kb, pcp_pages = (int(x) for x in out.split())
    return free_kb + pcp_pages * testhost.GUEST_PAGE_SIZE[testhost.choose_guest()] // 1024


class Balloon(common.GuestShellTest):
    JOB, NAME = JOB, "balloon"

    def resident(self):
        return common.ctl_json(self.s, "status")["memory_resident_bytes"]

    def balloon_actual(self):
        return common.ctl_json(self.s, "balloon")["actual_bytes"]

    def test_inflate_releases_and_deflate_returns(self):
        before, free_before = self.resident(), mem_free_kb(self.s)
        common.ctl_json(self.s, "balloon set %dM" % TARGET_MIB)
        got = common.wait_for(lambda: self.balloon_actual() == TARGET_MIB << 20, 30)
        self.assertTrue(got, "the guest did not inflate to %d MiB" % TARGET_MIB)
        inflated, free_inflated = self.resident(), mem_free_kb(self.s)
        self.assertGreaterEqual(before - inflated, 0.9 * (TARGET_MIB << 20),
                                "resident: %d before, %d inflated" % (before, inflated))
        self.assertGreaterEqual(free_before - free_inflated, 0.9 * TARGET_MIB * 1024)
        balloon = [d for d in common.ctl_json(self.s, "devices") if d["type"] == "balloon"][0]
        self.assertGreaterEqual(balloon["counters"]["inflated_pages"], TARGET_MIB * 256)

        common.ctl_json(self.s, "balloon set 0")
        self.assertTrue(common.wait_for(lambda: self.balloon_actual() == 0, 30))
        self.assertGreaterEqual(mem_free_kb(self.s) - free_inflated, 0.9 * TARGET_MIB * 1024)
        # Touching the memory again makes the host back it again.
        common.guest_run(self.s, "dd if=/dev/zero of=/tmp/fill bs=1M count=%d 2>/dev/null; "
                         "rm /tmp/fill" % (TARGET_MIB + 64))
        self.assertGreater(self.resident(), inflated + (TARGET_MIB << 19))

    def test_statistics(self):
        stats = common.wait_for(lambda: self._stats(), 10)
        self.assertTrue(stats, "no statistics from the guest within 10 s")
        self.assertGreater(stats["memtot"], 400 << 20)
        self.assertLessEqual(stats["memfree"], stats["memtot"])
        self.assertLess(stats["updated_s_ago"], 5)
        info = common.ctl_json(self.s, "balloon")
        self.assertTrue(info["deflate_on_oom"])
        self.assertFalse(info["free_page_reporting"])  # init_on_free turns it off
        self.assertEqual(info["stats_interval_s"], 1)

    def _stats(self):
        rc, out = self.s.host("cmavm ctl --socket api.sock --json balloon stats")
        return common.parse_json(out) if rc == 0 else None


if __name__ == "__main__":
    common.main()
