/* SPDX-License-Identifier: MIT */
/*
 * trace.c - `--trace FILE` (one JSON object per exit) and `--stats` (counts
 * and host time by exit reason), both fed by the library's exit observer.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "json.h"

#define MAX_REASONS 64

struct exit_watch {
	FILE *trace;
	bool stats;
	uint64_t count[MAX_REASONS], ns[MAX_REASONS];
};

static struct exit_watch watch;

static void on_exit_record(struct kr_vm *vm, void *opaque, const struct kr_exit_record *r)
{
	(void)vm;
	struct exit_watch *w = opaque;
	uint32_t k = r->kvm_exit < MAX_REASONS ? r->kvm_exit : MAX_REASONS - 1;
	w->count[k]++;
	w->ns[k] += r->host_ns;
	if (!w->trace)
		return;
	struct json j;
	json_init(&j, w->trace);
	json_object_begin(&j, NULL);
	json_uint(&j, "seq", r->seq);
	json_uint(&j, "vcpu", r->vcpu);
	json_string(&j, "reason", kr_exit_name(r->kvm_exit));
	if (r->has_access) {
		json_hex(&j, r->is_mmio ? "addr" : "port", r->addr);
		json_uint(&j, "size", r->size);
		json_uint(&j, "count", r->count);
		json_string(&j, "dir", r->is_write ? "write" : "read");
		json_hex_bytes(&j, "data", r->data, r->size < sizeof(r->data) ? r->size : sizeof(r->data));
	}
	if (r->has_rip)
		json_hex(&j, "rip", r->rip);
	json_uint(&j, "ns", r->host_ns);
	json_object_end(&j);
	fputc('\n', w->trace);
}

int cli_watch_exits(struct kr_vm *vm, FILE *trace, bool stats)
{
	memset(&watch, 0, sizeof(watch));
	watch.trace = trace;
	watch.stats = stats;
	if (trace || stats)
		kr_vm_observe_exits(vm, on_exit_record, &watch, trace != NULL);
	return 0;
}

void cli_print_stats(FILE *f)
{
	if (!watch.stats)
		return;
	uint64_t total = 0, total_ns = 0;
	fprintf(f, "%-24s %10s %14s %10s\n", "exit", "count", "host time us", "avg ns");
	for (uint32_t k = 0; k < MAX_REASONS; k++) {
		if (!watch.count[k])
			continue;
		total += watch.count[k];
		total_ns += watch.ns[k];
		fprintf(f, "%-24s %10" PRIu64 " %14.1f %10" PRIu64 "\n", kr_exit_name(k), watch.count[k],
			(double)watch.ns[k] / 1000.0, watch.ns[k] / watch.count[k]);
	}
	fprintf(f, "%-24s %10" PRIu64 " %14.1f\n", "total", total, (double)total_ns / 1000.0);
}
