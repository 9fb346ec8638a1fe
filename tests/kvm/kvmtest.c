/* SPDX-License-Identifier: MIT */
/* kvmtest.c - helpers the KVM library tests share (see kvmtest.h). */
#include "kvmtest.h"

bool kvmtest_load(struct kr_vm *vm, const uint8_t *code, size_t len, const struct kr_mapping *maps,
		  size_t nmaps)
{
	struct kr_image img;
	if (kr_load_buffer(vm, code, len, NULL, &img) < 0) {
		unit_fail(__FILE__, __LINE__, "load: %s", kr_last_error());
		return false;
	}
	for (size_t i = 0; i < nmaps; i++)
		img.mappings[img.nmappings++] = maps[i];
	if (kr_vcpu_prepare(vm, &img) < 0) {
		unit_fail(__FILE__, __LINE__, "prepare: %s", kr_last_error());
		return false;
	}
	return true;
}

struct kr_stop kvmtest_run(struct kr_vm *vm)
{
	struct kr_stop stop = {.reason = KR_STOP_REQUESTED};
	if (kr_vm_run(vm, &stop) < 0)
		unit_fail(__FILE__, __LINE__, "kr_vm_run: %s", kr_last_error());
	return stop;
}
