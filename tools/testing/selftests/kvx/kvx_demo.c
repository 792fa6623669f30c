// SPDX-License-Identifier: GPL-2.0
/*
 * kvx_demo: what a user of kvx gets on this machine, in plain words.
 *
 * Prints the kvx build of the KVM modules, the virtualization features the
 * CPU offers and KVM enabled, then runs a guest and reports what it did and
 * how many VM exits it took.  Exits nonzero if any of that fails.
 */
#include <stdio.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "kvx_util.h"

#define DEMO_ROUNDS	100

/* The guest sums 1..n in a loop and reports every round to the host. */
static void guest_code(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 1; i <= DEMO_ROUNDS; i++) {
		sum += i;
		GUEST_SYNC(sum);
	}
	GUEST_DONE();
}

static const char *yes_no(const char *caps, const char *cap)
{
	char padded[128], word[40];

	snprintf(padded, sizeof(padded), " %s ", caps);
	snprintf(word, sizeof(word), " %s ", cap);
	return strstr(padded, word) ? "yes" : "no";
}

static void show_features(const char *vendor)
{
	char caps[128] = "", buf[32];

	if (!strcmp(vendor, "kvm_amd")) {
		kvx_module_param(vendor, "npt", buf, sizeof(buf));
		printf("  CPU: AMD SVM; nested paging (NPT) enabled by KVM: %s\n", buf);
		printf("  kvx views switch by hypercall here (SVM has no VMFUNC)\n");
		return;
	}
	TEST_ASSERT(kvx_module_param(vendor, "kvx_cpu_caps", caps, sizeof(caps)),
		    "kvm_intel has no kvx_cpu_caps parameter");
	printf("  CPU: Intel VMX. Features kvx builds on, as the CPU reports them:\n");
	printf("    EPT (extended page tables) ........ %s\n", yes_no(caps, "ept"));
	printf("    EPT accessed/dirty bits ........... %s\n", yes_no(caps, "ept_ad"));
	printf("    PML (page-modification logging) ... %s\n", yes_no(caps, "pml"));
	printf("    VMFUNC ............................ %s\n", yes_no(caps, "vmfunc"));
	printf("    VMFUNC leaf 0, EPTP switching ..... %s\n", yes_no(caps, "eptp_switching"));
	printf("    EPT-violation #VE ................. %s\n", yes_no(caps, "ept_violation_ve"));
	printf("  Enabled by kvm_intel:");
	kvx_module_param(vendor, "ept", buf, sizeof(buf));
	printf(" ept=%s", buf);
	kvx_module_param(vendor, "eptad", buf, sizeof(buf));
	printf(" eptad=%s", buf);
	kvx_module_param(vendor, "pml", buf, sizeof(buf));
	printf(" pml=%s\n", buf);
}

int main(void)
{
	const char *vendor = kvx_host_is_vmx() ? "kvm_intel" : "kvm_amd";
	uint64_t exits, io_exits, sum = 0;
	char version[128] = "(none: not a kvx build)";
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int i;

	printf("kvx demo\n");
	kvx_module_param("kvm", "kvx_version", version, sizeof(version));
	printf("  KVM modules loaded: kvm + %s, built with kvx %s\n", vendor, version);
	show_features(vendor);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	for (i = 1; i <= DEMO_ROUNDS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "round %d: no sync", i);
		sum += i;
		TEST_ASSERT(uc.args[1] == sum, "round %d: guest says %lu, expected %lu",
			    i, uc.args[1], sum);
	}
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "guest did not finish");
	exits = kvx_vcpu_stat(vcpu, "exits");
	io_exits = kvx_vcpu_stat(vcpu, "io_exits");
	printf("  A guest ran: it summed 1..%d = %lu, reporting each round to the host\n",
	       DEMO_ROUNDS, sum);
	printf("  VM exits: %lu in total, %lu of them port I/O (one per report)\n",
	       exits, io_exits);
	kvm_vm_free(vm);
	printf("kvx demo: OK\n");
	return 0;
}
