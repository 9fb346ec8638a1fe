/* SPDX-License-Identifier: MIT */
/*
 * kvmrun_guest.h - the guest side of the kvmrun ABI, for freestanding C guests.
 *
 * The contract itself is include/kvmrun_abi.h; this file only wraps it:
 *   - console: every byte written to KVMRUN_DEBUG_CONSOLE_PORT (0xE9) with
 *     `out dx, al` goes to kvmrun's standard output (one VM exit per byte);
 *   - hypercalls: `out dx, eax` of the hypercall number to
 *     KVMRUN_HYPERCALL_PORT, arguments in RDI and RSI (EDI, ESI in 32-bit
 *     modes). Pointers are guest virtual addresses, checked page by page by
 *     kvmrun; a bad one stops the VM (kvmrun exits with 126).
 *   - at entry RDI = RAM size, RSI = first byte after the image, RSP = top of
 *     RAM; crt0.S turns that into main(ram_size, heap_start).
 *
 * No libc: this header has no dependency but kvmrun_abi.h and compiles with
 * -m64 and -m32 (then `unsigned long` is 32 bits and the registers are EDI/ESI).
 * Guests are built with -mgeneral-regs-only (see guest.mk): some KVM back ends
 * cannot emulate SSE arithmetic or x87.
 */
#ifndef KVMRUN_GUEST_H
#define KVMRUN_GUEST_H

#include "kvmrun_abi.h"

#define KR_NORETURN __attribute__((noreturn))
#define KR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- port I/O --------------------------------------------------------------- */

static inline void kr_outb(unsigned short port, unsigned char value)
{
	__asm__ volatile("outb %b0, %w1" : : "a"(value), "Nd"(port));
}

static inline void kr_outl(unsigned short port, unsigned int value)
{
	__asm__ volatile("outl %0, %w1" : : "a"(value), "Nd"(port));
}

static inline void kr_outw(unsigned short port, unsigned short value)
{
	__asm__ volatile("outw %w0, %w1" : : "a"(value), "Nd"(port));
}

