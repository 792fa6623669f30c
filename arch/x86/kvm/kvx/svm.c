// SPDX-License-Identifier: GPL-2.0
/*
 * kvx SVM part, linked into kvm-amd.ko.
 *
 * SVM has no VMFUNC: kvx views are switched by hypercall there.  Report the
 * features kvx relies on at load.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "kvx_internal.h"
#include "views.h"
#include "../svm/svm.h"

KVX_DEFINE_VERSION_PARAM("kvm-amd.ko");

void kvx_svm_module_init(void)
{
	/* NPT entries are tagged by ASID only: a switch flushes. */
	static const struct kvx_views_vendor v = { .vmmcall = true };

	kvx_views_set_vendor(&v);
	pr_info("kvm-amd.ko built with kvx %s\n", kvx_version);
	pr_info("svm: npt=%d view switching by hypercall\n", npt_enabled);
}
