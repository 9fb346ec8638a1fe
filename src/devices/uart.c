/* SPDX-License-Identifier: MIT */
/*
 * uart.c - a 16550A UART on COM1 (ports 0x3F8-0x3FF, IRQ 4), as Linux's 8250
 * driver and polling guests expect it.
 *
 * The register model follows the 16550A data sheet where a guest can see it:
 * the scratch register and IER keep what is written (Linux's probe checks
 * both), loopback (MCR bit 4) routes transmitted bytes to the receiver and
 * the modem outputs to the modem status inputs (Linux's probe writes
 * LOOP|OUT2|RTS and expects DCD|CTS), and with the FIFOs enabled IIR reads
 * 0xC0 | id (what makes Linux's autoconfig say 16550A). Transmission takes no
 * time: THR is always empty (LSR THRE and TEMT set), so a "THR empty"
 * interrupt becomes pending right after each byte, as on a fast line. Line
 * errors, breaks and modem status changes never happen.
 *
 * Transmitted bytes go to the console module (cfg.console_fd, with its
 * buffering and cfg.max_output). The console writes out at each newline; a
 * prompt without one is written when the guest looks idle: when it stops its
 * transmit interrupt (Linux does once its buffer is empty), reads the
 * receive register, or polls LSR twice without transmitting in between (a
 * polling guest waiting for input; one that is transmitting writes THR after
 * each LSR read).
 *
 * Received bytes come from cfg.serial_in_fd, read by a thread of the device
 * so that a guest is never held up by a read(2): it polls the fd (and a pipe
 * that ends it at teardown), queues what fits in the receive FIFO and waits
 * for room when it is full (flow control: nothing typed or piped is lost).
 * With an in-kernel irqchip (cfg.pc) the UART drives IRQ 4 with
 * KVM_IRQ_LINE, from either thread (KVM serialises it); without one, the
 * guest polls LSR.
 *
 * The input thread exists from kr_vm_create on; the seccomp filter that
 * kr_sandbox_enter installs binds it too (every thread of the process): it
 * only polls, reads its one fd (the read_fds hook names it to the filter),
 * takes the lock (futex) and makes KVM_IRQ_LINE calls.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <linux/serial_reg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/console.h"
#include "devices/uart.h"

static const struct kr_hooks uart_hooks;

struct kr_uart *kr_uart_get(struct kr_vm *vm)
{
	return kr_vm_module(vm, &uart_hooks);
}

/* ---- interrupts (called with the lock held) -------------------------------- */

