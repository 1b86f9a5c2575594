/* The flush_ipi_mask stand-in (fake_ipi.c). */
#ifndef FAKE_IPI_H
#define FAKE_IPI_H

#include <minishim/cpumask.h>
#include <minishim/flush.h>
#include "fake.h"

extern bool fake_ipi_intercept;
extern unsigned int fake_nr_ipi_calls;          /* flush_ipi_mask calls     */
extern cpumask_t fake_ipi_last_targets;         /* CPUs the last call hit   */
extern struct flush_request fake_ipi_last_req;
extern unsigned int fake_ipi_received[FAKE_NR_CPUS];

void fake_ipi_reset(bool intercept);

#endif
