/* SPDX-License-Identifier: MIT */
/*
 * test_sandbox.c - the filter kr_sandbox_enter loads, tried for real: a
 * sandboxed VM in a child process whose device (port 0x99) makes a system
 * call, allowed or not; and a thread that existed before kr_sandbox_enter,
 * which the filter binds too (TSYNC). A denied call ends the child by
 * SIGSYS after a line on its stderr (a pipe to the test) naming the call.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/vm.h"
#include "kvmtest.h"

/* out 0x99,al; hlt */
static const uint8_t poke[] = {0xe6, 0x99, 0xf4};

enum poke_action { WRITE_ALLOWED_FD, WRITE_OTHER_FD, IOCTL_OTHER_FD, IOCTL_VM_FD_VCPU_REQUEST };

struct poke_device {
	enum poke_action action;
	int fd; /* the fd the action uses */
	int vm_fd;
};

static int poke_handler(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
			bool is_write)
{
	(void)vm, (void)addr, (void)data, (void)size, (void)is_write;
	struct poke_device *d = opaque;
	int n = 0;
	switch (d->action) {
	case WRITE_ALLOWED_FD:
	case WRITE_OTHER_FD:
		if (write(d->fd, "poked\n", 6) != 6)
			return -1;
		break;
	case IOCTL_OTHER_FD:
		ioctl(d->fd, FIONREAD, &n);
		break;
	case IOCTL_VM_FD_VCPU_REQUEST:
		ioctl(d->vm_fd, KVM_RUN, 0);
		break;
	}
	return 0;
}

/* The sanitizers' exit hooks make calls the filter refuses: leave with the raw call. */
static void child_exit(int status)
{
	syscall(SYS_exit_group, status);
}

/* Read what the child wrote to the pipe until it closes; wait for the child. */
static int collect(pid_t pid, int fd, char *text, size_t size)
{
	size_t used = 0;
	ssize_t n;
	while (used + 1 < size && (n = read(fd, text + used, size - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		used += (size_t)n;
	}
	text[used] = '\0';
	close(fd);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return status;
}

/*
 * A sandboxed child runs the poke guest with the device doing `action`.
 * Its stderr goes to err; `data` gets what it wrote to `data_fd` (a pipe the
 * child may write to when the caller's write_fds name it). Returns the wait status.
 */
static int run_poke(enum poke_action action, bool data_fd_allowed, char *err, size_t errsize,
		    char *data, size_t datasize)
{
	int errp[2], datap[2];
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(datap, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(errp[0]);
		close(datap[0]);
		dup2(errp[1], STDERR_FILENO);
		struct kvmtest_vm g;
		if (!kvmtest_start(&g, KR_MODE_REAL))
			child_exit(2);
		struct poke_device d = {action, datap[1], g.vm->vm_fd};
		if (action == IOCTL_OTHER_FD)
			d.fd = datap[1];
		if (kr_bus_register(g.vm, KR_SPACE_PIO, 0x99, 1, poke_handler, &d) < 0 ||
		    !kvmtest_load(g.vm, poke, sizeof(poke), NULL, 0))
			child_exit(3);
		int fds[] = {datap[1]};
		if (kr_sandbox_enter(g.vm, fds, data_fd_allowed ? 1 : 0) < 0) {
			const char *e = kr_last_error();
			ssize_t ignored = write(STDERR_FILENO, e, strlen(e));
			(void)ignored;
			child_exit(4);
		}
		struct kr_stop s;
		int rc = kr_vm_run(g.vm, &s);
		kr_vm_destroy(g.vm);
		child_exit(rc == 0 && s.reason == KR_STOP_HLT ? 0 : 5);
	}
	close(errp[1]);
	close(datap[1]);
	/* The child is done with both once it exits; read its data first (small). */
	int status = collect(pid, errp[0], err, errsize);
	size_t used = 0;
	ssize_t n;
	while (used + 1 < datasize && (n = read(datap[0], data + used, datasize - 1 - used)) > 0)
		used += (size_t)n;
	data[used] = '\0';
	close(datap[0]);
	return status;
}

static void expect_sigsys(int status, const char *err, const char *needle, const char *file,
			  int line)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		unit_fail(file, line, "child status 0x%x, expected death by SIGSYS; stderr: \"%s\"",
			  status, err);
	else if (!strstr(err, needle))
		unit_fail(file, line, "stderr \"%s\" lacks \"%s\"", err, needle);
}

UNIT_TEST(sandbox_write_to_a_callers_fd_is_allowed)
{
	char err[512], data[64];
	int status = run_poke(WRITE_ALLOWED_FD, true, err, sizeof(err), data, sizeof(data));
	CHECK(WIFEXITED(status));
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : 99, 0);
	if (err[0])
		unit_fail(__FILE__, __LINE__, "child said: %s", err);
	CHECK(!strcmp(data, "poked\n"));
}

