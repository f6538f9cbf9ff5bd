// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hosts that are not arm64 cannot run an arm64 guest on KVM: cmavm still
 * plans, writes and checks device trees there (--dry-run, dtb check).
 */
#include "vmm/glue/vmm.h"
#include "vmm/util/log.h"

int vmm_run(const struct vm_config *cfg, const struct boot_plan *plan)
{
	(void)cfg;
	(void)plan;
	pr_err("this cmavm was built for a host that is not arm64, where KVM cannot run arm64 "
	       "guests; use --dry-run to see the plan, or tools/demo, which runs cmavm inside "
	       "an emulated arm64 host");
	return 1;
}
