/* SPDX-License-Identifier: MIT */
/* sdkdemo_list.c - a linked list on the guest heap (kr_malloc), values -n..-1. */
#include "kvmrun_guest.h"
#include "sdkdemo_list.h"

struct node *list_build(int n)
{
	struct node *head = 0;
	for (int i = 1; i <= n; i++) {
		struct node *x = kr_malloc(sizeof(*x));
		kr_assert(x != 0);
		x->value = -i;
		x->next = head;
		head = x;
	}
	return head;
}

long list_sum(const struct node *l)
{
	long s = 0;
	for (; l; l = l->next)
		s += l->value;
	return s;
}

void list_free(struct node *l)
{
	while (l) {
		struct node *next = l->next;
		kr_free(l);
		l = next;
	}
}
