/*
 * kvm-probe: proves that a /dev/kvm can run guest code, with the fewest KVM calls that do so.
 *
 * It creates a VM with 4 KiB of memory at guest-physical 0x1000, puts three real-mode
 * instructions there and runs one vCPU on them:
 *
 *     mov al, 'K'      ; b0 4b
 *     out 0xe9, al     ; e6 e9   -> KVM_EXIT_IO: the VMM sees the byte written to port 0xE9
 *     hlt              ; f4      -> KVM_EXIT_HLT: no in-kernel interrupt controller, so KVM
 *                                   hands the halt to the VMM
 *
 * Built and run by `scripts/kvm-testbed check --probe`, directly or inside the QEMU test bed.
 * Prints each step; exits 0 only if the API version is 12, 'K' arrived on port 0xE9 and the
 * vCPU stopped on HLT. Standalone on purpose: it must not depend on the project's library,
 * so that it can tell a broken /dev/kvm from a broken VMM.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, O_CLOEXEC even with -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_PHYS_BASE 0x1000u
#define GUEST_MEM_SIZE 0x1000u
#define DEBUG_PORT 0xe9u
#define MAX_EXITS 16

static int fail(const char *step)
{
	fprintf(stderr, "kvm-probe: %s failed: %s\n", step, strerror(errno));
	return 1;
}

/* KVM_RUN returns -1/EINTR when a signal arrives before the exit is complete: just run again. */
static int run_vcpu(int vcpu_fd)
{
	int ret;

	do
		ret = ioctl(vcpu_fd, KVM_RUN, 0);
	while (ret < 0 && errno == EINTR);
	return ret;
}

static int unexpected_io(const struct kvm_run *run)
{
	const char *dir = run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in";

	fprintf(stderr, "kvm-probe: unexpected I/O: %s port 0x%x size %u count %u\n", dir,
		run->io.port, run->io.size, run->io.count);
	return 1;
}

int main(void)
{
	static const uint8_t code[] = {0xb0, 'K', 0xe6, DEBUG_PORT, 0xf4};
	int kvm_fd, vm_fd, vcpu_fd, api, run_size, exits;
	int got_char = -1, halted = 0;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint8_t *mem;

	setvbuf(stdout, NULL, _IONBF, 0); /* keep stdout and stderr in order on a console */

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return fail("open /dev/kvm");

	/* The only API version there has ever been; anything else means a very odd kernel. */
	api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (api < 0)
		return fail("ioctl KVM_GET_API_VERSION");
	printf("KVM_GET_API_VERSION: %d\n", api);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-probe: expected API version %d\n", KVM_API_VERSION);
		return 1;
	}

	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return fail("ioctl KVM_CREATE_VM");

	/*
	 * Intel (VMX) needs three pages for a real-mode TSS before the first KVM_RUN; AMD ignores
	 * it. Put them just under the 4 GiB BIOS area, far from our memory.
	 */
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		return fail("ioctl KVM_SET_TSS_ADDR 0xfffbd000");

	/* Guest RAM is ordinary host memory that KVM maps into the guest's physical space. */
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, code, sizeof(code));

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = GUEST_PHYS_BASE;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("ioctl KVM_SET_USER_MEMORY_REGION slot 0 at 0x1000");

	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0)
		return fail("ioctl KVM_CREATE_VCPU 0");

	/* struct kvm_run is shared with the kernel: it describes each exit. Its size varies. */
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(*run))
		return fail("ioctl KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	/*
	 * A new vCPU is in real mode at the reset vector (CS base 0xffff0000, IP 0xfff0). Point
	 * CS:IP at our code instead: CS base 0, IP 0x1000. Real mode needs no page tables or GDT.
	 */
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail("ioctl KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail("ioctl KVM_SET_SREGS");

	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_PHYS_BASE;
	regs.rflags = 0x2; /* bit 1 is reserved and must be set */
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail("ioctl KVM_SET_REGS");

	for (exits = 0; exits < MAX_EXITS && !halted; exits++) {
		if (run_vcpu(vcpu_fd) < 0)
			return fail("ioctl KVM_RUN");

		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			/* The data sits inside the kvm_run mapping, at data_offset. */
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == DEBUG_PORT &&
			    run->io.size == 1 && run->io.count == 1) {
				got_char = *((uint8_t *)run + run->io.data_offset);
				printf("KVM_EXIT_IO: out 0x%x, '%c'\n", run->io.port, got_char);
			} else {
				return unexpected_io(run);
			}
			break;
		case KVM_EXIT_HLT:
			if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
				return fail("ioctl KVM_GET_REGS");
			printf("KVM_EXIT_HLT: rip 0x%llx\n", (unsigned long long)regs.rip);
			halted = 1;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "kvm-probe: KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx\n",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 1;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "kvm-probe: KVM_EXIT_INTERNAL_ERROR, suberror %u\n",
				run->internal.suberror);
			return 1;
		default:
			fprintf(stderr, "kvm-probe: unexpected exit reason %u\n", run->exit_reason);
			return 1;
		}
	}

	if (got_char != 'K' || !halted) {
		fprintf(stderr, "kvm-probe: FAILED (%s)\n",
			got_char != 'K' ? "no 'K' on port 0xe9" : "the vCPU did not halt");
		return 1;
	}
	printf("kvm-probe: OK\n");
	/* Closing the fds (here: exiting) destroys the vCPU and the VM. */
	return 0;
}
