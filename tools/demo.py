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

Arguments are more `cmavm run` flags, given after the demo's own (see
tools/demo for which of them replace which of the demo's). The terminal
shows cmavm's lines, the guest's report and the demo's steps; the whole
console goes to .cache/demo/demo.log ($CMAVM_DEMO_LOG).
Exit status: cmavm's (0 when the guest powers off), 1 when the guest's
pools are not the ones cmavm planned or the demo could not run."""
import base64
import collections
import json
import os
import re
import shlex
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import screen  # noqa: E402
import testhost  # noqa: E402

GPU_MODE = (640, 480)
GPU_DEFAULT_MODE = (1024, 768)  # cmavm's, for a --gpu without WIDTHxHEIGHT
DEMO_DIR = os.path.join(testhost.CACHE, "demo")
SCREEN = os.path.join(DEMO_DIR, "screen.png")
LOG = os.environ.get("CMAVM_DEMO_LOG") or os.path.join(DEMO_DIR, "demo.log")
SOCKET = "api.sock"
SHELL_MODE = "cmavm.mode=shell"

PLAN = re.compile(r"^cmavm: pool (\S+) at (0x[0-9a-f]+) size (\d+) MiB \(([^)]*)\)", re.M)
GUEST = re.compile(r"^guest: dmesg: Reserved memory: created (CMA|DMA) memory pool at "
                   r"(0x[0-9a-f]+), size (\d+) MiB$", re.M)
CMA_TOTAL = re.compile(r"^guest: meminfo: CmaTotal:\s+(\d+) kB$", re.M)
THREADS = ("for t in /proc/$(pidof cmavm)/task/*; do printf '%-12s %s\\n' $(cat $t/comm) "
           "\"$(grep -E '^(Seccomp|NoNewPrivs|CapEff):' $t/status | tr -s '\\t\\n' '  ')\"; done")

# What the demo types into the guest's shell.
DRAW = ("for v in /sys/class/vtconsole/vtcon*/bind; do echo 0 > $v; done; "
        "dd if=/dev/vda of=/dev/fb0 bs=%d count=1 2>/dev/null; sleep 1")
NET_UP = ("ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0 && "
          "ping -c 2 -W 5 10.0.2.1 | tail -2")
POWER_OFF = "poweroff -f"

# `cmavm run`'s flags that take no value, or may go without one; the rest take one.
NO_VALUE = {"--dry-run", "--no-access-platform", "--help", "-h"}
OPTIONAL_VALUE = {"--gpu"}
# Files on this machine that the VM reads: copied beside the job in the
# emulated host, whose initramfs holds them in its RAM (2 GiB).
FILE_FLAGS = {"--kernel", "--initrd", "--disk"}
FILE_MAX = 256 << 20

Flag = collections.namedtuple("Flag", "name value words")


def guest_commands(mode=GPU_MODE):
    """Every command the demo types into the guest, for a display of @mode."""
    return [DRAW % (mode[0] * mode[1] * 4), NET_UP, POWER_OFF]


def say(text):
    print("==> " + text, flush=True)


def show(text):
    text = text.rstrip()
    if text:
        print(text, flush=True)


# ---- the console, filtered ----

ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[@-_]?)|[\x00-\x08\x0b-\x1f\x7f]")
PROMPT = re.compile(r"^(/\S* )?# ")
# A kernel message that says something went wrong (the rest, with or
# without `quiet`, are only in the log; power-down cmavm says itself).
KERNEL = re.compile(r"^\[\s*\d+\.\d+\] .*\b(warn(ing)?|errors?|fail(ed|ure)?|unable|cannot|"
                    r"could not|not enough|incorrect|bug|panic|oops|call trace)\b", re.I)
# No keyboard reaches the guest in the demo: this line would mislead.
CMAVM_QUIET = re.compile(r"^cmavm: console: the guest has this terminal")


def clean(line):
    """@line without terminal escapes, control characters and a shell prompt."""
    return PROMPT.sub("", ESCAPE.sub("", line)).rstrip()


def meaningful(line):
    """cmavm's lines, the guest's report, and kernel messages of trouble."""
    if line.startswith("cmavm: "):
        return not CMAVM_QUIET.match(line)
    return line.startswith("guest: ") or bool(KERNEL.match(line))


class ConsoleFilter:
    """A file-like sink for Session(echo=...): passes on to @out the
    meaningful lines of what the console prints, whole and cleaned; the
    rest (the guest shell's banner and echo, the harness's markers) is
    only in the log. Keeps cmavm's error lines for the end."""

    def __init__(self, out):
        self.out = out
        self.partial = ""
        self.errors = []

    def write(self, text):
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in map(clean, lines):
            if meaningful(line):
                self.out.write(line + "\n")
            if line.startswith("cmavm: error: "):
                self.errors.append(line)

    def flush(self):
        self.out.flush()


