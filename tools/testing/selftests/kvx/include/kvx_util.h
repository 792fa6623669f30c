/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by kvx selftests, on top of the KVM selftest library.
 */
#ifndef SELFTEST_KVX_UTIL_H
#define SELFTEST_KVX_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm_util.h"

/* Value of a per-vCPU binary statistic (KVM_GET_STATS_FD on the vCPU). */
uint64_t kvx_vcpu_stat(struct kvm_vcpu *vcpu, const char *name);

/*
 * The vCPU's exits that are not the guest's own doing: host interrupts,
 * ucalls (I/O), halts, requests and signals.
 */
uint64_t kvx_vcpu_other_exits(struct kvm_vcpu *vcpu);

/*
 * Read a module parameter from /sys/module/MODULE/parameters/PARAM into buf.
 * Returns false if the module or the parameter does not exist.
 */
bool kvx_module_param(const char *module, const char *param, char *buf,
		      size_t size);

/* True if the host CPU (as KVM sees it) is Intel, i.e. kvm_intel is loaded. */
bool kvx_host_is_vmx(void);

/*
 * Run @vcpu until its next ucall: the value of GUEST_SYNC(value), or
 * KVX_GUEST_DONE for GUEST_DONE(); a guest assertion or any other exit
 * fails the test.
 */
#define KVX_GUEST_DONE	(~0ULL)
uint64_t kvx_run_sync(struct kvm_vcpu *vcpu);

/* The same for an exit that already happened (after vcpu_run()). */
uint64_t kvx_ucall_value(struct kvm_vcpu *vcpu);

/*
 * Give @vcpu the VMM's CPUID leaves that tell the guest where the windows'
 * trampoline is (tramp_gpa, KVX_CAP_WINDOWS), as kvx_subpage_guest.h reads
 * them.
 */
void kvx_set_window_cpuid(struct kvm_vcpu *vcpu, uint64_t tramp_gpa);

/*
 * For fuzzing, from the random @rnd: a GFN range that starts in the last
 * @last pages below 2^64 and is 1 to @max pages long, so that most of them
 * wrap.
 */
void kvx_fuzz_gfn_range(__u64 *gfn, __u64 *npages, uint64_t rnd,
			uint64_t last, uint64_t max);

#endif /* SELFTEST_KVX_UTIL_H */
