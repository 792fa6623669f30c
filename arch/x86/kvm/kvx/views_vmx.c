// SPDX-License-Identifier: GPL-2.0
/*
 * kvx views on VMX, linked into kvm-intel.ko: VMFUNC leaf 0 (EPTP
 * switching) for L1, so a guest switches views without a VM exit.
 *
 * Each vCPU has its own EPTP list page whose entries mirror the view roots
 * that vCPU holds references on (views.h), so only the vCPU's own thread
 * writes it.  After every exit KVM reads EPT_POINTER back to learn which
 * view the guest is in.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <linux/moduleparam.h>
#include <asm/vmx.h>

#include "kvx_internal.h"
#include "views.h"
#include "../mmu/spte.h"
#include "../smm.h"
#include "../x86.h"
#include "../vmx/capabilities.h"
#include "../vmx/vmx.h"
#include "../vmx/vmx_ops.h"

static bool kvx_vmfunc = true;
module_param(kvx_vmfunc, bool, 0444);
MODULE_PARM_DESC(kvx_vmfunc,
		 "Let guests switch kvx views with VMFUNC (else: hypercall)");

static bool kvx_vmx_can_vmfunc(void)
{
	u64 vmfunc = 0;

	if (!kvx_vmfunc || !enable_ept || !cpu_has_vmx_vmfunc())
		return false;
	if (rdmsrl_safe(MSR_IA32_VMX_VMFUNC, &vmfunc))
		return false;
	return vmfunc & VMX_VMFUNC_EPTP_SWITCHING;
}

void kvx_vmx_views_init(void)
{
	struct kvx_views_vendor v = {
		.vmfunc = kvx_vmx_can_vmfunc(),
		.exec_only = enable_ept && cpu_has_vmx_ept_execute_only(),
		.root_tagged_tlb = enable_ept,
		.walks_are_writes = enable_ept && enable_ept_ad_bits,
	};

	kvx_views_set_vendor(&v);
	pr_info("views: switching by %s\n", v.vmfunc ? "VMFUNC" : "hypercall");
}

static struct kvx_view_vcpu *kvx_vmx_vv(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);

	return vv && vv->eptp_list ? vv : NULL;
}

/* vmx_secondary_exec_control(): keep VMFUNC once the list is in the VMCS. */
bool kvx_vmx_vmfunc_wanted(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_vmx_vv(vcpu);

	return vv && vv->list_loaded && !is_smm(vcpu);
}

/*
 * vmx_load_mmu_pgd(), after EPT_POINTER was written (vmcs01 current unless
 * in guest mode): rewrite the EPTP list if the roots or the visible set
 * changed, and turn VMFUNC on or off.
 */
void kvx_vmx_load_eptp_list(struct kvm_vcpu *vcpu, u64 eptp)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	struct kvx_view_vcpu *vv = kvx_vmx_vv(vcpu);
	struct vcpu_vmx *vmx = to_vmx(vcpu);
	int level = vcpu->arch.root_mmu.root_role.level;
	u64 gen;
	int v;

	if (!vv || is_guest_mode(vcpu))
		return;
	if (is_smm(vcpu)) {
		/* SMM runs in view 0 only. */
		secondary_exec_controls_clearbit(vmx, SECONDARY_EXEC_ENABLE_VMFUNC);
		return;
	}

	vv->loaded_eptp = eptp;
	gen = atomic64_read(&kv->gen);
	if (vv->list_gen != gen) {
		for (v = 0; v < KVX_VIEWS_MAX; v++) {
			hpa_t hpa = v == vv->active ?
				    vcpu->arch.root_mmu.root.hpa : vv->root[v];
			u64 e = 0;

			if (v < kv->nr_views && test_bit(v, &kv->visible) &&
			    VALID_PAGE(hpa))
				e = construct_eptp(vcpu, hpa, level);
			/* A root new to this vCPU may have stale TLB entries. */
			if (e && test_bit(v, &vv->new_roots))
				ept_sync_context(e);
			vv->eptp[v] = e;
			WRITE_ONCE(vv->eptp_list[v], e);
		}
		vv->new_roots = 0;
		vv->list_gen = gen;
	}
	/* The active view is always in the list, visible or not. */
	if (vv->eptp[vv->active] != eptp) {
		vv->eptp[vv->active] = eptp;
		WRITE_ONCE(vv->eptp_list[vv->active], eptp);
	}
	if (!vv->list_loaded) {
		vmcs_write64(EPTP_LIST_ADDRESS, __pa(vv->eptp_list));
		vmcs_write64(VM_FUNCTION_CONTROL, VMX_VMFUNC_EPTP_SWITCHING);
		vv->list_loaded = true;
	}
	secondary_exec_controls_setbit(vmx, SECONDARY_EXEC_ENABLE_VMFUNC);
}

/*
 * kvx_vmx_sync_view(), right after the exit and before any other KVM work:
 * the guest may have switched views with VMFUNC; follow it.  False when
 * the vCPU does not switch by VMFUNC at this exit.
 */
bool kvx_vmx_views_sync(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_vmx_vv(vcpu);
	u64 eptp;
	int v;

	if (!vv || !vv->list_loaded || is_guest_mode(vcpu) ||
	    !(secondary_exec_controls_get(to_vmx(vcpu)) &
	      SECONDARY_EXEC_ENABLE_VMFUNC))
		return false;
	eptp = vmcs_read64(EPT_POINTER);
	if (unlikely(eptp != vv->loaded_eptp)) {
		for (v = 0; v < KVX_VIEWS_MAX; v++) {
			if (vv->eptp[v] == eptp)
				break;
		}
		/* The list only holds EPTPs we wrote: this cannot happen. */
		if (KVM_BUG_ON(v == KVX_VIEWS_MAX, vcpu->kvm))
			return false;
		vv->loaded_eptp = eptp;
		kvx_view_hw_switched(vcpu, v);
	}
	return true;
}

/*
 * A VMFUNC the CPU refused, for L1 (vmx.c): an empty entry of a visible
 * view is refilled by switching through KVM.  False if the views refuse.
 */
bool kvx_vmx_views_vmfunc(struct kvm_vcpu *vcpu, u32 function, u32 index)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);

	if (function != 0 || index >= kv->nr_views ||
	    !test_bit(index, &kv->visible) || !kvx_vmx_vv(vcpu) || is_smm(vcpu))
		return false;
	kvx_view_set_active(vcpu, index);
	return true;
}
