#!/usr/bin/env python3
"""tools/vm: a live VM to play with, on any machine.

    tools/vm [--name NAME] [--api-socket PATH] [cmavm run flags...]
    tools/vm shell [NAME]

The first form boots the demo guest with a shell on its console, in this
terminal (Ctrl-a x stops it), and the VM's API socket on this machine:
`cmavm ctl` and curl work from another terminal as on an arm64 host. The
second gives a shell on the host cmavm runs on, beside the guest.

On an arm64 machine with KVM, cmavm runs here and the host is this
machine. Anywhere else it runs inside the emulated arm64 host
(tools/testhost.py), and tools/vm carries the API out of it: cmavm's
socket in there is joined, through `cmavm ctl connect` behind busybox nc
on a QEMU user-mode network that only this machine's 127.0.0.1 can reach,
to a socket at the same path here, made once the VM answers and removed
when it stops. The VM's name and socket are cmavm's own defaults
(`cmavm run --name`), so `cmavm ctl --name NAME` and `cmavm ctl list`
find it on both sides.
"""
import os
import select
import shlex
import signal
import socket
import sys
import termios
import threading
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testhost  # noqa: E402


def vm_flags(page_size):
    """The guest: the demo's pools and display, less its disk, and its
    shell on the console."""
    return testhost.demo_pools(page_size) + ["--gpu", "640x480",
                                             "--cmdline-append", "cmavm.mode=shell"]


RUNTIME_DIR = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
GUEST_PORT = 7070  # where nc listens in the emulated host
NET = "10.0.3"  # QEMU's user network there (the demo's tap has 10.0.2)
ESCAPE = b"\x1d"  # Ctrl-]: leaves `tools/vm shell`
HARNESS_LINES = ("@@host: ", "@@cmavm-exit=")  # the emulated host's, not the guest's

# The emulated host's part: hugepages and a tap as the demo has them, the
# API behind nc on the user-mode NIC, a shell on its second virtio console
# (hvc1) for `tools/vm shell`, and cmavm last, on the console.
JOB = r"""
export XDG_RUNTIME_DIR=%(rundir)s
mkdir -p "$XDG_RUNTIME_DIR" "$(dirname %(sock)s)"
echo 96 > /proc/sys/vm/nr_hugepages
%(tap)s
ip link set eth0 up && ip addr add %(net)s.15/24 dev eth0
nc -ll -p %(port)d -e cmavm ctl --socket %(sock)s connect </dev/null >/dev/null 2>&1 &
for i in $(seq 50); do (exec </dev/hvc1) 2>/dev/null && break; sleep 0.2; done
(while :; do
	setsid sh -c 'exec </dev/hvc1 >/dev/hvc1 2>&1; stty sane; cd /tmp
		export CMAVM_SOCKET=%(sock)s PS1="emulated-host:\w# "
		echo "a shell on the emulated arm64 host; cmavm ctl talks to %(name)s"
		exec sh -i'
	sleep 0.5
done) &
cmavm run %(flags)s
echo "@@cmavm-exit=$?"
"""


def say(text):
    # The terminal may be raw: end lines ourselves.
    sys.stdout.write("cmavm: %s\r\n" % text)
    sys.stdout.flush()


def fail(text):
    sys.stderr.write("tools/vm: error: %s\n" % text)
    sys.exit(2)


def state_dir(name):
    """Where a running tools/vm keeps what `tools/vm shell` needs."""
    return os.path.join(RUNTIME_DIR, "cmavm-vm-" + name)


def parse(argv):
    """tools/vm's own flags, and cmavm run's."""
    name, sock, rest = "vm1", None, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        if a in ("--name", "--api-socket") and i + 1 == len(argv):
            fail("%s needs a value" % a)
        if a == "--name":
            name, i = argv[i + 1], i + 2
        elif a.startswith("--name="):
            name, i = a.split("=", 1)[1], i + 1
        elif a == "--api-socket":
            sock, i = argv[i + 1], i + 2
        elif a.startswith("--api-socket="):
            sock, i = a.split("=", 1)[1], i + 1
        else:
            rest.append(a)
            i += 1
    sock = os.path.abspath(sock) if sock else os.path.join(RUNTIME_DIR, "cmavm-%s.sock" % name)
    return name, sock, rest


