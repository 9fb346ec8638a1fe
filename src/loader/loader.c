/* SPDX-License-Identifier: MIT */
/*
 * loader.c - getting a guest image into guest memory.
 *
 * A file is read whole into host memory, then handed to the ELF loader when
 * it starts with the ELF magic and to the raw loader otherwise. Both loaders
 * validate everything before they write a byte, and both write only through
 * kr_gpa_ptr(), so a hostile image can neither make the VMM read past its
 * buffer nor write outside guest RAM.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/vm.h"
#include "loader/loader.h"
#include "loader/multiboot.h"
#include "x86/x86.h"

/* What a file of this mode is, for "not a regular file" messages. */
static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * The size of the open file `fd`, refusing what cannot be a guest image:
 * devices and pipes (their size means nothing), empty files, and files
 * larger than guest RAM (they cannot fit, and we would read them whole).
 */
static int image_file_size(struct kr_vm *vm, int fd, const char *path, size_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return kr_err_sys("load: fstat(\"%s\")", path);
	if (!S_ISREG(st.st_mode))
		return kr_err("load: \"%s\" is %s, not a regular file", path,
			      file_kind(st.st_mode));
	if (st.st_size == 0)
		return kr_err("load: \"%s\" is empty (0 bytes)", path);
	if ((uint64_t)st.st_size > vm->cfg.mem_size)
		return kr_err("load: \"%s\" is 0x%llx bytes, larger than guest RAM (0x%llx bytes)",
			      path, (unsigned long long)st.st_size,
			      (unsigned long long)vm->cfg.mem_size);
	*size = (size_t)st.st_size;
	return 0;
}

/* Read exactly `size` bytes; read() may return less than asked at any time. */
static int read_all(int fd, const char *path, uint8_t *buf, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kr_err_sys("load: read(\"%s\", %zu bytes at offset %zu)", path,
					  size - done, done);
		if (n == 0)
			return kr_err("load: \"%s\" shrank while being read (got %zu of %zu bytes)",
				      path, done, size);
		done += (size_t)n;
	}
	return 0;
}

int kr_load_read_file(struct kr_vm *vm, const char *path, uint8_t **out, size_t *out_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kr_err_sys("load: open(\"%s\", O_RDONLY)", path);

	size_t size = 0;
	uint8_t *buf = NULL;
	int ret = image_file_size(vm, fd, path, &size);
	if (ret == 0) {
		buf = malloc(size);
		if (!buf)
			ret = kr_err_sys("load: malloc(%zu) for \"%s\"", size, path);
	}
	if (ret == 0)
		ret = read_all(fd, path, buf, size);
	close(fd);
	if (ret < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_size = size;
	return 0;
}

int kr_load_file(struct kr_vm *vm, const char *path, const struct kr_load_options *opt,
		 struct kr_image *img)
{
	if (!vm || !path || !img)
		return kr_err_code(KR_E_BAD_ARG,
				   "load: kr_load_file needs a VM, a path and an image (got NULL)");

	size_t size = 0;
	uint8_t *buf = NULL;
	int ret = kr_load_read_file(vm, path, &buf, &size);

	/* The loaders do not know the file name; put it in front of their message. */
	if (ret == 0 && kr_load_buffer(vm, buf, size, opt, img) < 0)
		ret = kr_err_context("load \"%s\"", path);
	free(buf);
	/* The file's size checks above, too, say the image is bad. */
	return ret < 0 ? kr_err_refine(KR_E_BAD_IMAGE) : 0;
}

int kr_load_buffer(struct kr_vm *vm, const void *data, size_t size,
		   const struct kr_load_options *opt, struct kr_image *img)
{
	static const struct kr_load_options no_options;

	if (!vm || !img || (!data && size))
		return kr_err_code(KR_E_BAD_ARG,
				   "load: kr_load_buffer needs a VM, an image and data (got NULL)");
	if (!opt)
		opt = &no_options;

	/* The magic alone decides: a malformed ELF (or multiboot header) is
	 * reported as one, never silently run as raw bytes. A multiboot kernel
	 * is often an ELF file too: its header comes first. */
	size_t mb_offset = 0;
	int ret = kr_multiboot_find(data, size, &mb_offset) ?
			  kr_load_multiboot(vm, data, size, mb_offset, opt, img) :
		  size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0 ?
			  kr_load_elf(vm, data, size, opt, img) :
			  kr_load_raw(vm, data, size, opt, img);
	/* The loaders' plain kr_err()s all mean a bad image; a failed calloc stays a syscall. */
	return ret < 0 ? kr_err_refine(KR_E_BAD_IMAGE) : 0;
}

int kr_load_check_range(struct kr_vm *vm, uint64_t gpa, uint64_t size, const char *what)
{
	uint64_t ram = vm->cfg.mem_size;

	/* Printed as start + size: start + size itself may have wrapped. */
	if (!kr_range_ok(gpa, size, ram))
		return kr_err("%s: guest physical 0x%llx + 0x%llx bytes runs past the end of "
			      "guest RAM [0, 0x%llx)",
			      what, (unsigned long long)gpa, (unsigned long long)size,
			      (unsigned long long)ram);

	/* Real mode has no GDT or page tables, so the area is the guest's there. */
	if (vm->cfg.mode == KR_MODE_REAL)
		return 0;
	uint64_t end = gpa + size; /* cannot wrap: inside RAM */
	if (gpa < KVMRUN_SYSTEM_AREA_END && end > KVMRUN_SYSTEM_AREA_START)
		return kr_err("%s: guest physical [0x%llx, 0x%llx) overlaps kvmrun's system area "
			      "[0x%x, 0x%x) (GDT and page tables; free for the guest only in "
			      "real mode)",
			      what, (unsigned long long)gpa, (unsigned long long)end,
			      KVMRUN_SYSTEM_AREA_START, KVMRUN_SYSTEM_AREA_END);
	return 0;
}
