"""Run cmavm where it can run, and talk to what it prints.

On an arm64 machine with /dev/kvm, jobs run directly. Anywhere else they
run inside an emulated arm64 host (qemu-system-aarch64 with EL2, whose
kernel has KVM); see docs/testing.md. A job is a shell script; the same
script runs in both places, with `cmavm` on its PATH and the demo guest
as cmavm's default guest.

The emulated host boots one of two Debian kernels (tools/emuhost/build):
6.12, the default, or 6.1 (no userfaultfd write-protect on arm64): chosen
by Host(host_kernel=...), else by $CMAVM_HOST_KERNEL. On an arm64 machine
there is no choice: cmavm runs on that machine's own kernel.

The guest is one of the flavours of tools/guest/flavours (6.12, the
default, 6.1, 6.12-16k; tools/guest/build): chosen by Host(guest=...),
else by $CMAVM_GUEST, on the emulated host as on a native one.

    host = Host()
    s = host.start('cmavm run --cmdline "console=ttyS0 cmavm.mode=shell"\\n'
                   'echo "@@cmavm-exit=$?"')
    s.expect(r'guest: shell ready')
    s.send('echo $((6*7))\\n')
    s.expect(r'^42\\r?$')
    s.wait()
"""
import os
import platform
import pty
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("CMAVM_CACHE", os.path.join(ROOT, ".cache"))
NATIVE = platform.machine() == "aarch64"
BUILD_VMM = os.path.join(ROOT, "build" if platform.machine() == "aarch64" else "build-arm64")
CMAVM = os.path.join(BUILD_VMM, "vmm", "cmavm")

QEMU = [
    "qemu-system-aarch64",
    "-M", "virt,virtualization=on,gic-version=3",
    # pauth-impdef: architected pointer-auth emulation makes L1 3x slower
    "-cpu", "max,pauth-impdef=on",
    "-smp", "2",
    # serial on stdio without QEMU's monitor mux, so Ctrl-a reaches cmavm
    "-display", "none", "-serial", "stdio", "-monitor", "none",
    "-no-reboot", "-nic", "none",
    "-device", "virtio-serial-device",
]
L1_CMDLINE = "console=ttyAMA0 quiet panic=-1"


class Timeout(AssertionError):
    pass


def _cpio(entries, path):
    spec = "\n".join(entries) + "\n"
    subprocess.run([sys.executable, os.path.join(ROOT, "tools/guest/mkcpio.py"), path],
                   input=spec.encode(), check=True)


def _read_flavours():
    """The guest flavours of tools/guest/flavours in its order, the page
    size (bytes) each one's kernel runs with, and the default flavour."""
    flavours, default = {}, None
    with open(os.path.join(ROOT, "tools/guest/flavours")) as f:
        for line in f:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            flavours[words[0]] = int(words[2].rstrip("K")) * 1024
            if words[3:] == ["default"]:
                default = words[0]
    return flavours, default


GUESTS = os.path.join(CACHE, "guest")
GUEST_PAGE_SIZE, DEFAULT_GUEST = _read_flavours()
GUEST_FLAVOURS = tuple(GUEST_PAGE_SIZE)
# A guest's pageblock in MiB, by its page size (docs/guests.md).
PAGEBLOCK_MIB = {4096: 2, 16384: 32, 65536: 512}


def demo_pools(page_size):
    """The demo's named pools (tools/demo, tools/vm) as cmavm run flags:
    gpu with a boot window, fw no-map; each at least one of the guest's
    pageblocks (32 MiB with 16 KiB pages: CMAVM_GUEST=6.12-16k)."""
    block = PAGEBLOCK_MIB[page_size]
    return ["--dma-pool", "gpu:%dM,window=huge" % max(16, block),
            "--dma-pool", "fw:%dM:no-map" % max(4, block)]


def choose_guest(choice=None):
    """The guest flavour: @choice, else $CMAVM_GUEST, else DEFAULT_GUEST."""
    guest = choice or os.environ.get("CMAVM_GUEST") or DEFAULT_GUEST
    if guest not in GUEST_FLAVOURS:
        raise ValueError("no guest flavour %r: choose one of %s"
                         % (guest, ", ".join(GUEST_FLAVOURS)))
    return guest


def guest_dir(flavour):
    """Where tools/guest/build puts the guest @flavour: Image, initrd.img."""
    return os.path.join(GUESTS, flavour)