static inline unsigned short kr_inw(unsigned short port)
{
	unsigned short value;

	__asm__ volatile("inw %w1, %w0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline unsigned int kr_inl(unsigned short port)
{
	unsigned int value;

	__asm__ volatile("inl %w1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline unsigned char kr_inb(unsigned short port)
{
	unsigned char value;

	__asm__ volatile("inb %w1, %b0" : "=a"(value) : "Nd"(port));
	return value;
}

/* ---- hypercalls ----------------------------------------------------------------- */

/*
 * One hypercall: the number goes out on the hypercall port in EAX, the
 * arguments sit in RDI/RSI (EDI/ESI). The "memory" clobber makes the
 * compiler finish every store (the buffer of a write) before the exit.
 */
static inline void kr_hypercall(unsigned int nr, unsigned long arg0, unsigned long arg1)
{
	__asm__ volatile("outl %0, %w1"
			 :
			 : "a"(nr), "Nd"((unsigned short)KVMRUN_HYPERCALL_PORT), "D"(arg0),
			   "S"(arg1)
			 : "memory");
}

/* Write `len` bytes (at most KVMRUN_HC_WRITE_MAX) to the console in one exit. */
static inline void kr_write(const void *buf, unsigned long len)
{
	kr_hypercall(KVMRUN_HC_WRITE, (unsigned long)buf, len);
}

/*
 * Ask the host for a snapshot (`kvmrun run --snapshot FILE`): the VM stops,
 * the host saves it, the guest goes on. A guest restored from the snapshot
 * goes on from here too. Without --snapshot it does nothing.
 */
static inline void kr_snapshot(void)
{
	kr_hypercall(KVMRUN_HC_SNAPSHOT, 0, 0);
}

/* Stop the VM: kvmrun exits with `status` (0..123; 124 and up are kvmrun's own, and
 * kvmrun reports a larger guest status as an ABI error, exit status 126). */
static inline KR_NORETURN void kr_exit(int status)
{
	kr_hypercall(KVMRUN_HC_EXIT, (unsigned int)status, 0);
	for (;;)
		__asm__ volatile("hlt");
}

/* ---- several vCPUs (kvmrun run --cpus N) ------------------------------------ */

/*
 * What an AP runs: kr_start_cpu's argument, and the AP's index (1..N-1;
 * vCPU 0, which runs main, is the boot processor). If it returns, it
 * returns to kr_ap_return (crt0.S): HLT, which parks the AP for good.
 */
typedef void (*kr_cpu_entry)(unsigned long arg, unsigned int cpu);
void kr_ap_return(void);

/* At most this many vCPUs (KR_MAX_CPUS of kvmrun.h). */
#define KR_GUEST_MAX_CPUS 64

/* The number of vCPUs (RDX at entry, kept by crt0.S): 1 unless kvmrun run --cpus N. */
extern unsigned long kr_ncpus;
static inline unsigned int kr_cpu_count(void)
{
	return (unsigned int)kr_ncpus;
}

/*
 * Start vCPU `cpu` (KVMRUN_HC_START_CPU) in fn(arg, cpu), on the stack that
 * ends at `stack_top` (its own memory: nothing else may use it), in this
 * vCPU's mode and page tables. A bad index (0, past the last vCPU, one
 * started already) stops the VM with a guest error.
 */
static inline void kr_start_cpu(unsigned int cpu, kr_cpu_entry fn, void *stack_top,
				unsigned long arg)
{
	/* As after a call: RSP = 8 mod 16, the return address on top. */
	unsigned long *sp = (unsigned long *)(((unsigned long)stack_top & ~15ul) - 8);
	*sp = (unsigned long)kr_ap_return;
	__asm__ volatile("outl %0, %w1"
			 :
			 : "a"(KVMRUN_HC_START_CPU), "Nd"((unsigned short)KVMRUN_HYPERCALL_PORT),
			   "D"((unsigned long)cpu), "S"(fn), "c"(sp), "b"(arg)
			 : "memory");
}

/* One byte through the debug console port (one VM exit). */
static inline void kr_putc(char c)
{
	kr_outb(KVMRUN_DEBUG_CONSOLE_PORT, (unsigned char)c);
}

/* ---- strings and numbers ------------------------------------------------------ */

/* memset, memcpy, memmove and memcmp: gcc may call them even in freestanding
 * code; guest/sdk/string.c has them and every C guest links it. */
void *memset(void *dst, int c, __SIZE_TYPE__ n);
void *memcpy(void *dst, const void *src, __SIZE_TYPE__ n);
void *memmove(void *dst, const void *src, __SIZE_TYPE__ n);
int memcmp(const void *a, const void *b, __SIZE_TYPE__ n);

static inline unsigned long kr_strlen(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static inline int kr_strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

/* Write a NUL-terminated string (one hypercall). */
static inline void kr_puts(const char *s)
{
	kr_write(s, kr_strlen(s));
}

/* Room for any formatted number: 64 bits in binary, or "0x" + 16 digits. */
#define KR_FMT_MAX 24

/* `value` in decimal into buf (no NUL); returns the number of characters. */
static inline unsigned int kr_fmt_dec(char *buf, unsigned long value)
{
	char tmp[KR_FMT_MAX];
	unsigned int n = 0, i;

	do {
		tmp[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/*
 * `value` in lower-case hex with "0x" and at least `min_digits` digits into
 * buf (no NUL); returns the number of characters.
 */
static inline unsigned int kr_fmt_hex(char *buf, unsigned long value, unsigned int min_digits)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[KR_FMT_MAX];
	unsigned int n = 0, i;

	do {
		tmp[n++] = digits[value & 15];
		value >>= 4;
	} while (value || (n < min_digits && n < 2 * sizeof(value)));
	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < n; i++)
		buf[2 + i] = tmp[n - 1 - i];
	return n + 2;
}

/* A signed number in decimal: kr_put_dec(-5) prints -5. */
static inline void kr_put_dec(long value)
{
	char buf[KR_FMT_MAX + 1];
	unsigned long u = value < 0 ? 0ul - (unsigned long)value : (unsigned long)value;
	unsigned int n = 0;

	if (value < 0)
		buf[n++] = '-';
	kr_write(buf, n + kr_fmt_dec(buf + n, u));
}

static inline void kr_put_udec(unsigned long value)
{
	char buf[KR_FMT_MAX];

	kr_write(buf, kr_fmt_dec(buf, value));
}

static inline void kr_put_hex(unsigned long value)
{
	char buf[KR_FMT_MAX];

	kr_write(buf, kr_fmt_hex(buf, value, 1));
}

/*
 * A tiny string builder, so a line made of pieces still leaves in one
 * hypercall: char b[80]; struct kr_buf sb = KR_BUF(b); kr_buf_str(&sb, ...);
 * kr_buf_flush(&sb). Overflowing text is dropped (and `overflow` set).
 */
struct kr_buf {
	char *buf;
	unsigned long len, cap;
	int overflow;
};

/* clang-format off */
#define KR_BUF(array) {(array), 0, sizeof(array), 0}
/* clang-format on */

static inline void kr_buf_mem(struct kr_buf *b, const char *s, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (b->len == b->cap) {
			b->overflow = 1;
			return;
		}
		b->buf[b->len++] = s[i];
	}
}

static inline void kr_buf_str(struct kr_buf *b, const char *s)
{
	kr_buf_mem(b, s, kr_strlen(s));
}

static inline void kr_buf_dec(struct kr_buf *b, unsigned long value)
{
	char tmp[KR_FMT_MAX];

	kr_buf_mem(b, tmp, kr_fmt_dec(tmp, value));
}

static inline void kr_buf_hex(struct kr_buf *b, unsigned long value, unsigned int min_digits)
{
	char tmp[KR_FMT_MAX];

	kr_buf_mem(b, tmp, kr_fmt_hex(tmp, value, min_digits));
}

static inline void kr_buf_flush(struct kr_buf *b)
{
	kr_write(b->buf, b->len);
	b->len = 0;
}

/* ---- printf, heap, assert (printf.c, heap.c) ----------------------------------- */

/*
 * printf-style formatting: %d %i %u %x %X %p %s %c %%, with the length
 * modifiers l, ll, z (and h, hh, read as int), a width, '-' and '0' flags.
 * kr_printf writes with one hypercall per call (a line longer than 512 bytes
 * in several); kr_snprintf always NUL-terminates and returns the length the
 * whole output would have had.
 */
int kr_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kr_snprintf(char *buf, unsigned long size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int kr_vsnprintf(char *buf, unsigned long size, const char *fmt, __builtin_va_list ap);

/*
 * A heap over [heap_start, ram_size - KR_STACK_RESERVE), the memory main()
 * is given (crt0 records it): first fit, blocks 16-byte aligned, freed
 * neighbours merged. kr_malloc returns 0 when nothing fits.
 */
#define KR_STACK_RESERVE (256ul << 10)
void *kr_malloc(unsigned long size);
void kr_free(void *p);
extern unsigned long kr_heap_start, kr_ram_size; /* set by crt0 before main */

/* The status a guest exits with from kr_panic and a failed kr_assert. */
#define KR_PANIC_STATUS 99
/* Print "panic at FILE:LINE: message" and exit with KR_PANIC_STATUS. */
KR_NORETURN void kr_panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define kr_panic(...) kr_panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define kr_assert(cond) \
	((cond) ? (void)0 : kr_panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond))

/* ---- CPU state (ring 0: kvmrun runs guests at CPL 0) ---------------------------- */

#define KR_CR0_PE (1ul << 0)
#define KR_CR0_PG (1ul << 31)
#define KR_CR4_PSE (1ul << 4)
#define KR_CR4_PAE (1ul << 5)
#define KR_MSR_EFER 0xC0000080u
#define KR_EFER_LME (1ull << 8)
#define KR_EFER_LMA (1ull << 10)

static inline unsigned long kr_read_cr0(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline unsigned long kr_read_cr3(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void kr_write_cr3(unsigned long v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline unsigned long kr_read_cr4(void)
{
	unsigned long v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline unsigned long long kr_rdmsr(unsigned int msr)
{
	unsigned int lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((unsigned long long)hi << 32) | lo;
}

static inline void kr_hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

/* ---- functions the host calls (kr_vm_call) ---------------------------------- */

/*
 * KR_EXPORT marks a function the host may call by name with kr_vm_call: it
 * stays a global symbol in the ELF's symbol table (kvmrun keeps the table
 * when it loads the file; do not strip the guest). A call runs the function
 * in long mode with the guest's init done: main() ran (and returned, or
 * halted), so globals, the heap and the page tables are as main left them.
 * It gets System V x86-64 arguments (up to six integers or pointers) and
 * returns a 64-bit integer; interrupts are off; it must not make the EXIT
 * hypercall. Pointers it gets point into kr_call_area.
 *
 * KR_CALL_AREA(bytes) reserves that area, once per guest, in the bss: the
 * host puts the buffers it passes at its bottom and the call's stack at its
 * top (at least 16 KiB of it, KR_CALL_MIN_STACK in kvmrun.h), e.g.
 *
 *     KR_CALL_AREA(64 * 1024);
 *     KR_EXPORT long add(long a, long b) { return a + b; }
 *
 * The SDK's crt0.S provides kr_call_return, the HLT a call returns to.
 */
#define KR_EXPORT __attribute__((used, noinline, visibility("default")))
#define KR_CALL_AREA(bytes)                                                                \
	unsigned char kr_call_area[(bytes)] __attribute__((aligned(16), used))

#endif
