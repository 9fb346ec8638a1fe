/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the library's public contract beyond its steps: the version,
 * the error code beside each message, kr_copy_to_gva (walked in software:
 * vm->soft_sregs), and the sized struct kr_vm_config.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "unit.h"

#define MEM (8u << 20)
#define HIGH 0xffffffff80000000ull
#define ROM_GPA 0x100000000ull /* a read-only slot at 4 GiB */

#define CHECK_CODE(want)                                                           \
	do {                                                                       \
		if (kr_last_error_code() != (want))                                \
			unit_fail(__FILE__, __LINE__, "code %s, expected %s (%s)", \
				  kr_error_name(kr_last_error_code()),             \
				  kr_error_name(want), kr_last_error());           \
	} while (0)

UNIT_TEST(api_version_is_the_headers)
{
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", KR_VERSION_MAJOR, KR_VERSION_MINOR,
		 KR_VERSION_PATCH);
	CHECK(strcmp(kr_version(), want) == 0);
	CHECK(strcmp(KR_VERSION, want) == 0);
}

UNIT_TEST(api_error_codes_follow_the_kind_of_failure)
{
	CHECK_EQ(kr_err("plain"), -1);
	CHECK_CODE(KR_E_FAILED);
	CHECK_EQ(kr_last_errno(), 0);

	errno = ENOENT;
	kr_err_sys("open(\"%s\")", "x");
	CHECK_CODE(KR_E_SYSCALL);
	CHECK_EQ(kr_last_errno(), ENOENT);
	CHECK(strcmp(kr_last_error(), "open(\"x\"): No such file or directory") == 0);
	CHECK_EQ(errno, ENOENT); /* kept for the caller */
	/* Context and refine keep a specific code. */
	kr_err_context("load");
	kr_err_refine(KR_E_BAD_IMAGE);
	CHECK_CODE(KR_E_SYSCALL);
	CHECK_EQ(kr_last_errno(), ENOENT);
	CHECK(strncmp(kr_last_error(), "load: open", 10) == 0);

	kr_err("generic");
	CHECK_EQ(kr_err_refine(KR_E_BAD_IMAGE), -1);
	CHECK_CODE(KR_E_BAD_IMAGE);
	kr_err_code(KR_E_BAD_ARG, "bad %d", 1);
	CHECK_CODE(KR_E_BAD_ARG);
	CHECK(strcmp(kr_last_error(), "bad 1") == 0);
	errno = EACCES;
	kr_err_code_sys(KR_E_NO_KVM, "open %s", "/dev/kvm");
	CHECK_CODE(KR_E_NO_KVM);
	CHECK_EQ(kr_last_errno(), EACCES);
	CHECK(strcmp(kr_last_error(), "open /dev/kvm: Permission denied") == 0);

	CHECK(strcmp(kr_error_name(KR_E_GUEST_MEMORY), "KR_E_GUEST_MEMORY") == 0);
	CHECK(strcmp(kr_error_name(KR_E_NONE), "KR_E_NONE") == 0);
	CHECK(strcmp(kr_error_name(99), "unknown") == 0);
	CHECK(strcmp(kr_error_name(-1), "unknown") == 0);
}

UNIT_TEST(api_loader_failures_are_bad_images)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kr_image img;
	static const uint8_t bad_elf[64] = {0x7f, 'E', 'L', 'F', 9};
	CHECK_FAILS_WITH(kr_load_buffer(vm, bad_elf, sizeof(bad_elf), NULL, &img), "class");
	CHECK_CODE(KR_E_BAD_IMAGE);
	CHECK_FAILS_WITH(kr_load_buffer(vm, "", 0, NULL, &img), "empty");
	CHECK_CODE(KR_E_BAD_IMAGE);
	CHECK_FAILS_WITH(kr_load_buffer(vm, bad_elf, sizeof(bad_elf), NULL, NULL), "NULL");
	CHECK_CODE(KR_E_BAD_ARG);
	CHECK_FAILS_WITH(kr_load_file(vm, "/no-such-dir/guest.elf", NULL, &img), "open");
	CHECK_CODE(KR_E_SYSCALL);
	CHECK_EQ(kr_last_errno(), ENOENT);
	CHECK_FAILS_WITH(kr_load_file(vm, "/", NULL, &img), "not a regular file");
	CHECK_CODE(KR_E_BAD_IMAGE);
	CHECK(kr_gpa_ptr(vm, MEM - 1, 2) == NULL);
	CHECK_CODE(KR_E_GUEST_MEMORY);
	kr_vm_destroy(vm);
}

