// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the mediated virtual function driver.
 *
 * The module creates one PF, a device of class "kvx-mvf" registered as an
 * mdev parent with one type per compatibility generation, "kvx-mvf-vf-g1"
 * and "kvx-mvf-vf-g2", and "kvx-mvf-vf", whose generation is the module
 * parameter's.  Each mdev instance is a VF: a VFIO PCI device (vfio_dev.c)
 * whose registers (dev.c, mbx.c) talk to the in-kernel PF side (pf.c).
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "debugfs.h"
#include "dev.h"
#include "mvf.h"
#include "pf.h"
#include "sysfs.h"
#include "vfio_dev.h"

static const struct class kvx_mvf_class = {
	.name = KVX_MVF_NAME,
};

static struct kvx_mvf_pf *kvx_mvf_pf0;

static int kvx_mvf_probe(struct mdev_device *mdev)
{
	struct kvx_mvf_vf *vf;
	struct kvx_mvf_pf *pf;
	int ret;

	vf = vfio_alloc_device(kvx_mvf_vf, vdev, &mdev->dev, &kvx_mvf_vfio_ops);
	if (IS_ERR(vf))
		return PTR_ERR(vf);
	pf = vf->pf;

	ret = vfio_register_emulated_iommu_dev(&vf->vdev);
	if (ret)
		goto err_put_vdev;

	dev_set_drvdata(&mdev->dev, vf);
	mutex_lock(&pf->lock);
	list_add_tail(&vf->pf_node, &pf->vfs);
	mutex_unlock(&pf->lock);
	kvx_mvf_pf_debugfs_add_vf(vf);
	return 0;

err_put_vdev:
	vfio_put_device(&vf->vdev);
	return ret;
}

/*
 * Removal while a user holds the device open waits in
 * vfio_unregister_group_dev() until the user closes it; the PF's view goes
 * first so that nothing new reaches the VF from the PF side.
 */
static void kvx_mvf_remove(struct mdev_device *mdev)
{
	struct kvx_mvf_vf *vf = dev_get_drvdata(&mdev->dev);
	struct kvx_mvf_pf *pf = vf->pf;

	kvx_mvf_pf_debugfs_remove_vf(vf);
	mutex_lock(&pf->lock);
	list_del(&vf->pf_node);
	mutex_unlock(&pf->lock);

	vfio_unregister_group_dev(&vf->vdev);
	vfio_put_device(&vf->vdev);
}

/* The compatibility information of a type, in its sysfs "description". */
static ssize_t kvx_mvf_show_description(struct mdev_type *type, char *buf)
{
	unsigned int gen = kvx_mvf_type_generation(type);

	if (!gen)
		return sysfs_emit(buf,
				  "generation: the module parameter's (now %u); migrates to the type of the source's generation\n",
				  kvx_mvf_dev_new_generation(0));
	return sysfs_emit(buf,
			  "generation %u: VERSION 0x%x, API 1.0-1.%u, revision ID %u; resumes migration streams of generation %u only\n",
			  gen, KVX_MVF_ABI_VERSION << KVX_MVF_VERSION_ABI_SHIFT |
			  gen, gen >= 2 ? 2 : 1, KVX_MVF_PCI_REVISION, gen);
}

static struct mdev_driver kvx_mvf_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.max_instances = KVX_MVF_MAX_VFS,
	.driver = {
		.name = KVX_MVF_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		/* <mdev>/kvx_mvf/: what the operator sets (sysfs.c). */
		.dev_groups = kvx_mvf_vf_groups,
	},
	.probe = kvx_mvf_probe,
	.remove = kvx_mvf_remove,
	.show_description = kvx_mvf_show_description,
};

static void kvx_mvf_pf_release(struct device *dev)
{
	struct kvx_mvf_pf *pf = container_of(dev, struct kvx_mvf_pf, dev);

	ida_destroy(&pf->vf_ida);
	mutex_destroy(&pf->lock);
	kfree(pf);
}

static struct kvx_mvf_pf *kvx_mvf_pf_create(unsigned int id)
{
	static const char * const names[][2] = {
		{ "vf", "kvx mediated VF" },
		{ "vf-g1", "kvx mediated VF, generation 1" },
		{ "vf-g2", "kvx mediated VF, generation 2" },
	};
	unsigned int i;
	struct kvx_mvf_pf *pf;
	int ret;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return ERR_PTR(-ENOMEM);

	mutex_init(&pf->lock);
	INIT_LIST_HEAD(&pf->vfs);
	ida_init(&pf->vf_ida);
	kvx_mvf_pf_link_init(&pf->link);
	BUILD_BUG_ON(ARRAY_SIZE(names) != KVX_MVF_NR_TYPES);
	for (i = 0; i < KVX_MVF_NR_TYPES; i++) {
		pf->vf_types[i].type.sysfs_name = names[i][0];
		pf->vf_types[i].type.pretty_name = names[i][1];
		pf->vf_types[i].generation = i;
		pf->types[i] = &pf->vf_types[i].type;
	}

	device_initialize(&pf->dev);
	pf->dev.class = &kvx_mvf_class;
	pf->dev.release = kvx_mvf_pf_release;
	ret = dev_set_name(&pf->dev, KVX_MVF_NAME "-pf%u", id);
	if (ret)
		goto err_put_dev;
	ret = device_add(&pf->dev);
	if (ret)
		goto err_put_dev;

	kvx_mvf_pf_debugfs_add_pf(pf);
	ret = mdev_register_parent(&pf->parent, &pf->dev, &kvx_mvf_driver,
				   pf->types, ARRAY_SIZE(pf->types));
	if (ret)
		goto err_remove_debugfs;
	return pf;

err_remove_debugfs:
	kvx_mvf_pf_debugfs_remove_pf(pf);
	device_del(&pf->dev);
err_put_dev:
	put_device(&pf->dev);
	return ERR_PTR(ret);
}

/* Removes the PF's VFs first, waiting for their users to close them. */
static void kvx_mvf_pf_destroy(struct kvx_mvf_pf *pf)
{
	mdev_unregister_parent(&pf->parent);
	kvx_mvf_pf_debugfs_remove_pf(pf);
	device_unregister(&pf->dev);
}

static int __init kvx_mvf_init(void)
{
	int ret;

	kvx_mvf_pf_debugfs_init();

	ret = class_register(&kvx_mvf_class);
	if (ret)
		goto err_debugfs;

	ret = mdev_register_driver(&kvx_mvf_driver);
	if (ret)
		goto err_class;

	kvx_mvf_pf0 = kvx_mvf_pf_create(0);
	if (IS_ERR(kvx_mvf_pf0)) {
		ret = PTR_ERR(kvx_mvf_pf0);
		goto err_driver;
	}
	return 0;

err_driver:
	mdev_unregister_driver(&kvx_mvf_driver);
err_class:
	class_unregister(&kvx_mvf_class);
err_debugfs:
	kvx_mvf_pf_debugfs_exit();
	return ret;
}

static void __exit kvx_mvf_exit(void)
{
	kvx_mvf_pf_destroy(kvx_mvf_pf0);
	mdev_unregister_driver(&kvx_mvf_driver);
	class_unregister(&kvx_mvf_class);
	kvx_mvf_pf_debugfs_exit();
}

module_init(kvx_mvf_init);
module_exit(kvx_mvf_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kvx mediated SR-IOV virtual function (VFIO mdev)");