def first_error(text, rc):
    """The line of @text that says what failed: cmavm's error, else the first."""
    lines = [clean(s) for s in text.splitlines() if clean(s)]
    errors = [s for s in lines if re.search(r"\berror\b|fail|refus|cannot|no such", s, re.I)]
    return (errors or lines or ["exit status %d" % rc])[0]


def not_here(text, rc=1):
    say("(that did not work here: %s)" % first_error(text, rc))


# ---- the flags: the demo's, then the user's ----

def parse_flags(words):
    """@words as cmavm run reads them: [Flag(name, value or None, words)]."""
    flags, i = [], 0
    while i < len(words):
        word = words[i]
        i += 1
        name, eq, value = word.partition("=")
        if not word.startswith("-"):
            flags.append(Flag(None, word, [word]))
        elif eq:
            flags.append(Flag(name, value, [word]))
        elif name in NO_VALUE or i == len(words) or (name in OPTIONAL_VALUE
                                                      and words[i].startswith("-")):
            flags.append(Flag(name, None, [word]))
        else:
            flags.append(Flag(name, words[i], [word, words[i]]))
            i += 1
    return flags


def demo_flags(page_size, native):
    """The demo's pools, each at least one of the guest's pageblocks (32 MiB
    with 16 KiB pages: CMAVM_GUEST=6.12-16k), its display, disk and socket."""
    words = (["--api-socket", SOCKET] + testhost.demo_pools(page_size)
             + ["--gpu", "%dx%d" % GPU_MODE, "--disk", "card.raw,ro"])
    if not native:
        words += ["--net", "tap=tap0"]
    return parse_flags(words)


def pool_name(value):
    return (value or "").split(":")[0]


def tap_name(value):
    return dict(o.partition("=")[::2] for o in (value or "").split(",")).get("tap")


def shell_mode(user):
    """The guest must give the demo its shell whatever the user's command
    line: cmavm.mode=shell last (the guest's /init takes the last mode),
    and the serial console, should the user's --cmdline leave it out (the
    last console= is the one /init writes to)."""
    cmdline = last(user, "--cmdline")
    extra = SHELL_MODE if cmdline is None or "console=ttyS0" in cmdline else \
        "console=ttyS0 " + SHELL_MODE
    appends = [i for i, f in enumerate(user) if f.name == "--cmdline-append"]
    if not appends:
        return [Flag("--cmdline-append", extra, ["--cmdline-append", extra])], user
    i = appends[-1]
    value = "%s %s" % (user[i].value, extra)
    return [], user[:i] + [Flag("--cmdline-append", value, ["--cmdline-append", value])] \
        + user[i + 1:]


def combine(demo, user):
    """The demo's flags, then the user's. A user's pool of the same name, or
    --net on the same tap, replaces the demo's (cmavm would refuse both);
    cmavm itself keeps the last of a flag that takes one value."""
    pools = {pool_name(f.value) for f in user if f.name == "--dma-pool"}
    taps = {tap_name(f.value) for f in user if f.name == "--net"}
    demo = [f for f in demo if not (f.name == "--dma-pool" and pool_name(f.value) in pools)
            and not (f.name == "--net" and tap_name(f.value) in taps)]
    mode, user = shell_mode(user)
    return demo + mode + user


