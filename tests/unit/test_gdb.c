/* SPDX-License-Identifier: MIT */
/*
 * test_gdb.c - the gdb stub's thread packets (debug/gdbstub.c) on a VM
 * without KVM behind it: vCPUs that exist as far as the stub can tell
 * (vm->ncpus, their started/halted state), so that the thread list, thread
 * selection and vCont's per-thread plan can be checked, hostile thread ids
 * among them. Register packets fail there (no vCPU fd): they are the KVM
 * tests' (tests/kvm/run-tests.sh, "gdb").
 */
#include <string.h>

#include "debug/gdbstub.h"
#include "unit.h"

static struct kr_gdb stub;
static char reply[KR_GDB_REPLY_MAX + 1];

/* A detached VM that the stub sees with `ncpus` vCPUs, none of the APs started. */
static struct kr_vm *vm_with_cpus(unsigned ncpus)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 2u << 20;
	struct kr_vm *vm = NULL;
	if (kr_vm_create_detached(&vm, &cfg) < 0)
		return NULL;
	vm->ncpus = ncpus;
	kr_gdb_init(&stub, vm, -1);
	stub.can_step = stub.can_hw_bp = true;
	return vm;
}

static void end_vm(struct kr_vm *vm)
{
	vm->ncpus = 0; /* no vCPU was ever created */
	kr_vm_destroy(vm);
}

/* Send `pkt`; the action it got, the reply in `reply`. */
static enum kr_gdb_action send(const char *pkt)
{
	return kr_gdb_handle(&stub, pkt, strlen(pkt), reply);
}

#define CHECK_REPLY(pkt, want)                                                                     \
	do {                                                                                       \
		CHECK_EQ(send(pkt), KR_GDB_REPLY);                                                 \
		if (strcmp(reply, want) != 0)                                                      \
			unit_fail(__FILE__, __LINE__, "'%s' -> '%s', expected '%s'", pkt, reply,   \
				  want);                                                           \
	} while (0)

/* The plan of the last resume, one letter per vCPU: h(old), c(ontinue), s(tep). */
static const char *plan(unsigned ncpus)
{
	static char p[KR_MAX_CPUS + 1];
	for (unsigned i = 0; i < ncpus; i++)
		p[i] = "hcs"[stub.resume[i]];
	p[ncpus] = '\0';
	return p;
}

#define CHECK_PLAN(n, want)                                                                        \
	do {                                                                                       \
		if (strcmp(plan(n), want) != 0)                                                    \
			unit_fail(__FILE__, __LINE__, "plan '%s', expected '%s'", plan(n), want);  \
	} while (0)

/* "vCPU 1, not started" as qThreadExtraInfo gives it: hex. */
static const char *hex(const char *s)
{
	static char out[128];
	for (size_t i = 0; s[i] && 2 * i + 2 < sizeof(out); i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)s[i]);
	return out;
}

UNIT_TEST(gdb_one_vcpu_is_thread_1)
{
	struct kr_vm *vm = vm_with_cpus(1);
	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_REPLY("qfThreadInfo", "m1");
	CHECK_REPLY("qsThreadInfo", "l");
	CHECK_REPLY("qC", "QC1");
	CHECK_REPLY("?", "T05thread:01;");
	CHECK_REPLY("Hg1", "OK");
	CHECK_REPLY("Hg0", "OK");
	CHECK_REPLY("Hc-1", "OK");
	CHECK_REPLY("T1", "OK");
	CHECK_REPLY("qThreadExtraInfo,1", hex("vCPU 0, running"));
	CHECK_EQ(send("vCont;c"), KR_GDB_CONTINUE);
	CHECK_PLAN(1, "c");
	CHECK_EQ(send("vCont;s:1"), KR_GDB_STEP);
	CHECK_PLAN(1, "s");
	CHECK_EQ(send("s"), KR_GDB_STEP);
	CHECK_PLAN(1, "s");
	end_vm(vm);
}

