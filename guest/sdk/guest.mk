# SPDX-License-Identifier: MIT
# guest.mk - build freestanding guests for kvmrun (no libc, Debian's gcc and
# binutils only). The top Makefile includes it; your own guests use it too:
#
#   make -f guest/sdk/guest.mk GUEST_SRC=myguests GUEST_OUT=out out/foo.elf out/foo.bin
#   make -f $(pkg-config --variable=sdkdir kvmrun)/guest.mk ...   (installed: make install)
#   (or `include path/to/kvmrun/guest/sdk/guest.mk` in your Makefile)
#
# What the rules make, from $(GUEST_SRC) into $(GUEST_OUT):
#   foo.c -> foo.elf   64-bit C guest: crt0.S + string.c + foo.c, linked with
#                      guest.ld at KVMRUN_DEFAULT_LOAD_ADDR (1 MiB); main() is
#                      int main(unsigned long ram_size, unsigned long heap_start)
#            foo.bin   the same as a raw image (objcopy -O binary): kvmrun loads
#                      raw images at 1 MiB and starts them at their first byte
#   foo.c -> 32/foo.elf  32-bit C guest (ELF32) for --mode protected, or
#            32/foo.bin  --mode paged32 where the KVM back end has it (kvmrun
#                      info): crt0-32.S + the same SDK (string, printf, heap)
#                      built with -m32, linked with guest32.ld at 1 MiB; the
#                      same main(); hypercalls take EDI/ESI (kvmrun_guest.h)
#   foo.S -> foo.bin   16- or 32-bit assembly guest as a raw image, linked with
#                      guest-raw.ld at the address the source names in
#                      `.set kr_load_addr, ...` (0x7C00 for real mode)
# A guest of several C files: its main file names the guest, the others are
# prerequisites of its ELF file, each built from GUEST_SRC like the main one:
#   $(GUEST_OUT)/foo.elf: $(GUEST_OUT)/obj/foo_util.o $(GUEST_OUT)/obj/foo_io.o
# GUEST_CFLAGS (e.g. make GUEST_CFLAGS=-DDEBUG, or per target as below) add
# to the SDK's own flags (GUEST_SDK_CFLAGS).
# Per-guest knobs (target-specific variables), e.g. for a kernel-style guest:
#   $(GUEST_OUT)/foo.elf: GUEST_LDSCRIPT = $(GUEST_SDK)/guest-higherhalf.ld
#   $(GUEST_OUT)/obj/foo.o: GUEST_CFLAGS += -mcmodel=kernel
#
# C guests include "kvmrun_guest.h"; assembly guests include
# "kvmrun_abi_asm.h", the constants of include/kvmrun_abi.h as #defines,
# generated from it into $(GUEST_OUT)/include (kvmrun_abi.ld there has them
# for linker scripts). -mgeneral-regs-only: some KVM back ends cannot emulate
# SSE arithmetic or x87, and gcc -O2 would use SSE for plain C.

# Where this file is, hence the SDK and kvmrun's include/ (works from any cwd).
GUEST_SDK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KVMRUN_TOP := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(GUEST_SDK)))))
# Installed (make install), the SDK folder holds kvmrun_abi.h itself.
KVMRUN_INCLUDE := $(if $(wildcard $(GUEST_SDK)/kvmrun_abi.h),$(GUEST_SDK),$(if \
	$(filter .,$(KVMRUN_TOP)),include,$(KVMRUN_TOP)/include))

GUEST_SRC ?= guest/examples
GUEST_OUT ?= build/guests
GUEST_GEN = $(GUEST_OUT)/include

GUEST_CC ?= gcc
GUEST_LD ?= ld
GUEST_OBJCOPY ?= objcopy

# The SDK's flags; GUEST_CFLAGS (yours, on the command line or per target)
# come after them and add to them.
GUEST_SDK_CFLAGS = -m64 -ffreestanding -nostdlib -fno-pie -no-pie -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-O2 -g -Wall -Wextra -Werror -I$(KVMRUN_INCLUDE) -I$(GUEST_SDK) -I$(GUEST_GEN)
GUEST_LDFLAGS = -static -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 \
	-Wl,-z,norelro -Wl,-z,noseparate-code -L$(GUEST_GEN)
GUEST_LDSCRIPT = $(GUEST_SDK)/guest.ld
GUEST_ASFLAGS = -m32 -Wa,--fatal-warnings -I$(KVMRUN_INCLUDE) -I$(GUEST_GEN)
GUEST_RAW_LDFLAGS = -m elf_i386 --build-id=none -z noexecstack -T $(GUEST_SDK)/guest-raw.ld

GUEST_CFLAGS ?=
# printf.o and heap.o serve guests linked low (1 MiB) and in the top 2 GiB
# (-mcmodel=kernel) alike: position-independent, they reach their data
# RIP-relative from either place.
GUEST_SDK_PIC = -fpie
GUEST_SDK_OBJS = $(GUEST_OUT)/sdk/crt0.o $(GUEST_OUT)/sdk/string.o $(GUEST_OUT)/sdk/printf.o \
	$(GUEST_OUT)/sdk/heap.o
GUEST_GENERATED = $(GUEST_GEN)/kvmrun_abi_asm.h $(GUEST_GEN)/kvmrun_abi.ld

# Used alone (make -f guest.mk), say how; included, the includer's goal stays.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := guest-usage
endif
.PHONY: guest-usage
guest-usage:
	@echo 'usage: make -f $(GUEST_SDK)/guest.mk GUEST_SRC=dir GUEST_OUT=out out/NAME.elf out/NAME.bin'

