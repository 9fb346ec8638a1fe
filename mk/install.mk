# install.mk - make install / make uninstall.
#
#   make install [PREFIX=/usr/local] [DESTDIR=staging-root]
#
# installs the command, libkvmrun.a, libkvmrun.so.$(VERSION) with its links
# libkvmrun.so.$(SO_MAJOR) (the soname) and libkvmrun.so, the headers, a
# pkg-config file (`pkg-config --cflags --libs kvmrun`; nothing beyond libc,
# static or not: libseccomp is needed only to build), the man page and the guest SDK
# (SDKDIR: `make -f $(SDKDIR)/guest.mk GUEST_SRC=DIR GUEST_OUT=OUT OUT/NAME.elf`
# builds a guest outside this tree). `make uninstall` with the same PREFIX
# and DESTDIR removes exactly these files. tests/install/check.sh tests both.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SDKDIR ?= $(PREFIX)/share/kvmrun/sdk
INSTALL ?= install

# The SDK is guest/sdk as it is, plus the ABI header its sources include
# (in the tree, guest.mk finds that in include/).
SDK_FILES = $(addprefix guest/sdk/,guest.mk kvmrun_guest.h crt0.S string.c printf.c heap.c abi-defs.c \
	guest.ld guest-higherhalf.ld guest-raw.ld crt0-32.S guest32.ld) include/kvmrun_abi.h
HEADERS = include/kvmrun.h include/kvmrun_abi.h

.PHONY: install uninstall
install: lib $(BUILD)/kvmrun
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SDKDIR)
	$(INSTALL) -m 0755 $(BUILD)/kvmrun $(DESTDIR)$(BINDIR)/kvmrun
	$(INSTALL) -m 0644 $(BUILD)/libkvmrun.a $(DESTDIR)$(LIBDIR)/libkvmrun.a
	$(INSTALL) -m 0755 $(BUILD)/libkvmrun.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libkvmrun.so.$(VERSION)
	ln -sf libkvmrun.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libkvmrun.so
	$(INSTALL) -m 0644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@SDKDIR@|$(SDKDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' mk/kvmrun.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/kvmrun.pc.tmp
	mv $(DESTDIR)$(PKGCONFIGDIR)/kvmrun.pc.tmp $(DESTDIR)$(PKGCONFIGDIR)/kvmrun.pc
	$(INSTALL) -m 0644 docs/kvmrun.1 $(DESTDIR)$(MANDIR)/man1/kvmrun.1
	$(INSTALL) -m 0644 $(SDK_FILES) $(DESTDIR)$(SDKDIR)/
	$(ldconfig)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kvmrun $(DESTDIR)$(LIBDIR)/libkvmrun.a \
		$(DESTDIR)$(LIBDIR)/libkvmrun.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libkvmrun.so $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS))) \
		$(DESTDIR)$(PKGCONFIGDIR)/kvmrun.pc $(DESTDIR)$(MANDIR)/man1/kvmrun.1 \
		$(addprefix $(DESTDIR)$(SDKDIR)/,$(notdir $(SDK_FILES)))
	-rmdir $(DESTDIR)$(SDKDIR) $(dir $(DESTDIR)$(SDKDIR)) 2>/dev/null
	$(ldconfig)

# Into the live system (no DESTDIR) as root: refresh the dynamic linker's
# cache, without which a program linked with -lkvmrun from $(LIBDIR) (e.g.
# /usr/local/lib) does not find the new soname until the next ldconfig.
ldconfig = $(if $(DESTDIR),,if [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi)
