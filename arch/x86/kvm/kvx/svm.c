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

#include "kvx.h"
#include "../svm/svm.h"

static char kvx_version[] = KVX_VERSION;
module_param_string(kvx_version, kvx_version, sizeof(kvx_version), 0444);
MODULE_PARM_DESC(kvx_version, "kvx version this kvm-amd.ko was built from");
MODULE_INFO(kvx, KVX_VERSION);

void kvx_svm_module_init(void)
{
	pr_info("kvm-amd.ko built with kvx %s\n", kvx_version);
	pr_info("svm: npt=%d view switching by hypercall\n", npt_enabled);
}
