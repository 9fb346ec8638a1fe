/* SPDX-License-Identifier: MIT */
/*
 * i8042.c - the PC's PS/2 keyboard controller, with both of its ports empty:
 * no keyboard, no mouse. Linux probes it at boot (the i8042 driver, then
 * atkbd and psmouse behind it); a controller that never answers costs the
 * probe two half-second time-outs reading the configuration byte, so this
 * one answers as the real chip with nothing plugged in does, and every
 * question gets its answer at once:
 *
 * - Commands to port 0x64: read/write the internal RAM (0x20+n / 0x60+n,
 *   byte 0 is the configuration byte, CTR), self test 0xAA -> 0x55,
 *   interface tests 0xA9/0xAB -> 0x02 (clock line high: nothing plugged
 *   in), disable/enable each port (0xAD/0xAE, 0xA7/0xA8: the CTR's disable
 *   bits), read/write the output port (0xD0/0xD1), the loopbacks 0xD2/0xD3
 *   (the next data byte comes back as if from the keyboard/mouse: Linux's
 *   test for an AUX port) and 0xD4 (a byte for the mouse).
 * - A byte for a device (data port writes, 0xD4's byte) finds none: the
 *   controller gives 0xFE with the time-out status bit, as after its
 *   transmit time-out. atkbd and psmouse see the NAK and give up at once,
 *   rather than waiting 200 ms per command for an answer.
 * - The interrupt lines follow the output buffer as on the board: IRQ 1
 *   while a keyboard byte waits and the CTR enables it, IRQ 12 for an AUX
 *   byte (KVM_IRQ_LINE on the in-kernel irqchip, cfg.pc machines only).
 *   Linux checks that IRQ 12 arrives after a loopback.
 * - Reset: pulsing the output port's bit 0 (0xFE, the other even 0xF0..0xFE
 *   pulse commands, or 0xD1 with bit 0 clear) is the CPU reset line. kvmrun
 *   does not restart the guest: the run stops with KR_STOP_RESET ("guest
 *   requested a reset"), which kvmrun reports as a clean end (status 0, as
 *   QEMU with -no-reboot exits 0): Linux's reboot=k, its default fallback.
 *
 * The output buffer holds one byte as on the chip: a new one replaces an
 * unread one. A read of the data port takes the byte (and clears OBF); with
 * none waiting it gives the last one again. The input buffer is never full:
 * writes are handled as they come. Two vCPUs may reach the device at once:
 * a mutex keeps its state whole.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/i8042.h"

#define RAM_SIZE 32
/* No command waiting for its data byte. */
#define NO_PENDING 0

struct i8042 {
	pthread_mutex_t lock;
	struct kr_vm *vm;
	bool use_irq;	       /* an in-kernel irqchip to raise IRQ 1 and 12 on */
	uint8_t ram[RAM_SIZE]; /* ram[0] is the CTR */
	uint8_t status;	       /* OBF, AUXDATA, TIMEOUT and CMD; the rest is computed */
	uint8_t out;	       /* the output buffer */
	uint8_t output_port;
	uint8_t pending; /* the command whose data byte the next data write is */
	unsigned lines;	 /* the IRQ lines as last set: bits KR_I8042_KBD_IRQ, KR_I8042_AUX_IRQ */
};

static unsigned wanted_lines(const struct i8042 *k)
{
	if (!(k->status & KR_I8042_STR_OBF))
		return 0;
	if (k->status & KR_I8042_STR_AUXDATA)
		return k->ram[0] & KR_I8042_CTR_AUXINT ? 1u << KR_I8042_AUX_IRQ : 0;
	return k->ram[0] & KR_I8042_CTR_KBDINT ? 1u << KR_I8042_KBD_IRQ : 0;
}

