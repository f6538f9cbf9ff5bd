#!/usr/bin/env python3
"""virtio-net while the CMA engine moves the pageblocks its rings lie in.
The guest's rings come from its default CMA pool (the device offers
ACCESS_PLATFORM); the guest fetches a 16 MiB file over the tap again and
again while the host migrates each ring pageblock many times and commits
and releases a window over the whole pool. On a host with live moves the
device holds its ring and buffer writes back while a range is fenced
(docs/devices.md) instead of faulting on the write-protected range. Every
move succeeds, every fetch has the file's md5sum, the device dropped and
erred nothing, and the network still answers."""
import re
import time
import unittest

import common
import testhost

MIB = 1 << 20
ROUNDS = 2  # each: 16 migrations of every ring pageblock, one commit and release
JOB = testhost.tap_setup("tap0") + """echo 160 > /proc/sys/vm/nr_hugepages
mkdir -p /srv && dd if=/dev/urandom of=/srv/data bs=1M count=16 2>/dev/null
httpd -p 8000 -h /srv
cmavm run --memory 512M --cma 256M --net tap=tap0 --api-socket api.sock --balloon-stats 0 \\
    --cmdline "%s ipv6.disable=1 cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % common.GUEST_CMDLINE


def ring_pageblocks(net, pool):
    """The default pool's pageblocks that hold a part of the device's rings."""
    blocks = set()
    for q in net["queues"]:
        for part in ("desc", "driver", "device"):
            offset = q[part] - pool["base"]
            if 0 <= offset < pool["size"]:
                blocks.add(offset // pool["pageblock_size"])
    return sorted(blocks)


class NetDuringMoves(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        s = cls.s = common.host("net_moves").start(JOB)
        s.expect(r"^guest: shell ready$", 240)
        common.guest_run(s, "ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0")
        cls.want = s.host("md5sum /srv/data")[1].split()[0]
        pool = common.vm_pools(s)["linux,cma"]
        pool.setdefault("pageblock_size", 2 * MIB)
        net = [d for d in common.ctl_json(s, "devices") if d["type"] == "net"][0]
        cls.blocks = ring_pageblocks(net, pool)
        s.send("(i=0; while [ ! -e /tmp/stop ]; do wget -q -O - http://10.0.2.1:8000/data | "
               "md5sum >> /tmp/md5s; i=$((i+1)); done; echo \"@@wget-done $i\") &\n")
        time.sleep(5)
        cls.answers = []
        for _ in range(ROUNDS):
            for _ in range(16):
                for b in cls.blocks:
                    cls.answers.append(common.api(s, "PUT", "/v1/cma/migrate",
                                                  {"pool": "linux,cma", "block": b}))
            ok, w = common.api(s, "PUT", "/v1/cma/windows", {"pool": "linux,cma", "level": "huge"})
            cls.answers.append((ok, w))
            if ok:
                cls.answers.append(common.api(s, "PUT", "/v1/cma/windows/release",
                                              {"id": w["id"]}))
        common.guest_run(s, "touch /tmp/stop")
        cls.fetches = int(s.expect(r"@@wget-done (\d+)", 300)[1])  # after the prompt
        cls.md5s = re.findall(r"(?m)^([0-9a-f]{32})", common.guest_run(s, "cat /tmp/md5s"))
        cls.net = [d for d in common.ctl_json(s, "devices") if d["type"] == "net"][0]
        cls.stats = common.ctl_json(s, "cma-stats")
        cls.ping = common.guest_run(s, "ping -c 2 -W 5 10.0.2.1 | tail -2")
        s.log.write("\n@@net-moves: %d fetches, ring pageblocks %s, counters %s\n"
                    % (cls.fetches, cls.blocks, cls.net["counters"]))
        common.power_off(s)

    @classmethod
    def tearDownClass(cls):
        cls.s.kill()

    def test_1_the_rings_lie_in_the_pool_and_moved(self):
        self.assertTrue(self.blocks, "no ring of the net device in the default pool")
        for ok, answer in self.answers:
            self.assertTrue(ok, answer)
        self.assertEqual(self.stats["rollbacks"], 0)

    def test_2_every_fetch_whole(self):
        self.assertGreaterEqual(self.fetches, 2)
        self.assertEqual(len(self.md5s), self.fetches)
        for got in self.md5s:
            self.assertEqual(got, self.want)

    def test_3_nothing_dropped_and_it_still_answers(self):
        c = self.net["counters"]
        self.assertEqual(c["rx_dropped"], 0, c)
        self.assertEqual(c["rx_errors"], 0, c)
        self.assertRegex(self.ping, r"2 packets transmitted, 2 (packets )?received")


if __name__ == "__main__":
    unittest.main(verbosity=2)
