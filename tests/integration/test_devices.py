#!/usr/bin/env python3
"""virtio-blk, virtio-rng, free page reporting and the control socket, seen
from both sides: the guest writes and reads its disk, reads entropy, frees
memory; the host checks the image bytes, the device counters and its own
resident memory."""
import hashlib
import os

import common

IMAGE_MIB = 64
PATTERN = b"\xaa"
FILL_MIB = 128
JOB = """chmod +x cmavm-bench
dd if=/dev/zero bs=1M count=%d 2>/dev/null | tr '\\000' '\\252' > disk.img
cmavm run --disk disk.img --api-socket api.sock --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % (IMAGE_MIB, common.GUEST_CMDLINE)


def md5(data):
    return hashlib.md5(data).hexdigest()


class Devices(common.GuestShellTest):
    JOB, NAME = JOB, "devices"
    FILES = {"cmavm-bench": os.path.join(common.testhost.BUILD_VMM, "tools", "bench",
                                         "cmavm-bench")}

    @classmethod
    def tearDownClass(cls):
        # The last endpoint: shutdown through the API ends cmavm with 0.
        try:
            common.ctl_json(cls.s, "shutdown")
            # (after the guest shell's prompt, on the same line)
            cls.s.expect(r"cmavm: shutdown requested through the control socket$", 30)
            cls.s.expect(r"^@@cmavm-exit=0$", 60)
            cls.s.wait(60)
        finally:
            cls.s.kill()

    def host_md5(self, skip_mib, count_mib):
        rc, out = self.s.host("dd if=disk.img bs=1M skip=%d count=%d 2>/dev/null | md5sum"
                              % (skip_mib, count_mib))
        self.assertEqual(rc, 0)
        return out.split()[0]

    def test_blk_write_then_read_back(self):
        out = common.guest_run(
            self.s, "dd if=/dev/urandom of=/tmp/pat bs=1M count=1 2>/dev/null && "
            "dd if=/tmp/pat of=/dev/vda bs=1M seek=4 conv=fsync 2>/dev/null && "
            "echo 3 > /proc/sys/vm/drop_caches && "
            "echo pat=$(md5sum < /tmp/pat) && "
            "echo disk=$(dd if=/dev/vda bs=1M skip=4 count=1 2>/dev/null | md5sum)")
        pat = out.split("pat=")[1].split()[0]
        disk = out.split("disk=")[1].split()[0]
        self.assertEqual(pat, disk, "the guest read back something else than it wrote")
        # The host sees exactly those bytes, and nothing else of the image changed.
        self.assertEqual(self.host_md5(4, 1), pat)
        self.assertEqual(self.host_md5(0, 4), md5(PATTERN * (4 << 20)))
        self.assertEqual(self.host_md5(5, IMAGE_MIB - 5), md5(PATTERN * ((IMAGE_MIB - 5) << 20)))
        blk = [d for d in common.ctl_json(self.s, "devices") if d["type"] == "blk"][0]
        self.assertGreaterEqual(blk["counters"]["bytes_written"], 1 << 20)
        self.assertGreaterEqual(blk["counters"]["flushes"], 1)
        self.assertEqual(blk["counters"]["errors"], 0)

    def test_blk_reads_outside_the_disk_fail(self):
        # A read past the end is refused by the guest's block layer before it
        # reaches us; the device itself refuses out-of-range requests (unit tests).
        out = common.guest_run(self.s, "cat /sys/block/vda/size")
        self.assertEqual(int(out.strip().splitlines()[-1]), IMAGE_MIB * 2048)

    def test_rng_gives_entropy(self):
        out = common.guest_run(
            self.s, "cat /sys/class/misc/hw_random/rng_current && "
            "dd if=/dev/hwrng bs=32 count=2 2>/dev/null | od -An -tx1")
        self.assertIn("virtio_rng", out)
        lines = out.strip().splitlines()
        self.assertIn("virtio_rng", lines[0])
        hexbytes = "".join("".join(lines[1:]).split())
        self.assertEqual(len(hexbytes), 128)
        self.assertNotEqual(hexbytes, "0" * 128)
        rng = [d for d in common.ctl_json(self.s, "devices") if d["type"] == "rng"][0]
        self.assertGreaterEqual(rng["counters"]["bytes"], 64)

    def test_free_page_reporting_gives_memory_back(self):
        status = common.ctl_json(self.s, "status")
        common.guest_run(self.s, "dd if=/dev/zero of=/tmp/fill bs=1M count=%d 2>/dev/null"
                         % FILL_MIB)
        filled = common.ctl_json(self.s, "status")["memory_resident_bytes"]
        self.assertGreater(filled - status["memory_resident_bytes"], FILL_MIB << 19)
        common.guest_run(self.s, "rm /tmp/fill")
        want = filled - int(0.8 * (FILL_MIB << 20))
        # Within 5 s of the free (the guest reports after 2 s).
        now = common.wait_for(
            lambda: (lambda r: r if r <= want else 0)(
                common.ctl_json(self.s, "status")["memory_resident_bytes"]), 5)
        self.assertTrue(now, "resident guest memory did not fall by 80%% of %d MiB within 5 s"
                        % FILL_MIB)
        balloon = common.ctl_json(self.s, "balloon")
        self.assertTrue(balloon["free_page_reporting"])

    def test_status_and_devices_endpoints(self):
        st = common.ctl_json(self.s, "status")
        self.assertEqual(st["state"], "running")
        self.assertEqual(st["vcpus"], 2)
        self.assertEqual(st["memory_bytes"], 512 << 20)
        self.assertEqual([p["name"] for p in st["pools"]], ["linux,cma"])
        devs = common.ctl_json(self.s, "devices")
        self.assertEqual(sorted(d["type"] for d in devs), ["balloon", "blk", "console", "rng"])
        for d in devs:
            self.assertEqual(d["status"] & 0x4, 0x4, "%s is not DRIVER_OK" % d["name"])

    def test_pause_and_resume(self):
        self.assertEqual(common.ctl_json(self.s, "pause")["state"], "paused")
        rc, out = self.s.host("cmavm ctl --socket api.sock pause")
        self.assertNotEqual(rc, 0)
        self.assertIn("paused", out)
        # While paused the guest does not answer; after resume it does.
        self.s.send("echo after-resume-$((40+2))\n")
        with self.assertRaises(common.testhost.Timeout):
            self.s.expect(r"^after-resume-42$", 3)
        self.assertEqual(common.ctl_json(self.s, "resume")["state"], "running")
        self.s.expect(r"^after-resume-42$", 30)

    def raw_http(self, shell_bytes):
        """Send what the shell pipeline @shell_bytes prints, as it is; the answer."""
        rc, out = self.s.host("{ %s; } | ./cmavm-bench unix api.sock" % shell_bytes)
        self.assertEqual(rc, 0, out)
        return out

    def test_malformed_http_gets_4xx_and_the_vm_runs_on(self):
        cases = (
            (r"printf 'GET /v1/vm HTTP/9.9\r\n\r\n'", "400"),
            (r"head -c 300 /dev/urandom", "400"),
            (r"printf 'GET /v1/vm HTTP/1.1\r\nX: '; head -c 9000 /dev/zero | tr '\000' a; "
             r"printf '\r\n\r\n'", "431"),
            (r"printf 'PUT /v1/balloon HTTP/1.1\r\nContent-Type: application/json\r\n"
             r"Content-Length: 99999999\r\n\r\n'", "413"),
            (r"printf 'PUT /v1/balloon HTTP/1.1\r\nContent-Type: text/plain\r\n"
             r"Content-Length: 2\r\n\r\n{}'", "415"),
        )
        for request, status in cases:
            out = self.raw_http(request)
            self.assertRegex(out, r"^HTTP/1.1 %s " % status, request)
            self.assertIn('"error"', out, request)
        self.assertEqual(common.ctl_json(self.s, "status")["state"], "running")
        common.guest_run(self.s, "true")

    def test_bad_requests_get_4xx_and_the_vm_runs_on(self):
        for args, code in (("raw GET /v1/nothing", "404"),
                           ("raw PUT /v1/balloon '{\"target_mib\": '", "400"),
                           ("raw PUT /v1/balloon '{\"colour\": 1}'", "400"),
                           ("raw DELETE /v1/vm", "405"),
                           ("balloon set 100G", "400")):
            rc, out = self.s.host("cmavm ctl --socket api.sock " + args)
            self.assertNotEqual(rc, 0, args)
            self.assertIn("cmavm: error:", out, args)
        self.assertEqual(common.ctl_json(self.s, "status")["state"], "running")
        common.guest_run(self.s, "true")


if __name__ == "__main__":
    common.main()
