#!/usr/bin/env python3
"""The shared libraries a dynamically linked arm64 program needs, found in
unpacked Debian packages.

    libs.py PROGRAM DIR...

PROGRAM is an ELF file; each DIR an unpacked .deb. Follows the DT_NEEDED
entries of PROGRAM and of every library it finds, recursively, through the
directories the dynamic loader searches (lib/aarch64-linux-gnu,
usr/lib/aarch64-linux-gnu, lib, usr/lib) of each DIR, symlinks resolved
inside their DIR. Prints one line per library, loader included:

    lib SONAME FILE       a library found (FILE: the real file, not a link)
    interp PATH FILE      the program's loader (PT_INTERP), as PATH in the guest
    missing SONAME        needed, and in none of the DIRs

tools/guest/build downloads the packages that the missing ones may be in
(the Depends of those it has) and asks again until none is missing.
"""
import os
import struct
import sys

SEARCH = ("lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib", "usr/lib")
PT_INTERP, SHT_DYNAMIC, DT_NEEDED = 3, 6, 1


def elf_header(elf):
    if elf[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file")
    phoff, shoff = struct.unpack_from("<QQ", elf, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", elf, 0x36)
    return phoff, phentsize, phnum, shoff, shentsize, shnum


def interpreter(elf):
    phoff, phentsize, phnum = elf_header(elf)[:3]
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", elf,
                                                                 phoff + i * phentsize)
        if p_type == PT_INTERP:
            return elf[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def section(elf, shoff, shentsize, i):
    """(type, offset, size, link) of section @i."""
    _, sh_type, _, _, off, size, link = struct.unpack_from("<IIQQQQI", elf, shoff + i * shentsize)
    return sh_type, off, size, link


def needed(elf):
    """The DT_NEEDED sonames, through the .dynamic section and its string table."""
    shoff, shentsize, shnum = elf_header(elf)[3:]
    for i in range(shnum):
        sh_type, off, size, link = section(elf, shoff, shentsize, i)
        if sh_type != SHT_DYNAMIC:
            continue
        strtab = section(elf, shoff, shentsize, link)[1]
        names = []
        for e in range(off, off + size, 16):
            tag, val = struct.unpack_from("<qQ", elf, e)
            if tag == 0:
                break
            if tag == DT_NEEDED:
                end = elf.index(b"\0", strtab + val)
                names.append(elf[strtab + val:end].decode())
        return names
    return []


def resolve(root, path):
    """@path (inside @root) with its symlinks followed inside @root; None if dangling."""
    for _ in range(40):
        full = os.path.join(root, path.lstrip("/"))
        if not os.path.islink(full):
            return full if os.path.isfile(full) else None
        target = os.readlink(full)
        path = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        path = os.path.normpath(path)
    return None


def find(dirs, soname):
    for root in dirs:
        for d in SEARCH:
            hit = resolve(root, os.path.join(d, soname))
            if hit:
                return hit
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    program, dirs = sys.argv[1], sys.argv[2:]
    with open(program, "rb") as f:
        elf = f.read()
    interp = interpreter(elf)
    if interp:
        hit = find(dirs, os.path.basename(interp))
        print("interp %s %s" % (interp, hit) if hit else "missing %s" % os.path.basename(interp))
    wanted, seen = needed(elf), set()
    while wanted:
        soname = wanted.pop(0)
        if soname in seen:
            continue
        seen.add(soname)
        hit = find(dirs, soname)
        if not hit:
            print("missing %s" % soname)
            continue
        print("lib %s %s" % (soname, hit))
        with open(hit, "rb") as f:
            wanted += needed(f.read())


if __name__ == "__main__":
    main()