def socket_is_live(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def claim_socket(path):
    """Refuse a socket some VM answers on; clear a stale one."""
    if socket_is_live(path):
        fail("%s is the socket of a running VM; stop it ('cmavm ctl --socket %s shutdown') "
             "or pick another --name or --api-socket" % (path, path))
    if os.path.lexists(path):
        os.unlink(path)


# ---- the API, carried from the emulated host to this machine ----

def api_answers(port):
    """Whether the VM's API answers through the forwarded port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"GET /v1/vm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return c.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def pump(src, dst):
    """Bytes from @src to @dst until @src ends; then end @dst's writing."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def carry(client, port):
    try:
        far = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        client.close()
        return
    far.settimeout(None)
    back = threading.Thread(target=pump, args=(far, client), daemon=True)
    back.start()
    pump(client, far)
    back.join()
    far.close()
    client.close()


class Forwarder:
    """A UNIX socket here whose every connection goes to @port on 127.0.0.1;
    and, as cmavm makes one for a named VM whose socket is elsewhere, its
    name's link to it (@link), for `cmavm ctl --name` and `cmavm ctl list`."""

    def __init__(self, path, port, link=None):
        self.path, self.port, self.link = path, port, link
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # 0600, as cmavm makes its own
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        self.sock.listen(32)
        if link:
            claim_socket(link)
            os.symlink(path, link)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=carry, args=(client, self.port), daemon=True).start()

    def close(self):
        self.sock.close()
        for p in (self.link, self.path):
            try:
                if p:
                    os.unlink(p)
            except OSError:
                pass


# ---- the console ----

class ConsoleOut:
    """The emulated host's console to this terminal, less the harness's
    own lines (HARNESS_LINES) and what follows cmavm's exit (the
    emulated host powering off); everything else as it comes, so the
    guest's prompt shows before its line ends."""

    def __init__(self, out):
        self.out, self.held, self.done = out, "", False

    def write(self, text):
        if self.done:
            return  # the emulated host powering off
        text = self.held + text
        self.held = ""
        shown = []
        while text:
            if any(m.startswith(text) for m in HARNESS_LINES):
                self.held = text  # may start a harness line
                break
            nl = text.find("\n")
            line, text = (text, "") if nl < 0 else (text[:nl + 1], text[nl + 1:])
            if line.startswith(HARNESS_LINES):
                if nl < 0:
                    self.held = line
                self.done |= line.startswith("@@cmavm-exit=")
                if self.done:
                    break
                continue
            shown.append(line)
        self.out.write("".join(shown))

    def flush(self):
        self.out.flush()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tell_once_up(session, port, sock, name, ready):
    """Once the VM answers: its socket here, and what to do with it."""
    while session.proc.poll() is None:
        if api_answers(port):
            link = default_socket(name)
            ready.append(Forwarder(sock, port, None if link == sock else link))
            cmavm = os.path.join(testhost.ROOT, "build", "vmm", "cmavm")
            say("the VM's API socket is on this machine too: %s" % sock)
            say("from another terminal:  export PATH=%s:$PATH" % os.path.dirname(cmavm))
            say("  cmavm ctl --name %s status" % name if sock == default_socket(name)
                else "  cmavm ctl --socket %s status" % sock)
            say("  curl -s --unix-socket %s http://localhost/v1/vm" % sock)
            say("  %s shell %s   (a shell on the emulated arm64 host)"
                % (os.path.join(testhost.ROOT, "tools", "vm"), name))
            say("type Ctrl-a x here to stop the VM")
            return
        time.sleep(0.5)


def default_socket(name):
    return os.path.join(RUNTIME_DIR, "cmavm-%s.sock" % name)


def type_into(session, fd):
    """This terminal's keys to the console, until the emulated host stops
    (after the end of stdin too: the VM runs on, as cmavm's does)."""
    while session.proc.poll() is None:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        data = os.read(fd, 1024)
        if not data:
            session.proc.wait()
            break
        try:
            session.send(data)
        except OSError:
            break


