/* SPDX-License-Identifier: MIT */
/*
 * heap.c - kr_malloc/kr_free over the guest's free RAM: from the heap start
 * crt0 was given (after the image and its bss) to KR_STACK_RESERVE below
 * the top of RAM, where the stack grows down. A list of blocks in address
 * order, each with a header; first fit, split when the rest is worth it,
 * merged with a free neighbour when freed. Small and plain on purpose.
 */
#include "kvmrun_guest.h"

unsigned long kr_heap_start, kr_ram_size;

struct block {
	unsigned long size; /* bytes after the header */
	struct block *next; /* the next block in memory, 0 at the end */
	unsigned long free;
	unsigned long pad; /* header of 32 bytes: user memory stays 16-byte aligned */
};

static struct block *first;

static int heap_init(void)
{
	unsigned long start = (kr_heap_start + 15) & ~15ul;
	if (kr_ram_size < KR_STACK_RESERVE || start + sizeof(struct block) + 16 >
						      kr_ram_size - KR_STACK_RESERVE)
		return -1;
	first = (struct block *)start;
	first->size = kr_ram_size - KR_STACK_RESERVE - start - sizeof(struct block);
	first->next = 0;
	first->free = 1;
	return 0;
}

void *kr_malloc(unsigned long size)
{
	if (!first && heap_init() < 0)
		return 0;
	if (size == 0 || size > kr_ram_size)
		return 0;
	size = (size + 15) & ~15ul;
	for (struct block *b = first; b; b = b->next) {
		if (!b->free || b->size < size)
			continue;
		if (b->size >= size + sizeof(struct block) + 16) {
			struct block *rest = (struct block *)((char *)(b + 1) + size);
			rest->size = b->size - size - sizeof(struct block);
			rest->next = b->next;
			rest->free = 1;
			b->next = rest;
			b->size = size;
		}
		b->free = 0;
		return b + 1;
	}
	return 0;
}

void kr_free(void *p)
{
	if (!p)
		return;
	struct block *b = (struct block *)p - 1;
	kr_assert(!b->free); /* a double free, or not a pointer from kr_malloc */
	b->free = 1;
	/* Merge with the free blocks after it, then with the one before. */
	while (b->next && b->next->free) {
		b->size += sizeof(struct block) + b->next->size;
		b->next = b->next->next;
	}
	for (struct block *prev = first; prev && prev->next; prev = prev->next) {
		if (prev->next == b && prev->free) {
			prev->size += sizeof(struct block) + b->size;
			prev->next = b->next;
			break;
		}
	}
}
