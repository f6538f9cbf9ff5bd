"""cmavm-bench inside the guest: the demo guest's initramfs with the arm64
cmavm-bench appended as /bin/cmavm-bench (cpio archives concatenate).
Shared by tools/bench/run and the integration tests that run it in a guest."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import testhost  # noqa: E402

BENCH = os.path.join(testhost.BUILD_VMM, "tools", "bench", "cmavm-bench")


def bench_initrd(tmp, guest_dir=testhost.GUEST):
    """Write initrd-bench.img, the initramfs of the guest in @guest_dir (a
    Host's guest_dir; by default the one a Host() boots), into the
    directory @tmp; its path."""
    extra = os.path.join(tmp, "bench.cpio")
    subprocess.run([sys.executable, os.path.join(ROOT, "tools/guest/mkcpio.py"), extra],
                   input=b"file bin/cmavm-bench %s 755\n" % BENCH.encode(), check=True)
    out = os.path.join(tmp, "initrd-bench.img")
    with open(out, "wb") as f:
        for part in (os.path.join(guest_dir, "initrd.img"), extra):
            with open(part, "rb") as p:
                f.write(p.read())
    return out
