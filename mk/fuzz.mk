# fuzz.mk - libFuzzer harnesses (tests/fuzz/fuzz_NAME.c), built with clang into
# build-fuzz/ with ASan + UBSan; the library is compiled again there with the
# same flags and coverage instrumentation (never the gcc objects of build/).
#   make fuzz-build   build-fuzz/fuzz_NAME for every harness
#   make fuzz-smoke   each committed corpus file once, then FUZZ_SMOKE_SECONDS
#                     (10) of fuzzing per harness; "ok   fuzz/NAME" lines and
#                     "fuzz: N passed, N failed"
#   make fuzz         FUZZ_SECONDS (300) per harness on build-fuzz/corpus/NAME,
#                     a copy of tests/fuzz/corpus/NAME that keeps what it finds
#   make fuzz-merge   add what build-fuzz/corpus/NAME covers beyond the
#                     committed corpus to tests/fuzz/corpus/NAME
#   FUZZ_NAMES="elf raw" limits any of them to some harnesses. Crashes land
#   in build-fuzz/artifacts/; tests/fuzz/run.sh does the running.
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_CFLAGS ?= -O1 -g
FUZZ_NAMES ?= $(sort $(patsubst tests/fuzz/fuzz_%.c,%, \
	$(filter-out tests/fuzz/fuzz_common.c,$(wildcard tests/fuzz/fuzz_*.c))))

FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_ALL_CFLAGS = -std=gnu11 $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	-Iinclude -Isrc -I$(FUZZ_BUILD)/gen -MMD -MP
# The library builds warning-free with clang too: -Werror everywhere.
FUZZ_SRC_WARN = $(WARN)

FUZZ_LIB_OBJS := $(patsubst %.S,$(FUZZ_BUILD)/%.o,$(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o))
# Of the command, only its number parsers: a file of their own, without main().
FUZZ_CLI_OBJS := $(FUZZ_BUILD)/src/cli/parse.o
FUZZ_COMMON_OBJ := $(FUZZ_BUILD)/tests/fuzz/fuzz_common.o
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_RUN = FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) bash tests/fuzz/run.sh

.PHONY: fuzz-build fuzz fuzz-smoke fuzz-merge fuzz-clean
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(FUZZ_RUN) fuzz $(FUZZ_NAMES)

fuzz-smoke: fuzz-build
	$(FUZZ_RUN) smoke $(FUZZ_NAMES)

fuzz-merge: fuzz-build
	$(FUZZ_RUN) merge $(FUZZ_NAMES)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) $(FUZZ_SRC_WARN) $(FUZZ_DEFS) -c -o $@ $<

$(FUZZ_BUILD)/src/%.o: src/%.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $@")
	$(Q)$(FUZZ_CC) -Iinclude -Isrc -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) $(WARN) -c -o $@ $<

# System call names for the seccomp handler, when the library has one.
FUZZ_GEN := $(if $(wildcard scripts/gen-syscall-names.sh),$(FUZZ_BUILD)/gen/syscall_names.h)
$(FUZZ_BUILD)/gen/syscall_names.h: scripts/gen-syscall-names.sh
	@mkdir -p $(dir $@)
	$(Q)sh $< "$(FUZZ_CC)" > $@.tmp && mv $@.tmp $@
# The seccomp filter (Makefile: the same generator, built here for this tree).
FUZZ_GEN += $(if $(wildcard scripts/gen-seccomp-filter.c),$(FUZZ_BUILD)/gen/seccomp_filter.h)
$(FUZZ_BUILD)/gen/gen-seccomp-filter: scripts/gen-seccomp-filter.c src/core/sandbox_filter.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -Isrc -o $@ $< $(LDLIBS_SECCOMP_GEN)
$(FUZZ_BUILD)/gen/seccomp_filter.h: $(FUZZ_BUILD)/gen/gen-seccomp-filter
	$(Q)$< $@.tmp && mv $@.tmp $@
$(FUZZ_LIB_OBJS) $(FUZZ_CLI_OBJS): | $(FUZZ_GEN)

$(FUZZ_BUILD)/libkvmrun.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/libkvmrun-cli.a: $(FUZZ_CLI_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

# Kept (not removed as intermediates of the pattern rule below).
.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o) $(FUZZ_COMMON_OBJ)

# Archives: a harness links only the objects it uses.
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_COMMON_OBJ) \
		$(FUZZ_BUILD)/libkvmrun-cli.a $(FUZZ_BUILD)/libkvmrun.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_KVMRUN)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_CLI_OBJS:.o=.d) \
	$(FUZZ_NAMES:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.d) $(FUZZ_COMMON_OBJ:.o=.d)
