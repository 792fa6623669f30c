// SPDX-License-Identifier: GPL-2.0
/*
 * kvx core, linked into kvm.ko.
 *
 * The patched kvm.ko must be told apart from the distribution's at a glance:
 * it says so in dmesg when it loads and exposes the kvx version both as a
 * read-only module parameter (/sys/module/kvm/parameters/kvx_version) and in
 * modinfo.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#include "kvx_internal.h"
#include "windows.h"
#include "../mmu/mmu_internal.h"

KVX_DEFINE_VERSION_PARAM("kvm.ko");

void kvx_x86_module_init(void)
{
	pr_info("kvm.ko built with kvx %s\n", kvx_version);
	kvx_windows_init();
}

/*
 * KVM's ioctl and capability switches send what they do not know here;
 * each kvx feature takes its own numbers and leaves the rest with KVM's
 * answer for unknown ones.
 */
int kvx_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVX_CAP_VIEWS:
	case KVX_CAP_VIEWS_VMFUNC:
		return kvx_views_check_extension(kvm, ext);
	case KVX_CAP_WRITE_TRACE:
		return kvx_wtrace_check_extension(kvm, ext);
	case KVX_CAP_WINDOWS:
		return kvx_windows_check_extension(kvm);
	default:
		return 0;
	}
}

int kvx_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVX_CAP_VIEWS:
		return kvx_views_enable_cap(kvm, cap);
	case KVX_CAP_WRITE_TRACE:
		return kvx_wtrace_enable_cap(kvm, cap);
	case KVX_CAP_WINDOWS:
		return kvx_windows_enable(kvm, cap);
	default:
		return -EINVAL;
	}
}

int kvx_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVX_WTRACE_SET_RANGE:
	case KVX_WTRACE_HARVEST:
		return kvx_wtrace_vm_ioctl(kvm, ioctl, argp);
	case KVX_SET_WINDOW:
	case KVX_REMOVE_WINDOW:
		return kvx_windows_vm_ioctl(kvm, ioctl, argp);
	default:
		return kvx_views_vm_ioctl(kvm, ioctl, argp);
	}
}

void kvx_destroy_vm(struct kvm *kvm)
{
	kvx_wtrace_destroy_vm(kvm);
	/* Windows are a layer on top of views: they go first. */
	kvx_windows_destroy_vm(kvm);
	kvx_views_destroy_vm(kvm);
}

/* kvm_faultin_pfn(), after the mmu_seq snapshot. */
int kvx_mmu_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	int r;

	if (!kvx_windows_faultin(vcpu, fault, &r))
		r = kvx_views_faultin(vcpu, fault);
	if (r == RET_PF_CONTINUE)
		kvx_wtrace_faultin(vcpu, fault);
	return r;
}
