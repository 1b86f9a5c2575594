/*
 * Hand-built guest ELF images for host tests (tests/unit, tests/fuzz):
 * the ELF64 x86-64 header, program headers and Xen ELF notes, written
 * into a caller's buffer. Each test lays out its own image; this only
 * spells the file format once.
 */
#ifndef TEST_ELF_IMAGE_H
#define TEST_ELF_IMAGE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

/* Clear img[0..cap) and write a 64-bit little-endian x86-64 ET_EXEC
 * header with this entry point and phnum program headers right after it. */
void elf_image_header(uint8_t *img, size_t cap, uint64_t entry, unsigned int phnum);

/* Program header i (0-based) of an image written by elf_image_header(). */
Elf64_Phdr *elf_image_phdr(uint8_t *img, unsigned int i);

/* One "Xen" note (type, desc of len bytes) at img + off; returns its size
 * with the 4-byte padding, so that notes can be chained. */
size_t elf_image_note(uint8_t *img, size_t off, uint32_t type,
                      const void *desc, uint32_t len);

#endif