UNIT_TEST(sandbox_write_to_another_fd_is_denied)
{
	char err[512], data[64];
	int status = run_poke(WRITE_OTHER_FD, false, err, sizeof(err), data, sizeof(data));
	expect_sigsys(status, err, "system call write (1) is not allowed", __FILE__, __LINE__);
	CHECK_EQ(data[0], 0);
}

UNIT_TEST(sandbox_ioctl_on_another_fd_is_denied)
{
	char err[512], data[64];
	/* FIONREAD on the pipe, even one the caller may write to */
	int status = run_poke(IOCTL_OTHER_FD, true, err, sizeof(err), data, sizeof(data));
	expect_sigsys(status, err, "system call ioctl (16) is not allowed", __FILE__, __LINE__);
}

UNIT_TEST(sandbox_vcpu_ioctl_on_the_vm_fd_is_denied)
{
	char err[512], data[64];
	int status = run_poke(IOCTL_VM_FD_VCPU_REQUEST, false, err, sizeof(err), data, sizeof(data));
	expect_sigsys(status, err, "system call ioctl (16) is not allowed", __FILE__, __LINE__);
}

/* ---- a thread that existed before kr_sandbox_enter ------------------------------ */

static _Atomic int thread_stage; /* 1: the thread runs; 2: the sandbox is on */

static void *early_thread(void *arg)
{
	(void)arg;
	atomic_store(&thread_stage, 1);
	while (atomic_load(&thread_stage) != 2)
		;
	/* Not on the allowlist: with the filter on this thread too, SIGSYS. */
	syscall(SYS_getppid);
	ssize_t ignored = write(STDERR_FILENO, "getppid passed\n", 15);
	(void)ignored;
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

UNIT_TEST(sandbox_binds_a_thread_started_before_it)
{
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(errp[0]);
		dup2(errp[1], STDERR_FILENO);
		struct kvmtest_vm g;
		if (!kvmtest_start(&g, KR_MODE_REAL) || !kvmtest_load(g.vm, poke + 2, 1, NULL, 0))
			child_exit(2);
		pthread_t t;
		if (pthread_create(&t, NULL, early_thread, NULL) != 0)
			child_exit(3);
		while (atomic_load(&thread_stage) != 1)
			;
		if (kr_sandbox_enter(g.vm, NULL, 0) < 0)
			child_exit(4);
		atomic_store(&thread_stage, 2);
		/* Busy-wait (sleeping is not allowed); the thread's SIGSYS ends the process. */
		uint64_t end = now_ns() + 10 * 1000000000ull;
		while (now_ns() < end)
			;
		child_exit(5);
	}
	close(errp[1]);
	char err[512];
	int status = collect(pid, errp[0], err, sizeof(err));
	expect_sigsys(status, err, "system call getppid (110) is not allowed", __FILE__, __LINE__);
}

/* Too many fds for the filter's slots: refused before anything changes. */
UNIT_TEST(sandbox_refuses_more_write_fds_than_slots)
{
	struct kvmtest_vm g;
	if (!kvmtest_start(&g, KR_MODE_REAL))
		return;
	int fds[40];
	for (int i = 0; i < 40; i++)
		fds[i] = 100 + i;
	CHECK_FAILS_WITH(kr_sandbox_enter(g.vm, fds, 40), "fds to write to");
	CHECK_FAILS_WITH(kr_sandbox_enter(g.vm, (int[]){-2}, 1), "fd -2");
	/* No filter came: this process may still open files. */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	kvmtest_end(&g);
}

/* ---- a device's own thread (the UART's input), filtered too ------------------- */

/*
 * Real mode: wait for LSR.DR on COM1, read RBR, hand the byte to port 0x99, hlt.
 *   mov dx,0x3fd; l: in al,dx; test al,1; jz l; mov dx,0x3f8; in al,dx; out 0x99,al; hlt
 */
static const uint8_t read_com1[] = {0xba, 0xfd, 0x03, 0xec, 0xa8, 0x01, 0x74, 0xfb, 0xba,
				    0xf8, 0x03, 0xec, 0xe6, 0x99, 0xf4};

static int take_byte(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		     bool is_write)
{
	(void)vm, (void)addr, (void)size, (void)is_write;
	*(uint8_t *)opaque = *(uint8_t *)data;
	return 0;
}

