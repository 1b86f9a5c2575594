#!/usr/bin/env python3
"""mk-badkernel.py MODE KERNEL OUT: a Linux kernel the shim must refuse,
made from a real one (an ELF vmlinux, or a bzImage whose xz payload is
unpacked here first), for the bad-input cases of tests/qemu/test-qemu.sh.

  no-xen-notes         every ELF note owned by "Xen" is renamed "Xxx": a
                       kernel built without Xen PV support (no
                       XEN_ELFNOTE_* at all)
  require-feature=NAME XEN_ELFNOTE_FEATURES becomes "!NAME" (padded with
                       NULs to the note's length): a kernel that requires
                       a feature the hypervisor may not offer
"""
import lzma
import struct
import sys

XEN_ELFNOTE_FEATURES = 10


def unpack_bzimage(data):
    # Boot protocol: payload at (setup_sects + 1) * 512 + payload_offset.
    if data[0x202:0x206] != b"HdrS":
        sys.exit("mk-badkernel: not an ELF or bzImage")
    setup_sects = data[0x1f1] or 4
    poff, plen = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + poff
    payload = data[start:start + plen]
    if payload[:6] != b"\xfd7zXZ\x00":
        sys.exit("mk-badkernel: only xz-compressed bzImages are unpacked here")
    # The payload ends with kbuild's 4-byte size: data after the xz stream.
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)


def xen_notes(elf):
    """(offset of name, offset of desc, descsz, type) of every Xen note in
    the PT_NOTE segments of a 64-bit little-endian ELF."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        sys.exit("mk-badkernel: not a 64-bit little-endian ELF")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset = struct.unpack_from("<IIQ", elf, phoff + i * phentsize)
        p_filesz, = struct.unpack_from("<Q", elf, phoff + i * phentsize + 0x20)
        if p_type != 4:                          # PT_NOTE
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, off)
            name = off + 12
            desc = name + (namesz + 3) // 4 * 4
            if elf[name:name + namesz] == b"Xen\x00":
                yield name, desc, descsz, ntype
            off = desc + (descsz + 3) // 4 * 4


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    mode, src, out = sys.argv[1:]
    data = open(src, "rb").read()
    elf = bytearray(data if data[:4] == b"\x7fELF" else unpack_bzimage(data))
    notes = list(xen_notes(elf))
    if not notes:
        sys.exit("mk-badkernel: %s has no Xen notes to change" % src)
    if mode == "no-xen-notes":
        for name, _, _, _ in notes:
            elf[name:name + 4] = b"Xxx\x00"
    elif mode.startswith("require-feature="):
        want = b"!" + mode.split("=", 1)[1].encode()
        feats = [(d, n) for _, d, n, t in notes if t == XEN_ELFNOTE_FEATURES]
        if not feats or feats[0][1] < len(want):
            sys.exit("mk-badkernel: no FEATURES note long enough for %r" % want)
        desc, size = feats[0]
        elf[desc:desc + size] = want.ljust(size, b"\x00")
    else:
        sys.exit(__doc__)
    open(out, "wb").write(elf)


main()
