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

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

#include "kvx.h"

KVX_DEFINE_VERSION_PARAM("kvm.ko");

void kvx_x86_module_init(void)
{
	pr_info("kvm.ko built with kvx %s\n", kvx_version);
}
