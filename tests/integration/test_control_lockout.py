#!/usr/bin/env python3
"""The control socket cannot be locked out: with the demo guest running
and 64 connections held open to its API socket, each idle after one answer
(a client that keeps its connection alive and forgets it; 32 used to lock
everyone else out with 503), `cmavm ctl status` is still answered within
2 s: a new connection takes the place of the one idle the longest."""
import os

import common

SOCK = "lockout.sock"
HOLDERS = 64
JOB = """chmod +x cmavm-bench
cmavm run --api-socket %s --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % (SOCK, common.GUEST_CMDLINE)

# One holder: `cmavm-bench unix` sends its stdin as it comes, so the
# connection gets one request and then nothing, open, for as long as the
# sleep lasts; the answer waits unread in its socket.
HOLD = ("{ printf 'GET /v1/vm HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'; sleep 600; } 2>/dev/null "
        "| ./cmavm-bench unix %s >/dev/null 2>&1 &" % SOCK)
STATUS = "timeout 2 cmavm ctl --socket %s --json status" % SOCK


class ControlLockout(common.GuestShellTest):
    JOB, NAME = JOB, "control_lockout"
    FILES = {"cmavm-bench": os.path.join(common.testhost.BUILD_VMM, "tools", "bench",
                                         "cmavm-bench")}

    def status(self):
        rc, out = self.s.host(STATUS)
        self.assertEqual(rc, 0, "cmavm ctl status failed or took over 2 s (%d): %s" % (rc, out))
        return common.parse_json(out)

    def test_status_answers_past_64_idle_connections(self):
        self.assertEqual(self.status()["state"], "running")
        rc, out = self.s.host("i=0; while [ $i -lt %d ]; do %s i=$((i + 1)); done"
                              % (HOLDERS, HOLD), timeout=180)
        self.assertEqual(rc, 0, out)
        # The place of the 33rd went to it from the first: all 32 were idle.
        self.s.expect(r"32 connections open: closed the one idle the longest to admit a new "
                      r"one", 120)
        rc, out = self.s.host("pidof cmavm-bench | wc -w; grep -c '%s$' /proc/net/unix"
                              % SOCK)
        holders, server_side = (int(n) for n in out.split())
        self.assertEqual(holders, HOLDERS, "the holders still connected")
        self.assertGreater(server_side, 32, "the listener and the 32 connections served")
        for _ in range(3):  # each one the place of another idle holder
            self.assertEqual(self.status()["state"], "running")


if __name__ == "__main__":
    common.main()
