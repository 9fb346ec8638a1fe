/* SPDX-License-Identifier: MIT */
/*
 * bus.c - maps [base, base + len) of port or MMIO space to a device callback.
 * The run loop asks the bus; devices never appear in the run loop itself.
 */
#include <errno.h>

#include "core/bounds.h"
#include "core/bus.h"
#include "core/error.h"
#include "core/vm.h"

int kr_bus_register(struct kr_vm *vm, enum kr_space space, uint64_t base, uint64_t len,
		    kr_io_handler handler, void *opaque)
{
	if (space != KR_SPACE_PIO && space != KR_SPACE_MMIO)
		return kr_err("bus: invalid space %d (KR_SPACE_PIO or KR_SPACE_MMIO) for range "
			      "base 0x%llx len 0x%llx",
			      (int)space, (unsigned long long)base, (unsigned long long)len);
	const char *sname = space == KR_SPACE_PIO ? "port" : "MMIO";
	if (!handler)
		return kr_err("bus: %s range [0x%llx, +0x%llx) has no handler (NULL)", sname,
			      (unsigned long long)base, (unsigned long long)len);
	if (len == 0)
		return kr_err("bus: %s range at 0x%llx is empty (len 0)", sname,
			      (unsigned long long)base);
	if (base + len < base)
		return kr_err("bus: invalid %s range base 0x%llx len 0x%llx: wraps around the end "
			      "of the address space", sname,
			      (unsigned long long)base, (unsigned long long)len);
	if (space == KR_SPACE_PIO && (base > 0xffff || len > 0x10000 - base))
		return kr_err("bus: port range [0x%llx, +0x%llx) is beyond port 0xffff",
			      (unsigned long long)base, (unsigned long long)len);
	for (size_t i = 0; i < vm->ndevices; i++) {
		const struct kr_device *d = &vm->devices[i];
		if (d->space == space && base < d->base + d->len && d->base < base + len)
			return kr_err("bus: %s range [0x%llx, +0x%llx) overlaps [0x%llx, +0x%llx)",
				      sname, (unsigned long long)base, (unsigned long long)len,
				      (unsigned long long)d->base, (unsigned long long)d->len);
	}
	if (vm->ndevices == KR_MAX_DEVICES)
		return kr_err("bus: all %d device entries are in use", KR_MAX_DEVICES);
	struct kr_device *d = &vm->devices[vm->ndevices];
	*d = (struct kr_device){.space = space, .base = base, .len = len, .handler = handler, .opaque = opaque};
	int e = pthread_mutex_init(&d->lock, NULL);
	if (e) {
		errno = e;
		return kr_err_sys("bus: pthread_mutex_init for %s range [0x%llx, +0x%llx)", sname,
				  (unsigned long long)base, (unsigned long long)len);
	}
	vm->ndevices++;
	return 0;
}

void kr_bus_release(struct kr_vm *vm)
{
	for (size_t i = 0; i < vm->ndevices; i++)
		pthread_mutex_destroy(&vm->devices[i].lock);
	vm->ndevices = 0;
}

int kr_bus_access(struct kr_vm *vm, struct kr_device *dev, uint64_t addr, void *data,
		  uint32_t size, bool is_write)
{
	/* One vCPU: nobody to race with, and the exit path stays as cheap as it was. */
	if (!kr_vm_smp(vm))
		return dev->handler(vm, dev->opaque, addr, data, size, is_write);
	pthread_mutex_lock(&dev->lock);
	int rc = dev->handler(vm, dev->opaque, addr, data, size, is_write);
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

struct kr_device *kr_bus_find(struct kr_vm *vm, enum kr_space space, uint64_t addr,
			      uint32_t size)
{
	for (size_t i = 0; i < vm->ndevices; i++) {
		struct kr_device *d = &vm->devices[i];
		/* The whole access must fall inside one device. */
		if (d->space == space && addr >= d->base && kr_range_ok(addr - d->base, size, d->len))
			return d;
	}
	return NULL;
}
