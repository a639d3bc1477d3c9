/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The body of a fixture model module: registers KNN_FIX_FP (two float32 in,
 * two out) into the application named by the parameter "app", and reports
 * its model id in the read-only parameter "model_id". spin_us busy-waits in
 * run() to make the model slow for the latency guard.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "knn_core.h"

void KNN_FIX_FP(const float *input, float *output, int count);

static char *app = "fixture";
module_param(app, charp, 0444);
MODULE_PARM_DESC(app, "application to register into (default fixture)");
static unsigned int spin_us;
module_param(spin_us, uint, 0644);
MODULE_PARM_DESC(spin_us, "microseconds each inference busy-waits (default 0)");
static int model_id;
module_param(model_id, int, 0444);
MODULE_PARM_DESC(model_id, "the id knn_core gave this model");

static int knn_fix_run(const struct knn_model_ops *ops, const void *input, void *output, void *state)
{
	unsigned int us = READ_ONCE(spin_us);

	if (us)
		udelay(us);
	KNN_FIX_FP(input, output, 2);
	return 0;
}

static struct knn_model_ops knn_fix_ops = {
	.name = KNN_FIX_NAME,
	.owner = THIS_MODULE,
	.input_type = KNN_TYPE_FLOAT32,
	.output_type = KNN_TYPE_FLOAT32,
	.input_bytes = 8,
	.output_bytes = 8,
	.uses_fpu = true,
	.run = knn_fix_run,
};

static int __init knn_fix_init(void)
{
	int id = knn_core_register_model(app, &knn_fix_ops);

	if (id < 0)
		return id;
	model_id = id;
	pr_info(KNN_FIX_NAME ": registered into app %s as model %d\n", app, id);
	return 0;
}

static void __exit knn_fix_exit(void)
{
	knn_core_unregister_model(&knn_fix_ops);
}

module_init(knn_fix_init);
module_exit(knn_fix_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("knn_core test fixture model " KNN_FIX_NAME);
