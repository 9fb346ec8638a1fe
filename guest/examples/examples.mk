# SPDX-License-Identifier: MIT
# examples.mk - the example guests (rules in guest/sdk/guest.mk).
# `make guests` builds them all into $(GUEST_OUT); tests/kvm/run-tests.sh runs them.

# 64-bit C guests -> NAME.elf
EXAMPLE_C_GUESTS = hello long pagecross higherhalf hlt \
	repouts triple badport mmio badptr hugelen noncanon badhc hcsize \
	spin flood badcr3 ud jumpunmapped badstack printspin \
	wrrodata execdata execstack nullptr gdbdemo
# ... also as raw images -> NAME.bin
EXAMPLE_C_RAW_GUESTS = hello long
# 16/32-bit assembly guests -> NAME.bin
EXAMPLE_ASM_GUESTS = real protected paged32 triple-real triple32 ud32

EXAMPLE_GUEST_FILES = $(EXAMPLE_C_GUESTS:%=$(GUEST_OUT)/%.elf) \
	$(EXAMPLE_C_RAW_GUESTS:%=$(GUEST_OUT)/%.bin) \
	$(EXAMPLE_ASM_GUESTS:%=$(GUEST_OUT)/%.bin) \
	$(GUEST_OUT)/protected-elf32.elf

.PHONY: guests
guests: $(EXAMPLE_GUEST_FILES)

# Keep the objects and intermediate ELF files (for objdump, and no rebuilds).
.SECONDARY: $(EXAMPLE_C_GUESTS:%=$(GUEST_OUT)/obj/%.o) \
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

# For gdb (kvmrun run --gdb): no optimisation, every local where the source has it.
$(GUEST_OUT)/obj/gdbdemo.o: GUEST_CFLAGS += -O0
