/* SPDX-License-Identifier: MIT */
/*
 * outside.c - a program that uses libkvmrun as any other would: compiled
 * outside the source tree against the installed library, found through
 * `pkg-config --cflags --libs kvmrun` (tests/install/build-outside.sh).
 *
 *   outside GUEST.elf
 *
 * Prints the library's version on stderr, then runs GUEST with its output
 * on stdout, and says on stderr how it stopped. Before that it checks that
 * a failure comes with its code: loading a file that does not exist is
 * KR_E_SYSCALL with ENOENT. Exit status: the guest's (EXIT hypercall), 0
 * after HLT, 1 if anything failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kvmrun.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: outside GUEST.elf\n");
		return 1;
	}
	fprintf(stderr, "libkvmrun %s (header %s)\n", kr_version(), KR_VERSION);

	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	struct kr_stop stop;
	kr_vm_config_init(&cfg);
	if (kr_vm_create(&vm, &cfg) < 0) {
		fprintf(stderr, "outside: %s (%s)\n", kr_last_error(),
			kr_error_name(kr_last_error_code()));
		return 1;
	}
	if (kr_load_file(vm, "/no-such-dir/guest.elf", NULL, &img) == 0 ||
	    kr_last_error_code() != KR_E_SYSCALL || kr_last_errno() != ENOENT) {
		fprintf(stderr, "outside: a missing file gave %s, errno %d: %s\n",
			kr_error_name(kr_last_error_code()), kr_last_errno(), kr_last_error());
		kr_vm_destroy(vm);
		return 1;
	}
	fprintf(stderr, "missing file: %s\n", kr_error_name(kr_last_error_code()));

	int status = 1;
	if (kr_load_file(vm, argv[1], NULL, &img) < 0 || kr_vcpu_prepare(vm, &img) < 0 ||
	    kr_vm_run(vm, &stop) < 0) {
		fprintf(stderr, "outside: %s (%s)\n", kr_last_error(),
			kr_error_name(kr_last_error_code()));
	} else {
		fprintf(stderr, "stopped: %s, status %d\n", kr_stop_reason_name(stop.reason),
			stop.exit_code);
		if (stop.reason == KR_STOP_EXIT)
			status = stop.exit_code;
		else if (stop.reason == KR_STOP_HLT)
			status = 0;
	}
	kr_vm_destroy(vm); /* flushes the guest's output */
	return status;
}
