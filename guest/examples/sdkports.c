/* SPDX-License-Identifier: MIT */
/* sdkports.c - kr_inl, then kr_outw: a 32-bit read of the console port comes back
 * (kvmrun answers reads it does not serve by stopping), so the test sees which
 * access the SDK made from kvmrun's message naming its size. */
#include "kvmrun_guest.h"

int main(void)
{
	kr_printf("16-bit write next\n");
	kr_outw(0x600, 0x1234);
	kr_printf("not reached\n");
	return (int)kr_inl(0x601) + kr_inw(0x602);
}
