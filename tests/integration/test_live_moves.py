#!/usr/bin/env python3
"""The host CMA engine moving the guest's CMA pool while the guest works
on it, on both emulated host kernels. In the guest, `cmavm-bench cma-load`
holds 64 MiB of pages inside the pool, a writer vCPU writes pass numbers
into them, a checker vCPU checks them, a third vCPU spins on the clock and
never touches the pool; its own thread writes and reads back part of
/dev/vda with O_DIRECT from buffers outside the pool, and a shell loop
writes a pattern onto another part with dd. Meanwhile the host commits
windows over the pageblocks the guest's pages are in, at huge and at
resident, changes their levels, releases them and migrates pageblocks:
more than 100 moves. Every move succeeds (no 409: no read is in flight
into a range that moves), no byte of the guest's pages or its disk is
wrong, and the disk image holds the pattern where dd wrote it and nothing
else changed.

On 6.12 moves are live (userfaultfd write-protect): the engine counts no
pause, migrations report pause_ns 0, and the spinning vCPU is never held
for a whole move. On 6.1 every move pauses the whole guest once (a level
change from resident to huge that first brings migrated pageblocks home
moves twice, so pauses twice), and the spinning vCPU sees the pauses."""
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile

import common

sys.path.insert(0, os.path.join(common.ROOT, "tools", "bench"))
from bench_initrd import bench_initrd  # noqa: E402

MEMORY_MIB = 512
POOL_MIB = 256
BLOCKS = POOL_MIB // 2
HOLD_MIB = 64
PHASE_S = 5  # the spinner's idle periods, before and after the moves
HUGE_PAGES = BLOCKS + 16
GROUP = 16  # pageblocks per window: 32 MiB
ROUNDS = 8
MIGRATE = 3  # pageblocks migrated at each step of a round
DISK_MIB = 64
DD_SLOTS = 8  # dd writes the pattern into [0, 8) MiB, one MiB at a time
LOAD_DISK = (16, 16)  # cma-load writes and reads back [16, 32) MiB
PATTERN = b"\xaa"  # the image before the guest writes

JOB = """echo %d > /proc/sys/vm/nr_hugepages
dd if=/dev/zero bs=1M count=%d 2>/dev/null | tr '\\000' '\\252' > disk.img
cmavm run --memory %dM --cma %dM --cpus 3 --disk disk.img --initrd initrd-bench.img \\
    --api-socket api.sock --balloon-stats 0 --cmdline "%s cmavm.mode=shell"
echo "@@cmavm-exit=$?"
""" % (HUGE_PAGES, DISK_MIB, MEMORY_MIB, POOL_MIB, common.GUEST_CMDLINE)

# In the guest: the load in the background, then dd in a loop for as long as it runs.
START = ("cmavm-bench cma-load %d %d %d %d /dev/vda %d %d & P=$!; "
         "(i=0; while kill -0 $P 2>/dev/null; do "
         "dd if=/tmp/pat of=/dev/vda bs=1M seek=$((i %% %d)) count=1 oflag=direct 2>/dev/null "
         "|| echo \"@@dd-failed $i\"; i=$((i+1)); usleep 100000; done; "
         "echo \"@@dd-done $i\") &\n")


def parse_fields(text):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", text)}


def held_blocks(text):
    """The pool's pageblocks cma-load holds pages in, from "0-31,40 (...)"."""
    out = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


