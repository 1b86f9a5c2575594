/*
 * Guest segment descriptors (pv/descriptor.c): Xen 4.17's
 * check_descriptor() rules, LDT/GDT page validation, selectors.
 */
#ifndef MINISHIM_PV_DESCRIPTOR_H
#define MINISHIM_PV_DESCRIPTOR_H

#include <minishim/types.h>

bool pv_check_descriptor(uint64_t *desc);
int pv_validate_seg_desc_page(void *page);
void pv_gdt_reset(void);
bool pv_selector_ok(uint16_t sel, bool code);

long do_set_gdt(uint64_t frame_list, unsigned int entries);
long do_update_descriptor(uint64_t maddr, uint64_t desc);

#endif
