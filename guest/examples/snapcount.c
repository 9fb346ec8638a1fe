/* SPDX-License-Identifier: MIT */
/*
 * snapcount.c - a guest with state in memory, on the stack and in registers
 * across a snapshot: it fills 64 KiB with a pattern, counts, asks for a
 * snapshot (KVMRUN_HC_SNAPSHOT), then counts on and checks the pattern.
 * Expected from `kvmrun run --snapshot F`: "before 1..3", "snapshot",
 * "after 4..6 sum=..." "pattern ok", status 42. From `kvmrun restore F`:
 * only the lines after "snapshot", status 42, every time.
 */
#include "kvmrun_guest.h"

static unsigned char pattern[64 * 1024];
static volatile unsigned long counter;

static void line(const char *what, unsigned long n, unsigned long acc)
{
	char text[80];
	struct kr_buf b = KR_BUF(text);
	kr_buf_str(&b, what);
	kr_buf_dec(&b, n);
	kr_buf_str(&b, " acc=");
	kr_buf_hex(&b, acc, 1);
	kr_buf_str(&b, "\n");
	kr_buf_flush(&b);
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size, (void)heap_start;
	unsigned long acc = 7; /* lives in a register or on the stack across the snapshot */
	for (unsigned long i = 0; i < sizeof(pattern); i++)
		pattern[i] = (unsigned char)(i * 7 + 3);
	for (int i = 0; i < 3; i++) {
		counter++;
		acc = acc * 31 + counter;
		line("before ", counter, acc);
	}
	kr_puts("snapshot\n");
	kr_snapshot();
	for (int i = 0; i < 3; i++) {
		counter++;
		acc = acc * 31 + counter;
		line("after ", counter, acc);
	}
	for (unsigned long i = 0; i < sizeof(pattern); i++) {
		if (pattern[i] != (unsigned char)(i * 7 + 3)) {
			kr_puts("pattern BAD\n");
			return 1;
		}
		pattern[i] = 0; /* a restore must bring it back */
	}
	kr_puts("pattern ok\n");
	return 42;
}
