#!/usr/bin/env python3
"""How a VM ends and what it boots from: a guest reset ends cmavm with 0,
Ctrl-a x on the terminal stops it, a gzip-compressed Image boots, and a
guest with RAM across 4 GiB gets a pool pinned above 4 GiB where cmavm
put it (ZONE_NORMAL) and the default pool below (ZONE_DMA), as the VM's
status answers while the guest runs."""
import gzip
import os
import re
import shutil
import tempfile

import common

G = common.GUEST_CMDLINE
JOB = """# (a guest stopped mid-line, as Ctrl-a x does, leaves the line open: echo ends it)
echo "@@step reset"
cmavm run --cmdline "%(g)s cmavm.mode=reboot"
rc=$?; echo; echo "@@step-exit reset $rc"
echo "@@step escape"
cmavm run --cmdline "%(g)s cmavm.mode=shell"
rc=$?; echo; echo "@@step-exit escape $rc"
echo "@@step gzip"
cmavm run --kernel Image.gz --initrd initrd.img --cmdline "%(g)s"
rc=$?; echo; echo "@@step-exit gzip $rc"
echo "@@step high"
cmavm run --memory 3G --dma-pool high:16M@0x100000000 --api-socket api.sock \
    --cmdline "%(g)s cmavm.mode=shell"
rc=$?; echo; echo "@@step-exit high $rc"
""" % {"g": G}


class Lifecycle(common.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = tempfile.mkdtemp()
        image_gz = os.path.join(tmp, "Image.gz")
        host = common.host("lifecycle")
        with open(os.path.join(host.guest_dir, "Image"), "rb") as src, \
                gzip.open(image_gz, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst)
        initrd = os.path.join(host.guest_dir, "initrd.img")
        s = host.start(JOB, files={"Image.gz": image_gz, "initrd.img": initrd})
        try:
            s.expect(r"^guest: shell ready$", 180)
            s.send("\x01x")  # Ctrl-a x
            s.expect(r"^@@step high$", 300)
            s.expect(r"^guest: shell ready$", 240)
            cls.high_pools = common.vm_pools(s)
            s.send("poweroff -f\n")
            s.expect(r"^@@step-exit high \d+$", 60)
            s.wait(60)
        finally:
            s.kill()
            shutil.rmtree(tmp)
        cls.steps = {m[1]: (m[2], int(m[3])) for m in re.finditer(
            r"(?ms)^@@step (\S+)$(.*?)^@@step-exit \1 (\d+)$", s.output)}

    def test_reset_ends_cmavm_with_0(self):
        text, rc = self.steps["reset"]
        self.assertIn("guest: resetting", text)
        self.assertIn("cmavm: the guest asked for a reset", text)
        self.assertEqual(rc, 0)

    def test_ctrl_a_x_stops_the_vm(self):
        text, rc = self.steps["escape"]
        self.assertIn("cmavm: console: Ctrl-a x typed, stopping the VM", text)
        self.assertNotIn("guest: powering off", text)
        self.assertEqual(rc, 0)

    def test_gzip_image_boots(self):
        text, rc = self.steps["gzip"]
        self.assertIn("inflated from gzip", text)
        self.assertRegex(text, r"(?m)^guest: up: ")
        self.assertIn("guest: powering off", text)
        self.assertEqual(rc, 0)

    def test_pools_on_both_sides_of_4g(self):
        text, rc = self.steps["high"]
        self.assertEqual(rc, 0)
        high, default = self.high_pools["high"], self.high_pools["linux,cma"]
        self.assertEqual(high["base"], 0x100000000)
        self.assertLess(default["base"] + default["size"], 0x100000001)
        self.assertIn("below 4 GiB", default["why"])
        guest = common.guest_pools(text)
        self.assertIn(("CMA", 0x100000000, 16), guest)
        self.assertIn(("CMA", default["base"], 64), guest)
        self.assertEqual(common.guest_meminfo(text)["CmaTotal"], 80 * 1024)


if __name__ == "__main__":
    common.main()
