/* SPDX-License-Identifier: MIT */
/*
 * debug/gdbstub.h - the GDB remote serial protocol: framing and packets, apart
 * from the socket and the run loop, so that a fuzzer can drive them (see
 * tests/fuzz/fuzz_gdb.c). kr_gdb_serve (kvmrun.h) puts them together.
 */
#ifndef KVMRUN_DEBUG_GDBSTUB_H
#define KVMRUN_DEBUG_GDBSTUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"
#include "x86/gdb.h"

/* Packets gdb may send us (qSupported's PacketSize, in hex there: 0x4000). */
#define KR_GDB_PACKET_MAX 16384
/* Our replies: the biggest is a memory read or a piece of target.xml, hex-doubled. */
#define KR_GDB_REPLY_MAX (2 * KR_GDB_PACKET_MAX + 64)

enum kr_gdb_frame {
	KR_GDB_FRAME_MORE,      /* no whole packet yet: read more (*used bytes may be dropped) */
	KR_GDB_FRAME_PACKET,    /* a packet with a good checksum in pkt[0..*len) */
	KR_GDB_FRAME_BAD_SUM,   /* a packet with a bad checksum: answer '-' */
	KR_GDB_FRAME_TOO_LONG,  /* a packet longer than the buffer: answer with an error */
	KR_GDB_FRAME_INTERRUPT, /* a Ctrl-C (0x03) outside a packet */
	KR_GDB_FRAME_NACK,      /* gdb wants our last packet again ('-') */
};

/*
 * Find the next frame in in[0..n): sets *used to the bytes it consumed (also
 * for MORE: the noise before a '$'), and for PACKET the payload into
 * pkt[0..cap) with its length in *len (not NUL-terminated).
 */
enum kr_gdb_frame kr_gdb_frame(const uint8_t *in, size_t n, size_t *used, char *pkt, size_t cap,
			       size_t *len);

enum kr_gdb_action {
	KR_GDB_REPLY,    /* send the reply, wait for the next packet */
	KR_GDB_CONTINUE, /* run the guest as g->resume says (the stop replies later) */
	KR_GDB_STEP,     /* the same, with at least one vCPU stepping */
	KR_GDB_KILL,     /* end the guest, no reply */
	KR_GDB_DETACH,   /* reply OK, then let the guest run on without gdb */
};

/* What a resume (c, s, vCont) asks of one vCPU. */
enum kr_gdb_resume {
	KR_GDB_HOLD, /* stays where it is (no action for its thread) */
	KR_GDB_RUN,  /* continues */
	KR_GDB_STEP1 /* one instruction */
};

struct kr_gdb {
	struct kr_vm *vm;
	int fd;
	bool wide;                    /* x86-64 registers (long mode), else 32-bit */
	bool can_step, can_hw_bp, can_watch; /* what the back end does (kr_backend_probe) */
	struct kr_gdb_bp bps[KR_GDB_MAX_BPS];
	bool bp_is_sw[KR_GDB_MAX_BPS]; /* a Z0 breakpoint (kept in a debug register) */
	char stop_reply[96];          /* the answer to '?': how the guest last stopped */

	/*
	 * Threads: thread N (1..vm->ncpus) is vCPU N-1. g_cpu is the vCPU of
	 * register and memory packets (Hg), c_cpu the one a plain c/s acts on
	 * (Hc; -1: no choice, the vCPU of the last stop), stop_cpu the vCPU the
	 * last stop reply named (qC). resume: the plan of the next run.
	 */
	unsigned g_cpu, stop_cpu;
	int c_cpu;
	enum kr_gdb_resume resume[KR_MAX_CPUS];

	/*
	 * Set for a run: breakpoints by single-stepping every vCPU that runs (a
	 * back end without debug-register breakpoints), read by the hook.
	 */
	bool emulate;
	/*
	 * Set by the KVM_EXIT_DEBUG hook on the thread of the vCPU that stopped:
	 * the first one claims the stop (hit_claimed), the others' events are
	 * dropped (a breakpoint hits again when its vCPU resumes: see serve).
	 */
	atomic_bool hit_claimed;
	bool debug_hit;
	unsigned hit_cpu;
	struct kr_gdb_debug_exit dbg;
	/* Set by the thread that watches the socket while the guest runs. */
	atomic_bool interrupted, conn_lost;

	uint8_t in[KR_GDB_PACKET_MAX + 8]; /* bytes read, not yet framed */
	size_t in_len;
	char last[KR_GDB_REPLY_MAX + 8]; /* the last packet sent, framed, for a '-' */
	size_t last_len;
};

/* A stub for vm with default state (wide from the configured mode); no I/O. */
void kr_gdb_init(struct kr_gdb *g, struct kr_vm *vm, int fd);

/*
 * Answer one packet pkt[0..len): the reply (NUL-terminated, at most
 * KR_GDB_REPLY_MAX bytes before escaping) goes to reply, which has room
 * for KR_GDB_REPLY_MAX + 1. Any input is safe: a malformed packet gets an
 * "E.." reply, an unknown one the empty reply.
 */
enum kr_gdb_action kr_gdb_handle(struct kr_gdb *g, const char *pkt, size_t len, char *reply);

#endif
