#!/usr/bin/env python3
"""Bad pool flags stop cmavm before any guest starts, with a message that
names the flag; --cma 0 really leaves the guest without CMA (and cmavm
tells it so on its command line, as the VM's status answers). A dry run
looks at every disk and tap as the devices would, and tells every problem;
a VM's --name is in its status and a second VM of that name is refused."""
import re

import common

# name: (flags, what the message must say); a bad flag exits 2, a plan that
# cannot be made exits 1.
FLAG_ERRORS = {"bad-kind", "bad-name", "bad-seccomp", "gpu-bad-mode", "gpu-tiny",
               "gpu-mem-short", "gpu-bad-backing", "net-no-tap", "net-multicast", "net-twice",
               "vm-name-bad", "log-level-bad"}
# What a dry run of "dry-run-inputs" finds: each input as its device would open it.
RO_SYSFS_FILE = "/sys/class/net/lo/address"  # read-only, even for root
DRY_RUN_ERRORS = [
    "--disk /nonexistent.img: cannot find the image: No such file or directory",
    "--disk /tmp: this is a directory, not a disk image",
    "--disk %s: cannot open the image for writing (add ,ro for read-only): Permission denied"
    % RO_SYSFS_FILE,
    "--net tap=nosuch: there is no tap nosuch: create it: sudo ip tuntap add dev nosuch mode "
    "tap user 0",
]
CASES = {
    "unaligned-size": ("--cma 3M", "--cma 3M: size 3 MiB is not a multiple"),
    "unaligned-address": ("--dma-pool gpu:16M@0x90100000",
                          "--dma-pool gpu:16M@0x90100000: address 0x90100000 is not aligned"),
    "too-large": ("--cma 600M", "--cma 600M: size 600 MiB is larger than guest RAM (512 MiB)"),
    "too-little-left": ("--cma 256M --dma-pool big:200M",
                        "lower --cma or --dma-pool sizes, or raise --memory"),
    "overlapping": ("--dma-pool a:16M@0x90000000 --dma-pool b:16M@0x90800000",
                    "--dma-pool b:16M@0x90800000: [0x90800000, 0x91800000) overlaps "
                    "--dma-pool a:16M@0x90000000"),
    "over-kernel": ("--cma 64M@0x80000000", "--cma 64M@0x80000000 overlaps the kernel Image"),
    "outside-ram": ("--dma-pool hi:8M@0x200000000", "is outside guest RAM"),
    "bad-kind": ("--dma-pool x:4M:nomap", "unknown pool kind 'nomap'"),
    "bad-name": ("--dma-pool Bad:4M", "must start with a lower-case letter"),
    "bad-seccomp": ("--seccomp maybe", "--seccomp maybe: give on (the default), log or off"),
    "cma-on-cmdline": ("--cmdline 'console=ttyS0 cma=32M'",
                       "--cmdline has cma=, which makes the guest ignore the default pool"),
    "gpu-bad-mode": ("--gpu 640by480", "--gpu 640by480: '640by480' is not a display mode; "
                     "give WIDTHxHEIGHT"),
    "gpu-tiny": ("--gpu 8x8", "--gpu 8x8: a display is 16 to 8192 pixels wide and high"),
    "gpu-mem-short": ("--gpu 1024x768,mem=2M", "--gpu 1024x768,mem=2M: mem=2 MiB holds no "
                      "1024x768 frame (4 MiB on huge pages); give mem=18 MiB or more"),
    "gpu-bad-backing": ("--gpu backing=gigantic", "--gpu backing=gigantic: backing=gigantic: "
                        "give huge"),
    "net-no-tap": ("--net mac=02:00:00:00:00:01", "--net mac=02:00:00:00:00:01: name the tap"),
    "net-multicast": ("--net tap=tap0,mac=01:00:5e:00:00:01",
                      "mac=01:00:5e:00:00:01 is a multicast address"),
    "net-twice": ("--net tap=tap0 --net tap=tap0",
                  "--net tap=tap0: tap tap0 is already --net tap=tap0's; one device a tap"),
    "net-missing-tap": ("--net tap=nosuch", "--net tap=nosuch: there is no tap nosuch: create "
                        "it: sudo ip tuntap add dev nosuch mode tap user 0"),
    "vm-name-bad": ("--name a/b", "--name 'a/b': the name has '/' (letters, digits, '.', '_' "
                    "and '-' only); give one like --name web-1"),
    "log-level-bad": ("--log-level loud", "--log-level loud: unknown log level 'loud'; levels: "
                      "error, warn, info, debug"),
    "missing-disk": ("--disk /nonexistent.img", "--disk /nonexistent.img: cannot find the "
                     "image: No such file or directory"),
    "dry-run-inputs": ("--dry-run --disk /nonexistent.img --disk /tmp --disk %s --disk %s,ro "
                       "--net tap=nosuch" % (RO_SYSFS_FILE, RO_SYSFS_FILE),
                       "--dry-run: 4 problems above; a real run would stop at the first"),
    # The emulated host starts with no huge pages: the GPU region cannot be made.
    "gpu-no-huge-pages": ("--gpu", "the GPU memory region (--gpu) needs 9 free 2 MiB huge "
                          "pages and the host has 0 free, so the guest does not start; add "
                          "them as root: echo 9 > /proc/sys/vm/nr_hugepages"),
}


