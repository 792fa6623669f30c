// SPDX-License-Identifier: GPL-2.0
/*
 * kvx VMX part, linked into kvm-intel.ko.
 *
 * At load, report which of the VMX features kvx builds on the CPU offers and
 * which of them KVM itself enabled, so an operator (and the demo) can tell
 * what a given host will do: EPT, EPT A/D bits, PML, VMFUNC EPTP switching
 * and EPT-violation #VE.
 *
 * The hooks of vmx/vmx.c that both views (views_vmx.c) and the windows on
 * top of them (windows_vmx.c) act on land here and go to the views first.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <asm/msr.h>
#include <asm/vmx.h>

#include "kvx_internal.h"
#include "windows.h"
#include "../x86.h"
#include "../vmx/capabilities.h"

KVX_DEFINE_VERSION_PARAM("kvm-intel.ko");

/* "allowed-1" half of a VMX capability MSR: what the CPU can enable. */
static u32 kvx_vmx_allowed1(u32 msr)
{
	u64 val;

	if (rdmsrl_safe(msr, &val))
		return 0;
	return val >> 32;
}

/*
 * What the CPU offers, by name, for userspace (VMMs, tests, the demo):
 * /sys/module/kvm_intel/parameters/kvx_cpu_caps.
 */
static char kvx_cpu_caps[96];
module_param_string(kvx_cpu_caps, kvx_cpu_caps, sizeof(kvx_cpu_caps), 0444);
MODULE_PARM_DESC(kvx_cpu_caps, "VMX features kvx can use on this CPU");

static void kvx_vmx_add_cap(bool present, const char *name)
{
	size_t len = strlen(kvx_cpu_caps);

	if (present)
		snprintf(kvx_cpu_caps + len, sizeof(kvx_cpu_caps) - len, "%s%s",
			 len ? " " : "", name);
}

void kvx_vmx_module_init(void)
{
	u32 proc2 = 0;
	u64 vmfunc = 0;

	if (kvx_vmx_allowed1(MSR_IA32_VMX_PROCBASED_CTLS) &
	    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		proc2 = kvx_vmx_allowed1(MSR_IA32_VMX_PROCBASED_CTLS2);
	if (proc2 & SECONDARY_EXEC_ENABLE_VMFUNC)
		rdmsrl_safe(MSR_IA32_VMX_VMFUNC, &vmfunc);

	kvx_cpu_caps[0] = '\0';
	kvx_vmx_add_cap(proc2 & SECONDARY_EXEC_ENABLE_EPT, "ept");
	kvx_vmx_add_cap(cpu_has_vmx_ept_ad_bits(), "ept_ad");
	kvx_vmx_add_cap(proc2 & SECONDARY_EXEC_ENABLE_PML, "pml");
	kvx_vmx_add_cap(proc2 & SECONDARY_EXEC_ENABLE_VMFUNC, "vmfunc");
	kvx_vmx_add_cap(vmfunc & VMX_VMFUNC_EPTP_SWITCHING, "eptp_switching");
	kvx_vmx_add_cap(proc2 & SECONDARY_EXEC_EPT_VIOLATION_VE, "ept_violation_ve");

	pr_info("kvm-intel.ko built with kvx %s\n", kvx_version);
	pr_info("vmx cpu offers: %s\n", kvx_cpu_caps);
	pr_info("vmx kvm enabled: ept=%d ept_ad=%d pml=%d\n",
		enable_ept, enable_ept_ad_bits, enable_pml);
	kvx_vmx_views_init();
}

/* vmx_vcpu_run(), right after the exit and before any other KVM work. */
void kvx_vmx_sync_view(struct kvm_vcpu *vcpu)
{
	if (kvx_vmx_views_sync(vcpu))
		kvx_vmx_windows_sync(vcpu);
}

static int (*kvx_vmx_vmfunc_fallback)(struct kvm_vcpu *vcpu);

/*
 * EXIT_REASON_VMFUNC for L1: a VMFUNC the CPU refused (bad leaf, index
 * beyond the list or an empty entry).  What neither the views nor the
 * windows take is #UD.
 */
static int kvx_vmx_handle_vmfunc(struct kvm_vcpu *vcpu)
{
	u32 function = kvm_rax_read(vcpu);
	u32 index = kvm_rcx_read(vcpu);

	if (!kvx_views(vcpu->kvm) || is_guest_mode(vcpu))
		return kvx_vmx_vmfunc_fallback(vcpu);

	++vcpu->stat.kvx_vmfunc_exits;
	if (kvx_vmx_views_vmfunc(vcpu, function, index) ||
	    kvx_vmx_windows_vmfunc(vcpu, function, index))
		return kvm_skip_emulated_instruction(vcpu);
	kvm_queue_exception(vcpu, UD_VECTOR);
	return 1;
}

void kvx_vmx_hardware_setup(kvx_exit_handler_t handlers[])
{
	kvx_vmx_vmfunc_fallback = handlers[EXIT_REASON_VMFUNC];
	handlers[EXIT_REASON_VMFUNC] = kvx_vmx_handle_vmfunc;
}
