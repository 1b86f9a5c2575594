/*
 * memory_op (pv/memory_op.c): every sub-op with Xen 4.17's checks.
 */
#ifndef MINISHIM_PV_MEMORY_OP_H
#define MINISHIM_PV_MEMORY_OP_H

#include <minishim/types.h>

long do_memory_op(unsigned long cmd, uint64_t arg);

#endif
