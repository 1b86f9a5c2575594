/*
 * The flush engine's remote part by IPI: a remote call (shim/ipi.c) of
 * flush_local on the flush vector. Its own file so that the unit tests
 * can stand in for it (tests/unit/fake/fake_ipi.c, linked with
 * --wrap=flush_ipi_mask), which only works across object files.
 */
#include <minishim/apic.h>
#include <minishim/flush.h>
#include <minishim/ipi.h>

static void flush_ipi_fn(void *arg)
{
    flush_local(arg);
}

void flush_ipi_mask(const cpumask_t *mask, const struct flush_request *req)
{
    /* The call waits for every target: the copy outlives their use. */
    struct flush_request copy = *req;

    ipi_remote_call(mask, IPI_VECTOR_FLUSH, flush_ipi_fn, &copy, true);
}

/* inject=fake-l0-flush: the full flush (global entries too) a CPU owes
 * itself, run when it next serves its IPIs. */
static void flush_full_local(void)
{
    struct flush_request full = { .flags = FLUSH_TLB | FLUSH_TLB_GLOBAL };

    flush_local(&full);
}

static struct ipi_async full_flush_work = { .fn = flush_full_local };

void flush_ipi_async(const cpumask_t *mask)
{
    ipi_async_post(&full_flush_work, mask, IPI_VECTOR_FLUSH);
}
