#!/usr/bin/env python3
"""`cmavm dtb check` agrees with each guest kernel. Pools that cmavm's own
checks would refuse are booted through the test-only $CMAVM_TEST_RAW_POOLS
(vmm/machine/test_pools.h), on 6.1, 6.12 and 6.12 with 16 KiB pages:

- A: a CMA pool aligned for 4 KiB pages, not for 16 KiB (a 2 MiB pageblock
  boundary, not a 32 MiB one);
- B: reusable with no-map, which neither handler takes;
- C: more CMA pools than the guest has areas (20), written in descending
  address order, so that 6.1 (handlers by ascending base) and 6.12
  (handlers in DT order) refuse different ones;
- D: a CMA pool across the 4 GiB boundary of ZONE_DMA, made at boot and
  refused when the kernel activates its areas.

The same DTB (written by --dry-run --dump-dtb with the same pools) is
judged by `cmavm dtb check --guest SERIES --page-size SIZE --json`; for
every pool its verdict must be what that kernel did, as its own dmesg
says, and the CmaTotal it predicts what the guest's /proc/meminfo says."""
import os
import re

import common
import testhost

MIB = 1 << 20
MEMORY = "3584M"  # RAM 0x80000000-0x160000000: across 4 GiB
MANY = 21
# The many pools lie above the others, so that by either order they are the
# ones left without an area.
POOLS = (["a16k@0xc0200000+2M:reusable", "rnomap@0xf0000000+4M:reusable:no-map",
          "zone@0xfe000000+64M:reusable"]
         + ["many%02d@0x%x+32M:reusable" % (i, 0x104000000 + (MANY - 1 - i) * 32 * MIB)
            for i in range(MANY)])
FLAGS = "--memory %s --cma 0 --agent-interval 0 --balloon-stats 0" % MEMORY
JOB = """export CMAVM_TEST_RAW_POOLS='%(pools)s'
cmavm run %(flags)s --dry-run --dump-dtb raw.dtb >/dev/null 2>&1
echo "@@check-begin"
cmavm dtb check --guest %(series)s --page-size %(page)s --json raw.dtb
echo "@@check-end=$?"
cmavm run %(flags)s --cmdline "%(cmdline)s"
echo "@@cmavm-exit=$?"
"""
SERIES = {"6.1": "6.1", "6.12": "6.12", "6.12-16k": "6.12"}

CREATED = re.compile(r"Reserved memory: created (CMA|DMA) memory pool at 0x([0-9a-f]+), size")
FAILED = re.compile(r"OF: reserved mem: node (\S+) compatible matching fail")
INACTIVE = re.compile(r"cma: CMA area (\S+) could not be activated")


def guest_verdicts(dmesg, pools):
    """{node name: (verdict, why)} from what the guest printed, in order:
    the unnamed lines before a "matching fail" are that node's reasons."""
    by_base = {base: name for name, base in pools.items()}
    verdicts, pending = {}, []
    for line in dmesg:
        m = CREATED.search(line)
        if m:
            name = by_base.get(int(m[2], 16))
            verdicts[name] = ("cma" if m[1] == "CMA" else "coherent", "")
            pending = []
            continue
        m = FAILED.search(line) or INACTIVE.search(line)
        if m:
            why = " ".join(pending) or line
            verdicts[m[1]] = ("rejected", why if FAILED.search(line) else line)
            pending = []
            continue
        if "Reserved memory:" in line or "cma:" in line:
            pending.append(line)
    return verdicts


def node_name(spec):
    name, rest = spec.split("@", 1)
    base = int(rest.split("+")[0], 16)
    return "%s@%x" % (name, base), base


