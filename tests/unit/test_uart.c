/* SPDX-License-Identifier: MIT */
/* test_uart.c - COM1's 16550A register model, as Linux's 8250 probe and a polling guest see it. */
#include <linux/serial_reg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/uart.h"
#include "unit.h"

static void out(struct kr_vm *vm, unsigned reg, uint8_t v)
{
	const struct kr_device *d = kr_bus_find(vm, KR_SPACE_PIO, KR_UART_COM1 + reg, 1);
	CHECK(d != NULL);
	if (d)
		CHECK_OK(d->handler(vm, d->opaque, KR_UART_COM1 + reg, &v, 1, true));
}

static uint8_t in(struct kr_vm *vm, unsigned reg)
{
	const struct kr_device *d = kr_bus_find(vm, KR_SPACE_PIO, KR_UART_COM1 + reg, 1);
	uint8_t v = 0xee;
	CHECK(d != NULL);
	if (d)
		CHECK_OK(d->handler(vm, d->opaque, KR_UART_COM1 + reg, &v, 1, false));
	return v;
}

UNIT_TEST(uart_probe_scratch_ier_loopback_fifo)
{
	struct kr_vm *vm = fake_vm_new(KR_MODE_LONG, 2u << 20);
	/* Linux's scratch test on IER: 0 reads 0, 0x0F reads 0x0F (upper bits do not exist). */
	out(vm, UART_IER, 0);
	CHECK_EQ(in(vm, UART_IER), 0);
	out(vm, UART_IER, 0xff);
	CHECK_EQ(in(vm, UART_IER), 0x0f);
	out(vm, UART_IER, 0);
	out(vm, UART_SCR, 0xa5);
	CHECK_EQ(in(vm, UART_SCR), 0xa5);
	/* The loopback test: LOOP|OUT2|RTS reads back DCD|CTS in MSR's high nibble. */
	out(vm, UART_MCR, UART_MCR_LOOP | 0x0a);
	CHECK_EQ(in(vm, UART_MSR) & 0xf0, 0x90);
	out(vm, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	CHECK_EQ(in(vm, UART_MSR) & 0xf0, UART_MSR_DSR | UART_MSR_RI);
	out(vm, UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
	CHECK_EQ(in(vm, UART_MCR), 0x0b);
	CHECK_EQ(in(vm, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	/* FIFOs: IIR's top bits say 16550A (Linux's autoconfig), and nothing is pending. */
	CHECK_EQ(in(vm, UART_IIR), UART_IIR_NO_INT);
	out(vm, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_R_TRIG_10);
	CHECK_EQ(in(vm, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	/* The divisor latch hides THR/IER while DLAB is set, and keeps them. */
	out(vm, UART_IER, UART_IER_RDI);
	out(vm, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	out(vm, UART_DLL, 0x01);
	out(vm, UART_DLM, 0x02);
	CHECK_EQ(in(vm, UART_DLL), 0x01);
	CHECK_EQ(in(vm, UART_DLM), 0x02);
	CHECK_EQ(in(vm, UART_LCR), UART_LCR_DLAB | UART_LCR_WLEN8);
	out(vm, UART_LCR, UART_LCR_WLEN8);
	CHECK_EQ(in(vm, UART_IER), UART_IER_RDI);
	CHECK_EQ(in(vm, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	fake_vm_free(vm);
}

UNIT_TEST(uart_thre_interrupt_as_linux_tests_it)
{
	struct kr_vm *vm = fake_vm_new(KR_MODE_LONG, 2u << 20);
	struct kr_uart *u = kr_uart_get(vm);
	CHECK(u != NULL);
	out(vm, UART_FCR, UART_FCR_ENABLE_FIFO);
	/* Enabling THRI with THR empty raises it; reading IIR acknowledges it. Twice. */
	for (int i = 0; i < 2; i++) {
		out(vm, UART_IER, UART_IER_THRI);
		CHECK(u->irq_level);
		CHECK_EQ(in(vm, UART_IIR), 0xc0 | UART_IIR_THRI);
		CHECK(!u->irq_level);
		CHECK_EQ(in(vm, UART_IIR), 0xc0 | UART_IIR_NO_INT);
		out(vm, UART_IER, 0);
	}
	/* A byte sent empties THR at once: pending again. */
	out(vm, UART_IER, UART_IER_THRI);
	(void)in(vm, UART_IIR);
	char path[] = "/tmp/kvmrun-uart-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	kr_console_get(vm)->fd = fd;
	out(vm, UART_TX, 'o');
	out(vm, UART_TX, 'k');
	CHECK(u->irq_level);
	CHECK_EQ(in(vm, UART_IIR), 0xc0 | UART_IIR_THRI);
	/* Linux turns THRI off when it has sent everything: the output is written then. */
	out(vm, UART_IER, 0);
	char back[4] = "";
	CHECK_EQ(pread(fd, back, sizeof(back), 0), 2);
	CHECK(memcmp(back, "ok", 2) == 0);
	/* A polling guest: LSR, THR, LSR, THR ... then LSR twice while it waits: written. */
	CHECK(in(vm, UART_LSR) & UART_LSR_THRE);
	out(vm, UART_TX, '>');
	CHECK(in(vm, UART_LSR) & UART_LSR_THRE);
	CHECK_EQ(pread(fd, back, sizeof(back), 0), 2);
	CHECK(in(vm, UART_LSR) & UART_LSR_TEMT);
	CHECK_EQ(pread(fd, back, sizeof(back), 0), 3);
	close(fd);
	unlink(path);
	fake_vm_free(vm);
}

UNIT_TEST(uart_receives_in_order_with_data_interrupt)
{
	struct kr_vm *vm = fake_vm_new(KR_MODE_LONG, 2u << 20);
	struct kr_uart *u = kr_uart_get(vm);
	out(vm, UART_FCR, UART_FCR_ENABLE_FIFO);
	CHECK_EQ(in(vm, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(kr_uart_receive(u, (const uint8_t *)"ab", 2), 2);
	CHECK(in(vm, UART_LSR) & UART_LSR_DR);
	CHECK(!u->irq_level); /* RDI is not enabled yet */
	out(vm, UART_IER, UART_IER_RDI);
	CHECK(u->irq_level);
	CHECK_EQ(in(vm, UART_IIR), 0xc0 | UART_IIR_RDI);
	CHECK_EQ(in(vm, UART_RX), 'a');
	CHECK(u->irq_level);
	CHECK_EQ(in(vm, UART_RX), 'b');
	CHECK(!u->irq_level);
	CHECK_EQ(in(vm, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(in(vm, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	/* The FIFO holds KR_UART_RX_SIZE bytes; the rest waits with the sender. */
	uint8_t many[KR_UART_RX_SIZE + 44];
	memset(many, 'z', sizeof(many));
	CHECK_EQ(kr_uart_receive(u, many, sizeof(many)), KR_UART_RX_SIZE);
	/* Resetting the receive FIFO empties it. */
	out(vm, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	CHECK_EQ(in(vm, UART_LSR) & UART_LSR_DR, 0);
	/* Loopback: what is sent is received, nothing reaches the console. */
	out(vm, UART_MCR, UART_MCR_LOOP);
	out(vm, UART_TX, 'L');
	CHECK_EQ(in(vm, UART_RX), 'L');
	CHECK_EQ(kr_console_get(vm)->used, 0);
	fake_vm_free(vm);
}

UNIT_TEST(uart_ctrl_a_x_stops_the_run)
{
	struct kr_vm *vm = fake_vm_new(KR_MODE_LONG, 2u << 20);
	struct kr_uart *u = kr_uart_get(vm);
	/* Without the escape, Ctrl-A is data. */
	CHECK_EQ(kr_uart_receive(u, (const uint8_t *)"\001x", 2), 2);
	CHECK_EQ(u->rx_count, 2);
	CHECK(!vm->stop_requested);
	out(vm, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	vm->cfg.serial_escape = true;
	/* Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A q is both; Ctrl-A x quits. */
	CHECK_EQ(kr_uart_receive(u, (const uint8_t *)"a\001\001b\001q", 6), 6);
	CHECK(!vm->stop_requested);
	CHECK_EQ(kr_uart_receive(u, (const uint8_t *)"\001x", 2), 2);
	CHECK(vm->stop_requested);
	CHECK(strstr(vm->pending_stop.message, "Ctrl-A x") != NULL);
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_REQUESTED);
	const char want[] = "a\001b\001q";
	CHECK_EQ(u->rx_count, sizeof(want) - 1);
	for (size_t i = 0; i < sizeof(want) - 1; i++)
		CHECK_EQ(in(vm, UART_RX), (uint8_t)want[i]);
	fake_vm_free(vm);
}
