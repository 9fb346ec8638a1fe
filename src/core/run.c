/* SPDX-License-Identifier: MIT */
/*
 * run.c - step 8: the KVM_RUN loop.
 *
 * KVM_RUN returns whenever the guest does something the kernel leaves to
 * user space; kvm_run->exit_reason says what. Every exit is either handed to
 * a device on the bus or ends the run with a struct kr_stop that says why.
 * Nothing the guest does can make this loop touch memory outside the guest
 * or spin forever without a KVM_RUN in between.
 */
#define _GNU_SOURCE /* gettid, SIGEV_THREAD_ID */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

void kr_vm_stop(struct kr_vm *vm, enum kr_stop_reason reason, int exit_code, const char *message)
{
	if (vm->stop_requested)
		return; /* the first reason wins */
	vm->pending_stop = (struct kr_stop){.reason = reason, .exit_code = exit_code};
	snprintf(vm->pending_stop.message, sizeof(vm->pending_stop.message), "%s",
		 message ? message : kr_stop_reason_name(reason));
	vm->pending_stop.kvm_exit = vm->run ? vm->run->exit_reason : 0;
	vm->stop_requested = true;
	/* Makes a KVM_RUN that has not entered the guest yet return at once. */
	if (vm->run)
		vm->run->immediate_exit = 1;
}

