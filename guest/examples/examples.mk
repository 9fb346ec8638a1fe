# SPDX-License-Identifier: MIT
# examples.mk - the example guests (rules in guest/sdk/guest.mk).
# `make guests` builds them all into $(GUEST_OUT); tests/kvm/run-tests.sh runs them.

# 64-bit C guests -> NAME.elf
EXAMPLE_C_GUESTS = hello long pagecross higherhalf hlt \
	repouts triple badport mmio badptr hugelen noncanon badhc hcsize \
	spin flood badcr3 ud jumpunmapped badstack printspin calc \
	wrrodata execdata execstack nullptr sdkdemo sdkports snapcount gdbdemo \
	smpcount smpcrash smpexit gdbsmp
# ... also as raw images -> NAME.bin
EXAMPLE_C_RAW_GUESTS = hello long
# 16/32-bit assembly guests -> NAME.bin
EXAMPLE_ASM_GUESTS = real protected paged32 triple-real triple32 ud32 mbaout

# 32-bit C guests -> 32/NAME.elf, 32/NAME.bin (guest.mk; --mode protected or paged32)
EXAMPLE_C32_GUESTS = hello32

# The multiboot kernel in C and its module (rules at the end).
MB_GUEST_FILES = $(GUEST_OUT)/mbguest.elf $(GUEST_OUT)/mbguest.cfg $(GUEST_OUT)/mbsmp.elf \
	$(GUEST_OUT)/mbsnap.elf

EXAMPLE_GUEST_FILES = $(EXAMPLE_C_GUESTS:%=$(GUEST_OUT)/%.elf) \
	$(EXAMPLE_C_RAW_GUESTS:%=$(GUEST_OUT)/%.bin) \
	$(EXAMPLE_ASM_GUESTS:%=$(GUEST_OUT)/%.bin) \
	$(GUEST_OUT)/protected-elf32.elf $(MB_GUEST_FILES) \
	$(EXAMPLE_C32_GUESTS:%=$(GUEST_OUT)/32/%.elf) $(EXAMPLE_C32_GUESTS:%=$(GUEST_OUT)/32/%.bin)

.PHONY: guests
guests: $(EXAMPLE_GUEST_FILES)

# Keep the objects and intermediate ELF files (for objdump, and no rebuilds).
.SECONDARY: $(EXAMPLE_C_GUESTS:%=$(GUEST_OUT)/obj/%.o) $(EXAMPLE_C32_GUESTS:%=$(GUEST_OUT)/32/obj/%.o) \
	$(EXAMPLE_ASM_GUESTS:%=$(GUEST_OUT)/obj/%.S.o) \
	$(EXAMPLE_ASM_GUESTS:%=$(GUEST_OUT)/obj/%.S.elf)

# Linked like a kernel in the top 2 GiB.
$(GUEST_OUT)/higherhalf.elf: GUEST_LDSCRIPT = $(GUEST_SDK)/guest-higherhalf.ld
$(GUEST_OUT)/obj/higherhalf.o: GUEST_CFLAGS += -mcmodel=kernel

# Two segments adjacent in virtual but not in physical memory.
$(GUEST_OUT)/pagecross.elf: GUEST_LDSCRIPT = guest/examples/pagecross.ld
$(GUEST_OUT)/pagecross.elf: guest/examples/pagecross.ld

# protected.S as an ELF32 file too, for the loader's 32-bit path.
$(GUEST_OUT)/protected-elf32.elf: $(GUEST_OUT)/obj/protected.S.elf
	cp $< $@

# ---- multiboot ----------------------------------------------------------------
# mbguest.elf: a 32-bit multiboot kernel in C (ELF32 at 1 MiB, header first),
# freestanding with the spec's structures from src/loader/multiboot.h; its
# module mbguest.cfg beside it. mbaout.bin (above) uses the header's
# address fields instead of ELF.
MB_CFLAGS = -m32 -march=i686 -ffreestanding -nostdlib -fno-pie -no-pie -fno-stack-protector \
	-mgeneral-regs-only -fno-asynchronous-unwind-tables -fno-unwind-tables -O2 -g \
	-Wall -Wextra -Werror -Isrc/loader
$(GUEST_OUT)/mbguest.elf: guest/examples/mbguest-start.S guest/examples/mbguest.c \
		guest/examples/mbguest.h guest/examples/mbguest.ld src/loader/multiboot.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(MB_CFLAGS) -static -Wl,--build-id=none -Wl,-z,noexecstack \
		-Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments -T guest/examples/mbguest.ld -o $@ \
		guest/examples/mbguest-start.S guest/examples/mbguest.c
# ---- multiboot, several CPUs ---------------------------------------------------
# mbsmp.elf: a multiboot kernel (built as mbguest.elf) that finds the CPUs in the
# MP table and fw_cfg and starts each AP with INIT/SIPI (its trampoline in
# mbsmp-trampoline.S; its header and entry are mbguest-start.S); the APs count
# themselves.
$(GUEST_OUT)/mbsmp.elf: guest/examples/mbguest-start.S guest/examples/mbsmp-trampoline.S \
		guest/examples/mbsmp.c guest/examples/mbguest.h guest/examples/mbguest.ld \
		src/loader/multiboot.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(MB_CFLAGS) -static -Wl,--build-id=none -Wl,-z,noexecstack \
		-Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments -T guest/examples/mbguest.ld -o $@ \
		guest/examples/mbguest-start.S guest/examples/mbsmp-trampoline.S guest/examples/mbsmp.c
# ---- multiboot, snapshots of the PC platform ------------------------------------
# mbsnap.elf: leaves state in every PC device, asks for a snapshot (the ABI's
# hypercall, hence include/), reads it all back (mbguest-start.S is its entry).
$(GUEST_OUT)/mbsnap.elf: guest/examples/mbguest-start.S guest/examples/mbsnap.c \
		guest/examples/mbguest.h guest/examples/mbguest.ld include/kvmrun_abi.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(MB_CFLAGS) -Iinclude -static -Wl,--build-id=none -Wl,-z,noexecstack \
		-Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments -T guest/examples/mbguest.ld -o $@ \
		guest/examples/mbguest-start.S guest/examples/mbsnap.c
$(GUEST_OUT)/mbguest.cfg: guest/examples/mbguest.cfg
	@mkdir -p $(@D)
	cp $< $@

# A guest of two C files (guest.mk: the others are prerequisites of the ELF).
$(GUEST_OUT)/sdkdemo.elf: $(GUEST_OUT)/obj/sdkdemo_list.o
.SECONDARY: $(GUEST_OUT)/obj/sdkdemo_list.o

# For gdb (kvmrun run --gdb): no optimisation, every local where the source has it.
$(GUEST_OUT)/obj/gdbdemo.o: GUEST_CFLAGS += -O0
$(GUEST_OUT)/obj/gdbsmp.o: GUEST_CFLAGS += -O0
