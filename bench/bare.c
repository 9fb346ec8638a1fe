/* SPDX-License-Identifier: MIT */
/*
 * bare.c - `kvmrun run` without kvmrun: read a raw long-mode image, run it in
 * a fresh 16 MiB VM with bare ioctls (bare.h) until its EXIT hypercall, exit
 * with its status. The benchmark execs this beside `kvmrun run --mem 16M` to
 * measure what kvmrun adds to a process's time and memory.
 */
#include "bare.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s RAW-IMAGE\n", argv[0]);
		return 2;
	}
	static uint8_t code[65536];
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bare_fail(argv[1]), 2;
	ssize_t len = read(fd, code, sizeof(code));
	close(fd);
	if (len <= 0)
		return bare_fail("read"), 2;
	struct bare_proc p;
	struct bare_vm *v = malloc(sizeof(*v));
	if (!v || bare_proc_init(&p) < 0)
		return 2;
	int rc = bare_create(&p, v, code, (size_t)len, 16u << 20, STDOUT_FILENO);
	if (rc == 0)
		rc = bare_run(&p, v);
	bare_destroy(&p, v);
	bare_proc_fini(&p);
	free(v);
	return rc < 0 || rc == BARE_HLT ? 2 : rc;
}
