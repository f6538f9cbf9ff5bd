#!/usr/bin/env python3
"""virtio-gpu, seen from both sides. The guest loads its stock virtio_gpu
driver, which binds and makes /dev/fb0; a known pattern written to
/dev/fb0 reaches the host through TRANSFER_TO_HOST_2D, and the host's
screenshot (a PNG through the control API) matches it pixel for pixel.
The scanout's resource lies on one host-physical run (2 MiB huge page
backing, read from pagemap), an exported dma-buf read by tools/gpu's
consumer holds the same pixels, the GPU's rings lie in the default CMA
pool (ACCESS_PLATFORM), and once the guest lets go of the device the
GPU memory in use is back to nothing; and the operator's resize reaches
the guest as a display event and a new preferred mode, while its fbdev
console, whose framebuffer cannot grow, keeps showing on scanout 0."""
import base64
import os
import struct
import tempfile

import common
import screen  # noqa: E402  (tools/, on the path through common)

WIDTH, HEIGHT = 640, 480
STRIDE = WIDTH * 4

JOB = """echo 8 > /proc/sys/vm/nr_hugepages
chmod 755 cmavm-dmabuf
cmavm run --gpu %(w)dx%(h)d --disk pattern.raw,ro --api-socket api.sock \\
    --cmdline "%(g)s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % {"w": WIDTH, "h": HEIGHT, "g": common.GUEST_CMDLINE}


def pixel(x, y):
    """(r, g, b) of the pattern at (x, y): no two pixels alike, yet smooth
    along a row, so that its PNG is small enough to carry back quickly."""
    return (x & 0xff, y & 0xff, (x >> 8) | (y >> 8) << 4)


def pattern_xrgb():
    """The pattern as /dev/fb0 takes it: XRGB8888, bytes B, G, R, X."""
    rows = []
    for y in range(HEIGHT):
        rows.append(b"".join(struct.pack("BBBB", b, g, r, 0)
                             for r, g, b in (pixel(x, y) for x in range(WIDTH))))
    return b"".join(rows)


def host_file(session, path):
    """A file of the emulated host, as bytes (through base64 on its shell)."""
    rc, out = session.host("base64 %s" % path, timeout=300)
    assert rc == 0, out
    return base64.b64decode("".join(out.split()))


class Gpu(common.GuestShellTest):
    NAME = "gpu"
    JOB = JOB

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cmavm-gpu-")
        raw = os.path.join(cls.tmp, "pattern.raw")
        with open(raw, "wb") as f:
            f.write(pattern_xrgb())
        cls.FILES = {"pattern.raw": raw,
                     "cmavm-dmabuf": os.path.join(common.testhost.BUILD_VMM, "tools", "gpu",
                                                  "cmavm-dmabuf")}
        super().setUpClass()
        cls.driver = common.guest_run(cls.s, "dmesg | grep -i virtio.gpu; ls /dev/fb0; "
                                      "cat /sys/class/graphics/fb0/virtual_size "
                                      "/sys/class/graphics/fb0/stride")
        # fbcon would draw its text and cursor over the pattern: let go of the display.
        common.guest_run(cls.s, "for v in /sys/class/vtconsole/vtcon*/bind; do "
                         "echo 0 > $v; done; true")
        # One write of the whole frame: the fbdev emulation takes a write
        # that begins and ends in one scanline for an empty damage rectangle
        # (drm_fb_helper_memory_range_to_clip, 6.1 and 6.12).
        common.guest_run(cls.s, "dd if=/dev/vda of=/dev/fb0 bs=%d count=1 2>/dev/null; "
                         "sleep 1" % (STRIDE * HEIGHT))

    def gpu(self):
        ok, g = common.api(self.s, "GET", "/v1/gpu")
        self.assertTrue(ok, g)
        return g

    def test_1_driver_binds_and_fb0_appears(self):
        self.assertIn("Initialized virtio_gpu", self.driver)
        self.assertIn("/dev/fb0", self.driver)
        self.assertIn("%d,%d" % (WIDTH, HEIGHT), self.driver)
        self.assertIn(str(STRIDE), self.driver)

    def test_2_screenshot_matches_the_pattern(self):
        rc, out = self.s.host("cmavm ctl --socket api.sock screenshot shot.png")
        self.assertEqual(rc, 0, out)
        width, height, rows = screen.png_rgb(host_file(self.s, "shot.png"))
        self.assertEqual((width, height), (WIDTH, HEIGHT))
        bad = [(x, y) for y in range(HEIGHT) for x in range(WIDTH)
               if tuple(rows[y][3 * x:3 * x + 3]) != pixel(x, y)]
        self.assertEqual(bad[:10], [], "%d pixels differ" % len(bad))

    def test_3_scanout_on_one_host_physical_run(self):
        g = self.gpu()
        shown = g["scanouts"][0]["resource_id"]
        res = [r for r in g["resources"] if r["id"] == shown][0]
        self.assertEqual((res["width"], res["height"]), (WIDTH, HEIGHT))
        self.assertTrue(res["contiguous"], res)
        self.assertGreaterEqual(res["largest_run"], WIDTH * HEIGHT * 4)
        self.assertEqual(g["backing"], "huge")

    def test_4_dma_buf_holds_the_same_pixels(self):
        g = self.gpu()
        if not g["export"]["available"]:
            self.fail("dma-buf export unavailable on the emulated host: %s" % g["export"]["why"])
        rc, out = self.s.host("cmavm ctl --socket api.sock gpu export --scanout 0 -- "
                              "./cmavm-dmabuf --expect pattern.raw --checksum")
        self.assertEqual(rc, 0, out)

    def test_5_rings_in_the_default_pool(self):
        pools = common.ctl_json(self.s, "status")["pools"]
        default = [p for p in pools if p["default"]][0]
        gpu = [d for d in common.ctl_json(self.s, "devices") if d["type"] == "gpu"][0]
        self.assertTrue(gpu["features_acked"] & (1 << 33), "ACCESS_PLATFORM not taken")
        queues = [q for q in gpu["queues"] if q["enabled"]]
        self.assertEqual(len(queues), 2)
        for q in queues:
            for area in ("desc", "driver", "device"):
                self.assertTrue(default["base"] <= q[area] < default["base"] + default["size"],
                                "gpu %s area at 0x%x is outside the default pool" % (area, q[area]))

    def test_6_memory_returns_when_the_guest_lets_go(self):
        self.assertGreater(self.gpu()["used_bytes"], 0)
        dev = common.guest_run(self.s, "basename $(readlink -f "
                               "/sys/bus/virtio/drivers/virtio_gpu/virtio*)").split()[-1]
        common.guest_run(self.s, "echo %s > /sys/bus/virtio/drivers/virtio_gpu/unbind" % dev)
        g = common.wait_for(lambda: self.gpu()["used_bytes"] == 0, 30)
        self.assertTrue(g, "GPU memory still in use after the driver let go")
        self.assertEqual(self.gpu()["resources_total"], 0)
        common.guest_run(self.s, "echo %s > /sys/bus/virtio/drivers/virtio_gpu/bind" % dev)
        self.assertTrue(common.wait_for(lambda: self.gpu()["used_bytes"] > 0, 30),
                        "the driver bound again but made no resource")

    def test_7_operator_resizes_the_display(self):
        self.assertEqual(self.preferred(), "%dx%d" % (WIDTH, HEIGHT))
        rc, out = self.s.host("cmavm ctl --socket api.sock gpu display 800x600")
        self.assertEqual(rc, 0, out)
        self.assertEqual((self.gpu()["scanouts"][0]["width"],
                          self.gpu()["scanouts"][0]["height"]), (800, 600))

        self.assertTrue(common.wait_for(lambda: self.preferred() == "800x600", 30),
                        "the guest did not see the new mode")

    def test_8_the_console_stays_on_after_a_resize(self):
        """The demo's resize, PUT /v1/gpu/display to 1280x800, larger than
        the fbdev console's 640x480 framebuffer. On the display event a 6.12
        guest probes its connector for modes no larger than that framebuffer
        and turns the scanout off if none is left (drm_fb_helper_hotplug_event,
        drm_client_modeset_probe); the EDID lists the 640x480 it shows below
        the new preferred mode, so scanout 0 goes on showing a resource."""
        edid = "/sys/class/drm/card0-Virtual-1/edid"
        common.guest_run(self.s, "mkdir -p /tmp; cat %s > /tmp/edid0" % edid)
        ok, out = common.api(self.s, "PUT", "/v1/gpu/display", {"width": 1280, "height": 800})
        self.assertTrue(ok, out)
        # The EDID gives the mode the guest shows unchanged, so it needs no modeset,
        # which would turn the scanout off until the next plane update (6.12's
        # virtio_gpu): scanout 0 shows a resource throughout.
        seen = [self.gpu()["scanouts"][0]["resource_id"] for _ in range(4)]
        self.assertNotIn(None, seen, "scanout 0 went dark while the guest took the event")
        # Once the guest has read the new EDID, its fbdev client probes in the same
        # work item: a second more covers that, even emulated.
        common.guest_run(self.s, "for i in $(seq 100); do cmp -s %s /tmp/edid0 || break; "
                         "sleep 0.1; done; sleep 1; ! cmp -s %s /tmp/edid0" % (edid, edid))
        shown = common.wait_for(lambda: self.gpu()["scanouts"][0]["resource_id"], 5)
        self.assertIsNotNone(shown, "scanout 0 went dark after the resize")
        rc, out = self.s.host("cmavm ctl --socket api.sock screenshot shot8.png")
        self.assertEqual(rc, 0, out)
        width, height, _ = screen.png_rgb(host_file(self.s, "shot8.png"))
        self.assertIn((width, height), [(WIDTH, HEIGHT), (1280, 800)])
        self.assertEqual(self.preferred(), "1280x800")
        self.assertEqual(self.gpu()["scanouts"][0]["resource_id"], shown)

    def preferred(self):
        """The guest connector's first (preferred) mode. The guest re-reads
        the display info and EDID on the display event, but a connector
        that stays connected sends userspace no hotplug event
        (drm_helper_hpd_irq_event, 6.1): its modes are probed again when
        userspace asks, as a compositor would and "detect" does."""
        out = common.guest_run(self.s, "cd /sys/class/drm/card0-Virtual-1; "
                               "echo detect > status; cat modes")
        return out.split()[0] if out.split() else ""


if __name__ == "__main__":
    common.main()
