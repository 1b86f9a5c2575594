/*
 * The guest's consoles. console_io(CONSOLEIO_write) goes to the shim
 * console, line-buffered and tagged "(guest) " like Xen tags a domain's
 * lines; the PV console ring (start_info console.domU) is drained to the
 * shim console untagged whenever the guest notifies its event channel,
 * since without an L0 console backend the shim is the backend.
 *
 * SMP: every vCPU reaches both paths (console_io, and EVTCHNOP_send on
 * the console port; Linux's printk and a tty write to hvc0 notify from
 * different CPUs at once), so the ring indices and the two line buffers
 * are guarded by cons_lock. Unguarded, two kicks drained the same bytes
 * twice and raced on a line buffer's length, which can then step past
 * the buffer's end (Xen's console code takes console_lock the same way).
 * The guest's event goes out after the lock is dropped.
 *
 * Input (the ring's in[] side) is what the shim's console sources have
 * (console_read: COM1's receive FIFO under QEMU-direct, L0's console ring
 * on a Xen L0, i.e. `xl console`), as Xen's pv-shim feeds its serial
 * input to the guest (xen/drivers/char/consoled.c consoled_guest_tx).
 * There is no input interrupt: it is polled whenever a vCPU is idle
 * (pv_vcpu_sleep, at least every sleep backstop) and on every kick.
 */
#include <string.h>
#include <minishim/arch.h>
#include <minishim/console.h>
#include <minishim/pv_guest_access.h>
#include <minishim/spinlock.h>
#include <minishim/pv_console.h>
#include <minishim/pv_evtchn.h>
#include <xen/io/console.h>

#define LINE_MAX_LEN 256

struct line_buf {
    const char *tag;
    size_t len;
    char buf[LINE_MAX_LEN];
};

static struct line_buf io_line = { .tag = "(guest) " };
static struct line_buf ring_line = { .tag = "" };
static struct xencons_interface *ring;
/* Guards ring draining and both line buffers (IRQ-safe: taken from
 * hypercalls, which run with interrupts on). */
static spinlock_t cons_lock = SPINLOCK_INIT;

static void line_flush(struct line_buf *l)
{
    if (!l->len)
        return;
    printk(LOG_INFO, "%s%.*s", l->tag, (int)l->len, l->buf);
    l->len = 0;
}

/* Control characters other than newline and tab are shown as '?': the
 * guest must not be able to drive the shim's terminal. */
static void line_put(struct line_buf *l, char c)
{
    if (c == '\r')
        return;
    if (c != '\n' && c != '\t' && ((unsigned char)c < 0x20 || c == 0x7f))
        c = '?';
    l->buf[l->len++] = c;
    if (c == '\n' || l->len == sizeof(l->buf) - 1) {
        if (c != '\n')
            l->buf[l->len++] = '\n';
        line_flush(l);
    }
}

long do_console_io(unsigned int cmd, unsigned int count, uint64_t buf)
{
    char chunk[128];
    unsigned long flags;

    switch (cmd) {
    case CONSOLEIO_write:
        /* Xen do_console_io(): a count above INT_MAX is -EINVAL. */
        if (count > 0x7fffffffu)
            return -XEN_EINVAL;
        while (count) {
            unsigned int n = MIN(count, (unsigned int)sizeof(chunk));

            /* Guest memory is read before the lock is taken. */
            if (copy_from_guest(chunk, buf, n))
                return -XEN_EFAULT;
            flags = spin_lock_irqsave(&cons_lock);
            for (unsigned int i = 0; i < n; i++)
                line_put(&io_line, chunk[i]);
            spin_unlock_irqrestore(&cons_lock, flags);
            buf += n;
            count -= n;
        }
        return 0;
    case CONSOLEIO_read:
        if (count > 0x7fffffffu)
            return -XEN_EINVAL;
        return 0;               /* no console input */
    default:
        return -XEN_ENOSYS;
    }
}

/* Drain the ring under cons_lock; true if anything was consumed. */
static bool drain_ring(void)
{
    XENCONS_RING_IDX cons, prod;
    unsigned long flags;
    bool consumed = false;

    flags = spin_lock_irqsave(&cons_lock);
    if (!ring)
        goto out;
    cons = __atomic_load_n(&ring->out_cons, __ATOMIC_RELAXED);
    prod = __atomic_load_n(&ring->out_prod, __ATOMIC_ACQUIRE);
    if (cons == prod)
        goto out;
    /* Garbage indices from the guest: drain at most one ring's worth. */
    if (prod - cons > sizeof(ring->out))
        cons = prod - sizeof(ring->out);
    while (cons != prod) {
        line_put(&ring_line, ring->out[MASK_XENCONS_IDX(cons, ring->out)]);
        cons++;
    }
    __atomic_store_n(&ring->out_cons, cons, __ATOMIC_RELEASE);
    consumed = true;
out:
    spin_unlock_irqrestore(&cons_lock, flags);
    return consumed;
}