# ---- kvmrun_abi.h for assembly and linker scripts (see abi-defs.c) ----------
$(GUEST_GEN)/abi-defs.s: $(GUEST_SDK)/abi-defs.c $(KVMRUN_INCLUDE)/kvmrun_abi.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_CFLAGS) -S -o $@ $<

$(GUEST_GEN)/kvmrun_abi_asm.h: $(GUEST_GEN)/abi-defs.s
	{ echo '/* generated from kvmrun_abi.h by guest.mk: do not edit */'; \
	  sed -n 's/.*@@KRDEF \([A-Za-z0-9_]*\) \([0-9]*\).*/#define \1 \2/p' $<; } > $@.tmp
	mv $@.tmp $@

$(GUEST_GEN)/kvmrun_abi.ld: $(GUEST_GEN)/abi-defs.s
	{ echo '/* generated from kvmrun_abi.h by guest.mk: do not edit */'; \
	  sed -n 's/.*@@KRDEF \([A-Za-z0-9_]*\) \([0-9]*\).*/\1 = \2;/p' $<; } > $@.tmp
	mv $@.tmp $@

# ---- the SDK's own objects ------------------------------------------------
$(GUEST_OUT)/sdk/crt0.o: $(GUEST_SDK)/crt0.S $(GUEST_GEN)/kvmrun_abi_asm.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/sdk/printf.o: $(GUEST_SDK)/printf.c $(GUEST_SDK)/kvmrun_guest.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_SDK_PIC) -MMD -MP -c -o $@ $<

$(GUEST_OUT)/sdk/heap.o: $(GUEST_SDK)/heap.c $(GUEST_SDK)/kvmrun_guest.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_SDK_PIC) -MMD -MP -c -o $@ $<

$(GUEST_OUT)/sdk/string.o: $(GUEST_SDK)/string.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_CFLAGS) -fno-tree-loop-distribute-patterns -MMD -MP -c -o $@ $<

# ---- 16- and 32-bit assembly guests: foo.S -> foo.bin ------------------------
# (listed before the C rules: make takes the first pattern rule that applies)
$(GUEST_OUT)/obj/%.S.o: $(GUEST_SRC)/%.S $(GUEST_GEN)/kvmrun_abi_asm.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_ASFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_OUT)/obj/%.S.elf: $(GUEST_OUT)/obj/%.S.o $(GUEST_SDK)/guest-raw.ld
	$(GUEST_LD) $(GUEST_RAW_LDFLAGS) -o $@ $<

$(GUEST_OUT)/%.bin: $(GUEST_OUT)/obj/%.S.elf
	$(GUEST_OBJCOPY) -O binary $< $@

# ---- 64-bit C guests: foo.c -> foo.elf, foo.bin ----------------------------
$(GUEST_OUT)/obj/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/%.o $(GUEST_SDK_OBJS) $(GUEST_GENERATED) \
		$(GUEST_SDK)/guest.ld $(GUEST_SDK)/guest-higherhalf.ld
	$(GUEST_CC) $(GUEST_SDK_CFLAGS) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T $(GUEST_LDSCRIPT) -o $@ \
		$(GUEST_SDK_OBJS) $(filter-out $(GUEST_SDK_OBJS),$(filter %.o,$^)) -lgcc

$(GUEST_OUT)/%.bin: $(GUEST_OUT)/%.elf
	$(GUEST_OBJCOPY) -O binary $< $@

# ---- 32-bit C guests: foo.c -> 32/foo.elf, 32/foo.bin --------------------------
# The SDK's objects again, 32-bit, in 32/sdk; absolute addresses (linked at
# 1 MiB only). No -lgcc: without gcc-multilib there is no 32-bit libgcc, so
# the SDK avoids its helpers (printf divides 64-bit numbers itself).
# (The shorter stem makes these rules win over the ones above for 32/...)
GUEST32_SDK_CFLAGS = $(filter-out -m64,$(GUEST_SDK_CFLAGS)) -m32 -march=i686
GUEST32_LDSCRIPT = $(GUEST_SDK)/guest32.ld
GUEST32_SDK_OBJS = $(GUEST_OUT)/32/sdk/crt0-32.o $(GUEST_OUT)/32/sdk/string.o \
	$(GUEST_OUT)/32/sdk/printf.o $(GUEST_OUT)/32/sdk/heap.o

$(GUEST_OUT)/32/sdk/crt0-32.o: $(GUEST_SDK)/crt0-32.S $(GUEST_GEN)/kvmrun_abi_asm.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST32_SDK_CFLAGS) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/32/sdk/string.o: $(GUEST_SDK)/string.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST32_SDK_CFLAGS) $(GUEST_CFLAGS) -fno-tree-loop-distribute-patterns -MMD -MP -c -o $@ $<

$(GUEST_OUT)/32/sdk/%.o: $(GUEST_SDK)/%.c $(GUEST_SDK)/kvmrun_guest.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST32_SDK_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_OUT)/32/obj/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST32_SDK_CFLAGS) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_OUT)/32/%.elf: $(GUEST_OUT)/32/obj/%.o $(GUEST32_SDK_OBJS) $(GUEST_GENERATED) \
		$(GUEST32_LDSCRIPT)
	$(GUEST_CC) $(GUEST32_SDK_CFLAGS) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T $(GUEST32_LDSCRIPT) -o $@ \
		$(GUEST32_SDK_OBJS) $(filter-out $(GUEST32_SDK_OBJS),$(filter %.o,$^))

$(GUEST_OUT)/32/%.bin: $(GUEST_OUT)/32/%.elf
	$(GUEST_OBJCOPY) -O binary $< $@

-include $(wildcard $(GUEST_OUT)/obj/*.d $(GUEST_OUT)/sdk/*.d)
-include $(wildcard $(GUEST_OUT)/32/obj/*.d $(GUEST_OUT)/32/sdk/*.d)