def last(flags, name, default=None):
    values = [f.value for f in flags if f.name == name]
    return values[-1] if values else default


def gpu_mode(flags):
    """The display the VM gets: the last --gpu's WIDTHxHEIGHT, else cmavm's default."""
    value = last(flags, "--gpu")
    m = re.match(r"^(\d+)x(\d+)(,|$)", value or "")
    return (int(m[1]), int(m[2])) if m else GPU_DEFAULT_MODE


def ship_files(flags, files):
    """The user's files (--kernel, --initrd, --disk) go beside the job, so
    that cmavm finds them in the emulated host too; their flags name them
    there. Others (a path that is not a file here) are left to cmavm."""
    out = []
    for f in flags:
        path, comma, rest = (f.value or "").partition(",") if f.name == "--disk" \
            else (f.value or "", "", "")
        if f.name not in FILE_FLAGS or not os.path.isfile(path):
            out.append(f)
            continue
        if os.path.getsize(path) > FILE_MAX:
            raise RuntimeError("%s %s: %d MiB is more than the demo copies into the emulated "
                               "host (%d MiB)" % (f.name, f.value, os.path.getsize(path) >> 20,
                                                  FILE_MAX >> 20))
        name = os.path.basename(path)
        while name in files:
            name = "user-" + name
        files[name] = os.path.abspath(path)
        value = name + comma + rest
        out.append(Flag(f.name, value, [f.name, value]))
    return out


def words(flags):
    return " ".join(shlex.quote(w) for f in flags for w in f.words)


# ---- the steps on the running VM ----

def host_run(session, command, timeout=120):
    """@command on the host beside the VM: (True, output), or (False, output)
    with what failed said in one line."""
    try:
        rc, out = session.host(command, timeout=timeout)
    except testhost.Timeout as e:
        rc, out = 1, str(e)
    if rc:
        not_here(out, rc)
    return not rc, out


def step(session, what, command, timeout=120):
    say(what)
    ok, out = host_run(session, command, timeout)
    if ok:
        show(out)
    return ok


def guest_run(session, command, timeout=120):
    """@command typed into the guest's shell: (True, its output without
    cmavm's lines, which the console has shown), or (False, ...) as host_run."""
    try:
        rc, out = session.guest(command, timeout)
    except testhost.Timeout as e:
        rc, out = 1, str(e)
    if rc:
        not_here(out, rc)
    lines = [clean(s) for s in out.splitlines()]
    return not rc, "\n".join(s for s in lines if s and not s.startswith("cmavm: "))


def vm_pools(session, sock):
    """The running VM's pools as it says (cmavm ctl pools): {name: (base,
    size in MiB, reusable)}; None if it would not say."""
    ok, out = host_run(session, "cmavm ctl --socket %s --json pools" % shlex.quote(sock))
    if not ok:
        return None
    try:
        pools = json.loads(out[out.index("["):])
    except ValueError as e:
        not_here("cmavm ctl --json pools: %s" % e)
        return None
    return {p["name"]: (p["base"], p["size"] >> 20, p["kind"] == "cma") for p in pools}


def show_engine(session, sock, pools):
    """The host CMA engine at work on the running guest: a window, a move,
    the map. The window and the move are over the default pool, when the
    VM has one (@pools: vm_pools())."""
    ctl = "cmavm ctl --socket %s " % shlex.quote(sock)
    colour = "" if sys.stdout.isatty() else "NO_COLOR=1 "
    print()
    step(session, "cmavm's threads, each in its own seccomp filter, with no capability left "
         "(docs/security.md)", THREADS)
    if pools is not None and "linux,cma" in pools:
        step(session, "committing a DMA window over the default pool on host huge pages",
             ctl + "window commit linux,cma huge", 300)
        step(session, "moving one of its pageblocks onto a new huge page",
             ctl + "migrate linux,cma 1", 300)
    elif pools is not None:
        say("this VM has no default pool (linux,cma): no window committed, no pageblock moved")
    for what, command in (
            ("the windows: boot windows (,window=) and the one committed just now",
             ctl + "window list"),
            ("what the moves cost the guest (live moves: no pause, only writers wait)",
             ctl + "cma-stats"),
            ("the pageblock map (W: window, B: backed, U: unbacked, R: reported free)",
             colour + ctl + "map")):
        step(session, what, command)