class Mover:
    """The host's side: each request through `cmavm ctl`, with the engine's
    stats read in the same round trip, and what the pause path should
    have paused for it (`own`: pageblocks a migration put on a memfd of
    their own, outside huge windows; a release brings them home)."""

    def __init__(self, s):
        self.s = s
        self.ops = []
        self.own = set()
        self.stats = self.request("GET", "/v1/cma/stats")[1]

    def request(self, method, path, body=None):
        cmd = "cmavm ctl --socket api.sock raw %s %s" % (method, path)
        if body is not None:
            cmd += " '%s'" % json.dumps(body)
        rc, out = self.s.host("%s; echo \"@@rc=$?\"; cmavm ctl --socket api.sock --json "
                              "cma-stats" % cmd, timeout=600)
        answer, _, stats = out.partition("@@rc=")
        rc, _, stats = stats.partition("\n")
        if int(rc):
            return False, answer.strip(), common.parse_json(stats)
        return True, common.parse_json(answer), common.parse_json(stats)

    def op(self, name, method, path, body, pauses):
        ok, answer, stats = self.request(method, path, body)
        self.ops.append({"op": name, "body": body, "ok": ok, "answer": answer,
                         "expected_pauses": pauses,
                         "pauses": stats["pauses"] - self.stats["pauses"],
                         "stalls": stats["stalls"] - self.stats["stalls"],
                         "stall_ns": stats["stall_ns_total"] - self.stats["stall_ns_total"]})
        self.stats = stats
        if not ok:
            raise AssertionError("%s %s refused: %s" % (name, json.dumps(body), answer))
        return answer

    def commit(self, group, level, change_from=None):
        blocks = set(range(group * GROUP, (group + 1) * GROUP))
        body = {"pool": "linux,cma", "level": level, "offset": group * GROUP * 2 << 20,
                "length": GROUP * 2 << 20}
        if change_from == "resident":  # home first, then onto huge pages
            pauses = (1 if self.own & blocks else 0) + 1
        elif change_from == "huge":
            pauses = 1
        else:
            pauses = 1 if level == "huge" else 0
        if level == "huge":  # a resident window locks its pageblocks where they are
            self.own -= blocks
        return self.op("commit %s%s" % (level, " from " + change_from if change_from else ""),
                       "PUT", "/v1/cma/windows", body, pauses)

    def release(self, w, group):
        blocks = set(range(group * GROUP, (group + 1) * GROUP))
        pauses = 1 if w["level"] == "huge" or self.own & blocks else 0
        self.own -= blocks
        return self.op("release " + w["level"], "PUT", "/v1/cma/windows/release",
                       {"id": w["id"]}, pauses)

    def commit_watched(self, body, pauses):
        """The commit in the background while the host asks for the windows
        and the VM's status again and again: the event loop must answer
        them while the mover moves. Returns the window; keeps what was seen."""
        script = ("rm -f commit.done; (cmavm ctl --socket api.sock raw PUT /v1/cma/windows "
                  "'%s' > commit.json; echo $? > commit.rc; touch commit.done) & "
                  "while [ ! -e commit.done ]; do "
                  "echo \"@@windows $(cmavm ctl --socket api.sock raw GET /v1/cma/windows "
                  "| tr -d '\\n')\"; "
                  "echo \"@@vm $(cmavm ctl --socket api.sock raw GET /v1/vm | tr -d '\\n' "
                  "| head -c 60)\"; "
                  "done; wait; echo \"@@commit $(tr -d '\\n' < commit.json)\"; "
                  "echo \"@@commit-rc=$(cat commit.rc)\"" % json.dumps(body))
        out = self.s.host(script, timeout=600)[1]
        self.watched = {"windows": [common.parse_json(m) for m in
                                    re.findall(r"(?m)^@@windows (.*)$", out)],
                        "vm": re.findall(r"(?m)^@@vm (.*)$", out)}
        if re.search(r"(?m)^@@commit-rc=(\d+)", out)[1] != "0":
            raise AssertionError("the watched commit failed: " + out[-2000:])
        answer = common.parse_json(re.search(r"(?m)^@@commit (.*)$", out)[1])
        stats = self.request("GET", "/v1/cma/stats")[1]
        self.ops.append({"op": "commit huge (whole pool, watched)", "body": body, "ok": True,
                         "answer": answer, "expected_pauses": pauses,
                         "pauses": stats["pauses"] - self.stats["pauses"],
                         "stalls": stats["stalls"] - self.stats["stalls"],
                         "stall_ns": stats["stall_ns_total"] - self.stats["stall_ns_total"]})
        self.stats = stats
        return answer

    def migrate(self, block, in_huge_window=False):
        if not in_huge_window:
            self.own.add(block)
        return self.op("migrate", "PUT", "/v1/cma/migrate", {"pool": "linux,cma",
                                                              "block": block}, 1)


