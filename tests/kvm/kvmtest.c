/* SPDX-License-Identifier: MIT */
/* kvmtest.c - helpers the KVM library tests share (see kvmtest.h). */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvmtest.h"

bool kvmtest_needs(const char *feature)
{
	static struct kr_backend backend;
	static bool probed;
	if (!probed) {
		if (kr_backend_probe(&backend) < 0) {
			unit_fail(__FILE__, __LINE__, "kr_backend_probe: %s", kr_last_error());
			return false;
		}
		probed = true;
	}
	struct kr_feature f[16];
	size_t n = kr_backend_features(&backend, f, sizeof(f) / sizeof(f[0]));
	for (size_t i = 0; i < n && i < sizeof(f) / sizeof(f[0]); i++) {
		if (strcmp(f[i].name, feature) != 0)
			continue;
		if (f[i].present)
			return true;
		static char why[96];
		snprintf(why, sizeof(why), "needs %s, which this KVM back end lacks", feature);
		unit_defer(why);
		return false;
	}
	unit_fail(__FILE__, __LINE__, "kvmtest_needs: no feature named \"%s\"", feature);
	return false;
}

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

bool kvmtest_start(struct kvmtest_vm *g, enum kr_mode mode)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_size = 8u << 20;
	if (pipe2(g->out, O_CLOEXEC | O_NONBLOCK) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2 failed");
		return false;
	}
	cfg.console_fd = g->out[1];
	if (kr_vm_create(&g->vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		close(g->out[0]);
		close(g->out[1]);
		return false;
	}
	return true;
}

const char *kvmtest_output(struct kvmtest_vm *g)
{
	ssize_t n = read(g->out[0], g->text, sizeof(g->text) - 1);
	g->text[n > 0 ? n : 0] = '\0';
	return g->text;
}

void kvmtest_end(struct kvmtest_vm *g)
{
	kr_vm_destroy(g->vm);
	close(g->out[0]);
	close(g->out[1]);
}