CMA0_CMDLINE = common.GUEST_CMDLINE + " cmavm.mode=shell"
# The --cma 0 VM is named: its socket is ./cmavm-cma0.sock, with $XDG_RUNTIME_DIR at "."
NAMED = "XDG_RUNTIME_DIR=. cmavm run --name cma0"


def job():
    lines = []
    for name, (flags, _) in CASES.items():
        lines += ['echo "@@case %s"' % name, "cmavm run %s" % flags,
                  'echo "@@case-exit %s $?"' % name]
    lines += ['%s --cma 0 --cmdline "%s" --cmdline-append cmavm.mode=shell'
              % (NAMED, common.GUEST_CMDLINE), 'echo "@@cma0-exit $?"']
    return "\n".join(lines)


class BadPoolFlags(common.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = common.host("bad_flags").start(job())
        try:
            s.expect(r"^guest: shell ready$", 240)
            cls.cma0_status = common.ctl_json(s, "status", sock="cmavm-cma0.sock")
            cls.second = s.host(NAMED + " --dry-run")
            s.send("poweroff -f\n")
            s.expect(r"^@@cma0-exit \d+$", 60)
            s.wait(60)
        finally:
            s.kill()
        cls.out = s.output
        cls.case_out = {}
        for m in re.finditer(r"(?ms)^@@case (\S+)$(.*?)^@@case-exit \1 (\d+)$", cls.out):
            cls.case_out[m[1]] = (m[2], int(m[3]))

    def test_each_bad_flag_fails_before_the_guest_with_a_clear_message(self):
        self.assertEqual(sorted(self.case_out), sorted(CASES))
        for name, (_, message) in CASES.items():
            text, rc = self.case_out[name]
            with self.subTest(case=name):
                self.assertEqual(rc, 2 if name in FLAG_ERRORS else 1)
                self.assertIn(message, text)
                self.assertIn("cmavm: error: ", text)
                # Nothing of a VM: no console handed over, no guest line.
                self.assertNotIn("cmavm: console:", text)
                self.assertNotRegex(text, r"(?m)^guest:")

    def test_dry_run_tells_every_input_problem(self):
        text, _ = self.case_out["dry-run-inputs"]
        for message in DRY_RUN_ERRORS:
            with self.subTest(message=message):
                self.assertIn("cmavm: error: " + message, text)
        # read-only, the same file is fine: no error names it but the one above
        self.assertEqual(text.count("--disk %s:" % RO_SYSFS_FILE), 1)
        # the plan all the same
        self.assertIn("cmavm: virtio-blk3 at ", text)

    def test_a_named_vm(self):
        self.assertEqual(self.cma0_status["name"], "cma0")
        self.assertIn("cmavm: control socket: ./cmavm-cma0.sock (cmavm ctl --name cma0 status)",
                      self.out)
        rc, out = self.second
        self.assertEqual(rc, 1)
        self.assertIn("cmavm: error: a VM named cma0 is already running (socket "
                      "./cmavm-cma0.sock); pick another --name, or stop it with 'cmavm ctl "
                      "--name cma0 shutdown'", out)

    def test_cma_0_leaves_the_guest_without_cma(self):
        tail = self.out[self.out.rfind("@@case-exit"):]
        self.assertEqual(self.cma0_status["cmdline"], "%s cma=0" % CMA0_CMDLINE)
        self.assertEqual(common.guest_pools(tail), [])
        self.assertEqual(common.guest_meminfo(tail).get("CmaTotal"), 0)
        self.assertRegex(tail, r"(?m)^@@cma0-exit 0$")


if __name__ == "__main__":
    common.main()
