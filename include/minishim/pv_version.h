/*
 * xen_version and vm_assist (pv/version.c).
 */
#ifndef MINISHIM_PV_VERSION_H
#define MINISHIM_PV_VERSION_H

#include <minishim/types.h>

long do_xen_version(int cmd, uint64_t arg);
long do_vm_assist(unsigned int cmd, unsigned int type);

#endif
