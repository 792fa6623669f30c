// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_vfio_admin_test: the VF's operator interface in sysfs and its life cycle:
 * a second VF, removal while a VMM holds the VF open.
 *
 * See mvf_vfio_test.h.
 */
#include "mvf_vfio_test.h"

/*
 * The remover @child waits for the device to be closed: close it (@device
 * is set to -1) and reap the child, waiting 10 s at most; a child stuck in
 * the kernel cannot be reaped, it is killed and not waited for.  What
 * waitpid() returned, @child once the removal finished, its status in
 * @status.
 */
static pid_t close_and_reap(int *device, pid_t child, int *status)
{
	struct timespec delay = { .tv_nsec = 100 * 1000 * 1000 };
	pid_t done = 0;
	int i;

	close(*device);
	*device = -1;
	for (i = 0; i < 100 && !done; i++) {
		done = waitpid(child, status, WNOHANG);
		if (!done)
			nanosleep(&delay, NULL);
	}
	if (!done)
		kill(child, SIGKILL);
	return done;
}

/*
 * What the operator sets, in sysfs (<mdev>/kvx_mvf/): the admin MAC and
 * VLAN of a VF no user holds open, taken by the VF at once and at every
 * reset; bad input refused with EINVAL and a write while the VF is open
 * with EBUSY, either changing nothing; the VF's generation and its type's
 * compatibility.  On d073233 there was no kvx_mvf directory.
 */
