#!/usr/bin/env python3
"""Boot the demo guest and set what the guest says about its pools beside
what cmavm planned. Its `gpu` pool has a boot window: on host huge pages
before the guest's first instruction. While the guest runs, commit a DMA
window over its default pool on host huge pages (live where the host
kernel can write-protect: no vCPU stops), migrate a pageblock, list the
windows, show the engine's pauses and stalls, and draw the pageblock map;
first, show that every cmavm thread runs in its seccomp sandbox. Last,
the guest draws a test card on its virtio-gpu display: the host takes a
screenshot (saved under .cache/demo, drawn on the terminal) and shows
where the pixels live, each resource on one host-physical run. It ends
with the guest's own CMA figures (read through the QEMU guest agent in
the guest), `cmavm plan --observed` sizing the pool from them, and the
Prometheus metrics that carry them.
Exit status: cmavm's (0 when the guest powers off)."""
import base64
import os
import re
import shlex
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import screen  # noqa: E402
import testhost  # noqa: E402

GPU_MODE = (640, 480)



def demo_flags(page_size):
    """The demo's pools, each at least one of the guest's pageblocks (32 MiB
    with 16 KiB pages: CMAVM_GUEST=6.12-16k)."""
    block_mib = {4096: 2, 16384: 32, 65536: 512}[page_size]
    return ["--dma-pool", "gpu:%dM,window=huge" % max(16, block_mib),
            "--dma-pool", "fw:%dM:no-map" % max(4, block_mib),
            "--gpu", "%dx%d" % GPU_MODE, "--disk", "card.raw,ro",
            "--cmdline", "console=ttyS0 quiet cmavm.mode=shell"]
SCREEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      ".cache", "demo", "screen.png")
PLAN = re.compile(r"^cmavm: pool (\S+) at (0x[0-9a-f]+) size (\d+) MiB \(([^)]*)\)", re.M)
GUEST = re.compile(r"^guest: dmesg: Reserved memory: created (CMA|DMA) memory pool at "
                   r"(0x[0-9a-f]+), size (\d+) MiB$", re.M)
THREADS = ("for t in /proc/$(pidof cmavm)/task/*; do printf '%-12s %s\\n' $(cat $t/comm) "
           "\"$(grep -E '^(Seccomp|NoNewPrivs|CapEff):' $t/status | tr -s '\\t\\n' '  ')\"; done")
CMA_TOTAL = re.compile(r"^guest: meminfo: CmaTotal:\s+(\d+) kB$", re.M)


def say(text):
    print("==> " + text, flush=True)


def summary(out):
    plan = {m[1]: (int(m[2], 16), int(m[3]), m[4]) for m in PLAN.finditer(out)}
    guest = {int(m[2], 16): (m[1], int(m[3])) for m in GUEST.finditer(out)}
    ok = True
    print()
    print("%-10s  %-32s  %-40s" % ("pool", "cmavm placed it", "the guest says"))
    for name, (base, size, kind) in plan.items():
        want = "CMA" if "reusable" in kind else "DMA"
        got = guest.get(base)
        mine = "0x%x, %d MiB, %s" % (base, size, "CMA" if want == "CMA" else "no-map")
        if got:
            theirs = "%s pool at 0x%x, %d MiB" % (got[0], base, got[1])
            match = got == (want, size)
        else:
            theirs, match = "(no pool at this address)", False
        ok &= match
        print("%-10s  %-32s  %-40s %s" % (name, mine, theirs, "ok" if match else "MISMATCH"))
    total = CMA_TOTAL.search(out)
    reusable = sum(s for _, s, k in plan.values() if "reusable" in k)
    if total:
        match = int(total[1]) == reusable * 1024
        ok &= match
        print("CmaTotal    %-32s  %-40s %s" % ("%d MiB of reusable pools" % reusable,
                                               "%s kB" % total[1], "ok" if match else "MISMATCH"))
    print()
    return ok


def show_engine(session):
    """The host CMA engine at work on the running guest: a window, the map."""
    colour = "" if sys.stdout.isatty() else "NO_COLOR=1 "
    ctl = "cmavm ctl --socket api.sock "
    steps = [("cmavm's threads, each in its own seccomp filter, with no capability left "
              "(docs/security.md)", THREADS),
             ("committing a DMA window over the default pool on host huge pages",
              ctl + "window commit linux,cma huge"),
             ("moving one of its pageblocks onto a new huge page", ctl + "migrate linux,cma 1"),
             ("the windows: gpu's since boot, the default pool's just now", ctl + "window list"),
             ("what the moves cost the guest (live moves: no pause, only writers wait)",
              ctl + "cma-stats"),
             ("the pageblock map (W: window, B: backed, U: unbacked, R: reported free)",
              colour + ctl + "map")]
    print()
    for what, command in steps:
        say(what)
        rc, out = session.host(command, timeout=300)
        print(out.rstrip())
        if rc:
            say("(that did not work here; the demo goes on)")


