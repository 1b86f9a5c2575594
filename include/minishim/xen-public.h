/*
 * Xen's public ABI headers (Debian libxen-dev, /usr/include/xen), included
 * in the order they need: they expect <stdint.h> types to be defined first.
 */
#ifndef MINISHIM_XEN_PUBLIC_H
#define MINISHIM_XEN_PUBLIC_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/sched.h>
#include <xen/memory.h>
#include <xen/version.h>
#include <xen/elfnote.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

#endif
