// SPDX-License-Identifier: GPL-2.0
/*
 * kvx sub-page windows on VMX, linked into kvm-intel.ko: the exits of a VM
 * whose windows switch by VMFUNC.  Every exception is intercepted and
 * given back to the guest in view 0, and a vCPU stopped with its stack on
 * the trampoline page gets its own stack back.  The view switching itself
 * is in views_vmx.c; subpage.rst 3 has the design.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <asm/vmx.h>

#include "kvx_internal.h"
#include "windows.h"
#include "../x86.h"
#include "../vmx/vmx.h"
#include "../vmx/vmx_ops.h"

/*
 * kvx_vmx_sync_view(), after the views followed the guest's VMFUNC: nothing
 * but an EPT violation of the trampoline is handled in a window view: every
 * other exit, and every event KVM injects, sees view 0 (subpage.rst 3.1).
 */
void kvx_vmx_windows_sync(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);

	if (likely(!vv) || likely(!vv->active) ||
	    to_vmx(vcpu)->exit_reason.basic == EXIT_REASON_EPT_VIOLATION ||
	    !kvx_is_window_view(kvx_views(vcpu->kvm), vv->active))
		return;
	kvx_window_leave(vcpu);
}

/*
 * A VMFUNC the CPU and the views refused (vmx.c): if it named the view of a
 * window removed under the trampoline, stay in view 0 and let the check
 * after the VMFUNC see ECX != the window's view (-EAGAIN) rather than take
 * an exception (subpage.rst 3.3).
 */
bool kvx_vmx_windows_vmfunc(struct kvm_vcpu *vcpu, u32 function, u32 index)
{
	struct kvx_windows *ws = kvx_vmfunc_windows(vcpu->kvm);

	if (function != 0 || !ws || index >= KVX_VIEWS_MAX ||
	    !test_bit(index, &ws->views))
		return false;
	kvm_rcx_write(vcpu, 0);
	return true;
}

/*
 * vmx_handle_exit(), first thing, IRQs on: a vCPU in view 0 whose RSP still
 * points into the trampoline page (left a window view, or stopped between
 * the trampoline's stack switch and its VMFUNC) gets its own stack back
 * before KVM injects anything (kvx_window_fix_rsp()).
 */
void kvx_vmx_handle_exit(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);

	if (likely(!vv) || vv->active || !kvx_vmfunc_windows(vcpu->kvm))
		return;
	kvx_window_fix_rsp(vcpu);
}

/*
 * vmx_update_exception_bitmap(), last: with VMFUNC windows every exception
 * exits, #PF whatever its error code, so that none is delivered through a
 * guest-controlled IDT or IST stack while the vCPU is in a window view.
 * kvx_vmx_reflect_exception() gives them back to the guest in view 0.
 */
u32 kvx_vmx_exception_bitmap(struct kvm_vcpu *vcpu, u32 eb)
{
	if (is_guest_mode(vcpu) || !kvx_vmfunc_windows(vcpu->kvm))
		return eb;
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	return ~0u;
}

/*
 * handle_exception_nmi(), after the #MC, NMI, #NM and #UD cases: reinject
 * the exceptions only kvx_vmx_exception_bitmap() intercepts.  The exit
 * path has put the vCPU in view 0 already.  An exception raised while an
 * event was delivered finds that event re-queued by
 * vmx_complete_interrupts(), and kvm_multiple_exception() merges the two.
 */
bool kvx_vmx_reflect_exception(struct kvm_vcpu *vcpu, u32 intr_info)
{
	u32 vector = intr_info & INTR_INFO_VECTOR_MASK;
	u32 error_code = 0;

	if (is_guest_mode(vcpu) || to_vmx(vcpu)->rmode.vm86_active ||
	    !kvx_vmfunc_windows(vcpu->kvm))
		return false;

	switch (vector) {
	case DB_VECTOR:
	case AC_VECTOR:
		return false;			/* KVM's own handling */
	case BP_VECTOR:
		if (vcpu->guest_debug & KVM_GUESTDBG_USE_SW_BP)
			return false;
		fallthrough;
	case OF_VECTOR:
		vcpu->arch.event_exit_inst_len =
			vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
		kvm_queue_exception(vcpu, vector);
		break;
	case GP_VECTOR:
		if (enable_vmware_backdoor)
			return false;
		fallthrough;
	default:
		if (vector == PF_VECTOR && vmx_need_pf_intercept(vcpu))
			return false;
		if (intr_info & INTR_INFO_DELIVER_CODE_MASK)
			error_code = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
		if (vector == PF_VECTOR) {
			kvm_fixup_and_inject_pf_error(vcpu, vmx_get_exit_qual(vcpu),
						      error_code);
		} else if (intr_info & INTR_INFO_DELIVER_CODE_MASK) {
			kvm_queue_exception_e(vcpu, vector, error_code);
		} else {
			kvm_queue_exception(vcpu, vector);
		}
	}
	++vcpu->stat.kvx_window_reflected;
	return true;
}
