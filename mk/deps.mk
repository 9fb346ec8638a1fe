# deps.mk - before the first compile, check that the build's dependencies are
# installed and say which package brings a missing one, instead of stopping
# at a bare "seccomp.h: No such file or directory". scripts/setup installs
# them all. One preprocessor run when all is there.
#
# A header each package brings, and the package (Debian).
BUILD_DEP_HEADERS = seccomp.h:libseccomp-dev linux/kvm.h:linux-libc-dev elf.h:libc6-dev

.PHONY: check-build-deps
check-build-deps:
	@command -v $(firstword $(CC)) >/dev/null 2>&1 || { \
		echo "make: no C compiler '$(firstword $(CC))': run scripts/setup" \
			"(or apt-get install build-essential libseccomp-dev)" >&2; exit 1; }
	@printf '#include <%s>\n' $(foreach d,$(BUILD_DEP_HEADERS),$(firstword $(subst :, ,$(d)))) | \
		$(CC) -E -x c - >/dev/null 2>&1 || { \
		for d in $(BUILD_DEP_HEADERS); do \
			h=$${d%%:*} pkg=$${d#*:}; \
			printf '#include <%s>\n' "$$h" | $(CC) -E -x c - >/dev/null 2>&1 || \
				echo "make: <$$h> is missing: apt-get install $$pkg (or run scripts/setup)" >&2; \
		done; exit 1; }

$(LIB_OBJS) $(CLI_OBJS) $(UNIT_OBJS) $(KVMTEST_OBJS) $(BUILD)/gen/syscall_names.h \
		$(BUILD)/gen/gen-seccomp-filter: | check-build-deps