UNIT_TEST(gdb_vcpus_are_threads)
{
	struct kr_vm *vm = vm_with_cpus(3);
	CHECK(vm != NULL);
	if (!vm)
		return;
	CHECK_REPLY("qfThreadInfo", "m1,2,3");
	CHECK_REPLY("qsThreadInfo", "l");
	CHECK_REPLY("T3", "OK");
	CHECK_REPLY("qThreadExtraInfo,2", hex("vCPU 1, not started"));
	vm->vcpus[1].started = true;
	vm->vcpus[2].started = vm->vcpus[2].halted = true;
	CHECK_REPLY("qThreadExtraInfo,2", hex("vCPU 1, running"));
	CHECK_REPLY("qThreadExtraInfo,3", hex("vCPU 2, halted"));
	/* Hg picks the vCPU of register and memory packets. */
	CHECK_REPLY("Hg2", "OK");
	CHECK_EQ(stub.g_cpu, 1);
	CHECK_REPLY("Hg0", "OK"); /* any thread: the selection stays */
	CHECK_EQ(stub.g_cpu, 1);
	/* vCont: the leftmost action for a thread wins; threads without one hold. */
	CHECK_EQ(send("vCont;c"), KR_GDB_CONTINUE);
	CHECK_PLAN(3, "ccc");
	CHECK_EQ(send("vCont;s:2;c"), KR_GDB_STEP);
	CHECK_PLAN(3, "csc");
	CHECK_EQ(send("vCont;s:2"), KR_GDB_STEP);
	CHECK_PLAN(3, "hsh");
	CHECK_EQ(send("vCont;c:3;s"), KR_GDB_STEP); /* vCPU 2 halted: it continues, not steps */
	CHECK_PLAN(3, "ssc");
	CHECK_REPLY("vCont;c:1;s", "E04"); /* ... which it cannot */
	CHECK_EQ(send("vCont;c:2;s:2"), KR_GDB_CONTINUE);
	CHECK_PLAN(3, "hch");
	CHECK_EQ(send("vCont;C05:1;S05:2"), KR_GDB_STEP);
	CHECK_PLAN(3, "csh");
	/* Hc picks the vCPU a plain s steps, the others held; c runs all. */
	CHECK_REPLY("Hc2", "OK");
	CHECK_EQ(send("s"), KR_GDB_STEP);
	CHECK_PLAN(3, "hsh");
	CHECK_EQ(send("c"), KR_GDB_CONTINUE);
	CHECK_PLAN(3, "ccc");
	CHECK_REPLY("Hc-1", "OK");
	CHECK_EQ(send("s"), KR_GDB_STEP); /* the last stop's vCPU: 0 */
	CHECK_PLAN(3, "shh");
	end_vm(vm);
}

UNIT_TEST(gdb_bad_thread_ids_get_errors)
{
	struct kr_vm *vm = vm_with_cpus(2);
	CHECK(vm != NULL);
	if (!vm)
		return;
	static const char *const bad[] = {
	    "Hg3",
	    "Hg-1",
	    "Hgp1.1",
	    "Hg",
	    "Hgx",
	    "Hg11111111111111111",
	    "Hc3",
	    "Hc-2",
	    "Hx1",
	    "T0",
	    "T-1",
	    "T3",
	    "T",
	    "Tffffffffffffffff",
	    "T1,",
	    "T-",
	    "qThreadExtraInfo,0",
	    "qThreadExtraInfo,-1",
	    "qThreadExtraInfo,3",
	    "qThreadExtraInfo,",
	    "qThreadExtraInfo,zz",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned before = stub.g_cpu;
		CHECK_EQ(send(bad[i]), KR_GDB_REPLY);
		if (reply[0] != 'E' || strlen(reply) != 3)
			unit_fail(__FILE__, __LINE__, "'%s' -> '%s', expected an error", bad[i],
				  reply);
		CHECK_EQ(stub.g_cpu, before);
	}
	/* vCont: bad syntax (E01), a thread that does not exist or cannot step (E04). */
	static const struct {
		const char *pkt, *want;
	} vc[] = {
	    {"vCont", "E01"},	    {"vCont;", "E01"},	     {"vCont;x", "E01"},
	    {"vCont;t", "E01"},	    {"vCont;r1,2", "E01"},   {"vCont;c:", "E04"},
	    {"vCont;c:3", "E04"},   {"vCont;s:p1.2", "E04"}, {"vCont;c:1:2", "E04"},
	    {"vCont;cc", "E01"},    {"vCont;C", "E01"},	     {"vCont;s:2", "E04"},
	    {"vCont;s:2;c", "E04"}, {"vCont;c:2", "E04"},    {"vCont;s:-2", "E04"},
	};
	for (size_t i = 0; i < sizeof(vc) / sizeof(vc[0]); i++)
		CHECK_REPLY(vc[i].pkt, vc[i].want);
	/* A plain s of an AP that was never started: it would never end. */
	CHECK_REPLY("Hc2", "OK");
	CHECK_REPLY("s", "E04");
	/* A halted AP cannot step either; vCPU 0 continues. */
	vm->vcpus[1].started = vm->vcpus[1].halted = true;
	CHECK_REPLY("vCont;s:2;c", "E04");
	CHECK_EQ(send("vCont;c"), KR_GDB_CONTINUE);
	/* Without single step on the back end, no step of any thread. */
	vm->vcpus[1].halted = false;
	stub.can_step = false;
	CHECK_REPLY("vCont;s:2;c", "E03");
	CHECK_REPLY("vCont;c:1;s:2", "E03");
	end_vm(vm);
}