def show_gpu(session, sock, mode):
    """The guest draws a test card on its display; the host takes a
    screenshot, shows it, and says where its pixels live."""
    print()
    say("the guest writes a test card to its display (/dev/fb0, virtio-gpu)")
    if not guest_run(session, DRAW % (mode[0] * mode[1] * 4))[0]:
        return
    ctl = "cmavm ctl --socket %s " % shlex.quote(sock)
    ok, out = host_run(session, ctl + "screenshot screen.png && base64 screen.png", 300)
    if not ok:
        return
    png = base64.b64decode("".join(out.splitlines()[1:]))
    os.makedirs(os.path.dirname(SCREEN), exist_ok=True)
    with open(SCREEN, "wb") as f:
        f.write(png)
    say("screenshot of scanout 0 (%d bytes, PNG): %s" % (len(png), SCREEN))
    if sys.stdout.isatty():
        show(screen.terminal(*screen.png_rgb(png)))
    step(session, "where its pixels live on the host: one host-physical run each", ctl + "gpu")


def show_sizing(session, sock):
    """What the guest itself says of its CMA (through its QEMU guest agent),
    and what cmavm plan would size its pool to from that."""
    ctl = "cmavm ctl --socket %s " % shlex.quote(sock)
    print()
    for what, command in (
            ("the guest's own CMA figures, read through its QEMU guest agent", ctl + "status"),
            ("cmavm plan: a size for this VM class from what the guest used",
             "cmavm plan --observed %s --largest 4M" % shlex.quote(sock)),
            ("a few of the Prometheus metrics (cmavm ctl metrics, GET /metrics)",
             ctl + "metrics | grep -E '^cmavm_(guest_cma|guest_agent_up)'")):
        step(session, what, command)


def show_net(session, sock):
    """virtio-net on the host's tap: the guest brings eth0 up, and each side pings the other."""
    print()
    say("the guest's network: eth0 on virtio-net, the host's tap0 behind it")
    ok, out = guest_run(session, NET_UP)
    if ok:
        show(out)
    if step(session, "the host pings the guest back", "ping -c 2 -W 5 10.0.2.2 | tail -2"):
        show(host_run(session, "cmavm ctl --socket %s devices | grep -E '^(name|virtio-net)'"
                      % shlex.quote(sock))[1])


def show_guests(session, flags):
    """The demo's own pools judged by the rules of other guest kernels: a
    16 KiB-page guest, whose pageblock is 32 MiB, would refuse some."""
    print()
    say("these pools as other guest kernels would judge them (cmavm dtb check)")
    # Without --net: the running VM holds its taps, and a tap serves one device.
    flags = [f for f in flags if f.name != "--net"]
    if not host_run(session, "cmavm run --dry-run --dump-dtb demo.dtb %s" % words(flags))[0]:
        return
    for guest, page in (("6.1", "4K"), ("6.12", "16K")):
        ok, out = host_run(session, "cmavm dtb check --guest %s --page-size %s demo.dtb | "
                           "grep -E '^(guest|CMA POOL|COHERENT POOL|REJECTED|summary)'"
                           % (guest, page), timeout=60)
        show(out)


def show_all(session, host, flags):
    """Every step on the running VM; its pools, as vm_pools()."""
    sock = last(flags, "--api-socket", SOCKET)
    pools = vm_pools(session, sock)
    show_engine(session, sock, pools)
    show_gpu(session, sock, gpu_mode(flags))
    show_sizing(session, sock)
    if not host.native:
        show_net(session, sock)
    show_guests(session, flags)
    return pools


