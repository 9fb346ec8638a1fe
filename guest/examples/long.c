/* SPDX-License-Identifier: MIT */
/*
 * long.c - a 64-bit long-mode guest that shows gcc-compiled code runs.
 * Built as long.elf and as the raw image long.bin.
 *
 * Checks EFER.LMA, CR0.PG and CR4.PAE, that the stack starts near the top of
 * RAM and that the bss came up zeroed, then computes a sieve of primes and a
 * table-driven CRC-32. Expected stdout (status 6):
 *	long mode
 *	ram: 32 MiB            (the RAM size kvmrun passed in RDI; --mem changes it)
 *	primes below 100: 2 3 5 7 ... 89 97
 *	crc32("123456789") = 0xcbf43926
 * A failed check prints "long: ..." and exits with status 1.
 */
#include "kvmrun_guest.h"

static unsigned char composite[100]; /* bss: crt0 must have zeroed it */
static unsigned int crc_table[256];

static void crc32_init(void)
{
	unsigned int i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static unsigned int crc32(const void *data, unsigned long len)
{
	const unsigned char *p = data;
	unsigned int c = 0xffffffffu;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static int fail(const char *what)
{
	char buf[80];
	struct kr_buf b = KR_BUF(buf);

	kr_buf_str(&b, "long: ");
	kr_buf_str(&b, what);
	kr_buf_str(&b, "\n");
	kr_buf_flush(&b);
	return 1;
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	static const char check[] = "123456789";
	char buf[512];
	struct kr_buf b = KR_BUF(buf);
	unsigned long sp = (unsigned long)__builtin_frame_address(0);
	unsigned long i, j;

	if (!(kr_rdmsr(KR_MSR_EFER) & KR_EFER_LMA))
		return fail("EFER.LMA is clear");
	if (!(kr_read_cr0() & KR_CR0_PG))
		return fail("CR0.PG is clear");
	if (!(kr_read_cr4() & KR_CR4_PAE))
		return fail("CR4.PAE is clear");
	if (sp >= ram_size || sp < ram_size - 0x10000)
		return fail("the stack is not at the top of RAM");
	if (heap_start < KVMRUN_DEFAULT_LOAD_ADDR || heap_start >= ram_size)
		return fail("heap_start is outside RAM");
	for (i = 0; i < sizeof(composite); i++)
		if (composite[i])
			return fail("the bss was not zeroed");

	kr_buf_str(&b, "long mode\nram: ");
	kr_buf_dec(&b, ram_size >> 20);
	kr_buf_str(&b, " MiB\nprimes below 100:");
	for (i = 2; i < sizeof(composite); i++) {
		if (composite[i])
			continue;
		kr_buf_str(&b, " ");
		kr_buf_dec(&b, i);
		for (j = i * i; j < sizeof(composite); j += i)
			composite[j] = 1;
	}
	crc32_init();
	kr_buf_str(&b, "\ncrc32(\"");
	kr_buf_str(&b, check);
	kr_buf_str(&b, "\") = ");
	kr_buf_hex(&b, crc32(check, sizeof(check) - 1), 8);
	kr_buf_str(&b, "\n");
	if (b.overflow)
		return fail("output buffer too small");
	kr_buf_flush(&b);
	return 6;
}
