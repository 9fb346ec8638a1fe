/* SPDX-License-Identifier: MIT */
/*
 * fuzz_gdb.c - the gdb stub's framing and packets (debug/gdbstub.c) with
 * hostile input, as a debugger connection would send it.
 *
 * A fake VM (2 MiB, protected mode without paging, so that guest virtual =
 * physical through the software walker) stands behind the stub. Byte 0 says
 * what the back end can do (bit 0 single step, bit 1 debug-register
 * breakpoints, bit 2 watchpoints), bit 3 the register set (x86-64 or
 * 32-bit), bits 4-5 how many vCPUs (threads) the stub sees (1 + the value;
 * without fds, like the rest), bit 6 whether the APs are started and bit 7
 * whether they halted; the rest is the byte stream from "gdb", framed with
 * kr_gdb_frame exactly as kr_gdb_serve does, each packet answered by
 * kr_gdb_handle. There is no vCPU: register packets fail with an error
 * reply, continue and step come back as actions and are not run.
 *
 * Checks: the framer consumes within bounds and always makes progress; a
 * reply fits KR_GDB_REPLY_MAX and is one of: empty, "OK", "E" + two hex
 * digits, hex, a stop reply, or a qXfer/qSupported/thread answer; memory
 * writes stay inside guest RAM (ASan guards the rest); at most four
 * breakpoints are ever held; the selected threads are vCPUs that exist, and
 * a resume steps only vCPUs that can run.
 */
#include <string.h>

#include "debug/gdbstub.h"
#include "fuzz_common.h"

#define MEM (2ull << 20)

static struct kr_gdb stub;
static char pkt[KR_GDB_PACKET_MAX + 1], reply[KR_GDB_REPLY_MAX + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct kr_vm *vm = fuzz_vm(KR_MODE_PROTECTED, MEM);
	static struct kvm_sregs sregs; /* CR0.PE, no paging: linear = physical */
	sregs.cr0 = 1;
	vm->soft_sregs = &sregs;
	vm->ncpus = 1 + ((data[0] >> 4) & 3);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct kr_vcpu *v = &vm->vcpus[i];
		*v = (struct kr_vcpu){.vm = vm, .id = i, .fd = -1};
		v->started = i > 0 && (data[0] & 0x40);
		v->halted = i > 0 && (data[0] & 0x80);
	}
	kr_gdb_init(&stub, vm, -1);
	stub.can_step = data[0] & 1;
	stub.can_hw_bp = data[0] & 2;
	stub.can_watch = data[0] & 4;
	stub.wide = data[0] & 8;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	while (n > 0) {
		size_t used = 0, len = 0;
		enum kr_gdb_frame f = kr_gdb_frame(in, n, &used, pkt, KR_GDB_PACKET_MAX, &len);
		FUZZ_CHECK(used <= n, "framer consumed %zu of %zu bytes", used, n);
		FUZZ_CHECK(len <= KR_GDB_PACKET_MAX, "packet of %zu bytes", len);
		if (f == KR_GDB_FRAME_PACKET) {
			enum kr_gdb_action a = kr_gdb_handle(&stub, pkt, len, reply);
			size_t rl = strnlen(reply, sizeof(reply));
			FUZZ_CHECK(rl <= KR_GDB_REPLY_MAX, "reply of %zu bytes", rl);
			FUZZ_CHECK(a >= KR_GDB_REPLY && a <= KR_GDB_DETACH, "action %d", (int)a);
			if (reply[0] == 'E' && rl != 3)
				FUZZ_CHECK(false, "error reply '%s'", reply);
			FUZZ_CHECK(stub.g_cpu < vm->ncpus && stub.stop_cpu < vm->ncpus &&
					   (stub.c_cpu < 0 || (unsigned)stub.c_cpu < vm->ncpus),
				   "threads: g %u, c %d, stop %u of %u", stub.g_cpu, stub.c_cpu,
				   stub.stop_cpu, vm->ncpus);
			if (a == KR_GDB_CONTINUE || a == KR_GDB_STEP)
				for (unsigned i = 1; i < vm->ncpus; i++)
					FUZZ_CHECK(stub.resume[i] != KR_GDB_STEP1 ||
							   (vm->vcpus[i].started && !vm->vcpus[i].halted),
						   "a step of vCPU %u, which cannot run", i);
			fuzz_log("packet '%.*s' -> %d '%.40s'\n", (int)(len < 60 ? len : 60), pkt, (int)a,
				 reply);
		}
		if (used == 0) /* MORE at a '$' without its end: gdb would send more */
			break;
		in += used;
		n -= used;
	}
	int held = 0;
	for (int i = 0; i < KR_GDB_MAX_BPS; i++)
		held += stub.bps[i].used;
	FUZZ_CHECK(held <= KR_GDB_MAX_BPS, "%d breakpoints", held);
	fuzz_ram_restore(vm, 0, MEM);
	return 0;
}
