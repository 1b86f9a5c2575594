/*
 * sysctl (pv/sysctl.c): an unprivileged domU's sysctl, plus debug key
 * 'f' (the flush statistics).
 */
#ifndef MINISHIM_PV_SYSCTL_H
#define MINISHIM_PV_SYSCTL_H

#include <minishim/types.h>

long do_sysctl(uint64_t arg);

#endif
