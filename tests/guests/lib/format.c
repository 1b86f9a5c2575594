/*
 * format.c - vsnprintf for the test guests. Test output only needs
 * integers, strings and pointers: %d %i %u %x %X %o %p %s %c %%, the
 * h/hh/l/ll/z/t length modifiers, '-' '0' '#' '+' ' ' flags, a field width
 * and a precision (also '*'). Floating point is deliberately absent: the
 * guest is built without SSE.
 */
#include "guest.h"

struct sink {
    char *buf;
    size_t size;
    size_t len;     /* characters produced so far, even past size */
};

static void emit(struct sink *s, char c)
{
    if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

static void emit_pad(struct sink *s, char c, int n)
{
    while (n-- > 0)
        emit(s, c);
}

struct spec {
    bool left, zero, alt, plus, space;
    int width;
    int precision;  /* -1: none */
};

static void emit_number(struct sink *s, const struct spec *sp,
                        unsigned long long v, unsigned int base, bool upper,
                        bool negative)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, prefix_len = 0, zeros = 0, pad;
    const char *prefix = "";

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (sp->precision == 0 && n == 1 && tmp[0] == '0')
        n = 0;

    if (negative)
        prefix = "-";
    else if (sp->plus && base == 10)
        prefix = "+";
    else if (sp->space && base == 10)
        prefix = " ";
    else if (sp->alt && base == 16)
        prefix = upper ? "0X" : "0x";
    else if (sp->alt && base == 8)
        prefix = "0";
    prefix_len = (int)strlen(prefix);

    if (sp->precision > n)
        zeros = sp->precision - n;
    pad = sp->width - n - zeros - prefix_len;
    if (sp->zero && !sp->left && sp->precision < 0 && pad > 0) {
        zeros += pad;
        pad = 0;
    }

    if (!sp->left)
        emit_pad(s, ' ', pad);
    while (*prefix)
        emit(s, *prefix++);
    emit_pad(s, '0', zeros);
    while (n)
        emit(s, tmp[--n]);
    if (sp->left)
        emit_pad(s, ' ', pad);
}

static void emit_string(struct sink *s, const struct spec *sp, const char *str)
{
    int n = 0;

    if (!str)
        str = "(null)";
    while (str[n] && (sp->precision < 0 || n < sp->precision))
        n++;
    if (!sp->left)
        emit_pad(s, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        emit(s, str[i]);
    if (sp->left)
        emit_pad(s, ' ', sp->width - n);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { .buf = buf, .size = size, .len = 0 };

    while (*fmt) {
        struct spec sp = { .precision = -1 };
        int length = 0;     /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
        unsigned long long u;
        long long d;
        char c = *fmt++;

        if (c != '%') {
            emit(&s, c);
            continue;
        }

        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else if (*fmt == '#')
                sp.alt = true;
            else if (*fmt == '+')
                sp.plus = true;
            else if (*fmt == ' ')
                sp.space = true;
            else
                break;
        }

        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                sp.width = sp.width * 10 + (*fmt++ - '0');
        }

        if (*fmt == '.') {
            fmt++;
            sp.precision = 0;
            if (*fmt == '*') {
                sp.precision = va_arg(ap, int);
                if (sp.precision < 0)
                    sp.precision = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    sp.precision = sp.precision * 10 + (*fmt++ - '0');
            }
        }

        for (;; fmt++) {
            if (*fmt == 'h')
                length--;
            else if (*fmt == 'l')
                length++;
            else if (*fmt == 'z' || *fmt == 't')
                length = 1;
            else
                break;
        }

        switch ((c = *fmt++)) {
        case 'd':
        case 'i':
            if (length >= 2)
                d = va_arg(ap, long long);
            else if (length == 1)
                d = va_arg(ap, long);
            else
                d = va_arg(ap, int);
            if (length == -1)
                d = (short)d;
            else if (length <= -2)
                d = (signed char)d;
            emit_number(&s, &sp, d < 0 ? -(unsigned long long)d : (unsigned long long)d,
                        10, false, d < 0);
            break;

        case 'u':
        case 'x':
        case 'X':
        case 'o':
            if (length >= 2)
                u = va_arg(ap, unsigned long long);
            else if (length == 1)
                u = va_arg(ap, unsigned long);
            else
                u = va_arg(ap, unsigned int);
            if (length == -1)
                u = (unsigned short)u;
            else if (length <= -2)
                u = (unsigned char)u;
            emit_number(&s, &sp, u, c == 'u' ? 10 : c == 'o' ? 8 : 16,
                        c == 'X', false);
            break;

        case 'p':
            sp.alt = true;
            sp.zero = true;
            sp.width = 18;
            emit_number(&s, &sp, (unsigned long)va_arg(ap, void *), 16,
                        false, false);
            break;

        case 's':
            emit_string(&s, &sp, va_arg(ap, const char *));
            break;

        case 'c':
            emit_pad(&s, ' ', sp.left ? 0 : sp.width - 1);
            emit(&s, (char)va_arg(ap, int));
            emit_pad(&s, ' ', sp.left ? sp.width - 1 : 0);
            break;

        case '%':
            emit(&s, '%');
            break;

        case '\0':
            fmt--;  /* a lone '%' at the end: stop at the terminator */
            break;

        default:    /* unknown conversion: show it rather than guess */
            emit(&s, '%');
            emit(&s, c);
            break;
        }
    }

    if (size)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
