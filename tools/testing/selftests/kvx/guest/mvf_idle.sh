#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the nested guest of mvf_qemu_test, mvf_qemu_migration_novf: no VF,
# a KVXG-TICK line a second, for a migration of the same guest without the
# VF (the test machine's own floor for QEMU's downtime).

i=0
echo "KVXG-MIG-READY"
while :; do
	i=$((i + 1))
	echo "KVXG-TICK $i"
	sleep 1
done