static void stopf(struct kr_vm *vm, enum kr_stop_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void stopf(struct kr_vm *vm, enum kr_stop_reason reason, const char *fmt, ...)
{
	char msg[sizeof(vm->pending_stop.message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kr_vm_stop(vm, reason, 0, msg);
}

static int handle_io(struct kr_vm *vm)
{
	struct kvm_run *run = vm->run;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t size = run->io.size, count = run->io.count;
	/* The data lives inside the kvm_run mapping; check it really does. */
	uint64_t total = (uint64_t)size * count;
	if (!kr_range_ok(run->io.data_offset, total, (uint64_t)vm->run_size))
		return kr_err("run: KVM_EXIT_IO data at offset 0x%llx (%u x %u bytes) lies outside "
			      "the %d-byte kvm_run mapping",
			      (unsigned long long)run->io.data_offset, count, size, vm->run_size);
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	const struct kr_device *dev = kr_bus_find(vm, KR_SPACE_PIO, run->io.port, size);
	if (!dev) {
		stopf(vm, KR_STOP_UNHANDLED, "unhandled port I/O: %s of %u byte%s %s port 0x%x",
		      is_write ? "write" : "read", size, size == 1 ? "" : "s",
		      is_write ? "to" : "from", run->io.port);
		return 0;
	}
	/* `rep outs`/`rep ins` may deliver several items in one exit. */
	for (uint32_t i = 0; i < count && !vm->stop_requested; i++)
		if (dev->handler(vm, dev->opaque, run->io.port, data + (size_t)i * size, size,
				 is_write) < 0)
			return -1;
	return 0;
}

static bool in_readonly_slot(const struct kr_vm *vm, uint64_t gpa)
{
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		if (s->used && (s->flags & KR_MEM_READONLY) && gpa >= s->gpa && gpa - s->gpa < s->size)
			return true;
	}
	return false;
}

static int handle_mmio(struct kr_vm *vm)
{
	struct kvm_run *run = vm->run;
	uint64_t addr = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	bool is_write = run->mmio.is_write;
	if (len == 0 || len > sizeof(run->mmio.data))
		return kr_err("run: KVM_EXIT_MMIO with length %u at 0x%llx", len,
			      (unsigned long long)addr);
	const struct kr_device *dev = kr_bus_find(vm, KR_SPACE_MMIO, addr, len);
	if (dev)
		return dev->handler(vm, dev->opaque, addr, run->mmio.data, len, is_write);
	if (is_write && in_readonly_slot(vm, addr))
		stopf(vm, KR_STOP_UNHANDLED, "write of %u byte%s to read-only memory at 0x%llx", len,
		      len == 1 ? "" : "s", (unsigned long long)addr);
	else
		stopf(vm, KR_STOP_UNHANDLED, "unhandled MMIO %s of %u byte%s at 0x%llx",
		      is_write ? "write" : "read", len, len == 1 ? "" : "s",
		      (unsigned long long)addr);
	return 0;
}

static void internal_error(struct kr_vm *vm)
{
	struct kvm_run *run = vm->run;
	static const char *const sub[] = {
		[KVM_INTERNAL_ERROR_EMULATION] = "emulation failure",
		[KVM_INTERNAL_ERROR_SIMUL_EX] = "exception during exception delivery",
		[KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
		[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected exit reason",
	};
	uint32_t s = run->internal.suberror;
	const char *what = s < sizeof(sub) / sizeof(sub[0]) && sub[s] ? sub[s] : "unknown";
	char data[128] = "";
	size_t used = 0;
	uint32_t n = run->internal.ndata;
	if (n > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		n = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	for (uint32_t i = 0; i < n && i < 4 && used < sizeof(data); i++)
		used += (size_t)snprintf(data + used, sizeof(data) - used, " 0x%llx",
					 (unsigned long long)run->internal.data[i]);
	stopf(vm, KR_STOP_INTERNAL_ERROR, "KVM_EXIT_INTERNAL_ERROR: suberror %u (%s), data:%s", s,
	      what, n ? data : " none");
}

static void system_event(struct kr_vm *vm)
{
	static const char *const types[] = {
		[KVM_SYSTEM_EVENT_SHUTDOWN] = "shutdown",
		[KVM_SYSTEM_EVENT_RESET] = "reset",
		[KVM_SYSTEM_EVENT_CRASH] = "crash",
	};
	uint32_t t = vm->run->system_event.type;
	const char *what = t < sizeof(types) / sizeof(types[0]) && types[t] ? types[t] : "other";
	stopf(vm, KR_STOP_SYSTEM_EVENT, "KVM_EXIT_SYSTEM_EVENT: type %u (%s)", t, what);
}

/* One exit: hand it to its device, or decide that the run is over. */
int kr_handle_exit(struct kr_vm *vm)
{
	struct kvm_run *run = vm->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vm);
	case KVM_EXIT_MMIO:
		return handle_mmio(vm);
	case KVM_EXIT_HLT:
		kr_vm_stop(vm, KR_STOP_HLT, 0, "guest halted (KVM_EXIT_HLT)");
		return 0;
	case KVM_EXIT_SHUTDOWN:
		stopf(vm, KR_STOP_SHUTDOWN, "triple fault (KVM_EXIT_SHUTDOWN): the guest hit an "
					    "exception it could not handle");
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		stopf(vm, KR_STOP_FAIL_ENTRY,
		      "KVM_EXIT_FAIL_ENTRY: the CPU refused to enter the guest, "
		      "hardware_entry_failure_reason 0x%llx on cpu %u",
		      (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
		      run->fail_entry.cpu);
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(vm);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		system_event(vm);
		return 0;
	case KVM_EXIT_INTR:
		return 0; /* a signal arrived; the loop checks for a stop request */
	default:
		stopf(vm, KR_STOP_UNHANDLED, "unhandled exit %s (%u)", kr_exit_name(run->exit_reason),
		      run->exit_reason);
		return 0;
	}
}

/*
 * Keep the vCPU state of the stop, for crash reports, and add where the guest
 * was to the message. An exception report already holds the state at the
 * faulting instruction. After a triple fault on AMD the vCPU has been reset
 * (RIP 0xfff0, CS base 0xffff0000): say so rather than blame that address.
 */
static void finish_stop(struct kr_vm *vm, struct kr_stop *stop)
{
	*stop = vm->pending_stop;
	if (!stop->have_state)
		stop->have_state = kr_vcpu_get_regs(vm, &stop->regs) == 0 &&
				   kr_vcpu_get_sregs(vm, &stop->sregs) == 0;
	if (!stop->have_state)
		return;
	stop->rip = stop->regs.rip;
	stop->cpu_was_reset = stop->reason == KR_STOP_SHUTDOWN && stop->regs.rip == 0xfff0 &&
			      stop->sregs.cs.base == 0xffff0000;
	size_t len = strlen(stop->message);
	if (stop->cpu_was_reset)
		snprintf(stop->message + len, sizeof(stop->message) - len,
			 "; the CPU reset the vCPU before KVM reported it, so the faulting "
			 "address is unknown");
	else
		snprintf(stop->message + len, sizeof(stop->message) - len, " (RIP=0x%llx)",
			 (unsigned long long)stop->rip);
}

void kr_vm_observe_exits(struct kr_vm *vm, kr_exit_observer fn, void *opaque, bool want_rip)
{
	vm->observer = fn;
	vm->observer_opaque = opaque;
	vm->observer_wants_rip = want_rip;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Describe the exit just handled to the observer. */
static void observe_exit(struct kr_vm *vm, uint64_t t0)
{
	struct kvm_run *run = vm->run;
	struct kr_exit_record rec = {.seq = vm->exit_seq, .kvm_exit = run->exit_reason};
	if (run->exit_reason == KVM_EXIT_IO) {
		rec.has_access = true;
		rec.is_write = run->io.direction == KVM_EXIT_IO_OUT;
		rec.addr = run->io.port;
		rec.size = run->io.size;
		rec.count = run->io.count;
		/* handle_io checked that the data lies inside the mapping */
		if (kr_range_ok(run->io.data_offset, run->io.size, (uint64_t)vm->run_size))
			memcpy(rec.data, (uint8_t *)run + run->io.data_offset,
			       run->io.size < 8 ? run->io.size : 8);
	} else if (run->exit_reason == KVM_EXIT_MMIO) {
		rec.has_access = rec.is_mmio = true;
		rec.is_write = run->mmio.is_write;
		rec.addr = run->mmio.phys_addr;
		rec.size = run->mmio.len;
		rec.count = 1;
		memcpy(rec.data, run->mmio.data, rec.size < 8 ? rec.size : 8);
	}
	struct kvm_regs regs;
	if (vm->observer_wants_rip && kr_vcpu_get_regs(vm, &regs) == 0) {
		rec.has_rip = true;
		rec.rip = regs.rip;
	}
	rec.host_ns = now_ns() - t0;
	vm->observer(vm, vm->observer_opaque, &rec);
}

/*
 * The timeout: a POSIX timer sends a signal to the thread that created the
 * VM. Its handler only sets two flags; KVM_RUN returns EINTR if the guest was
 * running, and immediate_exit makes the next KVM_RUN return at once if the
 * signal came while we were handling an exit. No signal is ever lost.
 */
#define KR_TIMEOUT_SIGNAL (SIGRTMIN + 3)

static void on_timeout(int sig, siginfo_t *info, void *uctx)
{
	(void)sig, (void)uctx;
	struct kr_vm *vm = info->si_value.sival_ptr;
	if (info->si_code != SI_TIMER || !vm)
		return;
	vm->timed_out = 1;
	vm->run->immediate_exit = 1;
}

int kr_timeout_init(struct kr_vm *vm)
{
	if (!vm->cfg.timeout_ns)
		return 0;
	struct sigaction sa = {.sa_sigaction = on_timeout, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(KR_TIMEOUT_SIGNAL, &sa, NULL) < 0)
		return kr_err_sys("timeout: sigaction(SIGRTMIN+3)");
	struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID,
			      .sigev_signo = KR_TIMEOUT_SIGNAL,
			      .sigev_value.sival_ptr = vm};
	ev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, &vm->timer) < 0)
		return kr_err_sys("timeout: timer_create(CLOCK_MONOTONIC, SIGEV_THREAD_ID)");
	vm->has_timer = true;
	return 0;
}

static int arm_timeout(struct kr_vm *vm, uint64_t ns)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / 1000000000u),
					      .tv_nsec = (long)(ns % 1000000000u)}};
	if (vm->has_timer && timer_settime(vm->timer, 0, &its, NULL) < 0)
		return kr_err_sys("timeout: timer_settime(%llu ns)", (unsigned long long)ns);
	return 0;
}