/* Set the lines to what the output buffer and the CTR say (a change only). */
static int update_irqs(struct i8042 *k)
{
	unsigned want = wanted_lines(k);
	static const unsigned irqs[] = {KR_I8042_KBD_IRQ, KR_I8042_AUX_IRQ};
	for (size_t i = 0; i < sizeof(irqs) / sizeof(irqs[0]); i++) {
		unsigned bit = 1u << irqs[i];
		if ((want ^ k->lines) & bit) {
			struct kvm_irq_level irq = {.irq = irqs[i], .level = !!(want & bit)};
			if (k->use_irq && ioctl(k->vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
				return kr_err_sys("i8042: ioctl KVM_IRQ_LINE(irq %u, level %u)",
						  irqs[i], irq.level);
			k->lines ^= bit;
		}
	}
	return 0;
}

/* A byte into the output buffer, from the controller, the keyboard side or the mouse side. */
static void put(struct i8042 *k, uint8_t b, uint8_t flags)
{
	k->out = b;
	k->status = (uint8_t)((k->status & KR_I8042_STR_CMD) | KR_I8042_STR_OBF | flags);
}

static uint8_t status(const struct i8042 *k)
{
	uint8_t s = k->status | KR_I8042_STR_UNLOCKED;
	if (k->ram[0] & KR_I8042_CTR_SYS)
		s |= KR_I8042_STR_SYS;
	return s;
}

/* A command written to port 0x64; *reset set if it pulses the CPU reset line. */
static void command(struct i8042 *k, uint8_t cmd, bool *reset)
{
	k->pending = NO_PENDING;
	if (cmd >= KR_I8042_CMD_READ_RAM && cmd < KR_I8042_CMD_READ_RAM + RAM_SIZE) {
		put(k, k->ram[cmd - KR_I8042_CMD_READ_RAM], 0);
		return;
	}
	if ((cmd >= KR_I8042_CMD_WRITE_RAM && cmd < KR_I8042_CMD_WRITE_RAM + RAM_SIZE) ||
	    cmd == KR_I8042_CMD_WRITE_OUTPUT || cmd == KR_I8042_CMD_KBD_LOOP ||
	    cmd == KR_I8042_CMD_AUX_LOOP || cmd == KR_I8042_CMD_AUX_SEND) {
		k->pending = cmd;
		return;
	}
	/* 0xF0..0xFF pulse the output port's low bits that are 0 in the command: bit 0 resets. */
	if ((cmd & 0xf0) == 0xf0) {
		*reset = !(cmd & 1);
		return;
	}
	switch (cmd) {
	case KR_I8042_CMD_AUX_DISABLE:
		k->ram[0] |= KR_I8042_CTR_AUXDIS;
		break;
	case KR_I8042_CMD_AUX_ENABLE:
		k->ram[0] &= (uint8_t)~KR_I8042_CTR_AUXDIS;
		break;
	case KR_I8042_CMD_KBD_DISABLE:
		k->ram[0] |= KR_I8042_CTR_KBDDIS;
		break;
	case KR_I8042_CMD_KBD_ENABLE:
		k->ram[0] &= (uint8_t)~KR_I8042_CTR_KBDDIS;
		break;
	case KR_I8042_CMD_AUX_TEST:
	case KR_I8042_CMD_KBD_TEST:
		put(k, KR_I8042_PORT_EMPTY, 0);
		break;
	case KR_I8042_CMD_SELF_TEST:
		put(k, KR_I8042_SELF_TEST_OK, 0);
		break;
	case KR_I8042_CMD_READ_OUTPUT:
		put(k, k->output_port, 0);
		break;
	default:
		break; /* the rest (input port, test inputs, vendor commands): no answer */
	}
}

/* A byte written to port 0x60: a pending command's data, or a byte for the keyboard. */
static void data(struct i8042 *k, uint8_t b, bool *reset)
{
	uint8_t cmd = k->pending;
	k->pending = NO_PENDING;
	if (cmd >= KR_I8042_CMD_WRITE_RAM && cmd < KR_I8042_CMD_WRITE_RAM + RAM_SIZE) {
		k->ram[cmd - KR_I8042_CMD_WRITE_RAM] = b;
		return;
	}
	switch (cmd) {
	case KR_I8042_CMD_WRITE_OUTPUT:
		k->output_port = b;
		*reset = !(b & 1);
		break;
	case KR_I8042_CMD_KBD_LOOP:
		put(k, b, 0);
		break;
	case KR_I8042_CMD_AUX_LOOP:
		put(k, b, KR_I8042_STR_AUXDATA);
		break;
	case KR_I8042_CMD_AUX_SEND:
		put(k, KR_I8042_NO_DEVICE, KR_I8042_STR_AUXDATA | KR_I8042_STR_TIMEOUT);
		break;
	default: /* for the keyboard, which is not there */
		put(k, KR_I8042_NO_DEVICE, KR_I8042_STR_TIMEOUT);
		break;
	}
}

static int i8042_port(struct kr_vm *vm, void *opaque, uint64_t port, void *buf, uint32_t size,
		      bool is_write)
{
	struct i8042 *k = opaque;
	uint8_t *d = buf;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(d, 0, size);
		if (port == KR_I8042_COMMAND_PORT) {
			d[0] = status(k);
		} else {
			d[0] = k->out;
			k->status &= (uint8_t) ~(KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA |
						 KR_I8042_STR_TIMEOUT);
		}
	} else if (port == KR_I8042_COMMAND_PORT) {
		k->status |= KR_I8042_STR_CMD;
		command(k, d[0], &reset);
	} else {
		k->status &= (uint8_t)~KR_I8042_STR_CMD;
		data(k, d[0], &reset);
	}
	int rc = update_irqs(k);
	pthread_mutex_unlock(&k->lock);
	if (reset) {
		char msg[128];
		if (is_write && port == KR_I8042_COMMAND_PORT)
			snprintf(msg, sizeof(msg),
				 "guest requested a reset (0x%02x to the keyboard controller, port "
				 "0x64)",
				 d[0]);
		else
			snprintf(msg, sizeof(msg),
				 "guest requested a reset (keyboard controller output port 0x%02x: "
				 "bit 0, "
				 "the CPU reset line, clear)",
				 d[0]);
		kr_vm_stop(vm, KR_STOP_RESET, 0, msg);
	}
	return rc;
}

static void on_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	struct i8042 *k = opaque;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* Snapshots: the RAM (the configuration byte first), the output buffer, the lines. */
struct i8042_state {
	uint8_t ram[RAM_SIZE];
	uint8_t status, out, output_port, pending;
	uint32_t lines;
};

#define STATUS_KEPT                                                                                \
	(KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA | KR_I8042_STR_TIMEOUT | KR_I8042_STR_CMD)

static long save(struct kr_vm *vm, void *opaque, void *buf, size_t max)
{
	(void)vm;
	struct i8042 *k = opaque;
	struct i8042_state st;
	if (max < sizeof(st))
		return kr_err("i8042: snapshot needs %zu bytes, %zu left", sizeof(st), max);
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&k->lock);
	memcpy(st.ram, k->ram, sizeof(st.ram));
	st.status = k->status, st.out = k->out, st.output_port = k->output_port;
	st.pending = k->pending, st.lines = k->lines;
	pthread_mutex_unlock(&k->lock);
	memcpy(buf, &st, sizeof(st));
	return (long)sizeof(st);
}

