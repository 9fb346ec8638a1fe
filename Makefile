# kvmrun - build the library, the command, the example guests and the tests.
#   make            library (static + shared), kvmrun, example guests, tests
#   make SAN=1      the same with ASan + UBSan, in build-san/
#   make test       everything below tests/, see tests/run-all.sh
#   make install    PREFIX (/usr/local), DESTDIR: see mk/install.mk; make uninstall
CC ?= cc
SAN ?= 0
TSAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(TSAN),1)
# ThreadSanitizer (gcc 12's runtime, Debian's libtsan2), for the vCPU threads:
# make TSAN=1 lib build-tsan/kvm-libtest; tests/kvm/tsan.sh runs the threading tests.
BUILD ?= build-tsan
SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS =
endif

CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla
# -fvisibility=hidden: only what include/kvmrun.h declares leaves libkvmrun.so
# (the header marks its declarations visible); static linking (the command,
# the tests) still sees every symbol.
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -Iinclude -Isrc -I$(BUILD)/gen -fPIC -MMD -MP \
	-fvisibility=hidden
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LDLIBS_KVMRUN = -lseccomp

LIB_SRCS := $(sort $(wildcard src/core/*.c src/x86/*.c src/loader/*.c src/devices/*.c src/debug/*.c \
	src/x86/*.S))
CLI_SRCS := $(sort $(wildcard src/cli/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))

LIB_OBJS := $(patsubst %.S,$(BUILD)/%.o,$(LIB_SRCS:%.c=$(BUILD)/%.o))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)

# The library's version, from the header: libkvmrun.so.MAJOR is the soname.
kr_version_part = $(shell sed -n 's/^\#define KR_VERSION_$(1) \([0-9]*\)$$/\1/p' include/kvmrun.h)
SO_MAJOR := $(call kr_version_part,MAJOR)
VERSION := $(SO_MAJOR).$(call kr_version_part,MINOR).$(call kr_version_part,PATCH)
SONAME = libkvmrun.so.$(SO_MAJOR)
SO_FILES = $(BUILD)/libkvmrun.so.$(VERSION) $(BUILD)/$(SONAME) $(BUILD)/libkvmrun.so

.PHONY: all lib guests tests test hello clean
all: lib $(BUILD)/kvmrun guests tests $(BUILD)/outside/outside
lib: $(BUILD)/libkvmrun.a $(SO_FILES)

# V=1 shows the commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Guest code the library carries (x86/exception_stubs.S): data to the host.
$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $@")
	$(Q)$(CC) -Iinclude -Isrc -Wa,--fatal-warnings -MMD -MP -c -o $@ $<

# System call names for the seccomp handler, from the system's own header.
$(BUILD)/gen/syscall_names.h: scripts/gen-syscall-names.sh
	@mkdir -p $(dir $@)
	$(Q)sh $< "$(CC)" > $@.tmp && mv $@.tmp $@
$(BUILD)/src/core/sandbox.o: $(BUILD)/gen/syscall_names.h

$(BUILD)/libkvmrun.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# The real file, then the links a program finds it by: the soname (at run
# time) and libkvmrun.so (for -lkvmrun at link time).
$(BUILD)/libkvmrun.so.$(VERSION): $(LIB_OBJS) src/libkvmrun.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/libkvmrun.map \
		-Wl,-z,defs $(ALL_LDFLAGS) -o $@ $(LIB_OBJS) $(LDLIBS_KVMRUN)
$(BUILD)/$(SONAME): $(BUILD)/libkvmrun.so.$(VERSION)
	ln -sf $(notdir $<) $@
$(BUILD)/libkvmrun.so: $(BUILD)/$(SONAME)
	ln -sf $(notdir $<) $@

# The command links the static library: one self-contained binary.
$(BUILD)/kvmrun: $(CLI_OBJS) $(BUILD)/libkvmrun.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_KVMRUN)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libkvmrun.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_KVMRUN)

# The library's tests on a real /dev/kvm share the unit-test harness.
$(BUILD)/tests/kvm/harness.o: tests/unit/main.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DUNIT_SUITE='"kvm-lib"' -c -o $@ $<

KVMTEST_SRCS := $(sort $(wildcard tests/kvm/*.c))
KVMTEST_OBJS := $(KVMTEST_SRCS:%.c=$(BUILD)/%.o)

$(BUILD)/kvm-libtest: $(KVMTEST_OBJS) $(BUILD)/tests/kvm/harness.o $(BUILD)/libkvmrun.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_KVMRUN)

tests: $(BUILD)/unit-tests $(BUILD)/kvm-libtest $(BUILD)/linux/vmlinuz

# The Linux boot test's kernel: the test bed's own Debian kernel, copied into
# the build so that the test bed (which gets build/ as its payload) has it too.
# Without the test bed's cache there is none, and that test says so.
LINUX_KERNEL ?= $(firstword $(wildcard $(or $(KVMRUN_TESTBED_CACHE),$(HOME)/.cache/kvmrun-testbed)/kernel/current/boot/vmlinuz-*))
$(BUILD)/linux/vmlinuz:
	@mkdir -p $(dir $@)
	$(Q)if [ -n "$(LINUX_KERNEL)" ]; then cp "$(LINUX_KERNEL)" $@; \
	else echo "  (no test-bed kernel: the Linux boot test will fail; scripts/kvm-testbed setup)"; fi

# A program and a guest built from the installed library and SDK alone, as
# outside this tree (tests/install/build-outside.sh); the KVM tests run them.
$(BUILD)/outside/outside: tests/install/build-outside.sh tests/install/outside.c \
		guest/examples/hello.c $(BUILD)/libkvmrun.a $(SO_FILES) $(BUILD)/kvmrun $(wildcard guest/sdk/*) \
		include/kvmrun.h include/kvmrun_abi.h mk/install.mk mk/kvmrun.pc.in
	@$(if $(Q),echo "  OUTSIDE $@")
	$(Q)CC="$(CC) $(SANFLAGS)" MAKE="$(MAKE)" sh tests/install/build-outside.sh $(BUILD)

# Example guests: freestanding, built the same for every host build.
GUEST_OUT = build/guests
include guest/sdk/guest.mk
include guest/examples/examples.mk

# Run the hello guest: on this machine's /dev/kvm, or in the QEMU test bed,
# which is fetched first if that is the way and it is not there yet
# (`check` fails only then).
hello: all
	@scripts/kvm-testbed check >/dev/null 2>&1 || scripts/kvm-testbed setup
	scripts/kvm-testbed --timeout 300 --payload $(CURDIR)/build -- build/kvmrun run build/guests/hello.elf

test:
	bash tests/run-all.sh

clean:
	rm -rf build build-san build-tsan

include mk/fuzz.mk
include mk/mutants.mk
include mk/deps.mk
include mk/install.mk
include mk/bench-boot.mk
-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(KVMTEST_OBJS:.o=.d)

# ---- the benchmark (bench/): built with everything, run by `make bench` -----
# Built with the tests (both builds); not part of `make test` as a timing:
# tests/kvm/run-tests.sh runs it once with
# tiny round counts and checks its JSON.
all tests: $(BUILD)/bench $(BUILD)/bench-bare
BENCH_FLAGS ?=
$(BUILD)/bench: bench/bench.c bench/bare.h $(BUILD)/libkvmrun.a
	$(CC) $(ALL_CFLAGS) -Ibench $(ALL_LDFLAGS) -o $@ bench/bench.c $(BUILD)/libkvmrun.a $(LDLIBS_KVMRUN)
$(BUILD)/bench-bare: bench/bare.c bench/bare.h
	$(CC) $(ALL_CFLAGS) -Ibench $(ALL_LDFLAGS) -o $@ bench/bare.c
# The call pool (bench/callpool.c): requests served by kr_vm_call from a pool of VMs.
all tests: $(BUILD)/callpool
$(BUILD)/callpool: bench/callpool.c $(BUILD)/libkvmrun.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ bench/callpool.c $(BUILD)/libkvmrun.a $(LDLIBS_KVMRUN) -lpthread
.PHONY: bench
bench: $(BUILD)/bench $(BUILD)/bench-bare $(BUILD)/kvmrun
	$(BUILD)/bench --kvmrun $(BUILD)/kvmrun --bare $(BUILD)/bench-bare --json $(BUILD)/bench.json $(BENCH_FLAGS)
