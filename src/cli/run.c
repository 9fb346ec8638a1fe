/* SPDX-License-Identifier: MIT */
/* run.c - `kvmrun run`: load a guest, run it, report how it ended. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

#define MAX_TRANSLATE 32

struct run_options {
	struct kr_vm_config cfg;
	struct kr_load_options load;
	bool print_regs;
	bool no_seccomp;
	size_t ntranslate;
	uint64_t translate[MAX_TRANSLATE];
	const char *guest;
};

static int bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "kvmrun run: %s '%s': expected %s\n", opt, value, want);
	return -1;
}

static int parse_options(int argc, char **argv, struct run_options *o)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, 'm'},  {"mem", required_argument, NULL, 'M'},
		{"load", required_argument, NULL, 'l'},  {"entry", required_argument, NULL, 'e'},
		{"regs", no_argument, NULL, 'r'},        {"translate", required_argument, NULL, 't'},
		{"timeout", required_argument, NULL, 'T'}, {"max-output", required_argument, NULL, 'O'},
		{"no-seccomp", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:M:l:e:rt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (kr_mode_parse(optarg, &o->cfg.mode) < 0)
				return bad_value("--mode", optarg, "real, protected, paged32 or long");
			break;
		case 'M':
			if (cli_parse_u64(optarg, true, &o->cfg.mem_size) < 0)
				return bad_value("--mem", optarg, "a size such as 64M");
			break;
		case 'l':
			if (cli_parse_u64(optarg, false, &o->load.load_addr) < 0)
				return bad_value("--load", optarg, "an address such as 0x100000");
			o->load.has_load_addr = true;
			break;
		case 'e':
			if (cli_parse_u64(optarg, false, &o->load.entry) < 0)
				return bad_value("--entry", optarg, "an address such as 0x100000");
			o->load.has_entry = true;
			break;
		case 'r':
			o->print_regs = true;
			break;
		case 'T':
			if (cli_parse_duration(optarg, &o->cfg.timeout_ns) < 0)
				return bad_value("--timeout", optarg, "a duration such as 500ms, 2s or 1m");
			break;
		case 'O':
			if (cli_parse_u64(optarg, true, &o->cfg.max_output) < 0)
				return bad_value("--max-output", optarg, "a size such as 1M (0: no limit)");
			break;
		case 'S':
			o->no_seccomp = true;
			break;
		case 't':
			if (o->ntranslate == MAX_TRANSLATE) {
				fprintf(stderr, "kvmrun run: at most %d --translate\n", MAX_TRANSLATE);
				return -1;
			}
			if (cli_parse_u64(optarg, false, &o->translate[o->ntranslate]) < 0)
				return bad_value("--translate", optarg, "a guest virtual address");
			o->ntranslate++;
			break;
		case 'h':
			fprintf(stdout, "Usage: kvmrun run [--mode MODE] [--mem SIZE] [--load ADDR] "
					"[--entry ADDR] [--regs] [--translate GVA]...\n"
					"                  [--timeout DURATION] [--max-output SIZE] "
					"[--no-seccomp] GUEST\n");
			return 1;
		default:
			return -1; /* getopt_long has said what is wrong */
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "kvmrun run: expected one GUEST file (try kvmrun --help)\n");
		return -1;
	}
	o->guest = argv[optind];
	return 0;
}

void cli_print_regs(FILE *f, struct kr_vm *vm)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (kr_vcpu_get_regs(vm, &r) < 0 || kr_vcpu_get_sregs(vm, &s) < 0) {
		fprintf(f, "kvmrun: cannot read registers: %s\n", kr_last_error());
		return;
	}
	fprintf(f,
		"rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n"
		"rsi=0x%016llx rdi=0x%016llx rsp=0x%016llx rbp=0x%016llx\n"
		"r8=0x%016llx r9=0x%016llx r10=0x%016llx r11=0x%016llx\n"
		"r12=0x%016llx r13=0x%016llx r14=0x%016llx r15=0x%016llx\n"
		"rip=0x%016llx rflags=0x%016llx\n",
		r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11,
		r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags);
	fprintf(f, "cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n", s.cr0, s.cr2,
		s.cr3, s.cr4, s.efer);
	const struct kvm_segment *seg[] = {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss};
	const char *names[] = {"cs", "ds", "es", "fs", "gs", "ss"};
	for (size_t i = 0; i < 6; i++)
		fprintf(f, "%s=0x%04x base=0x%llx limit=0x%x type=0x%x l=%u db=%u\n", names[i],
			seg[i]->selector, seg[i]->base, seg[i]->limit, seg[i]->type, seg[i]->l,
			seg[i]->db);
}

static void print_translations(FILE *f, struct kr_vm *vm, const struct run_options *o)
{
	for (size_t i = 0; i < o->ntranslate; i++) {
		struct kr_translation t;
		if (kr_translate(vm, o->translate[i], &t) < 0)
			fprintf(f, "kvmrun: %s\n", kr_last_error());
		else if (!t.valid)
			fprintf(f, "translate 0x%" PRIx64 ": not mapped\n", t.gva);
		else
			fprintf(f, "translate 0x%" PRIx64 " -> 0x%" PRIx64
				   " valid=1 writeable=%d usermode=%d\n",
				t.gva, t.gpa, t.writeable, t.usermode);
	}
}

static int exit_status(const struct kr_stop *stop)
{
	switch (stop->reason) {
	case KR_STOP_EXIT:
		return stop->exit_code;
	case KR_STOP_HLT:
	case KR_STOP_REQUESTED:
		return 0;
	case KR_STOP_TIMEOUT:
		return KVMRUN_EXIT_TIMEOUT;
	default:
		return KVMRUN_EXIT_GUEST_CRASH;
	}
}

int cli_run(int argc, char **argv)
{
	struct run_options o = {0};
	kr_vm_config_init(&o.cfg);
	int p = parse_options(argc, argv, &o);
	if (p != 0)
		return p > 0 ? 0 : KVMRUN_EXIT_VMM_ERROR;

	struct kr_vm *vm = NULL;
	struct kr_image img;
	struct kr_stop stop;
	int status = KVMRUN_EXIT_VMM_ERROR;
	if (kr_vm_create(&vm, &o.cfg) < 0 || kr_load_file(vm, o.guest, &o.load, &img) < 0 ||
	    kr_vcpu_prepare(vm, &img) < 0 || (!o.no_seccomp && kr_sandbox_enter(vm) < 0) ||
	    kr_vm_run(vm, &stop) < 0) {
		fprintf(stderr, "kvmrun: %s\n", kr_last_error());
		kr_vm_destroy(vm);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	status = exit_status(&stop);
	if (status == KVMRUN_EXIT_GUEST_CRASH || status == KVMRUN_EXIT_TIMEOUT)
		fprintf(stderr, "kvmrun: guest stopped: %s\n", stop.message);
	if (o.print_regs)
		cli_print_regs(stderr, vm);
	print_translations(stderr, vm, &o);
	kr_vm_destroy(vm);
	return status;
}