# ---- the run and its end ----

def summary(out, pools):
    """The table of pools, cmavm's (@pools, else its plan's lines in @out)
    beside the guest's words; True if they agree."""
    plan = pools or {m[1]: (int(m[2], 16), int(m[3]), "reusable" in m[4])
                     for m in PLAN.finditer(out)}
    guest = {int(m[2], 16): (m[1], int(m[3])) for m in GUEST.finditer(out)}
    ok = True
    print()
    print("%-10s  %-32s  %-40s" % ("pool", "cmavm placed it", "the guest says"))
    for name, (base, size, reusable) in plan.items():
        want = "CMA" if reusable else "DMA"
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
    reusable = sum(s for _, s, cma in plan.values() if cma)
    if total:
        match = int(total[1]) == reusable * 1024
        ok &= match
        print("CmaTotal    %-32s  %-40s %s" % ("%d MiB of reusable pools" % reusable,
                                               "%s kB" % total[1], "ok" if match else "MISMATCH"))
    print()
    return ok


def job(host, flags):
    """The job's script: huge pages and a tap in the emulated host, then cmavm."""
    setup = "" if host.native else "echo 96 > /proc/sys/vm/nr_hugepages\n" + testhost.tap_setup()
    return '%scmavm run %s\necho "@@cmavm-exit=$?"' % (setup, words(flags))


def run(host, session, flags, console):
    """The VM from boot to power-off; the demo's exit status."""
    m = session.expect(r"^(@@cmavm-exit=(\d+)|guest: shell ready)$", 600)
    pools = None
    if m[0] == "guest: shell ready":
        pools = show_all(session, host, flags)
        session.send(POWER_OFF + "\n")
        code = int(session.expect(r"^@@cmavm-exit=(\d+)$", 120)[1])
    else:
        code = int(m[2])
    session.wait(60)
    out = session.output
    if "guest: report done" not in out:
        dry = any(f.name == "--dry-run" for f in flags)
        say("cmavm exited with %d before the guest's report: %s" % (code, console.errors[0]
            if console.errors else "--dry-run starts no guest" if dry else "no error line"))
        return code or (0 if dry else 1)
    ok = summary(out, pools)
    say("cmavm exited with %d after %.1f s%s" % (code, session.elapsed(),
        "" if ok else "; the guest did not create every pool as planned"))
    return code if code else (0 if ok else 1)


def shown_path(path):
    """@path from here when it is below here, else whole."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def main():
    if {"-h", "--help"} & set(sys.argv[1:]):
        print("Usage: tools/demo [CMAVM-RUN-FLAGS...]\n\n" + __doc__)
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(LOG)), exist_ok=True)
    console = ConsoleFilter(sys.stdout)
    session = None
    card = os.path.join(tempfile.mkdtemp(prefix="cmavm-demo-"), "card.raw")
    with open(LOG, "w") as log:
        try:
            host = testhost.Host(echo=console, log=log)
            files = {"card.raw": card}
            flags = combine(demo_flags(host.guest_page_size, host.native),
                            ship_files(parse_flags(sys.argv[1:]), files))
            with open(card, "wb") as f:
                f.write(screen.test_card(*gpu_mode(flags)))
            say("booting the demo guest, %s, on %s" % (host.describe_guest(), host.describe()))
            if not host.native:
                say("starting the emulated arm64 host (about 5 s)")
            say("cmavm run " + words(flags))
            session = host.start(job(host, flags), files=files)
            code = run(host, session, flags, console)
        except (RuntimeError, OSError, testhost.Timeout) as e:
            say("the demo stopped: %s" % str(e).splitlines()[0])
            code = 1
        finally:
            if session:
                session.kill()
            shutil.rmtree(os.path.dirname(card), ignore_errors=True)
    say("the whole console, unfiltered: %s" % shown_path(LOG))
    return code


if __name__ == "__main__":
    sys.exit(main())