/*
 * The input thread exists before kr_sandbox_enter: it polls and reads its
 * fd under the filter, and ends under it at kr_vm_destroy.
 */
UNIT_TEST(sandbox_lets_the_uart_input_thread_read_and_end)
{
	int errp[2], in[2];
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(errp[0]);
		close(in[1]);
		dup2(errp[1], STDERR_FILENO);
		struct kr_vm_config cfg;
		kr_vm_config_init(&cfg);
		cfg.mode = KR_MODE_REAL;
		cfg.mem_size = 8u << 20;
		cfg.serial_in_fd = in[0];
		struct kr_vm *vm;
		uint8_t got = 0;
		struct kr_image img;
		if (kr_vm_create(&vm, &cfg) < 0 ||
		    kr_bus_register(vm, KR_SPACE_PIO, 0x99, 1, take_byte, &got) < 0 ||
		    kr_load_buffer(vm, read_com1, sizeof(read_com1), NULL, &img) < 0 ||
		    kr_vcpu_prepare(vm, &img) < 0 || kr_sandbox_enter(vm, NULL, 0) < 0) {
			const char *e = kr_last_error();
			ssize_t ignored = write(STDERR_FILENO, e, strlen(e));
			(void)ignored;
			child_exit(2);
		}
		struct kr_stop s;
		int rc = kr_vm_run(vm, &s);
#if !defined(__SANITIZE_ADDRESS__)
		kr_vm_destroy(vm); /* wakes the input thread, which ends under the filter */
#else
		/*
		 * Not with ASan: its end of a thread remaps the thread's shadow
		 * memory (mmap), which the filter rightly refuses. The thread's
		 * reads are tested here; its end in the build without sanitizers.
		 */
#endif
		child_exit(rc == 0 && s.reason == KR_STOP_HLT && got == 'k' ? 0 : 3);
	}
	close(errp[1]);
	close(in[0]);
	/* Typed after the child's sandbox is on, most likely: the thread reads it filtered. */
	struct timespec pause = {0, 50 * 1000000};
	nanosleep(&pause, NULL);
	/* A child that died early closed the pipe: that shows in its status, not as SIGPIPE here. */
	void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
	ssize_t wrote = write(in[1], "k", 1);
	signal(SIGPIPE, old_pipe);
	close(in[1]);
	char err[512];
	int status = collect(pid, errp[0], err, sizeof(err));
	CHECK(WIFEXITED(status));
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : 99, 0);
	CHECK_EQ(wrote, 1);
	if (err[0])
		unit_fail(__FILE__, __LINE__, "child said: %s", err);
}

/* ---- a thread that cannot take the filter -------------------------------------- */

static _Atomic long own_filter_tid; /* > 0: installed; < 0: failed */

/* A thread with a seccomp filter of its own (allow everything), then idle. */
static void *thread_with_own_filter(void *arg)
{
	(void)arg;
	struct sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = allow_all};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		atomic_store(&own_filter_tid, -1);
		return NULL;
	}
	atomic_store(&own_filter_tid, (long)syscall(SYS_gettid));
	for (;;)
		pause();
	return NULL;
}

/*
 * TSYNC fails with the id of a thread whose filters are not an ancestor of
 * the new one: kr_sandbox_enter says which, and filtered no thread.
 */
UNIT_TEST(sandbox_names_a_thread_that_cannot_take_the_filter)
{
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(errp[0]);
		dup2(errp[1], STDERR_FILENO);
		struct kvmtest_vm g;
		if (!kvmtest_start(&g, KR_MODE_REAL) || !kvmtest_load(g.vm, poke + 2, 1, NULL, 0))
			child_exit(2);
		pthread_t t;
		if (pthread_create(&t, NULL, thread_with_own_filter, NULL) != 0)
			child_exit(3);
		long tid;
		while ((tid = atomic_load(&own_filter_tid)) == 0)
			;
		if (tid < 0)
			child_exit(4);
		char want[64];
		snprintf(want, sizeof(want), "thread %ld of this process cannot take the filter", tid);
		if (kr_sandbox_enter(g.vm, NULL, 0) == 0)
			child_exit(5);
		const char *e = kr_last_error();
		ssize_t ignored = write(STDERR_FILENO, e, strlen(e));
		(void)ignored;
		if (!strstr(e, want))
			child_exit(6);
		/* No thread is filtered: this one may still open files. */
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		child_exit(fd >= 0 ? 0 : 7);
	}
	close(errp[1]);
	char err[512];
	int status = collect(pid, errp[0], err, sizeof(err));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		unit_fail(__FILE__, __LINE__, "child status 0x%x; it said: %s", status, err);
}
