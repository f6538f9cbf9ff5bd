#!/usr/bin/env python3
"""Copy kernel modules and everything they depend on into a directory.

    modules.py TREE OUT MODULE...

TREE is an unpacked kernel's lib/modules/VERSION (Debian ships no
modules.dep: depmod writes it at install time, so dependencies come from
each module's own .modinfo "depends=", as depmod reads them). MODULE is a
path under TREE/kernel without ".ko" (drivers/virtio/virtio_mmio). OUT gets
each module of the closure uncompressed as NAME.ko (busybox insmod reads
plain ELF; 6.12 ships .ko.xz) and OUT/load, their names in loading order:
every module after the ones it depends on. Modules built into the kernel
(TREE/modules.builtin) are left out. OUT is emptied first.
"""
import gzip
import lzma
import os
import struct
import subprocess
import sys

SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")


def read_module(path):
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".gz"):
        return gzip.open(path).read()
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-qdc", path], stdout=subprocess.PIPE,
                              check=True).stdout
    return open(path, "rb").read()


def modinfo(elf):
    """The key=value strings of an ELF64 little-endian module's .modinfo."""
    if elf[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3a)

    def section(i):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        return name, elf[off:off + size]

    names = section(shstrndx)[1]
    for i in range(shnum):
        name, data = section(i)
        if names[name:names.index(b"\0", name)] == b".modinfo":
            return [s.decode() for s in data.split(b"\0") if b"=" in s]
    raise ValueError("no .modinfo section")


def depends(elf):
    for s in modinfo(elf):
        if s.startswith("depends="):
            return [d for d in s[len("depends="):].split(",") if d]
    return []


def module_index(tree):
    """Module name (with _ for -, as the kernel names it) -> its file."""
    index = {}
    for top, _, files in os.walk(os.path.join(tree, "kernel")):
        for f in files:
            for suffix in SUFFIXES:
                if f.endswith(suffix):
                    index[f[:-len(suffix)].replace("-", "_")] = os.path.join(top, f)
    return index


def file_of(tree, index, module):
    if "/" not in module:
        return index.get(module.replace("-", "_"))
    for suffix in SUFFIXES:
        path = os.path.join(tree, "kernel", module + suffix)
        if os.path.exists(path):
            return path
    return None


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    tree, out, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(os.path.join(tree, "modules.builtin")) as f:
        builtin = {line.strip().rsplit(".ko", 1)[0] for line in f}
    index = module_index(tree)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    order, visiting = [], set()

    def add(module, wanted_by):
        path = file_of(tree, index, module)
        if path is None:
            sys.exit("modules.py: no module %s in %s (wanted by %s)" % (module, tree, wanted_by))
        name = os.path.basename(path).split(".ko")[0]
        if name in order:
            return
        if name in visiting:
            sys.exit("modules.py: %s depends on itself (through %s)" % (name, wanted_by))
        visiting.add(name)
        elf = read_module(path)
        for dep in depends(elf):
            add(dep, name)
        with open(os.path.join(out, name + ".ko"), "wb") as f:
            f.write(elf)
        order.append(name)

    for module in wanted:
        if "kernel/" + module not in builtin:
            add(module, "the command line")
    with open(os.path.join(out, "load"), "w") as f:
        f.write("".join(name + "\n" for name in order))


if __name__ == "__main__":
    main()
