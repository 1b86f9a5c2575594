/*
 * A stand-in for flush_ipi_mask (shim/flush_ipi.c) for tests of the flush
 * engine. The unit binary is linked with --wrap=flush_ipi_mask, so every
 * call lands here: while fake_ipi_intercept is set, the call is recorded
 * and "delivered" by running flush_local() as each target CPU in turn
 * (fake_cpu_id switched), as the flush vector would; otherwise it goes on
 * to the real implementation.
 */
#include <minishim/flush.h>
#include <minishim/ipi.h>
#include <minishim/percpu.h>
#include "fake.h"
#include "fake_ipi.h"

bool fake_ipi_intercept;
unsigned int fake_nr_ipi_calls;
cpumask_t fake_ipi_last_targets;
struct flush_request fake_ipi_last_req;
unsigned int fake_ipi_received[FAKE_NR_CPUS];

void __real_flush_ipi_mask(const cpumask_t *mask, const struct flush_request *req);
void __wrap_flush_ipi_mask(const cpumask_t *mask, const struct flush_request *req);

void fake_ipi_reset(bool intercept)
{
    fake_ipi_intercept = intercept;
    fake_nr_ipi_calls = 0;
    cpumask_clear(&fake_ipi_last_targets);
    fake_ipi_last_req = (struct flush_request){ 0 };
    for (unsigned int c = 0; c < FAKE_NR_CPUS; c++)
        fake_ipi_received[c] = 0;
}

void __wrap_flush_ipi_mask(const cpumask_t *mask, const struct flush_request *req)
{
    unsigned int self = fake_cpu_id;
    cpumask_t targets;

    if (!fake_ipi_intercept) {
        __real_flush_ipi_mask(mask, req);
        return;
    }
    /* The contract: online CPUs in mask except the caller. */
    cpumask_and(&targets, mask, &cpu_online_mask);
    cpumask_clear_cpu(&targets, self);
    fake_nr_ipi_calls++;
    fake_ipi_last_targets = targets;
    fake_ipi_last_req = *req;
    for_each_cpu(c, &targets) {
        fake_cpu_id = c;
        fake_ipi_received[c]++;
        flush_local(req);
    }
    fake_cpu_id = self;
}