/* The interrupt identification, by the 16550A's priorities (no line status or modem interrupts). */
static uint8_t iir_id(const struct kr_uart *u)
{
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

static int update_irq(struct kr_uart *u)
{
	bool level = iir_id(u) != UART_IIR_NO_INT;
	if (level == u->irq_level)
		return 0;
	u->irq_level = level;
	if (!u->use_irq)
		return 0;
	struct kvm_irq_level irq = {.irq = KR_UART_COM1_IRQ, .level = level};
	if (ioctl(u->vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return kr_err_sys("uart: ioctl KVM_IRQ_LINE(irq %d, level %d)", KR_UART_COM1_IRQ,
				  (int)level);
	return 0;
}

/* ---- the receiver ----------------------------------------------------------- */

static void rx_push(struct kr_uart *u, uint8_t b)
{
	u->rx[(u->rx_head + u->rx_count) % KR_UART_RX_SIZE] = b;
	u->rx_count++;
}

static uint8_t rx_pop(struct kr_uart *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % KR_UART_RX_SIZE;
	if (u->rx_count-- == KR_UART_RX_SIZE)
		pthread_cond_signal(&u->rx_space);
	return b;
}

static void rx_clear(struct kr_uart *u)
{
	u->rx_head = u->rx_count = 0;
	pthread_cond_signal(&u->rx_space);
}

#define CTRL_A 0x01

size_t kr_uart_receive(struct kr_uart *u, const uint8_t *data, size_t len)
{
	size_t done = 0;
	pthread_mutex_lock(&u->lock);
	for (; done < len; done++) {
		uint8_t b = data[done];
		if (u->vm->cfg.serial_escape) {
			/* QEMU's escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A. */
			if (u->ctrl_a) {
				if (b == 'x') {
					u->ctrl_a = false;
					kr_vm_stop(u->vm, KR_STOP_REQUESTED, 0,
						   "Ctrl-A x typed on the serial console");
					continue;
				}
				/* Anything else after Ctrl-A is not an escape: send both. */
				if (u->rx_count + (b == CTRL_A ? 1 : 2) > KR_UART_RX_SIZE)
					break;
				u->ctrl_a = false;
				if (b != CTRL_A)
					rx_push(u, CTRL_A);
				rx_push(u, b);
				continue;
			}
			if (b == CTRL_A) {
				u->ctrl_a = true;
				continue;
			}
		}
		if (u->rx_count == KR_UART_RX_SIZE)
			break;
		rx_push(u, b);
	}
	/* A failed KVM_IRQ_LINE here has no caller to tell; the next exit's will fail too. */
	(void)update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return done;
}

/* The input thread: feeds cfg.serial_in_fd into the FIFO until EOF or teardown. */
static void *input_thread(void *arg)
{
	struct kr_uart *u = arg;
	uint8_t buf[KR_UART_RX_SIZE];
	size_t have = 0, off = 0;
	bool eof = false;
	/* Started: kr_uart_register waits for this (see there). */
	pthread_mutex_lock(&u->lock);
	u->thread_running = true;
	pthread_cond_broadcast(&u->rx_space);
	pthread_mutex_unlock(&u->lock);
	for (;;) {
		if (off < have) {
			off += kr_uart_receive(u, buf + off, have - off);
			if (off < have) {
				/* The FIFO is full: wait until the guest reads or teardown. */
				pthread_mutex_lock(&u->lock);
				while (u->rx_count == KR_UART_RX_SIZE && !u->stopping)
					pthread_cond_wait(&u->rx_space, &u->lock);
				bool stop = u->stopping;
				pthread_mutex_unlock(&u->lock);
				if (stop)
					return NULL;
			}
			continue;
		}
		struct pollfd p[2] = {{.fd = u->wake[0], .events = POLLIN},
				      {.fd = eof ? -1 : u->in_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (!p[1].revents)
			continue;
		ssize_t n = read(u->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			/* End of input (or an error): the guest just receives nothing more. */
			eof = true;
			continue;
		}
		have = (size_t)n;
		off = 0;
	}
}

/* ---- the transmitter ------------------------------------------------------- */

/*
 * A Linux kernel that panics prints "Kernel panic - not syncing: REASON",
 * a backtrace, and "---[ end Kernel panic - not syncing: REASON ]---"; then
 * it spins forever (panic=0) or, with panic=N, resets the machine first
 * (and never prints the end line). On a PC machine, COM1 watches for both:
 * at the end line's newline it stops the run as a panic, and a reset after
 * the first line is reported as the panic it is (on_stop). This reads the
 * guest's console, so a guest can claim a panic by printing the words; it
 * can as well end its run any other way, so that grants it nothing.
 */
static const char panic_text[] = "Kernel panic - not syncing";
static const char end_text[] = "---[ end Kernel panic";

static bool match(size_t *state, const char *text, size_t len, uint8_t b)
{
	if ((uint8_t)text[*state] == b)
		(*state)++;
	else
		*state = (uint8_t)text[0] == b ? 1 : 0;
	if (*state < len)
		return false;
	*state = 0;
	return true;
}

static void watch_panic(struct kr_uart *u, uint8_t b)
{
	if (match(&u->panic_match, panic_text, sizeof(panic_text) - 1, b))
		u->panicked = true;
	if (match(&u->end_match, end_text, sizeof(end_text) - 1, b))
		u->panic_ending = true;
	if (u->panic_ending && b == '\n') {
		u->panic_ending = false;
		kr_vm_stop(u->vm, KR_STOP_GUEST_PANIC, 0, "the guest kernel panicked (its console "
							   "says \"Kernel panic - not syncing\")");
	}
}

static int transmit(struct kr_uart *u, uint8_t b)
{
	if (u->mcr & UART_MCR_LOOP) {
		if (u->rx_count < KR_UART_RX_SIZE)
			rx_push(u, b);
		return 0;
	}
	if (u->vm->cfg.pc)
		watch_panic(u, b);
	return kr_console_write(u->vm, &b, 1);
}

/* ---- the registers ---------------------------------------------------------- */

static uint8_t modem_status(const struct kr_uart *u)
{
	if (!(u->mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS; /* a cable, a terminal ready */
	/* Loopback: the modem outputs come back as inputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD). */
	uint8_t msr = 0;
	if (u->mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

static int write_reg(struct kr_uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (reg) {
	case UART_TX:
		if (dlab) {
			u->dll = v;
			return 0;
		}
		u->idle_polls = 0;
		u->thr_ipending = false;
		if (update_irq(u) < 0 || transmit(u, v) < 0)
			return -1;
		/* Sent at once: THR is empty again, which is an interrupt. */
		u->thr_ipending = true;
		return update_irq(u);
	case UART_IER:
		if (dlab) {
			u->dlm = v;
			return 0;
		}
		uint8_t old = u->ier;
		u->ier = v & 0x0f;
		/* Enabling the THRE interrupt while THR is empty raises it (Linux's THRE test needs this). */
		if ((u->ier & UART_IER_THRI) && !(old & UART_IER_THRI))
			u->thr_ipending = true;
		/* Linux stops the transmit interrupt when it has nothing more to send. */
		if ((old & UART_IER_THRI) && !(u->ier & UART_IER_THRI) && kr_console_flush(u->vm) < 0)
			return -1;
		return update_irq(u);
	case UART_FCR:
		/* Turning the FIFOs on or off empties them, as do the reset bits. */
		if ((v ^ u->fcr) & UART_FCR_ENABLE_FIFO || (v & UART_FCR_CLEAR_RCVR))
			rx_clear(u);
		u->fcr = v & (UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT | UART_FCR_TRIGGER_MASK);
		return update_irq(u);
	case UART_LCR:
		u->lcr = v;
		return 0;
	case UART_MCR:
		u->mcr = v & 0x1f;
		return 0;
	case UART_SCR:
		u->scr = v;
		return 0;
	default: /* LSR and MSR are read-only */
		return 0;
	}
}

static int read_reg(struct kr_uart *u, unsigned reg, uint8_t *v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (reg) {
	case UART_RX:
		if (dlab) {
			*v = u->dll;
			return 0;
		}
		*v = rx_pop(u);
		/* Reading with nothing more queued: a guest waiting for input sees its output. */
		if (!u->rx_count && kr_console_flush(u->vm) < 0)
			return -1;
		return update_irq(u);
	case UART_IER:
		*v = dlab ? u->dlm : u->ier;
		return 0;
	case UART_IIR: {
		uint8_t id = iir_id(u);
		*v = id | ((u->fcr & UART_FCR_ENABLE_FIFO) ? 0xc0 : 0);
		/* Reading IIR acknowledges a THRE interrupt (16550A data sheet). */
		if (id == UART_IIR_THRI) {
			u->thr_ipending = false;
			return update_irq(u);
		}
		return 0;
	}
	case UART_LCR:
		*v = u->lcr;
		return 0;
	case UART_MCR:
		*v = u->mcr;
		return 0;
	case UART_LSR:
		*v = UART_LSR_THRE | UART_LSR_TEMT | (u->rx_count ? UART_LSR_DR : 0);
		/* Two polls without a byte sent in between: the guest waits, show its output. */
		if (++u->idle_polls == 2 && kr_console_flush(u->vm) < 0)
			return -1;
		return 0;
	case UART_MSR:
		*v = modem_status(u);
		return 0;
	default:
		*v = u->scr;
		return 0;
	}
}

static int uart_io(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		   bool is_write)
{
	(void)vm;
	struct kr_uart *u = opaque;
	unsigned reg = (unsigned)(port - KR_UART_COM1);
	int rc;
	pthread_mutex_lock(&u->lock);
	/* The registers are 8 bits wide: a wider access uses its low byte (reads: the rest zero). */
	if (is_write) {
		rc = write_reg(u, reg, *(const uint8_t *)data);
	} else {
		uint8_t v = 0;
		rc = read_reg(u, reg, &v);
		memset(data, 0, size);
		*(uint8_t *)data = v;
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* ---- hooks ---------------------------------------------------------------- */

static void on_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	struct kr_uart *u = opaque;
	if (u->thread_started) {
		pthread_mutex_lock(&u->lock);
		u->stopping = true;
		pthread_cond_signal(&u->rx_space);
		pthread_mutex_unlock(&u->lock);
		ssize_t n;
		do
			n = write(u->wake[1], "", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(u->thread, NULL);
	}
	if (u->wake[0] >= 0)
		close(u->wake[0]);
	if (u->wake[1] >= 0)
		close(u->wake[1]);
	pthread_cond_destroy(&u->rx_space);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* A reset (triple fault, KVM's reset event) after the panic line is the panic's. */
static void on_stop(struct kr_vm *vm, void *opaque, struct kr_stop *stop)
{
	(void)vm;
	const struct kr_uart *u = opaque;
	if (u->panicked &&
	    (stop->reason == KR_STOP_SHUTDOWN || stop->reason == KR_STOP_SYSTEM_EVENT)) {
		stop->reason = KR_STOP_GUEST_PANIC;
		size_t len = strlen(stop->message);
		snprintf(stop->message + len, sizeof(stop->message) - len,
			 "; after the guest kernel panicked (\"Kernel panic - not syncing\" on "
			 "its console)");
	}
}

static size_t write_fds(struct kr_vm *vm, void *opaque, int *fds, size_t max)
{
	(void)vm;
	const struct kr_uart *u = opaque;
	/* Teardown wakes the input thread through its pipe, maybe under the sandbox. */
	if (max < 1 || !u->thread_started)
		return 0;
	fds[0] = u->wake[1];
	return 1;
}

static size_t read_fds(struct kr_vm *vm, void *opaque, int *fds, size_t max)
{
	(void)vm;
	const struct kr_uart *u = opaque;
	if (max < 1 || !u->thread_started)
		return 0;
	fds[0] = u->in_fd;
	return 1;
}

/*
 * Snapshots: the registers, the receive FIFO's bytes (oldest first), the
 * IRQ line as the UART last set it, the panic watch. Not the host side:
 * the input fd and thread are the restoring VM's own, and bytes the thread
 * has read from its fd but not yet queued (the FIFO was full) are not the
 * guest's yet, so they stay with the old VM. Ctrl-A's escape state is the
 * host's input too.
 */
struct uart_state {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t thr_ipending, irq_level, panicked, panic_ending, zero;
	uint32_t idle_polls, panic_match, end_match;
	uint32_t rx_count;
	uint8_t rx[KR_UART_RX_SIZE]; /* rx_count bytes, the rest zero */
};

static bool interrupt_pending(uint8_t ier, uint32_t rx_count, bool thr_ipending)
{
	return ((ier & UART_IER_RDI) && rx_count) || ((ier & UART_IER_THRI) && thr_ipending);
}

static long save(struct kr_vm *vm, void *opaque, void *buf, size_t max)
{
	(void)vm;
	struct kr_uart *u = opaque;
	struct uart_state st;
	if (max < sizeof(st))
		return kr_err("uart: snapshot needs %zu bytes, %zu left", sizeof(st), max);
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&u->lock);
	st.ier = u->ier, st.lcr = u->lcr, st.mcr = u->mcr, st.scr = u->scr, st.fcr = u->fcr;
	st.dll = u->dll, st.dlm = u->dlm;
	st.thr_ipending = u->thr_ipending, st.irq_level = u->irq_level;
	st.panicked = u->panicked, st.panic_ending = u->panic_ending;
	st.idle_polls = u->idle_polls;
	st.panic_match = (uint32_t)u->panic_match, st.end_match = (uint32_t)u->end_match;
	st.rx_count = (uint32_t)u->rx_count;
	for (size_t i = 0; i < u->rx_count; i++)
		st.rx[i] = u->rx[(u->rx_head + i) % KR_UART_RX_SIZE];
	pthread_mutex_unlock(&u->lock);
	memcpy(buf, &st, sizeof(st));
	return (long)sizeof(st);
}

/* The state from a file: every field within what the UART itself can reach. */
static int parse_state(const void *buf, size_t len, struct uart_state *st)
{
	if (len != sizeof(*st))
		return kr_err("uart: snapshot state of %zu bytes, expected %zu", len, sizeof(*st));
	memcpy(st, buf, sizeof(*st));
	const uint8_t fcr_bits = UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT | UART_FCR_TRIGGER_MASK;
	if ((st->ier & ~0x0f) || (st->mcr & ~0x1f) || (st->fcr & ~fcr_bits))
		return kr_err("uart: snapshot registers out of range (IER 0x%02x, MCR 0x%02x, FCR "
			      "0x%02x)",
			      st->ier, st->mcr, st->fcr);
	if (st->thr_ipending > 1 || st->irq_level > 1 || st->panicked > 1 || st->panic_ending > 1 ||
	    st->zero)
		return kr_err("uart: snapshot flags out of range");
	if (st->panic_match >= sizeof(panic_text) - 1 || st->end_match >= sizeof(end_text) - 1)
		return kr_err("uart: snapshot panic watch at %u/%u, beyond its texts",
			      st->panic_match, st->end_match);
	if (st->rx_count > KR_UART_RX_SIZE)
		return kr_err("uart: snapshot receive FIFO holds %u bytes, more than its %d",
			      st->rx_count, KR_UART_RX_SIZE);
	for (uint32_t i = st->rx_count; i < KR_UART_RX_SIZE; i++)
		if (st->rx[i])
			return kr_err("uart: snapshot receive FIFO has bytes past its count (%u)",
				      st->rx_count);
	if (st->irq_level != interrupt_pending(st->ier, st->rx_count, st->thr_ipending))
		return kr_err("uart: snapshot IRQ line %s, but %s interrupt is pending",
			      st->irq_level ? "high" : "low", st->irq_level ? "no" : "an");
	return 0;
}

int kr_uart_check_state(const void *buf, size_t len)
{
	struct uart_state st;
	return parse_state(buf, len, &st);
}

static int restore(struct kr_vm *vm, void *opaque, const void *buf, size_t len)
{
	struct kr_uart *u = opaque;
	struct uart_state st;
	if (parse_state(buf, len, &st) < 0)
		return -1;
	pthread_mutex_lock(&u->lock);
	bool was_full = u->rx_count == KR_UART_RX_SIZE, was_high = u->irq_level;
	u->ier = st.ier, u->lcr = st.lcr, u->mcr = st.mcr, u->scr = st.scr, u->fcr = st.fcr;
	u->dll = st.dll, u->dlm = st.dlm;
	u->thr_ipending = st.thr_ipending, u->irq_level = st.irq_level;
	u->panicked = st.panicked, u->panic_ending = st.panic_ending;
	u->idle_polls = st.idle_polls;
	u->panic_match = st.panic_match, u->end_match = st.end_match;
	memcpy(u->rx, st.rx, sizeof(u->rx));
	u->rx_head = 0;
	u->rx_count = st.rx_count;
	if (was_full && u->rx_count < KR_UART_RX_SIZE)
		pthread_cond_signal(&u->rx_space); /* the input thread may queue again */
	/*
	 * The irqchip's state (KVM_SET_IRQCHIP, set before the devices) holds
	 * what the line did. A line this VM held high that the snapshot has low
	 * goes down (a reset in place); one the snapshot has high is not raised
	 * again, which would be a second edge the guest never had.
	 */
	int rc = 0;
	if (u->use_irq && was_high && !u->irq_level) {
		struct kvm_irq_level irq = {.irq = KR_UART_COM1_IRQ, .level = 0};
		if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
			rc = kr_err_sys("uart: restore: ioctl KVM_IRQ_LINE(irq %d, level 0)",
					KR_UART_COM1_IRQ);
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

static const struct kr_hooks uart_hooks = {
    .name = "uart",
    .on_stop = on_stop,
    .on_destroy = on_destroy,
    .write_fds = write_fds,
    .read_fds = read_fds,
    .save = save,
    .restore = restore,
};

int kr_uart_check_config(const struct kr_vm_config *cfg)
{
	if (cfg->serial_in_fd < 0)
		return 0;
	int fl = fcntl(cfg->serial_in_fd, F_GETFL);
	if (fl < 0)
		return kr_err_sys("create VM: cfg.serial_in_fd %d: fcntl(F_GETFL)", cfg->serial_in_fd);
	if ((fl & O_ACCMODE) == O_WRONLY)
		return kr_err("create VM: cfg.serial_in_fd %d is open write-only, but COM1 reads "
			      "from it", cfg->serial_in_fd);
	return 0;
}

int kr_uart_register(struct kr_vm *vm)
{
	struct kr_uart *u = calloc(1, sizeof(*u));
	if (!u)
		return kr_err_sys("uart: calloc(%zu)", sizeof(*u));
	u->vm = vm;
	u->in_fd = vm->cfg.serial_in_fd;
	u->wake[0] = u->wake[1] = -1;
	u->use_irq = vm->cfg.pc;
	/* After reset (data sheet): no interrupts, 8N1 off, nothing received. */
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->rx_space, NULL);
	if (kr_vm_add_module(vm, &uart_hooks, u) < 0) {
		pthread_cond_destroy(&u->rx_space);
		pthread_mutex_destroy(&u->lock);
		free(u);
		return -1;
	}
	/* From here on the VM owns u: kr_vm_destroy frees it. */
	if (kr_bus_register(vm, KR_SPACE_PIO, KR_UART_COM1, 8, uart_io, u) < 0)
		return -1;
	if (u->in_fd < 0)
		return 0;
	if (pipe2(u->wake, O_CLOEXEC) < 0)
		return kr_err_sys("uart: pipe2 for the input thread");
	int e = pthread_create(&u->thread, NULL, input_thread, u);
	if (e) {
		errno = e;
		return kr_err_sys("uart: pthread_create (input thread for fd %d)", u->in_fd);
	}
	u->thread_started = true;
	/*
	 * Wait until the thread runs its own code: a sandbox entered right
	 * after this binds it too (TSYNC), and a thread still in its C
	 * library's (or a sanitizer's) start-up makes calls the filter refuses.
	 */
	pthread_mutex_lock(&u->lock);
	while (!u->thread_running)
		pthread_cond_wait(&u->rx_space, &u->lock);
	pthread_mutex_unlock(&u->lock);
	return 0;
}