UNIT_TEST(api_vm_config_carries_its_size)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm = (struct kr_vm *)&cfg;
	kr_vm_config_init(&cfg);
	CHECK_EQ(cfg.size, sizeof(cfg));
	/* Without kr_vm_config_init, or from a header this library does not know. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = KR_MODE_LONG;
	cfg.mem_size = 4u << 20;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "kr_vm_config_init");
	CHECK_CODE(KR_E_BAD_ARG);
	CHECK(vm == NULL);
	kr_vm_config_init(&cfg);
	cfg.size += 8;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "cfg.size");
	CHECK_CODE(KR_E_BAD_ARG);
	CHECK_FAILS_WITH(kr_vm_create(&vm, NULL), "kr_vm_config_init");
	CHECK_CODE(KR_E_BAD_ARG);
	kr_vm_config_init(&cfg);
	cfg.mem_size = 1u << 20;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "memory size");
	CHECK_CODE(KR_E_BAD_ARG);
}

/*
 * /dev/kvm that cannot be opened is KR_E_NO_KVM with the errno: here with
 * no descriptor left (RLIMIT_NOFILE at the lowest free one), which needs no
 * privilege and no machine without KVM.
 */
UNIT_TEST(api_no_kvm_when_dev_kvm_cannot_be_opened)
{
	struct rlimit old;
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &old));
	int lowest = dup(0);
	CHECK(lowest >= 0);
	close(lowest);
	struct rlimit low = {.rlim_cur = (rlim_t)lowest, .rlim_max = old.rlim_max};
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &low));
	struct kr_kvm_info info;
	int ret = kr_kvm_info(&info);
	int code = kr_last_error_code(), err = kr_last_errno();
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &old));
	CHECK_EQ(ret, -1);
	CHECK_EQ(code, KR_E_NO_KVM);
	CHECK_EQ(err, EMFILE);
	CHECK(strstr(kr_last_error(), "/dev/kvm") != NULL);
}

/* ---- kr_copy_to_gva ------------------------------------------------------ */

struct wvm {
	struct kr_vm *vm;
	struct kvm_sregs sregs;
	uint8_t *rom;
};

/*
 * Long mode: RAM identity-mapped; HIGH -> 0x300000 and HIGH + 4 KiB ->
 * 0x500000 (not adjacent); HIGH + 8 KiB -> the read-only slot at ROM_GPA;
 * HIGH + 12 KiB -> 0x7000000, outside guest memory; HIGH + 16 KiB unmapped.
 */
static void wvm_init(struct wvm *w)
{
	struct kr_pt_builder b;
	w->vm = unit_vm_new(KR_MODE_LONG, MEM);
	w->rom = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(w->rom != MAP_FAILED);
	memset(w->rom, 0xee, 0x1000);
	w->vm->slots[1] = (struct kr_slot){.used = true, .flags = KR_MEM_READONLY,
					   .gpa = ROM_GPA, .size = 0x1000, .host = w->rom};
	CHECK_OK(kr_pt_init(&b, w->vm->ram, MEM, 0x11000, 0x80000, true));
	CHECK_OK(kr_pt64_map(&b, 0, 0, MEM, KR_MAP_WRITE));
	CHECK_OK(kr_pt64_map(&b, HIGH, 0x300000, 0x1000, KR_MAP_WRITE));
	CHECK_OK(kr_pt64_map(&b, HIGH + 0x1000, 0x500000, 0x1000, KR_MAP_WRITE));
	CHECK_OK(kr_pt64_map(&b, HIGH + 0x2000, ROM_GPA, 0x1000, 0));
	CHECK_OK(kr_pt64_map(&b, HIGH + 0x3000, 0x7000000, 0x1000, KR_MAP_WRITE));
	memset(&w->sregs, 0, sizeof(w->sregs));
	struct kr_mode_setup ms = {.cr3 = b.root, .gdt_base = 0x10000, .nx = true};
	kr_sregs_for_mode(KR_MODE_LONG, &ms, &w->sregs);
	w->vm->soft_sregs = &w->sregs;
}

