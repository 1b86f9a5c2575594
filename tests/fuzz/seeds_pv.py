#!/usr/bin/env python3
"""Seed inputs for tests/fuzz/fuzz_pv.c (its input format, written by
hand): one program per hypercall number with window pointers, mmu_update
and update_va_mapping onto the builder's page-table frames, and traps
with the privileged instructions the shim emulates. Usage:
    tests/fuzz/seeds_pv.py tests/fuzz/corpus/pv
"""
import os, struct, sys

def u16(v): return struct.pack('<H', v)
def small(v): return bytes([0, v])               # arg(): case 0, a byte
def win(off): return bytes([1]) + u16(off)       # arg(): case 1, window pointer
def self_dom(): return bytes([11, 0])            # arg(): default, DOMID_SELF
def ptr_pt(k, slot, cmd=0): return bytes([10, k]) + u16(slot) + bytes([cmd])
def pte_pt(k, flags): return bytes([9, 1 | (k << 1), flags, 0])
def pte_frame(pfn, flags): return bytes([9, 0]) + u16(pfn) + bytes([flags, 0])
def va_init(page): return bytes([5]) + u16(page << 3)

POKE64, HCALL, TRAP, MULTI = 1, 2, 6, 5

def hcall(nr, *args):
    a = list(args) + [small(0)] * (6 - len(args))
    return bytes([HCALL, nr]) + b''.join(a)

def poke64(off, argbytes): return bytes([POKE64]) + u16(off) + argbytes

def trap(vec_idx, ec_kind, insn, cr2=None, regs=()):
    # k: vector index (low 4 bits), error-code kind (bits 4-5), rip and
    # rsp in the window (bits 6, 7).
    k = vec_idx | (ec_kind << 4) | 0x40 | 0x80
    b = bytes([TRAP, k, len(insn)]) + insn
    if ec_kind == 1: b += bytes([3])
    if cr2 is not None: b += cr2
    sel = [0] * 16
    for r, _ in regs: sel[r] = 1
    for i in range(16):
        b += bytes([sel[i]])
        if sel[i]: b += dict(regs)[i]
    return b + bytes([0])            # rflags IOPL 0

seeds = {}
for nr in range(42):
    seeds['hcall-%02d' % nr] = bytes([0x20]) + hcall(nr, small(1), win(0x1000), win(0x2000), small(0))
for k in range(1, 5):
    seeds['mmu-rw-pt%d' % k] = bytes([0]) + poke64(0x1000, ptr_pt(3, 0x40)) + \
        poke64(0x1008, pte_pt(k, 0x67)) + hcall(1, win(0x1000), small(1), small(0), self_dom())
    seeds['uvm-rw-pt%d' % k] = bytes([0]) + hcall(14, va_init(0x300), pte_pt(k, 0x67), small(0))
seeds['mmuext-pin'] = bytes([0]) + poke64(0x1000, small(0)) + poke64(0x1008, bytes([3, 5, 0])) + \
    hcall(26, win(0x1000), small(1), small(0), self_dom())
# vector index into fuzz_pv.c vectors[]: 0 #GP, 3 #PF, 5 #UD, 6 #DB, 12 int80
for name, insn in {
        'in-dx': b'\xec', 'out-imm': b'\xe6\x80', 'ins': b'\x6c', 'rep-outsb': b'\xf3\x6e',
        'mov-from-cr3': b'\x0f\x20\xd8', 'mov-to-cr3': b'\x0f\x22\xd8', 'mov-to-cr0': b'\x0f\x22\xc0',
        'mov-from-cr4': b'\x0f\x20\xe0', 'mov-to-dr7': b'\x0f\x23\xf8', 'mov-from-dr6': b'\x0f\x21\xf0',
        'rdmsr': b'\x0f\x32', 'wrmsr': b'\x0f\x30', 'hlt': b'\xf4', 'cli': b'\xfa', 'sti': b'\xfb',
        'wbinvd': b'\x0f\x09', 'clts': b'\x0f\x06', 'rdtsc': b'\x0f\x31', 'rdpmc': b'\x0f\x33',
        'lmsw': b'\x0f\x01\xf0', 'swapgs': b'\x0f\x01\xf8', 'rex-mov-cr8': b'\x44\x0f\x20\xc0'}.items():
    seeds['gp-' + name] = bytes([0x24 | (1 << 3)]) + trap(0, 0, insn, regs=[(2, small(0x70))])
seeds['ud-forced-cpuid'] = bytes([0x20]) + trap(5, 0, b'\x0f\x0bxen\x0f\xa2')
seeds['ud-forced-rdtscp'] = bytes([0x20]) + trap(5, 0, b'\x0f\x0bxen\x0f\x01\xf9')
seeds['int80'] = bytes([0x20]) + trap(12, 0, b'\xcd\x80')
seeds['gp-int-n'] = bytes([0x20]) + trap(0, 2, b'\xcd\x03')
for k in range(1, 5):
    # writable page tables: a kernel store into a read-only page-table page.
    seeds['ptwr-%d' % k] = bytes([0x22]) + trap(3, 1, b'\x48\x89\x07',
        cr2=bytes([6, k]) + u16(0x100), regs=[(7, bytes([6, k]) + u16(0x100)), (0, pte_frame(0x10, 0x67))])
    seeds['ptwr-cmpxchg-%d' % k] = bytes([0x22]) + trap(3, 1, b'\xf0\x48\x0f\xb1\x0f',
        cr2=bytes([6, k]) + u16(0x108), regs=[(7, bytes([6, k]) + u16(0x108)), (1, pte_frame(0x11, 0x67))])

os.makedirs(sys.argv[1], exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], 'seed-' + name), 'wb') as f:
        f.write(data)
