#!/usr/bin/env python3
"""Where the guest's virtio DMA lands. With VIRTIO_F_ACCESS_PLATFORM the
drivers allocate their rings with dma_alloc_coherent(), so every ring
address they program lies inside the default CMA pool and the guest's
CmaFree falls by at least the rings' size when the drivers load. Without
it the rings come from ordinary pages, outside every pool. A pool given
to a virtio-mmio node through memory-region is not used by the stock
driver, and cmavm says so.

The balloon driver never takes ACCESS_PLATFORM (virtballoon_validate
clears it), so its rings are ordinary pages either way."""
import re

import common

JOB = """dd if=/dev/zero of=disk.img bs=1M count=8 2>/dev/null
cmavm run --disk disk.img,pool=blkpool --dma-pool blkpool:16M --api-socket api.sock \\
    --cmdline "%(g)s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
cmavm run --no-access-platform --disk disk.img --api-socket api.sock \\
    --cmdline "%(g)s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % {"g": common.GUEST_CMDLINE}

PAGE = 4096


def ring_bytes(size):
    """What the driver allocates for a split ring of @size entries
    (vring_size() with virtio-mmio's 4 KiB alignment), in pages."""
    avail_end = 16 * size + 6 + 2 * size
    total = -(-avail_end // PAGE) * PAGE + 6 + 8 * size
    return -(-total // PAGE) * PAGE


def inside(addr, pool):
    return pool["base"] <= addr < pool["base"] + pool["size"]


class Dma(common.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = common.host("dma").start(JOB)
        try:
            cls.runs = []
            for _ in range(2):
                m = s.expect(r"(?s)^(.*?)^guest: shell ready$", 180)
                text = m[1]
                pools = common.ctl_json(s, "status")["pools"]
                devices = common.ctl_json(s, "devices")
                s.send("poweroff -f\n")
                s.expect(r"^@@cmavm-exit=0$", 60)
                cls.runs.append((text, pools, devices))
            s.wait(60)
        finally:
            s.kill()

    def queues(self, devices, dma_api_only=False):
        """Enabled queues; with @dma_api_only, of devices that took ACCESS_PLATFORM."""
        return [(d["name"], q) for d in devices for q in d["queues"]
                if q["enabled"] and (not dma_api_only or d["features_acked"] & (1 << 33))]

    def test_balloon_refuses_access_platform(self):
        for text, pools, devices in self.runs:
            balloon = [d for d in devices if d["type"] == "balloon"][0]
            self.assertEqual(balloon["features_acked"] & (1 << 33), 0)

    def test_rings_inside_the_default_pool(self):
        text, pools, devices = self.runs[0]
        default = [p for p in pools if p["default"]][0]
        queues = self.queues(devices, dma_api_only=True)
        # The guest agent's console: six queues (port 0's, control, port 1's).
        self.assertEqual(sorted(set(n for n, _ in queues)),
                         ["virtio-blk0", "virtio-console0", "virtio-rng0"])
        for name, q in queues:
            for area in ("desc", "driver", "device"):
                self.assertTrue(inside(q[area], default), "%s %s area at 0x%x is outside "
                                "the default pool %s" % (name, area, q[area], default))

    def test_cma_free_falls_by_the_rings(self):
        text, pools, devices = self.runs[0]
        before = int(re.search(r"cma-free-before-drivers: (\d+) kB", text)[1])
        after = int(re.search(r"cma-free-after-drivers: (\d+) kB", text)[1])
        rings = sum(ring_bytes(q["size"]) for _, q in self.queues(devices, dma_api_only=True))
        self.assertGreaterEqual((before - after) * 1024, rings,
                                "CmaFree fell by %d kB, the rings take %d kB"
                                % (before - after, rings // 1024))

    def test_memory_region_pool_is_not_used_and_cmavm_warns(self):
        text, pools, devices = self.runs[0]
        self.assertIn("never claims a memory-region pool", text)
        blkpool = [p for p in pools if p["name"] == "blkpool"][0]
        for name, q in self.queues(devices):
            for area in ("desc", "driver", "device"):
                self.assertFalse(inside(q[area], blkpool))
        # The guest made the pool all the same.
        self.assertRegex(text, r"created CMA memory pool at 0x0*%x, size 16 MiB"
                         % blkpool["base"])

    def test_without_access_platform_rings_are_outside_every_pool(self):
        text, pools, devices = self.runs[1]
        for d in devices:
            self.assertEqual(d["features_acked"] & (1 << 33), 0)
        for name, q in self.queues(devices):
            for area in ("desc", "driver", "device"):
                for p in pools:
                    self.assertFalse(inside(q[area], p), "%s %s in %s" % (name, area, p["name"]))
        before = int(re.search(r"cma-free-before-drivers: (\d+) kB", text)[1])
        after = int(re.search(r"cma-free-after-drivers: (\d+) kB", text)[1])
        self.assertLess(before - after, 64)


if __name__ == "__main__":
    common.main()
