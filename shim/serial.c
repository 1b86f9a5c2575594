/*
 * 16550 UART driver for COM1: the console that works everywhere the shim
 * runs under QEMU. Transmit waits are bounded so that a missing UART (a PVH
 * domU of Xen has none; its ports read as all-ones) can never hang the shim.
 * Input is polled (no UART interrupt): serial_read takes what the receive
 * FIFO holds; QEMU holds further bytes back until there is room. (Bytes
 * typed while QEMU's firmware runs are read by the firmware, not us.)
 */
#include <minishim/arch.h>
#include <minishim/console.h>

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_RBR 0
#define UART_SCR 7
#define LSR_DR   0x01
#define UART_DLL 0
#define UART_DLM 1
#define LSR_THRE 0x20
#define TX_SPIN_LIMIT 100000

static uint16_t serial_port;

void serial_init(uint16_t port)
{
    serial_port = port;
    arch_outb(port + UART_IER, 0x00);        /* no interrupts          */
    arch_outb(port + UART_LCR, 0x80);        /* DLAB                   */
    arch_outb(port + UART_DLL, 0x01);        /* 115200 baud            */
    arch_outb(port + UART_DLM, 0x00);
    arch_outb(port + UART_LCR, 0x03);        /* 8N1                    */
    arch_outb(port + UART_FCR, 0xc7);        /* FIFO on, cleared       */
    arch_outb(port + UART_MCR, 0x03);        /* DTR, RTS               */
}

static void serial_putc(char c)
{
    for (unsigned int i = 0; i < TX_SPIN_LIMIT; i++) {
        if (arch_inb(serial_port + UART_LSR) & LSR_THRE)
            break;
        arch_cpu_relax();
    }
    arch_outb(serial_port + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
    if (!serial_port)
        return;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            serial_putc('\r');
        serial_putc(s[i]);
    }
}

/* A missing UART reads as all-ones, whose LSR would say "data ready"
 * forever: a source of 0xff bytes. The scratch register tells them apart. */
bool serial_present(void)
{
    if (!serial_port)
        return false;
    arch_outb(serial_port + UART_SCR, 0x5a);
    if (arch_inb(serial_port + UART_SCR) != 0x5a)
        return false;
    arch_outb(serial_port + UART_SCR, 0xa5);
    return arch_inb(serial_port + UART_SCR) == 0xa5;
}

size_t serial_read(char *buf, size_t len)
{
    size_t n = 0;

    if (!serial_port)
        return 0;
    while (n < len && (arch_inb(serial_port + UART_LSR) & LSR_DR))
        buf[n++] = (char)arch_inb(serial_port + UART_RBR);
    return n;
}
