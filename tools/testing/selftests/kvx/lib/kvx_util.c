// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by kvx selftests.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvx.h>

#include "kvx_util.h"
#include "kvx_subpage_guest.h"
#include "processor.h"
#include "ucall_common.h"

uint64_t kvx_vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	struct kvm_stats_header header;
	struct kvm_stats_desc *descs, *desc;
	uint64_t data = 0;
	bool found = false;
	int fd, i;

	fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD on vCPU failed: %d", fd);
	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < header.num_desc; i++) {
		desc = get_stats_descriptor(descs, i, &header);
		if (strcmp(desc->name, name))
			continue;
		read_stat_data(fd, &header, desc, &data, 1);
		found = true;
		break;
	}
	free(descs);
	close(fd);
	TEST_ASSERT(found, "vCPU statistic '%s' does not exist", name);
	return data;
}

uint64_t kvx_vcpu_other_exits(struct kvm_vcpu *vcpu)
{
	return kvx_vcpu_stat(vcpu, "irq_exits") +
	       kvx_vcpu_stat(vcpu, "io_exits") +
	       kvx_vcpu_stat(vcpu, "halt_exits") +
	       kvx_vcpu_stat(vcpu, "request_irq_exits") +
	       kvx_vcpu_stat(vcpu, "signal_exits");
}

bool kvx_module_param(const char *module, const char *param, char *buf,
		      size_t size)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module,
		 param);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return true;
}

bool kvx_host_is_vmx(void)
{
	return access("/sys/module/kvm_intel", F_OK) == 0;
}

/* An exit that is not a ucall: say what it was, with the registers. */
static void kvx_report_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;

	vcpu_regs_get(vcpu, &regs);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		TEST_FAIL("internal error %u (%u: 0x%llx 0x%llx 0x%llx) at rip 0x%llx rsp 0x%llx",
			  run->internal.suberror, run->internal.ndata,
			  run->internal.data[0], run->internal.data[1],
			  run->internal.data[2], regs.rip, regs.rsp);
	TEST_FAIL("exit reason %s (mmio 0x%llx) at rip 0x%llx",
		  exit_reason_str(run->exit_reason), run->mmio.phys_addr, regs.rip);
}

uint64_t kvx_ucall_value(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_DONE:
		return KVX_GUEST_DONE;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		kvx_report_exit(vcpu);
	}
	return 0;
}

uint64_t kvx_run_sync(struct kvm_vcpu *vcpu)
{
	vcpu_run(vcpu);
	return kvx_ucall_value(vcpu);
}

void kvx_set_window_cpuid(struct kvm_vcpu *vcpu, uint64_t tramp_gpa)
{
	const struct kvm_cpuid2 *old = vcpu->cpuid;
	struct kvm_cpuid2 *c = allocate_kvm_cpuid2(old->nent + 2);
	struct kvm_cpuid_entry2 *e;

	memcpy(c->entries, old->entries, old->nent * sizeof(*e));
	e = &c->entries[old->nent];
	*e = (struct kvm_cpuid_entry2){ .function = KVX_CPUID_SIGNATURE,
		.eax = KVX_CPUID_WINDOWS, .ebx = KVX_CPUID_SIGNATURE_EBX,
		.ecx = KVX_CPUID_SIGNATURE_ECX, .edx = KVX_CPUID_SIGNATURE_EDX };
	e++;
	*e = (struct kvm_cpuid_entry2){ .function = KVX_CPUID_WINDOWS,
		.eax = (uint32_t)tramp_gpa | 1, .ebx = tramp_gpa >> 32,
		.ecx = KVX_GUEST_TRAMP_VERSION, .edx = KVX_WINDOW_MAX_IDS };
	vcpu_init_cpuid(vcpu, c);
	free(c);
}

void kvx_fuzz_gfn_range(__u64 *gfn, __u64 *npages, uint64_t rnd,
			uint64_t last, uint64_t max)
{
	*gfn = -1ULL - rnd % last;
	*npages = 1 + rnd % max;
}