class DtbRules:
    """One kernel's boot of the bad pools; the test classes name it."""

    @classmethod
    def setUpClass(cls):
        wanted = os.environ.get("CMAVM_GUEST_KERNELS")
        if wanted and cls.GUEST not in wanted.split():
            raise common.unittest.SkipTest("not in $CMAVM_GUEST_KERNELS")
        page = testhost.GUEST_PAGE_SIZE[cls.GUEST]
        job = JOB % {"pools": " ".join(POOLS), "flags": FLAGS, "series": SERIES[cls.GUEST],
                     "page": "%dK" % (page // 1024), "cmdline": common.GUEST_CMDLINE}
        s = common.host("dtb_rules_" + cls.GUEST, guest=cls.GUEST).start(job)
        try:
            m = s.expect(r"(?s)^@@check-begin$(.*?)^@@check-end=(\d+)$", 120)
            cls.check, cls.check_rc = common.parse_json(m[1]), int(m[2])
            cls.exit = int(s.expect(r"^@@cmavm-exit=(\d+)$", 240)[1])
            s.wait(60)
        finally:
            s.kill()
        cls.out = s.output
        cls.pools = dict(node_name(p) for p in POOLS)
        dmesg = [l[len("guest: dmesg: "):] for l in cls.out.splitlines()
                 if l.startswith("guest: dmesg: ")]
        cls.guest = guest_verdicts(dmesg, cls.pools)
        cls.judged = {e["path"].rsplit("/", 1)[-1]: e for e in cls.check["entries"]}

    def test_the_guest_booted_and_judged_every_pool(self):
        self.assertEqual(self.exit, 0, self.out[-3000:])
        self.assertEqual(sorted(self.guest), sorted(self.pools),
                         "pools the guest said nothing of: %s"
                         % sorted(set(self.pools) - set(self.guest)))

    def test_verdict_of_every_pool_matches_the_kernel(self):
        self.assertEqual(self.check_rc, 1, "the check must reject some of these pools")
        wrong = ["%s: guest %s (%s), dtb check %s (%s)"
                 % (name, self.guest[name][0], self.guest[name][1],
                    self.judged[name]["verdict"], self.judged[name].get("reason", ""))
                 for name in self.pools
                 if name in self.guest and self.guest[name][0] != self.judged[name]["verdict"]]
        self.assertEqual(wrong, [])

    def test_cma_total_matches(self):
        info = common.guest_meminfo(self.out)
        self.assertEqual(info["CmaTotal"] * 1024, self.check["cma_total"])

    def many(self, i):
        return "many%02d@%x" % (i, 0x104000000 + (MANY - 1 - i) * 32 * MIB)

    def expect(self, name, verdict, words):
        self.assertEqual(self.guest[name][0], verdict, self.guest[name])
        self.assertEqual(self.judged[name]["verdict"], verdict)
        if verdict == "rejected":
            self.assertIn(words, self.guest[name][1])
            self.assertIn(words, self.judged[name]["reason"])


class Linux61(DtbRules, common.unittest.TestCase):
    GUEST = "6.1"

    def test_cases(self):
        self.expect("a16k@c0200000", "cma", "")
        self.expect("rnomap@f0000000", "rejected", "compatible matching fail")
        self.expect("zone@fe000000", "rejected", "could not be activated")
        # ascending base: the highest-addressed pools find no area (23 for 20)
        for i in range(MANY):
            self.expect(self.many(i), "rejected" if i < 3 else "cma", "Not enough slots")


class Linux612(DtbRules, common.unittest.TestCase):
    GUEST = "6.12"

    def test_cases(self):
        self.expect("a16k@c0200000", "cma", "")
        self.expect("rnomap@f0000000", "rejected", "compatible matching fail")
        self.expect("zone@fe000000", "rejected", "could not be activated")
        # DT order: the last pools written find no area (23 for 20)
        for i in range(MANY):
            self.expect(self.many(i), "rejected" if i >= MANY - 3 else "cma", "Not enough slots")


class Linux612Pages16K(DtbRules, common.unittest.TestCase):
    GUEST = "6.12-16k"

    def test_cases(self):
        self.expect("a16k@c0200000", "rejected", "incorrect alignment of CMA region")
        self.expect("rnomap@f0000000", "rejected", "compatible matching fail")
        self.expect("zone@fe000000", "rejected", "could not be activated")
        # a16k takes no area here: 22 for 20, the last two in DT order go without
        for i in range(MANY):
            self.expect(self.many(i), "rejected" if i >= MANY - 2 else "cma", "Not enough slots")


if __name__ == "__main__":
    common.main()
