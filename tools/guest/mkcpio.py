#!/usr/bin/env python3
"""Write an initramfs (cpio "newc") from a list of entries, as any user.

No root is needed for /dev/console: device nodes are written into the
archive, not created on disk. Entries, one per line on stdin:

    dir   PATH [MODE]
    file  PATH SOURCE [MODE]
    slink PATH TARGET
    cdev  PATH MAJOR MINOR [MODE]

Paths are inside the archive, without a leading '/'. Output: argv[1].
"""
import os
import stat
import sys

TRAILER = "TRAILER!!!"


def header(ino, mode, size, name, rdev=(0, 0)):
    fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    return b"070701" + b"".join(b"%08x" % f for f in fields)


def pad4(n):
    return b"\0" * ((4 - n % 4) % 4)


def entry(out, ino, mode, name, data=b"", rdev=(0, 0)):
    h = header(ino, mode, len(data), name, rdev) + name.encode() + b"\0"
    out.write(h + pad4(len(h)))
    out.write(data + pad4(len(data)))


def main():
    out = open(sys.argv[1], "wb")
    ino = 1
    for line in sys.stdin:
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        kind, path = f[0], f[1].lstrip("/")
        ino += 1
        if kind == "dir":
            entry(out, ino, stat.S_IFDIR | int(f[2] if len(f) > 2 else "755", 8), path)
        elif kind == "file":
            data = open(f[2], "rb").read()
            mode = int(f[3], 8) if len(f) > 3 else (os.stat(f[2]).st_mode & 0o777)
            entry(out, ino, stat.S_IFREG | mode, path, data)
        elif kind == "slink":
            entry(out, ino, stat.S_IFLNK | 0o777, path, f[2].encode())
        elif kind == "cdev":
            mode = int(f[4], 8) if len(f) > 4 else 0o600
            entry(out, ino, stat.S_IFCHR | mode, path, rdev=(int(f[2]), int(f[3])))
        else:
            sys.exit("mkcpio: unknown entry kind '%s'" % kind)
    entry(out, 0, 0, TRAILER)
    out.write(b"\0" * (512 - out.tell() % 512))
    out.close()


if __name__ == "__main__":
    main()
