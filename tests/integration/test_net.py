#!/usr/bin/env python3
"""virtio-net on a tap, from both sides. In the emulated host (or on this
arm64 machine), a tap made as an operator would (busybox tunctl; `ip tuntap add` elsewhere) with the
address 10.0.2.1; cmavm runs the guest with --net tap=tap0. The guest
brings up eth0 with busybox and 10.0.2.2; then:

- the guest's MAC is the one cmavm planned (derived from the tap's name);
- ping answers both ways;
- 64 MiB go host to guest and 64 MiB guest to host over TCP (busybox httpd
  and wget), and each side's md5sum of them agrees;
- the device's counters (GET /v1/devices) agree with the guest's own
  /sys/class/net/eth0/statistics and the host's tap statistics, and the
  metrics carry them."""
import re

import common
import testhost

MIB = 1 << 20
SIZE_MIB = 64
TAP = "tap0"
JOB = testhost.tap_setup(TAP) + """mkdir -p /srv /tmp/in && dd if=/dev/urandom of=/srv/data bs=1M count=%(mib)d 2>/dev/null
httpd -p 8000 -h /srv
cmavm run --net tap=%(tap)s --api-socket api.sock --balloon-stats 0 \\
    --cmdline "%(cmdline)s ipv6.disable=1 cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % {"tap": TAP, "mib": SIZE_MIB, "cmdline": common.GUEST_CMDLINE}


def statistics(text):
    """{name: int} from lines 'name value'."""
    return {k: int(v) for k, v in re.findall(r"(?m)^(\w+) (\d+)\r?$", text)}


class Net(common.GuestShellTest):
    JOB, NAME = JOB, "net"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = re.search(r"virtio-net0 at 0x[0-9a-f]+, SPI \d+: tap %s, MAC ([0-9a-f:]{17})"
                             % TAP, cls.s.output)
        common.guest_run(cls.s, "ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0")

    def host(self, command, timeout=120):
        rc, out = self.s.host(command, timeout=timeout)
        self.assertEqual(rc, 0, "host: %s: %s" % (command, out))
        return out

    def device(self):
        devices = common.ctl_json(self.s, "devices")
        return [d for d in devices if d["type"] == "net"][0]

    def guest_stats(self):
        return statistics(common.guest_run(
            self.s, "(cd /sys/class/net/eth0/statistics && for f in rx_packets tx_packets "
            "rx_bytes tx_bytes; do echo $f $(cat $f); done)"))

    def test_1_mac_is_the_planned_one(self):
        self.assertIsNotNone(self.plan, "cmavm did not print its plan for virtio-net0")
        mac = common.guest_run(self.s, "cat /sys/class/net/eth0/address").split()[-1]
        self.assertEqual(mac, self.plan[1])

    def test_2_ping_both_ways(self):
        out = common.guest_run(self.s, "ping -c 3 -W 5 10.0.2.1")
        self.assertIn("3 packets received", out)
        self.assertIn("3 packets received", self.host("ping -c 3 -W 5 10.0.2.2"))

    def test_3_host_to_guest(self):
        want = self.host("md5sum /srv/data").split()[0]
        out = common.guest_run(self.s, "wget -q -O /tmp/got http://10.0.2.1:8000/data && "
                               "md5sum /tmp/got && rm /tmp/got", timeout=600)
        self.assertEqual(out.split()[-2], want)

    def test_4_guest_to_host(self):
        out = common.guest_run(self.s, "mkdir -p /tmp/www && dd if=/dev/urandom "
                               "of=/tmp/www/data bs=1M count=%d 2>/dev/null && "
                               "md5sum /tmp/www/data && httpd -p 8000 -h /tmp/www" % SIZE_MIB)
        want = out.split()[-2]
        got = self.host("wget -q -O /tmp/in/data http://10.0.2.2:8000/data && "
                        "md5sum /tmp/in/data && rm /tmp/in/data", timeout=600)
        self.assertEqual(got.split()[0], want)

    def test_5_counters_agree(self):
        before = self.guest_stats()
        counters = self.device()["counters"]
        after = self.guest_stats()
        # in a subshell: the host's shell keeps its directory, where api.sock is
        tap = statistics(self.host("(cd /sys/class/net/%s/statistics && for f in rx_packets "
                                   "tx_packets; do echo $f $(cat $f); done)" % TAP))
        # what the guest sent is what the device took from it, and the other way
        self.assertGreaterEqual(counters["tx_packets"], before["tx_packets"])
        self.assertLessEqual(counters["tx_packets"], after["tx_packets"])
        self.assertGreaterEqual(counters["rx_packets"], before["rx_packets"])
        self.assertLessEqual(counters["rx_packets"], after["rx_packets"])
        # both transfers passed through: at least 64 MiB each way
        self.assertGreaterEqual(counters["tx_bytes"], SIZE_MIB * MIB)
        self.assertGreaterEqual(counters["rx_bytes"], SIZE_MIB * MIB)
        # the tap received what the device wrote to it, and sent what it read
        self.assertGreaterEqual(tap["rx_packets"], counters["tx_packets"] - 2)
        self.assertLessEqual(tap["rx_packets"], counters["tx_packets"] + 2)
        read = counters["rx_packets"] + counters["rx_dropped"] + counters["rx_errors"]
        self.assertGreaterEqual(tap["tx_packets"], read - 2)
        self.assertLessEqual(tap["tx_packets"], read + 2)
        # offloads at work: segments far larger than the tap's 1500-byte MTU went by
        self.assertGreater(counters["rx_bytes"] / counters["rx_packets"], 3000)
        self.assertGreater(counters["tx_bytes"] / counters["tx_packets"], 3000)
        self.assertEqual(counters["tx_errors"], 0)
        self.assertEqual(counters["rx_errors"], 0)

    def test_6_counters_in_the_metrics(self):
        counters = self.device()["counters"]
        text = self.host("cmavm ctl --socket api.sock metrics")
        got = {m[1]: int(m[2]) for m in re.finditer(
            r'(?m)^cmavm_device_(\w+)_total\{device="virtio-net0"\} (\d+)', text)}
        for name in ("rx_bytes", "tx_bytes", "rx_errors", "tx_yields"):
            self.assertIn(name, got)
            self.assertGreaterEqual(got[name], counters[name])


if __name__ == "__main__":
    common.main()
