// SPDX-License-Identifier: GPL-2.0
/*
 * kvx_module_test: the KVM modules under test are kvx's build, they report
 * the same kvx version this test was built with, the vendor module enabled
 * what kvx builds on, and a guest runs with exits counted by binary stats.
 */
#include <stdio.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"

#define GUEST_ITERATIONS	1000

static void guest_code(void)
{
	uint64_t acc = 0;
	int i;

	for (i = 0; i < GUEST_ITERATIONS; i++) {
		acc = acc * 31 + i;
		GUEST_SYNC(acc);
	}
	GUEST_DONE();
}

static void test_version(const char *module)
{
	char buf[128];

	TEST_ASSERT(kvx_module_param(module, "kvx_version", buf, sizeof(buf)),
		    "%s has no kvx_version parameter: not a kvx build", module);
	TEST_ASSERT(!strcmp(buf, KVX_VERSION),
		    "%s reports kvx '%s', this test was built with '%s'",
		    module, buf, KVX_VERSION);
	ksft_test_result_pass("%s reports kvx %s\n", module, buf);
}

static void test_vendor_features(void)
{
	static const char * const vmx_on[] = { "ept", "pml", "eptad" };
	const char *vendor = kvx_host_is_vmx() ? "kvm_intel" : "kvm_amd";
	char buf[16];
	int i;

	if (!kvx_host_is_vmx()) {
		TEST_ASSERT(kvx_module_param(vendor, "npt", buf, sizeof(buf)),
			    "kvm_amd has no npt parameter");
		TEST_ASSERT(buf[0] == '1' || buf[0] == 'Y',
			    "kvm_amd: nested paging is off (npt=%s)", buf);
		ksft_test_result_pass("kvm_amd: npt enabled\n");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(vmx_on); i++) {
		TEST_ASSERT(kvx_module_param(vendor, vmx_on[i], buf, sizeof(buf)),
			    "kvm_intel has no %s parameter", vmx_on[i]);
		TEST_ASSERT(buf[0] == 'Y', "kvm_intel: %s=%s, kvx needs it on",
			    vmx_on[i], buf);
	}
	ksft_test_result_pass("kvm_intel: ept, eptad and pml enabled\n");
}

static void test_guest_runs(void)
{
	uint64_t exits_before, io_before, expect = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	exits_before = kvx_vcpu_stat(vcpu, "exits");
	io_before = kvx_vcpu_stat(vcpu, "io_exits");

	for (i = 0; i < GUEST_ITERATIONS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC,
			    "iteration %d: expected UCALL_SYNC", i);
		expect = expect * 31 + i;
		TEST_ASSERT(uc.args[1] == expect,
			    "iteration %d: guest computed 0x%lx, expected 0x%lx",
			    i, uc.args[1], expect);
	}
	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "expected UCALL_DONE");

	/* Every GUEST_SYNC is one port I/O exit; nothing may be lost. */
	TEST_ASSERT(kvx_vcpu_stat(vcpu, "io_exits") - io_before == GUEST_ITERATIONS + 1,
		    "io_exits grew by %lu, expected %d",
		    kvx_vcpu_stat(vcpu, "io_exits") - io_before, GUEST_ITERATIONS + 1);
	TEST_ASSERT(kvx_vcpu_stat(vcpu, "exits") - exits_before >= GUEST_ITERATIONS + 1,
		    "exits grew by %lu, fewer than the %d I/O exits",
		    kvx_vcpu_stat(vcpu, "exits") - exits_before, GUEST_ITERATIONS + 1);
	kvm_vm_free(vm);
	ksft_test_result_pass("guest ran %d iterations, %d I/O exits counted\n",
			      GUEST_ITERATIONS, GUEST_ITERATIONS + 1);
}

int main(void)
{
	const char *vendor = kvx_host_is_vmx() ? "kvm_intel" : "kvm_amd";

	ksft_print_header();
	ksft_set_plan(4);
	test_version("kvm");
	test_version(vendor);
	test_vendor_features();
	test_guest_runs();
	ksft_finished();
}