/* A command that waits for a data byte (see command()), or none. */
static bool takes_data(uint8_t cmd)
{
	return cmd == NO_PENDING ||
	       (cmd >= KR_I8042_CMD_WRITE_RAM && cmd < KR_I8042_CMD_WRITE_RAM + RAM_SIZE) ||
	       cmd == KR_I8042_CMD_WRITE_OUTPUT || cmd == KR_I8042_CMD_KBD_LOOP ||
	       cmd == KR_I8042_CMD_AUX_LOOP || cmd == KR_I8042_CMD_AUX_SEND;
}

static int parse_state(const void *buf, size_t len, struct i8042_state *st)
{
	if (len != sizeof(*st))
		return kr_err("i8042: snapshot state of %zu bytes, expected %zu", len, sizeof(*st));
	memcpy(st, buf, sizeof(*st));
	if (st->status & ~STATUS_KEPT)
		return kr_err("i8042: snapshot status 0x%02x has bits the controller computes",
			      st->status);
	if (!takes_data(st->pending))
		return kr_err("i8042: snapshot waits for the data byte of command 0x%02x, which "
			      "takes none",
			      st->pending);
	struct i8042 k = {.status = st->status};
	memcpy(k.ram, st->ram, sizeof(k.ram));
	if (st->lines != wanted_lines(&k))
		return kr_err("i8042: snapshot IRQ lines 0x%x, but the output buffer and the "
			      "configuration byte say 0x%x",
			      st->lines, wanted_lines(&k));
	return 0;
}

int kr_i8042_check_state(const void *buf, size_t len)
{
	struct i8042_state st;
	return parse_state(buf, len, &st);
}

static int restore(struct kr_vm *vm, void *opaque, const void *buf, size_t len)
{
	(void)vm;
	struct i8042 *k = opaque;
	struct i8042_state st;
	if (parse_state(buf, len, &st) < 0)
		return -1;
	pthread_mutex_lock(&k->lock);
	memcpy(k->ram, st.ram, sizeof(k->ram));
	k->status = st.status, k->out = st.out, k->output_port = st.output_port;
	k->pending = st.pending;
	/*
	 * As the UART's line (uart.c): the irqchip's state holds what the
	 * lines did; a line this VM holds high that the snapshot has low goes
	 * down, none is raised again.
	 */
	unsigned lower = k->lines & ~st.lines;
	k->lines = st.lines;
	int rc = 0;
	for (unsigned irq = 0; irq < 32 && rc == 0; irq++) {
		struct kvm_irq_level l = {.irq = irq, .level = 0};
		if ((lower & (1u << irq)) && k->use_irq &&
		    ioctl(k->vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
			rc = kr_err_sys("i8042: restore: ioctl KVM_IRQ_LINE(irq %u, level 0)", irq);
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static const struct kr_hooks i8042_hooks = {
    .name = "i8042",
    .on_destroy = on_destroy,
    .save = save,
    .restore = restore,
};

unsigned kr_i8042_irq_lines(struct kr_vm *vm)
{
	struct i8042 *k = kr_vm_module(vm, &i8042_hooks);
	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	unsigned lines = k->lines;
	pthread_mutex_unlock(&k->lock);
	return lines;
}

int kr_i8042_register(struct kr_vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return kr_err_sys("i8042: calloc(%zu)", sizeof(*k));
	k->vm = vm;
	k->use_irq = vm->cfg.pc;
	k->ram[0] = KR_I8042_CTR_INIT;
	k->output_port = KR_I8042_OUTPUT_INIT;
	pthread_mutex_init(&k->lock, NULL);
	if (kr_vm_add_module(vm, &i8042_hooks, k) < 0) {
		pthread_mutex_destroy(&k->lock);
		free(k);
		return -1;
	}
	if (kr_bus_register(vm, KR_SPACE_PIO, KR_I8042_DATA_PORT, 1, i8042_port, k) < 0 ||
	    kr_bus_register(vm, KR_SPACE_PIO, KR_I8042_COMMAND_PORT, 1, i8042_port, k) < 0)
		return -1;
	return 0;
}