def show_gpu(session):
    """The guest draws a test card on its display; the host takes a
    screenshot, shows it, and says where its pixels live."""
    width, height = GPU_MODE
    print()
    say("the guest writes a test card to its display (/dev/fb0, virtio-gpu)")
    session.send("for v in /sys/class/vtconsole/vtcon*/bind; do echo 0 > $v; done; "
                 "dd if=/dev/vda of=/dev/fb0 bs=%d count=1 2>/dev/null; sleep 1; "
                 "echo @@drawn\n" % (width * height * 4))
    session.expect(r"^@@drawn$", 120)
    rc, out = session.host("cmavm ctl --socket api.sock screenshot screen.png && "
                           "base64 screen.png", timeout=300)
    if rc:
        say("(no screenshot here: %s)" % out.strip())
        return
    png = base64.b64decode("".join(out.splitlines()[1:]))
    os.makedirs(os.path.dirname(SCREEN), exist_ok=True)
    with open(SCREEN, "wb") as f:
        f.write(png)
    say("screenshot of scanout 0 (%d bytes, PNG): %s" % (len(png), SCREEN))
    if sys.stdout.isatty():
        print(screen.terminal(*screen.png_rgb(png)))
    say("where its pixels live on the host: one host-physical run each")
    rc, out = session.host("cmavm ctl --socket api.sock gpu", timeout=120)
    print(out.rstrip())


def show_sizing(session):
    """What the guest itself says of its CMA (through its QEMU guest agent),
    and what cmavm plan would size its pool to from that."""
    print()
    for what, command in (
            ("the guest's own CMA figures, read through its QEMU guest agent",
             "cmavm ctl --socket api.sock status"),
            ("cmavm plan: a size for this VM class from what the guest used",
             "cmavm plan --observed api.sock --largest 4M"),
            ("a few of the Prometheus metrics (cmavm ctl metrics, GET /metrics)",
             "cmavm ctl --socket api.sock metrics | grep -E '^cmavm_(guest_cma|guest_agent_up)'")):
        say(what)
        rc, out = session.host(command, timeout=120)
        print(out.rstrip())
        if rc:
            say("(that did not work here; the demo goes on)")


def show_net(session):
    """virtio-net on the host's tap: the guest brings eth0 up, and each side pings the other."""
    print()
    say("the guest's network: eth0 on virtio-net, the host's tap0 behind it")
    session.guest("ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0 && "
                  "ping -c 2 -W 5 10.0.2.1 | tail -2")  # the console shows it as it comes
    rc, out = session.host("ping -c 2 -W 5 10.0.2.2 | tail -2")
    print(out.rstrip())
    rc, out = session.host("cmavm ctl --socket api.sock devices | grep -E '^(name|virtio-net)'")
    print(out.rstrip())


def show_guests(session, flags):
    """The demo's own pools judged by the rules of other guest kernels: a
    16 KiB-page guest, whose pageblock is 32 MiB, would refuse some."""
    print()
    say("these pools as other guest kernels would judge them (cmavm dtb check)")
    rc, out = session.host("cmavm run --dry-run --dump-dtb demo.dtb %s >/dev/null 2>&1"
                           % " ".join(shlex.quote(f) for f in flags))
    for guest, page in (("6.1", "4K"), ("6.12", "16K")):
        rc, out = session.host("cmavm dtb check --guest %s --page-size %s demo.dtb | "
                               "grep -E '^(guest|CMA POOL|COHERENT POOL|REJECTED|summary)'"
                               % (guest, page), timeout=60)
        print(out.rstrip())


def main():
    host = testhost.Host(echo=True)
    flags = demo_flags(host.guest_page_size) if len(sys.argv) == 1 else sys.argv[1:]
    say("booting the demo guest, %s, on %s" % (host.describe_guest(), host.describe()))
    if not host.native:
        say("starting the emulated arm64 host (about 5 s)")
    cmd = "cmavm run --api-socket api.sock " + " ".join(shlex.quote(f) for f in flags)
    hugepages = "" if host.native else "echo 96 > /proc/sys/vm/nr_hugepages\n" + testhost.tap_setup()
    if not host.native:
        cmd += " --net tap=tap0"
    card = os.path.join(tempfile.mkdtemp(prefix="cmavm-demo-"), "card.raw")
    with open(card, "wb") as f:
        f.write(screen.test_card(*GPU_MODE))
    session = host.start('%secho "==> %s"\n%s\necho "@@cmavm-exit=$?"'
                         % (hugepages, cmd, cmd), files={"card.raw": card})
    m = session.expect(r"^(@@cmavm-exit=(\d+)|guest: shell ready)$", 600)
    if m[0] == "guest: shell ready":
        show_engine(session)
        show_gpu(session)
        show_sizing(session)
        if not host.native:
            show_net(session)
        show_guests(session, flags)
        session.send("poweroff -f\n")
        m = session.expect(r"^@@cmavm-exit=(\d+)$", 120)
    else:
        m = [m[0], m[2]]
    session.wait(60)
    code = int(m[1])
    ok = summary(session.output)
    say("cmavm exited with %d after %.1f s%s" % (code, session.elapsed(),
        "" if ok else "; the guest did not create every pool as planned"))
    return code if code else (0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