# The guest a Host() with no guest= boots ($CMAVM_GUEST, else the default):
# for readers that take its files themselves (a gzip Image, an initramfs
# with more in it) beside such a host.
GUEST = guest_dir(choose_guest())

EMUHOST = os.path.join(CACHE, "emuhost")
HOST_KERNELS = ("6.12", "6.1")
DEFAULT_HOST_KERNEL = "6.12"


def choose_host_kernel(choice=None):
    """The emulated host's kernel series: @choice, else $CMAVM_HOST_KERNEL,
    else DEFAULT_HOST_KERNEL."""
    kernel = choice or os.environ.get("CMAVM_HOST_KERNEL") or DEFAULT_HOST_KERNEL
    if kernel not in HOST_KERNELS:
        raise ValueError("no emulated host kernel %r: choose one of %s"
                         % (kernel, ", ".join(HOST_KERNELS)))
    return kernel


def _emuhost_base(kernel, guest):
    """The part of the L1 initramfs that does not change between jobs, one
    per emulated host kernel (its modules differ) and guest flavour."""
    kdir = os.path.join(EMUHOST, kernel)
    base = os.path.join(kdir, "base-guest-%s.cpio" % guest)
    load = os.path.join(kdir, "modules", "load")
    for s in (load, os.path.join(kdir, "Image")):
        if not os.path.exists(s):
            raise RuntimeError("%s is missing: run tools/emuhost/build" % s)
    with open(load) as f:
        modules = {m: os.path.join(kdir, "modules", m + ".ko") for m in f.read().split()}
    sources = [os.path.join(ROOT, "tools/emuhost/init"), os.path.join(guest_dir(guest), "Image"),
               os.path.join(guest_dir(guest), "initrd.img"),
               os.path.join(CACHE, "busybox/bin/busybox"),
               load] + list(modules.values())
    for s in sources:
        if not os.path.exists(s):
            raise RuntimeError("%s is missing: run tools/guest/build and tools/emuhost/build"
                               % s)
    if os.path.exists(base) and all(os.path.getmtime(s) <= os.path.getmtime(base)
                                    for s in sources):
        return base
    tmp = "%s.%d.tmp" % (base, os.getpid())
    _cpio(["dir bin", "dir dev", "dir proc", "dir sys", "dir tmp", "dir lib", "dir lib/modules",
           "file lib/modules/load %s 644" % load]
          + ["file lib/modules/%s.ko %s 644" % m for m in modules.items()]
          + ["dir usr", "dir usr/share", "dir usr/share/cmavm", "dir usr/share/cmavm/guest",
             "cdev dev/console 5 1", "cdev dev/null 1 3 666",
             "file bin/busybox %s 755" % sources[3], "slink bin/sh busybox",
             "file init %s 755" % sources[0],
             "file usr/share/cmavm/guest/Image %s 644" % sources[1],
             "file usr/share/cmavm/guest/initrd.img %s 644" % sources[2]], tmp)
    os.replace(tmp, base)
    return base


def tap_setup(name="tap0", address="10.0.2.1/24"):
    """Shell lines that make a tap as an operator would (busybox tunctl in
    the emulated host; `ip tuntap add` elsewhere), with an address, up."""
    return ("tunctl -t %s >/dev/null && ip link set %s up && ip addr add %s dev %s\n"
            % (name, name, address, name))


