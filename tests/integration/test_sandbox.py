#!/usr/bin/env python3
"""The sandbox on a running cmavm (docs/security.md):

- started as root, every thread of the running VM (vCPUs, the event loop,
  the mover, the copy helper, console, signals, main, io_uring's workers)
  shows `Seccomp: 2`, `NoNewPrivs: 1` and no effective capability in
  /proc, while the guest uses its disk, the balloon and a window commit;
- a call outside a thread's filter ends cmavm with status 159 and one
  line naming the thread and the call, for every thread kind
  (CMAVM_SECCOMP_PROBE=KIND makes that kind's thread open /etc/passwd),
  and for `cmavm dtb check`, which judges a DTB inside its own filter;
- an unprivileged user who may open /dev/kvm and /dev/userfaultfd boots
  the demo guest with its pools, a boot window on huge pages and a
  window committed live through the API, and is told how to raise its
  locked-memory limit when a resident window needs more.""" 
import os
import re

import common

G = common.GUEST_CMDLINE
KINDS = ["main", "vcpu", "loop", "mover", "helper", "console", "signals"]
DEMO = ("--memory 512M --cma 64M --dma-pool gpu:16M,window=huge --dma-pool fw:4M:no-map "
        "--disk disk.img --api-socket api.sock")

JOB = """
dd if=/dev/zero of=disk.img bs=1M count=8 2>/dev/null
echo 48 > /proc/sys/vm/nr_hugepages
for k in %(kinds)s; do
    echo "@@probe $k"
    CMAVM_SECCOMP_PROBE=$k cmavm run %(demo)s --cmdline "%(g)s" </dev/null
    echo "@@probe-exit $k $?"
done
cmavm run %(demo)s --dry-run --dump-dtb g.dtb >/dev/null 2>&1
echo "@@check"; cmavm dtb check g.dtb; echo "@@check-exit $?"
echo "@@probe check"; CMAVM_SECCOMP_PROBE=check cmavm dtb check g.dtb
echo "@@probe-exit check $?"
echo "@@step root"
cmavm run %(demo)s --cmdline "%(g)s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
echo "@@step user"
mkdir -p /tmp/u && cp disk.img runas /tmp/u/ && chmod 755 /tmp/u/runas && chown -R 1000:1000 /tmp/u
chgrp 1000 /dev/kvm /dev/userfaultfd && chmod 660 /dev/kvm /dev/userfaultfd
cd /tmp/u && ./runas 1000 1000 cmavm run %(demo)s --cmdline "%(g)s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % {"kinds": " ".join(KINDS), "demo": DEMO, "g": G}

THREAD_STATUS = ("for t in /proc/$(pidof cmavm)/task/*; do echo @@thread $(cat $t/comm) "
                 "$(grep -E '^(Uid|Seccomp|NoNewPrivs|CapEff):' $t/status | tr -s '\\t\\n' '  '); done")


def threads(session):
    rc, out = session.host(THREAD_STATUS)
    return re.findall(r"^@@thread (\S+) (.*)$", out, re.M)


class Sandbox(common.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        runas = os.path.join(common.testhost.BUILD_VMM, "tools", "emuhost", "runas")
        s = common.host("sandbox").start(JOB, files={"runas": runas})
        ctl = "cmavm ctl --socket api.sock "
        try:
            s.expect(r"^@@step root$", 300)
            s.expect(r"^guest: shell ready$", 180)
            s.send("dd if=/dev/vda of=/dev/null bs=1M count=4 2>/dev/null; echo io-done\n")
            s.expect(r"^io-done\r?$", 60)
            cls.root_commit = s.host(ctl + "window commit linux,cma 0 8M huge", timeout=300)
            cls.root_threads = threads(s)
            s.send("poweroff -f\n")
            s.expect(r"^@@cmavm-exit=0\r?$", 60)
            s.expect(r"^@@step user$", 60)
            s.expect(r"^guest: shell ready$", 180)
            user = "cd /tmp/u && ./runas 1000 1000 "
            cls.user_commit = s.host(user + ctl + "window commit linux,cma 0 8M huge", timeout=300)
            cls.user_status = s.host(user + ctl + "status")
            cls.user_resident = s.host(user + ctl + "window commit linux,cma 16M 16M resident",
                                       timeout=300)
            cls.user_threads = threads(s)
            common.power_off(s)
            s.wait(60)
        finally:
            s.kill()
        cls.out = s.output

    def assert_sandboxed(self, threads, uid):
        names = [t[0] for t in threads]
        for want in ("cmavm", "vcpu0", "vcpu1", "loop", "mover", "cma-helper", "console",
                     "signals"):
            self.assertIn(want, names)
        for name, status in threads:
            with self.subTest(thread=name):
                self.assertRegex(status, r"Seccomp: 2\b")
                self.assertRegex(status, r"NoNewPrivs: 1\b")
                self.assertRegex(status, r"CapEff: 0000000000000000\b")
                self.assertRegex(status, r"Uid: %d\b" % uid)

    def test_every_thread_filtered_without_capabilities_as_root(self):
        self.assert_sandboxed(self.root_threads, 0)
        self.assertEqual(self.root_commit[0], 0, self.root_commit[1])

    def test_a_forbidden_call_ends_cmavm_naming_thread_and_call(self):
        for kind in KINDS + ["check"]:
            with self.subTest(kind=kind):
                m = re.search(r"(?ms)^@@probe %s$(.*?)^@@probe-exit %s (\d+)" % (kind, kind),
                              self.out)
                self.assertIsNotNone(m)
                self.assertEqual(int(m[2]), 159, m[1])
                self.assertRegex(m[1], r"cmavm: error: sandbox: the %s thread '[\w-]+' made the "
                                 r"system call openat \(\d+\) at 0x[0-9a-f]+, which its seccomp "
                                 r"filter forbids" % kind)
                self.assertNotIn("guest: up", m[1])

    def test_dtb_check_judges_inside_its_filter(self):
        m = re.search(r"(?ms)^@@check$(.*?)^@@check-exit (\d+)", self.out)
        self.assertEqual(int(m[2]), 0, m[1])
        self.assertIn("summary: OK, 3 regions: 2 CMA, 1 coherent", m[1])

    def test_unprivileged_user_boots_the_demo_guest(self):
        text = self.out[self.out.index("@@step user"):]
        self.assertIn("committed at huge, before the guest starts", text)
        self.assertIn("live moves (userfaultfd write-protect)", text)
        self.assertEqual(len(common.guest_pools(text)), 3)
        self.assertRegex(text, r"(?m)^@@cmavm-exit=0\r?$")
        self.assertEqual(self.user_commit[0], 0, self.user_commit[1])
        self.assertRegex(self.user_status[1], r"(?m)^state\s+running")
        self.assert_sandboxed(self.user_threads, 1000)

    def test_unprivileged_resident_window_past_memlock_says_how(self):
        rc, out = self.user_resident
        self.assertNotEqual(rc, 0)
        self.assertRegex(out, r"the locked-memory limit is 8192 KiB: raise it for the user who "
                         r"runs cmavm \(ulimit -l")


if __name__ == "__main__":
    common.main()