def pick(blocks, held, n, round_):
    """@n of @blocks, pageblocks the guest holds pages in first, changing each round."""
    ordered = sorted(blocks, key=lambda b: (b not in held, b))
    first = [b for b in ordered if b in held] or ordered
    return [first[(round_ * n + i * 5) % len(first)] for i in range(n)]


def move_a_lot(m, held):
    """ROUNDS rounds over the two 32 MiB groups holding most of the guest's
    pages, then the whole pool at huge: 14 moves a round, 2 at the end."""
    def blocks(g):
        return range(g * GROUP, (g + 1) * GROUP)

    groups = sorted(range(BLOCKS // GROUP), key=lambda g: -len(held & set(blocks(g))))[:2]
    for r in range(ROUNDS):
        g, other = groups[r % 2], groups[(r + 1) % 2]
        w = m.commit(g, "huge")
        for b in pick(blocks(g), held, MIGRATE, r):
            m.migrate(b, in_huge_window=True)
        w = m.commit(g, "resident", change_from="huge")
        for b in pick(blocks(g), held, MIGRATE, r + 1):
            m.migrate(b)
        w = m.commit(g, "huge", change_from="resident")
        m.release(w, g)
        for b in pick(blocks(other), held, MIGRATE, r + 2):
            m.migrate(b)
        w = m.commit(other, "resident")
        m.release(w, other)
    w = m.commit_watched({"pool": "linux,cma", "level": "huge"}, 1)
    m.own.clear()
    m.op("release huge (whole pool)", "PUT", "/v1/cma/windows/release", {"id": w["id"]}, 1)


def run_on(kernel):
    """Boot, load, move, check: what the assertions need."""
    tmp = tempfile.mkdtemp(prefix="cmavm-live-")
    s = common.host("live_moves_" + (kernel or "native"), host_kernel=kernel).start(
        JOB, files={"initrd-bench.img": bench_initrd(tmp)})
    r = {"kernel": kernel}
    try:
        s.expect(r"^guest: shell ready$", 180)
        pool = common.vm_pools(s)["linux,cma"]
        out = common.guest_run(s, "taskset -p -c 0-1 $$ >/dev/null && "
                               "dd if=/dev/urandom of=/tmp/pat bs=1M count=1 2>/dev/null && "
                               "md5sum /tmp/pat")
        r["pattern_md5"] = out.split()[-2]
        s.send(START % (pool["base"], pool["size"], PHASE_S, HOLD_MIB, LOAD_DISK[0],
                        LOAD_DISK[1], DD_SLOTS))
        r["held"] = held_blocks(s.expect(r"^cma-load: pool blocks held: (\S+)", 300)[1])
        s.expect(r"^cma-load: moves may begin", 120)
        m = Mover(s)
        r["stats_before"] = m.stats
        try:
            move_a_lot(m, r["held"])
        finally:
            r["ops"], r["stats"] = m.ops, m.stats
            r["watched"] = getattr(m, "watched", None)
            ok, r["windows"] = common.api(s, "GET", "/v1/cma/windows")
            mark = len(s.output)
            s.send("kill -USR1 $P; wait $P; echo \"@@load-exit=$?\"\n")
            r["load_exit"] = int(s.expect(r"^@@load-exit=(\d+)$", 300)[1])
            # the dd loop ends when the load does: its line may come before or after
            dd = common.wait_for(lambda: re.search(r"@@dd-done (\d+)\r?$", s.output[mark:],
                                                   re.M), 60)
            if not dd:
                raise AssertionError("the dd loop never said it was done")
            r["dd"] = int(dd[1])
        r["disk_md5"] = disk_md5s(s)
        common.guest_run(s, "true")  # the shell is back at its prompt
        common.power_off(s)
    finally:
        s.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    out = s.output
    r["output"] = out
    r["phases"] = {m[1]: parse_fields(m[2])
                   for m in re.finditer(r"(?m)^cma-load: phase (\w+): (.*)$", out)}
    r["final"] = parse_fields(re.search(r"(?m)^cma-load: final: (.*)$", out)[1])
    if s.log:
        s.log.write("\n@@live-moves: %s\n" % json.dumps(
            {"phases": r["phases"], "final": r["final"], "stats": r["stats"],
             "ops": [(o["op"], o["pauses"], o["expected_pauses"], o["stalls"])
                     for o in r["ops"]]}))
    return r


def disk_md5s(s):
    """{slot: md5} of each MiB of the image dd writes, then of the parts no one does."""
    out = {}
    for slot in range(DD_SLOTS):
        out[slot] = s.host("dd if=disk.img bs=1M skip=%d count=1 2>/dev/null | md5sum"
                           % slot)[1].split()[0]
    for name, skip, count in (("between", DD_SLOTS, LOAD_DISK[0] - DD_SLOTS),
                              ("after", sum(LOAD_DISK), DISK_MIB - sum(LOAD_DISK))):
        out[name] = s.host("dd if=disk.img bs=1M skip=%d count=%d 2>/dev/null | md5sum"
                           % (skip, count))[1].split()[0]
    return out


class LiveMoves:
    """The assertions; a subclass per emulated host kernel runs them."""
    KERNEL = None

    @classmethod
    def setUpClass(cls):
        cls.r = run_on(cls.KERNEL)

    def live(self):
        return self.r["stats"]["moves"] == "live"

    def test_1_every_move_succeeds(self):
        ops = self.r["ops"]
        self.assertGreaterEqual(sum(1 for o in ops if o["expected_pauses"]), 100)
        for o in ops:
            self.assertTrue(o["ok"], "%s %s: %s" % (o["op"], o["body"], o["answer"]))
        self.assertEqual(self.r["windows"], [])
        self.assertEqual(self.r["stats"]["rollbacks"], self.r["stats_before"]["rollbacks"])

    def test_2_no_byte_of_the_guest_is_lost(self):
        phases, final = self.r["phases"], self.r["final"]
        self.assertEqual(sorted(phases), ["after", "idle", "moves"])
        self.assertGreater(phases["idle"]["pages"], 0)
        for name, p in phases.items():
            with self.subTest(phase=name):
                self.assertEqual(p["corrupted_bytes"], 0)
                self.assertGreater(p["passes"], 0)
                self.assertGreater(p["checks"], 0)
                self.assertEqual((p["io_corrupted_bytes"], p["io_errors"]), (0, 0))
                self.assertGreater(p["io_bytes"], 0)
        self.assertEqual(final["corrupted_bytes"], 0)
        self.assertEqual(self.r["load_exit"], 0)
        self.assertNotIn("cma-load: corrupted", self.r["output"])

    def test_3_the_disk_holds_what_dd_wrote(self):
        md5 = self.r["disk_md5"]
        self.assertGreaterEqual(self.r["dd"], DD_SLOTS, "dd's loop wrote fewer MiB than the "
                                "image's slots: it ran too short (timing, not data)")
        self.assertNotRegex(self.r["output"], r"(?m)@@dd-failed \d+$", "a dd in the guest failed")
        for slot in range(DD_SLOTS):
            self.assertEqual(md5[slot], self.r["pattern_md5"], "MiB %d of the image" % slot)
        self.assertEqual(md5["between"], hashlib.md5(
            PATTERN * ((LOAD_DISK[0] - DD_SLOTS) << 20)).hexdigest(), "the image between")
        self.assertEqual(md5["after"], hashlib.md5(
            PATTERN * ((DISK_MIB - sum(LOAD_DISK)) << 20)).hexdigest(), "the image after")

    def test_4_pauses(self):
        ops, st = self.r["ops"], self.r["stats"]
        if self.live():
            self.assertEqual(st["pauses"], 0)
            for o in ops:
                if o["op"] == "migrate":
                    self.assertEqual(o["answer"]["pause_ns"], 0)
            return
        # One pause per move, exactly when the engine moved memory.
        for o in ops:
            self.assertEqual(o["pauses"], o["expected_pauses"], "%s %s" % (o["op"], o["body"]))
        self.assertEqual(st["pauses"] - self.r["stats_before"]["pauses"],
                         sum(o["expected_pauses"] for o in ops))

    def test_5_the_untouched_vcpu(self):
        phases, st = self.r["phases"], self.r["stats"]
        idle = max(phases["idle"]["gap_max_us"], phases["after"]["gap_max_us"])
        during = phases["moves"]["gap_max_us"]
        if not self.live():
            # The spinner sees the guest stop: its longest gap is the longest pause.
            self.assertGreaterEqual(during * 1000, 0.9 * st["pause_ns_max"])
            return
        # Live, it is never held for a move. Under TCG its gaps are the
        # emulated host's scheduling (2 CPUs for 3 vCPUs, cmavm and the
        # harness's commands), so "no longer than idle + 1 ms" does not hold
        # even with no move: with the emulated host merely busy on one CPU
        # for 20 s the longest gap grew from 5-7 ms to 12.5-13.3 ms, as much
        # as with the moves. Measured over 11 runs (longest idle gap, longest
        # during the moves, in ms): 10.9 16.3, 9.4 17.7, 8.0 17.2, 7.0 13.1,
        # 16.9 21.0, 8.7 15.2, 9.1 13.5, 9.2 14.4, 10.0 16.4, 8.3 16.9,
        # 12.1 14.3: at most 9.2 ms more. On 6.1 the same moves hold it
        # 160-260 ms (the whole-pool commit's pause). With a build running
        # beside it, CI once saw 85.7 ms during against 19.9 ms idle. The
        # bound: idle + 100 ms, still below the shortest whole-pool pause.
        self.assertLessEqual(during, idle + 100000)

    def test_7_the_loop_serves_during_a_commit(self):
        """While the whole pool (256 MiB) moved onto huge pages, GET
        /v1/cma/windows and GET /v1/vm were answered, the window showed as
        committing with its progress, and the progress never went back."""
        w = self.r["watched"]
        self.assertIsNotNone(w)
        self.assertTrue(w["vm"], "no GET /v1/vm answered during the commit")
        for answer in w["vm"]:
            self.assertTrue(answer.startswith("{"), answer)
        committing = [x for ws in w["windows"] for x in ws if x["state"] == "committing"]
        self.assertTrue(committing, "the commit never showed as committing: %s" % w["windows"])
        done = [x["done_bytes"] for x in committing]
        self.assertEqual(done, sorted(done))
        for x in committing:
            self.assertEqual(x["length"], POOL_MIB << 20)
            self.assertLessEqual(x["done_bytes"], x["length"])

    def test_6_writers_wait_but_not_for_long(self):
        st, before = self.r["stats"], self.r["stats_before"]
        if not self.live():
            self.assertEqual(st["stalls"], before["stalls"])
            return
        # The writer met pageblocks while they moved and waited. Measured in
        # the emulated host over 11 runs: 56-80 stalls a run, mostly 5-20 ms
        # (the copy through the write-protected mapping alone takes 4.5-5.7
        # ms there: cmavm-bench move-probe), the longest 19-37 ms; in
        # tools/bench/run's sequence single stalls of 157 and 170 ms, and one
        # of 105 ms with a writer that never rested. The bound catches a
        # writer left waiting, not a slow move.
        self.assertGreater(st["stalls"], before["stalls"])
        self.assertLess(st["stall_ns_max"], 1e9)


@common.unittest.skipIf(common.testhost.NATIVE, "natively cmavm runs on this machine's kernel")
class On6_12(LiveMoves, common.unittest.TestCase):
    KERNEL = "6.12"

    def test_0_moves_are_live(self):
        self.assertEqual(self.r["stats"]["moves"], "live")


@common.unittest.skipIf(common.testhost.NATIVE, "natively cmavm runs on this machine's kernel")
class On6_1(LiveMoves, common.unittest.TestCase):
    KERNEL = "6.1"

    def test_0_moves_pause(self):
        self.assertEqual(self.r["stats"]["moves"], "pause")


@common.unittest.skipUnless(common.testhost.NATIVE, "run on each emulated host kernel above")
class Native(LiveMoves, common.unittest.TestCase):
    """On an arm64 machine: its own kernel, live or not."""


if __name__ == "__main__":
    common.main()
