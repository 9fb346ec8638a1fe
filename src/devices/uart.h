/* SPDX-License-Identifier: MIT */
/* devices/uart.h - a 16550A UART on COM1 (ports 0x3F8-0x3FF, IRQ 4). */
#ifndef KVMRUN_DEVICES_UART_H
#define KVMRUN_DEVICES_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

#define KR_UART_COM1 0x3f8
#define KR_UART_COM1_IRQ 4
#define KR_UART_RX_SIZE 256

struct kr_uart {
	struct kr_vm *vm;
	/* The registers are shared with the input thread: it fills the receive FIFO. */
	pthread_mutex_t lock;
	pthread_cond_t rx_space; /* signalled when the guest takes a byte from a full FIFO */

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_ipending; /* the "THR empty" interrupt is pending (cleared by an IIR read) */
	bool irq_level;    /* what IRQ 4 is now (sent with KVM_IRQ_LINE when it changes) */
	bool use_irq;      /* the VM has an in-kernel irqchip to raise IRQ 4 on */
	unsigned idle_polls; /* LSR reads since the last THR write (see flush_if_idle) */

	uint8_t rx[KR_UART_RX_SIZE];
	size_t rx_head, rx_count;

	/* The input side: cfg.serial_in_fd, read by a thread so the vCPU never waits on it. */
	int in_fd;
	int wake[2]; /* a pipe that ends the input thread's poll at teardown */
	bool thread_started, stopping, ctrl_a;
	bool thread_running; /* the input thread is past its C library's start-up (under lock) */

	/* cfg.pc: Linux's panic lines in what is sent (see watch_panic). */
	size_t panic_match, end_match;
	bool panicked, panic_ending;
	pthread_t thread;
};

/* Refuse a cfg.serial_in_fd COM1 cannot read from (before the VM exists). */
int kr_uart_check_config(const struct kr_vm_config *cfg);
/* Create COM1: its ports and, with cfg.serial_in_fd >= 0, its input thread. */
int kr_uart_register(struct kr_vm *vm);
/* The VM's UART (NULL if it has none): for tests and fuzzers. */
struct kr_uart *kr_uart_get(struct kr_vm *vm);
/*
 * Bytes arriving on the serial line: as many as fit in the receive FIFO are
 * queued (the count is returned), with Ctrl-A x handling if cfg.serial_escape.
 */
size_t kr_uart_receive(struct kr_uart *u, const uint8_t *data, size_t len);
/* Snapshots: whether saved state (from a file) makes sense, -1 naming why not. */
int kr_uart_check_state(const void *buf, size_t len);

#endif
