/* SPDX-License-Identifier: MIT */
/* devices/postcode.h - port 0x80, the POST code / I/O delay port. */
#ifndef KVMRUN_DEVICES_POSTCODE_H
#define KVMRUN_DEVICES_POSTCODE_H

#include "kvmrun.h"

#define KR_POSTCODE_PORT 0x80

int kr_postcode_register(struct kr_vm *vm);

#endif