TEST_F_TIMEOUT(vfio, admin_sysfs, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const char * const bad_macs[] = {
		"\n", "02:00:00:00:00", "02:00:00:00:00:01:02",
		"01:00:5e:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff",
		"02:00:00:00:00:0g", "02-00-00-00-00-01", "02:00:00:00:00:01x",
		" 02:00:00:00:00:01", "02:00:00:00:00:01\n\n",
	};
	static const char * const bad_vlans[] = {
		"\n", "4095", "65536", "-1", "abc", "1 2", "0x10", "010",
		"100x", " 5", "+5",
	};
	char before[2048], after[2048], mac[32], desc[256];
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	unsigned int i;
	struct vf b;

	/* The VF of the earlier tests is open: nothing can be set. */
	snprintf(mac, sizeof(mac), "%s", mvf_attr(vf, "admin_mac"));
	ASSERT_STREQ(mac, mvf_state(vf, "admin_mac")) {
		TH_LOG("sysfs %s, debugfs %s", mac, mvf_state(vf, "admin_mac"));
	}
	ASSERT_STREQ(mvf_attr(vf, "admin_vlan"), "0");
	ASSERT_STREQ(mvf_attr(vf, "generation"), mvf_state(vf, "generation"));
	ASSERT_EQ(mvf_attr_write(vf, "admin_mac", "02:00:00:00:00:42"), -EBUSY);
	ASSERT_EQ(mvf_attr_write(vf, "admin_vlan", "7"), -EBUSY);
	ASSERT_EQ(mvf_attr_write(vf, "admin_mac", "bad"), -EINVAL);
	ASSERT_STREQ(mvf_attr(vf, "admin_mac"), mac) {
		TH_LOG("changed while open");
	}
	ASSERT_STREQ(mvf_attr(vf, "admin_vlan"), "0") {
		TH_LOG("changed while open");
	}

	/* A VF no user holds: set at once. */
	b = (struct vf)MVF_VF_INIT;
	ASSERT_EQ(mvf_mdev_create(&b, MVF_TYPE), 0);
	ASSERT_EQ(0, mvf_attr_write(&b, "admin_mac", "02:00:00:00:00:42\n"));
	ASSERT_EQ(0, mvf_attr_write(&b, "admin_vlan", "42"));
	ASSERT_STREQ(mvf_attr(&b, "admin_mac"), "02:00:00:00:00:42") {
		TH_LOG("%s", mvf_attr(&b, "admin_mac"));
	}
	ASSERT_STREQ(mvf_state(&b, "admin_mac"), "02:00:00:00:00:42") {
		TH_LOG("%s", mvf_attr(&b, "admin_mac"));
	}
	ASSERT_STREQ(mvf_state(&b, "mac"), "02:00:00:00:00:42") {
		TH_LOG("%s", mvf_attr(&b, "admin_mac"));
	}
	ASSERT_STREQ(mvf_attr(&b, "admin_vlan"), "42");
	ASSERT_STREQ(mvf_state(&b, "vlans"), "42");
	ASSERT_EQ(0, mvf_attr_write(&b, "admin_vlan", "4094\n"));
	ASSERT_STREQ(mvf_attr(&b, "admin_vlan"), "4094");
	ASSERT_EQ(0, mvf_attr_write(&b, "admin_vlan", "42"));

	/* Bad input: EINVAL, nothing changed. */
	ASSERT_EQ(0, mvf_state_dump(&b, before, sizeof(before)));
	for (i = 0; i < ARRAY_SIZE(bad_macs); i++) {
		ASSERT_EQ(mvf_attr_write(&b, "admin_mac", bad_macs[i]),
			  -EINVAL) {
			TH_LOG("MAC '%s' accepted", bad_macs[i]);
		}
	}
	for (i = 0; i < ARRAY_SIZE(bad_vlans); i++) {
		ASSERT_EQ(mvf_attr_write(&b, "admin_vlan", bad_vlans[i]),
			  -EINVAL) {
			TH_LOG("VLAN '%s' accepted", bad_vlans[i]);
		}
	}
	ASSERT_EQ(0, mvf_state_dump(&b, after, sizeof(after)));
	ASSERT_STREQ(before, after) {
		TH_LOG("bad input changed the VF:\n%s\n--\n%s", before, after);
	}
	ASSERT_STREQ(mvf_attr(&b, "admin_mac"), "02:00:00:00:00:42");
	ASSERT_STREQ(mvf_attr(&b, "admin_vlan"), "42");

	/*
	 * Opened, the VF driver gets them at RESET; the port VLAN is the
	 * operator's, so SET_VLAN is refused; the settings are held.
	 */
	vf_open_in(_metadata, &b, vf);
	ASSERT_NE(0, mbx_xfer(&b, r, 1, KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	mac_words(_metadata, "02:00:00:00:00:42", w);
	ASSERT_EQ(r[1], w[0]) {
		TH_LOG("RESET MAC 0x%x 0x%x", r[1], r[2]);
	}
	ASSERT_EQ(r[2], w[1]) {
		TH_LOG("RESET MAC 0x%x 0x%x", r[1], r[2]);
	}
	ASSERT_STREQ(mvf_state(&b, "vlans"), "42");
	vlan_op(_metadata, &b, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_NACK,
		KVX_MVF_ERR_PERM);
	vlan_op(_metadata, &b, KVX_MVF_VLAN_DEL, 42, KVX_MVF_MSG_NACK,
		KVX_MVF_ERR_PERM);
	ASSERT_STREQ(mvf_state(&b, "vlans"), "42");
	ASSERT_EQ(mvf_attr_write(&b, "admin_vlan", "0"), -EBUSY);
	ASSERT_EQ(mvf_attr_write(&b, "admin_mac", "02:00:00:00:00:43"), -EBUSY);
	ASSERT_STREQ(mvf_attr(&b, "admin_vlan"), "42");
	close(b.device);
	b.device = -1;
	/* Closed again: no port VLAN, the VF's filter is its own. */
	ASSERT_EQ(0, mvf_attr_write(&b, "admin_vlan", "0"));
	assert_state_empty(_metadata, &b, "vlans");
	vf_del(&b);

	/* Compatibility: the generation, the type to create for it. */
	vf_add_type(_metadata, &b, vf, "kvx-mvf-vf-g2");
	ASSERT_STREQ(mvf_attr(&b, "generation"), "2");
	ASSERT_EQ(0,
		  mvf_read_file(MVF_TYPES_DIR "/kvx-mvf-vf-g2/description",
				desc, sizeof(desc))) {
		TH_LOG("%s", desc);
	}
	ASSERT_NE(NULL,
		  strstr(desc,
			 "resumes migration streams of generation 2 only")) {
		TH_LOG("%s", desc);
	}
	vf_del(&b);
}

TEST_F_TIMEOUT(vfio, second_vf, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vf b = MVF_VF_INIT;
	char mac_a[32];
	long avail = mvf_read_long(MVF_TYPE_DIR "/available_instances");

	ASSERT_EQ(mvf_mdev_create(&b, MVF_TYPE), 0);
	ASSERT_EQ(mvf_read_long(MVF_TYPE_DIR "/available_instances"),
		  avail - 1);
	snprintf(mac_a, sizeof(mac_a), "%s", mvf_state(vf, "admin_mac"));
	ASSERT_STRNE("", mvf_state(&b, "admin_mac"));
	ASSERT_STRNE(mvf_state(&b, "admin_mac"), mac_a) {
		TH_LOG("same MAC %s", mac_a);
	}

	ASSERT_EQ(mvf_mdev_remove(b.uuid), 0);
	ASSERT_EQ(0, mvf_mdev_exists(b.uuid));
	ASSERT_EQ(0, mvf_debugfs_exists(b.uuid));
	ASSERT_EQ(mvf_read_long(MVF_TYPE_DIR "/available_instances"), avail);
}

/*
 * A child that removes @b's mdev, which blocks while the device is open.
 * It closes its copies of the VFs' files (and @fd if not -1) first: they
 * would keep the device open forever.
 */
static pid_t fork_remover(struct vf *vf, struct vf *b, int fd)
{
	pid_t child = fork();

	if (child)
		return child;
	close(b->device);
	close(b->group);
	close(vf->device);
	close(vf->group);
	close(vf->container);
	if (fd >= 0)
		close(fd);
	_exit(mvf_mdev_remove(b->uuid) ? 1 : 0);
}

/*
 * The VMM closes the device: @child's removal of @b, blocked until then,
 * must end at once and take the mdev and its debugfs view with it.
 */
static void assert_removed(struct __test_metadata *_metadata, struct vf *b,
			   pid_t child)
{
	int status;
	pid_t done = close_and_reap(&b->device, child, &status);

	ASSERT_EQ(done, child) {
		TH_LOG("remove still blocked after close");
	}
	ASSERT_NE(0, WIFEXITED(status)) {
		TH_LOG("remove failed");
	}
	ASSERT_EQ(WEXITSTATUS(status), 0) {
		TH_LOG("remove failed");
	}
	ASSERT_EQ(0, mvf_mdev_exists(b->uuid));
	ASSERT_EQ(0, mvf_debugfs_exists(b->uuid));
}

/*
 * Removing the mdev while a VMM holds it open asks the VMM to let it go,
 * as vfio-pci does (vfio_device_ops.request): the eventfd the VMM set on
 * VFIO_PCI_REQ_IRQ_INDEX fires while the removal waits; QEMU then unplugs
 * the device from its guest and closes it, and the removal completes.  On
 * d073233 the index had no eventfd (SET_IRQS: EINVAL) and a removal
 * waited for a VMM that was never told.
 */
TEST_F_TIMEOUT(vfio, remove_request, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_irq_info ii = {
		.argsz = sizeof(ii), .index = VFIO_PCI_REQ_IRQ_INDEX,
	};
	struct pollfd pfd = { .events = POLLIN };
	int efd, status;
	pid_t child;
	struct vf b;
	u64 n;

	vf_add(_metadata, &b, vf);
	ASSERT_EQ(0, ioctl(b.device, VFIO_DEVICE_GET_IRQ_INFO, &ii));
	ASSERT_EQ(ii.count, 1) {
		TH_LOG("REQ count %u flags 0x%x", ii.count, ii.flags);
	}
	ASSERT_EQ(ii.flags, (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE)) {
		TH_LOG("REQ count %u flags 0x%x", ii.count, ii.flags);
	}
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX,
			      VFIO_IRQ_SET_DATA_EVENTFD, 1, 12345),
		  -EBADF);
	ASSERT_EQ(mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX,
			      VFIO_IRQ_SET_DATA_EVENTFD, 2, efd),
		  -EINVAL);
	ASSERT_EQ(0,
		  mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX,
			      VFIO_IRQ_SET_DATA_EVENTFD, 1, efd)) {
		TH_LOG("SET_IRQS REQ: %s", strerror(errno));
	}
	/* Loopback, as for MSI; not the MSI vector's eventfd. */
	ASSERT_EQ(0,
		  mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX,
			      VFIO_IRQ_SET_DATA_BOOL, 1, 1));
	ASSERT_EQ(irqs(_metadata, efd), 1);
	ASSERT_EQ(0, set_msi(&b, VFIO_IRQ_SET_DATA_NONE, 1, 0));
	ASSERT_EQ(irqs(_metadata, efd), 0) {
		TH_LOG("MSI signalled the request eventfd");
	}

	child = fork_remover(vf, &b, efd);
	ASSERT_GE(child, 0);

	pfd.fd = efd;
	ASSERT_EQ(poll(&pfd, 1, 20000), 1) {
		TH_LOG("no device request within 20 s");
	}
	n = irqs(_metadata, efd);
	ASSERT_GE(n, 1);
	ASSERT_EQ(waitpid(child, &status, WNOHANG), 0) {
		TH_LOG("remove did not wait for the open device");
	}
	ksft_print_msg("remove: %llu device request(s) while the VMM held the VF\n",
		       (unsigned long long)n);

	/* The VMM unplugs the device and closes it. */
	assert_removed(_metadata, &b, child);
	close(efd);
	vf_del(&b);
}

/*
 * Removing the mdev while the device is open waits for the user to close
 * it; the device keeps working meanwhile.
 */
TEST_F_TIMEOUT(vfio, remove_while_open, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct timespec delay = { .tv_nsec = 100 * 1000 * 1000 };
	int status, i;
	pid_t child;
	struct vf b;

	/*
	 * A VF of its own: the harness's process holds the tests' VF open
	 * until the end.
	 */
	vf_add(_metadata, &b, vf);
	child = fork_remover(vf, &b, -1);
	ASSERT_GE(child, 0);

	for (i = 0; i < 5; i++)
		nanosleep(&delay, NULL);
	ASSERT_EQ(waitpid(child, &status, WNOHANG), 0) {
		TH_LOG("remove did not wait for the open device");
	}
	ASSERT_EQ(mvf_reg_read(&b, KVX_MVF_REG_ID), KVX_MVF_ID_MAGIC);

	assert_removed(_metadata, &b, child);
	vf_del(&b);
}

MVF_HARNESS_MAIN
