/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bzimage.c - the bzImage parser and loader (kr_linux_load).
 *
 * Input: byte 0: the RAM size, 2 MiB + (value % 15) MiB (up to 16 MiB:
 * real kernels need more, the checks must say so); byte 1: the initrd size in
 * KiB (0: none); then the image. Oracle: a parse that succeeds has its pieces
 * inside the file; a load that succeeds put the kernel's bytes at 1 MiB and
 * the initrd inside RAM; one that fails leaves a message.
 */
#include <string.h>

#include "fuzz_common.h"
#include "loader/bzimage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t mem_sel = fuzz_u8(&in), initrd_kib = fuzz_u8(&in);
	uint64_t mem = KR_MEM_MIN + (uint64_t)(mem_sel % 15) * (1u << 20);
	static uint8_t initrd[255 * 1024];
	struct kr_bzimage bz;
	if (kr_bzimage_parse(in.p, in.n, &bz) == 0) {
		FUZZ_CHECK(bz.setup_size + bz.kernel_size <= in.n, "kernel beyond the file");
		FUZZ_CHECK(bz.version >= 0x0206, "old protocol accepted");
	} else {
		FUZZ_CHECK(kr_last_error()[0] != 0, "a refusal without a message");
	}
	struct kr_vm *vm = fuzz_vm(KR_MODE_LONG, mem);
	struct kr_image img;
	struct kr_linux_info info;
	int rc = kr_linux_load(vm, in.n ? in.p : initrd, in.n, initrd, (size_t)initrd_kib * 1024,
			       "console=ttyS0", &img, &info);
	fuzz_log("bzImage %zu bytes, RAM 0x%llx: %s", in.n, (unsigned long long)mem,
		 rc == 0 ? "loaded" : kr_last_error());
	if (rc == 0) {
		FUZZ_CHECK(img.end > img.start && img.end <= mem, "kernel outside RAM");
		FUZZ_CHECK(memcmp(vm->ram + img.start, in.p + bz.setup_size, img.end - img.start) == 0,
			   "kernel bytes not at 1 MiB");
		FUZZ_CHECK(info.initrd_gpa + info.initrd_size <= mem, "initrd outside RAM");
	} else {
		FUZZ_CHECK(kr_last_error()[0] != 0, "a failed load without a message");
	}
	/* Every loaded byte back to the fill, for the next input. */
	fuzz_ram_restore(vm, 0, mem);
	return 0;
}