def stop_on_signals():
    """SIGTERM and SIGHUP end tools/vm through its cleanup (terminal modes,
    sockets, the emulated host), as Ctrl-a x would."""
    def stop(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def raw_terminal(fd):
    """This terminal raw (keys as typed, Ctrl-C to the guest); its old modes."""
    if not os.isatty(fd):
        return None
    old = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # keys typed already are kept, not flushed
    return old


def run_emulated(host, name, sock, flags):
    port = free_port()
    sdir = state_dir(name)
    os.makedirs(sdir, exist_ok=True)
    shell_sock = os.path.join(sdir, "shell.sock")
    if os.path.exists(shell_sock):
        os.unlink(shell_sock)
    job = JOB % {"rundir": shlex.quote(RUNTIME_DIR), "sock": shlex.quote(sock),
                 "tap": testhost.tap_setup(), "net": NET, "port": GUEST_PORT,
                 "name": shlex.quote(name),
                 "flags": " ".join(shlex.quote(f) for f in
                                   ["--name", name, "--api-socket", sock, "--net", "tap=tap0"]
                                   + vm_flags(host.guest_page_size) + flags)}
    qemu = ["-netdev", "user,id=api,net=%s.0/24,restrict=on,hostfwd=tcp:127.0.0.1:%d-%s.15:%d"
            % (NET, port, NET, GUEST_PORT),
            "-device", "virtio-net-device,netdev=api",
            "-chardev", "socket,id=ush,path=%s,server=on,wait=off" % shell_sock,
            "-device", "virtconsole,chardev=ush"]
    fd = sys.stdin.fileno()
    stop_on_signals()
    old = raw_terminal(fd)
    ready, session = [], None
    try:
        say("starting the emulated arm64 host (about 5 s), then the guest")
        session = host.start(job, qemu_args=qemu)
        threading.Thread(target=tell_once_up, args=(session, port, sock, name, ready),
                         daemon=True).start()
        type_into(session, fd)
        session.wait(60)
    finally:
        if session is not None:
            session.kill()  # a no-op once it ended; else it goes with tools/vm
        if old is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        for f in ready:
            f.close()
        for p in (shell_sock, sdir):
            try:
                os.rmdir(p) if p == sdir else os.unlink(p)
            except OSError:
                pass
    out = session.output
    code = out.rsplit("@@cmavm-exit=", 1)[1].split()[0] if "@@cmavm-exit=" in out else "1"
    return int(code)


def run(argv):
    name, sock, flags = parse(argv)
    host = testhost.Host(echo=ConsoleOut(sys.stdout))
    if host.native:
        # This machine is the host: cmavm on this terminal, nothing to carry.
        cmavm = testhost.CMAVM
        os.environ["CMAVM_GUEST_DIR"] = host.guest_dir
        os.execv(cmavm, [cmavm, "run", "--name", name, "--api-socket", sock]
                 + vm_flags(host.guest_page_size) + flags)
    claim_socket(sock)
    return run_emulated(host, name, sock, flags)


# ---- tools/vm shell ----

def shell(argv):
    if testhost.NATIVE:
        fail("this arm64 machine is the host cmavm runs on: use its own shell")
    names = sorted(d[len("cmavm-vm-"):] for d in os.listdir(RUNTIME_DIR)
                   if d.startswith("cmavm-vm-"))
    if len(argv) > 1:
        fail("usage: tools/vm shell [NAME]")
    if not argv and len(names) != 1:
        fail("which VM? running: %s; e.g. tools/vm shell %s"
             % (", ".join(names), names[0]) if names else
             "no VM started with tools/vm is running; start one with tools/vm")
    name = argv[0] if argv else names[0]
    path = os.path.join(state_dir(name), "shell.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        fail("no shell for VM %s at %s (%s); is 'tools/vm --name %s' running?"
             % (name, path, e.strerror, name))
    fd = sys.stdin.fileno()
    old = raw_terminal(fd)
    sys.stdout.write("a shell on the emulated arm64 host of VM %s; Ctrl-] leaves it\r\n" % name)
    sys.stdout.flush()
    s.sendall(b"\n")  # a prompt now
    try:
        while True:
            r, _, _ = select.select([fd, s], [], [])
            if s in r:
                data = s.recv(65536)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if fd in r:
                data = os.read(fd, 1024)
                if not data or ESCAPE in data:
                    s.sendall(data.split(ESCAPE)[0])
                    break
                s.sendall(data)
    finally:
        if old is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
        s.close()
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(shell(args[1:]) if args[:1] == ["shell"] else run(args))
