#!/usr/bin/env python3
"""Boot the demo guest with pools and check, from the guest's own words,
that each pool is where cmavm placed it (as the VM's status answers), that
the guest has every vCPU, that typed input reaches it, and that its
power-off ends cmavm with 0."""
import common

CPUS = 3
JOB = """cmavm run --cpus %d --dma-pool gpu:16M --dma-pool fw:4M:no-map \\
    --dma-pool pinned:8M@0x90000000 --api-socket api.sock --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % (CPUS, common.GUEST_CMDLINE)


class BootDemoGuest(common.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = common.host("boot").start(JOB)
        try:
            s.expect(r"^guest: shell ready$", 180)
            cls.plan = common.vm_pools(s)
            s.send("echo typed-$((6*7))\n")
            cls.echo = s.expect(r"^typed-(\d+)$", 60)
            s.send("poweroff -f\n")
            cls.exit = int(s.expect(r"^@@cmavm-exit=(\d+)$", 60)[1])
            s.wait(60)
        finally:
            s.kill()
        cls.out = s.output
        cls.guest = common.guest_pools(cls.out)

    def test_plan_has_every_pool(self):
        self.assertEqual(sorted(self.plan), ["fw", "gpu", "linux,cma", "pinned"])
        self.assertEqual(self.plan["pinned"]["base"], 0x90000000)

    def test_printed_plan_agrees_with_the_api(self):
        for name, p in self.plan.items():
            self.assertIn("cmavm: pool %s at 0x%x size %d MiB (" % (name, p["base"], p["size"] >> 20),
                          self.out, "the plan cmavm printed disagrees with GET /v1/vm")
            self.assertIn("): %s" % p["why"], self.out)

    def test_every_reusable_pool_is_created_where_planned(self):
        for name, p in self.plan.items():
            want = ("CMA" if p["kind"] == "cma" else "DMA", p["base"], p["size"] >> 20)
            self.assertIn(want, self.guest,
                          "pool %s: the guest did not report %s; it said %s"
                          % (name, want, self.guest))
        self.assertEqual(len(self.guest), len(self.plan))

    def test_cma_total_is_the_sum_of_reusable_pools(self):
        reusable = sum(p["size"] >> 20 for p in self.plan.values() if p["kind"] == "cma")
        info = common.guest_meminfo(self.out)
        self.assertEqual(info["CmaTotal"], reusable * 1024)
        self.assertLessEqual(info["CmaFree"], info["CmaTotal"])

    def test_guest_sees_every_vcpu(self):
        self.assertRegex(self.out, r"(?m)^guest: up: .*, %d CPUs online$" % CPUS)

    def test_console_input_reaches_the_guest(self):
        self.assertEqual(self.echo[1], "42")

    def test_guest_power_off_ends_cmavm_with_0(self):
        self.assertIn("cmavm: the guest powered off", self.out)
        self.assertEqual(self.exit, 0)


if __name__ == "__main__":
    common.main()
