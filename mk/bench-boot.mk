# ---- make bench-boot: kvmrun boot against QEMU, boot to marker (bench/boot.sh) ----
# A benchmark, not a test: nothing checks its numbers. It runs in the QEMU test
# bed (one boot of it, both VMMs inside), where Linux boots in seconds; on the
# software back end kvm_pvm a boot takes tens of minutes. QEMU goes in with its
# firmware (qboot for microvm is /usr/share/qemu/bios-microvm.bin). The JSON is
# printed by the script and cut out here: what the test bed writes stays inside.
# A hang of the test bed itself (seen once: its kernel idle, no timer firing) is
# retried in a fresh machine (--retry-hang). bootwatch is static and built without the sanitizers so that it runs there as is.
all tests: $(BUILD)/bootwatch
$(BUILD)/bootwatch: bench/bootwatch.c
	$(Q)mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -O2 -static -o $@ $<

BENCH_BOOT_ROUNDS ?= 5
BENCH_BOOT_QEMU ?= qemu-system-x86_64
.PHONY: bench-boot
bench-boot: $(BUILD)/bootwatch $(BUILD)/kvmrun $(BUILD)/linux/vmlinuz
	$(Q){ ROUNDS=$(BENCH_BOOT_ROUNDS) QEMU=$(BENCH_BOOT_QEMU) scripts/kvm-testbed --emulated \
		--timeout 1800 --retry-hang 2 --payload $(CURDIR)/$(BUILD) --payload $(CURDIR)/bench --payload $(CURDIR)/tests/lib \
		--payload /usr/share/qemu --payload /usr/share/seabios --tool $(BENCH_BOOT_QEMU) \
		--env ROUNDS --env QEMU -- sh $(CURDIR)/bench/boot.sh $(CURDIR)/$(BUILD); \
		echo $$? >$(BUILD)/bench-boot.rc; } | tee $(BUILD)/bench-boot.log
	$(Q)tr -d '\r' <$(BUILD)/bench-boot.log | \
		sed -n '/^BENCH-BOOT-JSON-BEGIN/,/^BENCH-BOOT-JSON-END/{//!p}' >$(BUILD)/bench-boot.json
	$(Q)rc=$$(cat $(BUILD)/bench-boot.rc); [ -s $(BUILD)/bench-boot.json ] && \
		echo "bench-boot: JSON in $(BUILD)/bench-boot.json"; exit $$rc