/*
 * Move pending input into in[]: only as many bytes as there is room for,
 * the rest stays with its source (the UART's FIFO, L0's ring) until the
 * guest has read; consoled_guest_tx drops a byte when in[] is full. The
 * shim owns in_prod, but the page is the guest's: an in_cons more than a
 * ring behind is a corrupt ring and takes nothing. True if bytes came.
 */
static bool feed_input(void)
{
    XENCONS_RING_IDX cons, prod;
    char buf[64];
    size_t room, n = 0;
    unsigned long flags;

    flags = spin_lock_irqsave(&cons_lock);
    if (!ring)
        goto out;
    cons = __atomic_load_n(&ring->in_cons, __ATOMIC_ACQUIRE);
    prod = ring->in_prod;
    if ((XENCONS_RING_IDX)(prod - cons) > sizeof(ring->in))
        goto out;
    room = sizeof(ring->in) - (XENCONS_RING_IDX)(prod - cons);
    n = console_read(buf, MIN(room, sizeof(buf)));
    for (size_t i = 0; i < n; i++)
        ring->in[MASK_XENCONS_IDX(prod++, ring->in)] = buf[i];
    /* Data before index (the guest reads the index, then the data). */
    __atomic_store_n(&ring->in_prod, prod, __ATOMIC_RELEASE);
    if (n)
        pr_debug("console: %lu input bytes to the guest's ring\n", (unsigned long)n);
out:
    spin_unlock_irqrestore(&cons_lock, flags);
    return n != 0;
}

void pv_console_poll_input(void)
{
    if (feed_input())
        pv_evtchn_set_pending(pv_dom.console_port);
}

void pv_console_kick(void)
{
    bool fed = feed_input();


    /* A backend notifies the frontend once it has consumed output
     * (xen/io/console.h); Xen's pv-shim does it in consoled_guest_rx()
     * (xen/drivers/char/consoled.c: pv_shim_inject_evtchn() on the
     * console port). The guest sees the port pending, and an upcall if
     * it left the port unmasked with events enabled. */
    if (drain_ring() || fed)
        pv_evtchn_set_pending(pv_dom.console_port);
}

/* The guest is stopping: show what it left in its ring without
 * notifying (a panic written by a vCPU that died before its
 * EVTCHNOP_send, hvc output still buffered) and any half line. A dom0
 * console backend would still read the ring after the domain stopped. */
void pv_console_drain_final(void)
{
    struct line_buf *lines[] = { &io_line, &ring_line };
    unsigned long flags;

    pv_console_kick();
    flags = spin_lock_irqsave(&cons_lock);
    for (unsigned int i = 0; i < 2; i++) {
        if (lines[i]->len) {
            lines[i]->buf[lines[i]->len++] = '\n';     /* len < sizeof - 1 */
            line_flush(lines[i]);
        }
    }
    spin_unlock_irqrestore(&cons_lock, flags);
}

void pv_console_init(void)
{
    struct start_info *si = NULL;
    evtchn_port_t port;

    io_line.len = ring_line.len = 0;
    ring = NULL;
    if (!pv_dom.built || !pv_dom.console_mfn.mfn)
        return;
    port = pv_evtchn_alloc_shim_port(pv_console_kick);
    if (!port)
        return;
    ring = arch_phys_to_virt(mfn_to_paddr(pv_dom.console_mfn));
    memset(ring, 0, sizeof(*ring));
    pv_dom.console_port = port;
    si = pv_dom.start_info;
    if (si) {
        si->console.domU.mfn = pv_dom.console_mfn.mfn;
        si->console.domU.evtchn = port;
    }
}

/* After a resume in a new L0 domain (pv/suspend.c): the guest's ports
 * were all freed, so the console ring gets a new one, published in
 * start_info as Xen's shim does (write_start_info). The ring page is the
 * shim's and keeps its contents. */
void pv_console_reconnect(void)
{
    evtchn_port_t port;

    if (!ring)
        return;
    port = pv_evtchn_alloc_shim_port(pv_console_kick);
    if (!port)
        pr_warn("console: no port for the guest's console ring after resume\n");
    pv_dom.console_port = port;
    if (pv_dom.start_info)
        pv_dom.start_info->console.domU.evtchn = port;
}
