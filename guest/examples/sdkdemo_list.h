/* SPDX-License-Identifier: MIT */
/* sdkdemo_list.h - the second file of the sdkdemo guest. */
#ifndef SDKDEMO_LIST_H
#define SDKDEMO_LIST_H

struct node {
	long value;
	struct node *next;
};

struct node *list_build(int n);
long list_sum(const struct node *l);
void list_free(struct node *l);

#endif