static void wvm_free(struct wvm *w)
{
	munmap(w->rom, 0x1000);
	w->vm->slots[1].used = false;
	kr_vm_destroy(w->vm);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

UNIT_TEST(api_copy_to_gva_writes_page_by_page)
{
	struct wvm w;
	char back[17] = {0};
	wvm_init(&w);
	/* 8 bytes at the end of one page, 8 at the start of the next: not adjacent. */
	CHECK_OK(kr_copy_to_gva(w.vm, HIGH + 0xff8, "0123456789abcdef", 16));
	CHECK(memcmp(w.vm->ram + 0x300ff8, "01234567", 8) == 0);
	CHECK(memcmp(w.vm->ram + 0x500000, "89abcdef", 8) == 0);
	CHECK(all_bytes(w.vm->ram + 0x301000, 8, 0)); /* not where the next page would be */
	CHECK_OK(kr_copy_from_gva(w.vm, HIGH + 0xff8, back, 16));
	CHECK(strcmp(back, "0123456789abcdef") == 0);
	/* Identity-mapped RAM, and nothing at all. */
	CHECK_OK(kr_copy_to_gva(w.vm, 0x200000, "ram", 3));
	CHECK(memcmp(w.vm->ram + 0x200000, "ram", 3) == 0);
	CHECK_OK(kr_copy_to_gva(w.vm, 0x7ff00000000ull, NULL, 0));
	wvm_free(&w);
}

/*
 * Each page is translated once: the writing pass uses what the checking pass
 * found (a KVM_TRANSLATE each on a vCPU). Beyond 16 pages it translates again.
 */
UNIT_TEST(api_copy_to_gva_translates_each_page_once)
{
	struct wvm w;
	static uint8_t src[18 * 4096];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	wvm_init(&w);
	uint64_t before = w.vm->translations;
	CHECK_OK(kr_copy_to_gva(w.vm, HIGH + 0xff8, "0123456789abcdef", 16));
	CHECK_EQ(w.vm->translations - before, 2);
	CHECK(memcmp(w.vm->ram + 0x500000, "89abcdef", 8) == 0);
	/* 16 pages: once each. */
	before = w.vm->translations;
	CHECK_OK(kr_copy_to_gva(w.vm, 0x400000, src, 16 * 4096));
	CHECK_EQ(w.vm->translations - before, 16);
	CHECK(memcmp(w.vm->ram + 0x400000, src, 16 * 4096) == 0);
	/* 18 pages, starting mid-page (19 pieces): checked, then translated again to write. */
	before = w.vm->translations;
	CHECK_OK(kr_copy_to_gva(w.vm, 0x600100, src, sizeof(src)));
	CHECK_EQ(w.vm->translations - before, 2 * 19);
	CHECK(memcmp(w.vm->ram + 0x600100, src, sizeof(src)) == 0);
	/* and a long one that ends unmapped writes nothing */
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, MEM - sizeof(src) + 4096, src, sizeof(src)),
			 "not mapped");
	CHECK(all_bytes(w.vm->ram + MEM - sizeof(src) + 4096, sizeof(src) - 4096, 0));
	wvm_free(&w);
}

/* Each refusal writes nothing, not even the pages before the bad one. */
UNIT_TEST(api_copy_to_gva_refuses_and_writes_nothing)
{
	struct wvm w;
	uint8_t src[64];
	memset(src, 0x5a, sizeof(src));
	wvm_init(&w);

	/* From a RAM page into the read-only slot. */
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, HIGH + 0x1ff0, src, 32), "read-only slot");
	CHECK_CODE(KR_E_GUEST_MEMORY);
	CHECK(strstr(kr_last_error(), "guest virtual 0xffffffff80002000") != NULL);
	CHECK(all_bytes(w.vm->ram + 0x500ff0, 16, 0));
	CHECK(all_bytes(w.rom, 0x1000, 0xee));

	/* A page mapped to guest physical memory that no slot holds. */
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, HIGH + 0x3000, src, 1), "not inside guest memory");
	CHECK_CODE(KR_E_GUEST_MEMORY);

	/* Then an unmapped page. */
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, HIGH + 0x1fe0, src, 0x20 + 0x1000 * 3 + 1),
			 "read-only slot");
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, MEM - 16, src, 32), "not mapped");
	CHECK_CODE(KR_E_GUEST_MEMORY);
	CHECK(all_bytes(w.vm->ram + MEM - 16, 16, 0));

	/* Non-canonical, wrapping, and no source. */
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, 0x8000000000000000ull, src, 1), "not mapped");
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, ~0ull - 4, src, 16), "wraps around");
	CHECK_CODE(KR_E_GUEST_MEMORY);
	CHECK_FAILS_WITH(kr_copy_to_gva(w.vm, 0x200000, NULL, 1), "NULL");
	CHECK_CODE(KR_E_BAD_ARG);
	wvm_free(&w);
}