int kr_vm_run(struct kr_vm *vm, struct kr_stop *stop)
{
	memset(stop, 0, sizeof(*stop));
	vm->stop_requested = false;
	vm->timed_out = 0;
	vm->run->immediate_exit = 0;
	if (arm_timeout(vm, vm->cfg.timeout_ns) < 0)
		return -1;
	int rc = 0;
	while (!vm->stop_requested) {
		if (vm->timed_out) {
			stopf(vm, KR_STOP_TIMEOUT, "the guest ran longer than the timeout of %llu ms",
			      (unsigned long long)(vm->cfg.timeout_ns / 1000000u));
			break;
		}
		uint64_t t0 = vm->observer ? now_ns() : 0;
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			/* A signal (or immediate_exit) interrupted the run: not an exit. */
			if (errno == EINTR || errno == EAGAIN) {
				vm->run->immediate_exit = 0;
				continue;
			}
			rc = kr_err_sys("run: ioctl KVM_RUN(vcpu fd %d)", vm->vcpu_fd);
			break;
		}
		if (kr_handle_exit(vm) < 0) {
			rc = kr_err_context("run: handling %s", kr_exit_name(vm->run->exit_reason));
			break;
		}
		if (vm->observer)
			observe_exit(vm, t0);
		vm->exit_seq++;
	}
	if (arm_timeout(vm, 0) < 0 && rc == 0) /* disarm */
		rc = -1;
	vm->run->immediate_exit = 0;
	if (rc == 0)
		finish_stop(vm, stop);
	if (kr_console_flush(vm) < 0 && rc == 0)
		rc = -1;
	return rc;
}