class Session:
    """One job: its output as it arrives, input to its console, its end."""

    def __init__(self, argv, env=None, cwd=None, echo=False, log=None, tmpdir=None,
                 tty=False, host_shell=None):
        self.echo = echo
        self.host_shell = host_shell  # path of the emulated host's second shell, or None
        self.host_ready_s = None  # seconds from QEMU's start to the emulated host's /init
        self.host_sock = None
        self.host_buf = b""
        self.host_seq = 0
        self.guest_seq = 0
        self.cwd = cwd
        self.env = env
        self.log = log
        self.tmpdir = tmpdir
        self.buf = ""
        self.pos = 0
        self.lock = threading.Condition()
        self.eof = False
        self.started = time.monotonic()
        self.pty = None
        stdin = subprocess.PIPE
        if tty:
            # cmavm on a terminal, as in the emulated host: raw mode, Ctrl-a x.
            self.pty, stdin = pty.openpty()
            threading.Thread(target=self._drain_pty, daemon=True).start()
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)
        if tty:
            os.close(stdin)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _drain_pty(self):
        """The terminal's own echo, before cmavm makes it raw: not output."""
        try:
            while os.read(self.pty, 4096):
                pass
        except OSError:
            pass

    def _read(self):
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                break
            text = data.decode("utf-8", "replace")
            if self.echo:
                # True: this terminal; else a file-like object (a filter, say)
                out = sys.stdout if self.echo is True else self.echo
                out.write(text)
                out.flush()
            if self.log:
                self.log.write(text)
                self.log.flush()
            with self.lock:
                self.buf += text
                self.lock.notify_all()
        with self.lock:
            self.eof = True
            self.lock.notify_all()

    @property
    def output(self):
        with self.lock:
            return self.buf.replace("\r", "")

    def elapsed(self):
        return time.monotonic() - self.started

    def expect(self, pattern, timeout=120):
        """Wait for @pattern (a multiline regex) in the complete lines after the
        last match; return the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                # Complete lines only: '$' must not match a line still arriving.
                text = self.buf.replace("\r", "")
                m = rx.search(text, self.pos, text.rfind("\n") + 1)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    why = "the job ended" if self.eof else "%d s passed" % timeout
                    raise Timeout("expected /%s/ but %s; last output:\n%s"
                                  % (pattern, why, self.buf.replace("\r", "")[-3000:]))
                self.lock.wait(min(left, 1.0))

    def host(self, command, timeout=60):
        """Run @command on the host cmavm runs on, beside the job; returns
        (exit status, output). In the emulated host it goes to a second
        shell on a virtio console; natively it is a subprocess."""
        if self.log:
            self.log.write("\n@@host-command: %s\n" % command)
        if not self.host_shell:
            p = subprocess.run(["sh", "-c", command], cwd=self.cwd, env=self.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
            out = p.stdout.decode("utf-8", "replace")
            if self.log:
                self.log.write(out)
            return p.returncode, out
        import socket
        if self.host_sock is None:
            self.host_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.host_sock.connect(self.host_shell)
        self.host_seq += 1
        marker = "@@hostsh-%d" % self.host_seq
        # One line: the shell reads and evaluates line by line, and $? must
        # be the command's, not the read's.
        self.host_sock.sendall(("%s; echo \"%s $?\"\n" % (command, marker)).encode())
        rx = re.compile((r"(?s)^(.*?)%s (\d+)\r?\n" % marker).encode(), re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.host_buf)
            if m:
                self.host_buf = self.host_buf[m.end():]
                out = m[1].decode("utf-8", "replace").replace("\r", "")
                if self.log:
                    self.log.write(out)
                return int(m[2]), out
            if "@@host: no host shell" in self.output:
                raise Timeout("host command '%s': the emulated host has no host shell (its "
                              "/dev/hvc0 never opened; see the log)" % command)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("host command '%s' did not finish in %d s" % (command, timeout))
            self.host_sock.settimeout(left)
            try:
                data = self.host_sock.recv(65536)
            except socket.timeout:
                continue  # the deadline check above reports it
            if not data:
                raise Timeout("the emulated host's shell went away during '%s'" % command)
            self.host_buf += data

    def guest(self, command, timeout=120):
        """Type @command into the guest's shell (cmavm.mode=shell); its exit
        status and what it printed. The shell echoes what is typed, so the
        output is taken between two markers that only the commands' own
        output puts alone on a line."""
        self.guest_seq += 1
        start, end = "@@gs%d" % self.guest_seq, "@@ge%d" % self.guest_seq
        self.send("echo %s; %s; echo %s-$?\n" % (start, command, end))
        m = self.expect(r"(?s)^%s$(.*?)^%s-(\d+)$" % (start, end), timeout)
        return int(m[2]), m[1]

    def send(self, text):
        """@text (str, or bytes as typed) to the job's console."""
        data = text.encode() if isinstance(text, str) else text
        if self.pty is not None:
            os.write(self.pty, data)
            return
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait(self, timeout=300):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Timeout("the job did not end within %d s; last output:\n%s"
                          % (timeout, self.output[-3000:]))
        self.reader.join(10)
        self._cleanup()
        return rc

    def kill(self):
        """End the job and everything it started (cmavm, QEMU)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._cleanup()

    def _cleanup(self):
        if self.host_sock is not None:
            self.host_sock.close()
            self.host_sock = None
        if self.pty is not None:
            os.close(self.pty)
            self.pty = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


class Host:
    """A machine that can run cmavm: this one, or the emulated arm64 host."""

    def __init__(self, echo=False, log=None, host_cmdline="", host_memory_mib=2048,
                 host_kernel=None, guest=None):
        """@host_cmdline: more kernel parameters for the emulated host (e.g.
        hugepagesz=1G hugepages=1), @host_memory_mib its RAM, @host_kernel
        its kernel ("6.12" or "6.1"; None: $CMAVM_HOST_KERNEL, else 6.12).
        All three are ignored when running natively: there the host's
        kernel is this machine's own, whatever it is (self.kernel is None).
        @guest: the guest flavour cmavm boots by default, self.guest (one of
        GUEST_FLAVOURS; None: $CMAVM_GUEST, else DEFAULT_GUEST); its files
        are in self.guest_dir, its page size is self.guest_page_size."""
        self.host_cmdline = host_cmdline
        self.host_memory_mib = host_memory_mib
        self.echo = echo
        self.log = log
        self.native = NATIVE
        self.kernel = None if self.native else choose_host_kernel(host_kernel)
        self.guest = choose_guest(guest)
        self.guest_dir = guest_dir(self.guest)
        self.guest_page_size = GUEST_PAGE_SIZE[self.guest]
        if not os.path.exists(CMAVM):
            raise RuntimeError("%s is missing: run tools/build" % CMAVM)
        for f in ("Image", "initrd.img", "kernel-package"):
            if not os.path.exists(os.path.join(self.guest_dir, f)):
                raise RuntimeError("%s is missing: run tools/guest/build %s"
                                   % (os.path.join(self.guest_dir, f), self.guest))
        if self.native and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            raise RuntimeError("this arm64 machine has no usable /dev/kvm: enable KVM, or "
                               "add this user to the kvm group")

    def describe(self):
        if self.native:
            return "this arm64 machine, directly on KVM"
        return ("an emulated arm64 host (qemu-system-aarch64, TCG, KVM inside), Linux %s"
                % self.kernel)

    def describe_guest(self):
        with open(os.path.join(self.guest_dir, "kernel-package")) as f:
            package = f.read().strip()
        return "Linux %s (%s, %d KiB pages)" % (self.guest, package,
                                                self.guest_page_size // 1024)

    def start(self, job, files=None, qemu_args=()):
        """Run the shell script @job; @files ({name: host path}) are put
        beside it, in its working directory. @qemu_args: more devices for
        the emulated host (ignored natively)."""
        files = files or {}
        if self.native:
            tmp = tempfile.mkdtemp(prefix="cmavm-job-")
            for name, path in files.items():
                os.symlink(os.path.abspath(path), os.path.join(tmp, name))
            env = dict(os.environ, CMAVM_GUEST_DIR=self.guest_dir,
                       PATH=os.path.dirname(CMAVM) + ":" + os.environ["PATH"])
            return Session(["sh", "-c", job], env=env, cwd=tmp, echo=self.echo, log=self.log,
                           tmpdir=tmp, tty=True)
        tmp = tempfile.mkdtemp(prefix="cmavm-job-")
        with open(os.path.join(tmp, "job"), "w") as f:
            f.write(job + "\n")
        _cpio(["file bin/cmavm %s 755" % CMAVM, "file job %s 644" % os.path.join(tmp, "job")]
              + ["file %s %s 644" % (name, path) for name, path in files.items()],
              os.path.join(tmp, "job.cpio"))
        initrd = os.path.join(tmp, "l1.cpio")
        with open(initrd, "wb") as out:
            for part in (_emuhost_base(self.kernel, self.guest), os.path.join(tmp, "job.cpio")):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        hostsh = os.path.join(tmp, "hostsh.sock")
        argv = QEMU + ["-m", str(self.host_memory_mib), "-chardev", "socket,id=hostsh,path=%s,server=on,wait=off" % hostsh,
                       "-device", "virtconsole,chardev=hostsh",
                       "-kernel", os.path.join(EMUHOST, self.kernel, "Image"), "-initrd", initrd,
                       "-append", (L1_CMDLINE + " " + self.host_cmdline).strip()] + list(qemu_args)
        s = Session(argv, echo=self.echo, log=self.log, tmpdir=tmp, host_shell=hostsh)
        s.expect(r"^@@host: (ready.*|no /dev/kvm.*)$", timeout=120)
        s.host_ready_s = s.elapsed()
        if self.log:
            self.log.write("@@harness: emulated host (Linux %s, guest %s) ready %.2f s after "
                           "QEMU started\n" % (self.kernel, self.guest, s.host_ready_s))
        if "no /dev/kvm" in s.output:
            raise RuntimeError("the emulated host has no KVM:\n" + s.output[-2000:])
        return s
