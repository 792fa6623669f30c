/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf VFs for kvx selftests on the KVM selftest library: mvf_vfio.h's
 * functions that TEST_ASSERT() they worked, and the VF's group given to a
 * VM.
 */
#ifndef SELFTEST_MVF_UTIL_H
#define SELFTEST_MVF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_util.h"
#include "mvf_vfio.h"

/* The value of "key value" in the VF's debugfs config ("" if none). */
const char *vf_state(struct vf *vf, const char *key);
/* ... as a number; the key must exist. */
uint64_t vf_count(struct vf *vf, const char *key);
/* Wait up to 5 s for vf_count(@key) to be @want; whether it was. */
bool vf_wait_count(struct vf *vf, const char *key, uint64_t want);
/* The mailbox mode, "trapped" or "direct" (debugfs <uuid>/mode). */
void vf_set_mode(struct vf *vf, const char *mode);

/* A new VF, its group in a type1 container; the device is not open yet. */
void vf_create(struct vf *vf);
/* Open the device (an FLR) and find BAR0's region offset. */
void vf_open(struct vf *vf);
/* Map the mailbox page (BAR0 page 1) at vf->mbx_page. */
void vf_map_mbx(struct vf *vf);
/* Unmap, close everything and remove the VF. */
void vf_destroy(struct vf *vf);

/*
 * The group, then the device, as QEMU does it: the device sees the VM.
 * A VM has one VFIO-KVM device (kvm_vfio_create()), for all its groups.
 */
int kvm_vfio_create(struct kvm_vm *vm);
void kvm_vfio_add(int kvm_vfio, struct vf *vf);
/* Both, for a VM of one VF. */
void kvm_vfio_add_group(struct kvm_vm *vm, struct vf *vf);

#endif /* SELFTEST_MVF_UTIL_H */
