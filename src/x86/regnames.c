/* SPDX-License-Identifier: MIT */
/*
 * regnames.c - the names of control register and EFER bits, for crash
 * reports: from the same definitions the rest of x86/ uses.
 */
#include <string.h>

#include "kvmrun.h"
#include "x86/x86.h"

struct bit_name {
	uint64_t bit;
	const char *name;
};

#define BIT(prefix, n) {prefix##n, #n}

static const struct bit_name cr0_bits[] = {
	BIT(X86_CR0_, PE), BIT(X86_CR0_, MP), BIT(X86_CR0_, EM), BIT(X86_CR0_, TS),
	BIT(X86_CR0_, ET), BIT(X86_CR0_, NE), BIT(X86_CR0_, WP), BIT(X86_CR0_, AM),
	BIT(X86_CR0_, NW), BIT(X86_CR0_, CD), BIT(X86_CR0_, PG), {0, NULL},
};

static const struct bit_name cr4_bits[] = {
	BIT(X86_CR4_, VME),	 BIT(X86_CR4_, PVI),	    BIT(X86_CR4_, TSD),
	BIT(X86_CR4_, DE),	 BIT(X86_CR4_, PSE),	    BIT(X86_CR4_, PAE),
	BIT(X86_CR4_, MCE),	 BIT(X86_CR4_, PGE),	    BIT(X86_CR4_, PCE),
	BIT(X86_CR4_, OSFXSR),	 BIT(X86_CR4_, OSXMMEXCPT), BIT(X86_CR4_, UMIP),
	BIT(X86_CR4_, LA57),	 BIT(X86_CR4_, VMXE),	    BIT(X86_CR4_, SMXE),
	BIT(X86_CR4_, FSGSBASE), BIT(X86_CR4_, PCIDE),	    BIT(X86_CR4_, OSXSAVE),
	BIT(X86_CR4_, SMEP),	 BIT(X86_CR4_, SMAP),	    BIT(X86_CR4_, PKE),
	{0, NULL},
};

static const struct bit_name efer_bits[] = {
	BIT(KR_EFER_, SCE),   BIT(KR_EFER_, LME),   BIT(KR_EFER_, LMA),	  BIT(KR_EFER_, NXE),
	BIT(KR_EFER_, SVME),  BIT(KR_EFER_, LMSLE), BIT(KR_EFER_, FFXSR), BIT(KR_EFER_, TCE),
	{0, NULL},
};

size_t kr_x86_bit_names(const char *reg, uint64_t value, const char **names, size_t max)
{
	const struct bit_name *t = strcmp(reg, "cr0") == 0  ? cr0_bits :
				   strcmp(reg, "cr4") == 0  ? cr4_bits :
				   strcmp(reg, "efer") == 0 ? efer_bits :
							      NULL;
	size_t n = 0;
	for (; t && t->name; t++) {
		if (!(value & t->bit))
			continue;
		if (n < max)
			names[n] = t->name;
		n++;
	}
	return n;
}
