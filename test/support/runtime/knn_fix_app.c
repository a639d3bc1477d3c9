// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture application for knn_core's tests: two float32 in, two out. Writing
 * "HEX,HEX" (float32 bits) to the parameter infer runs `repeat` inferences
 * from process context, to softirq_infer from a timer (softirq); activate and
 * rollback call the core's API. The parameter result reads back the last
 * call: "ret=R out=HEX,HEX ok=N" (out is 7fa00000,7fa00000, a marker, when
 * the core left the output untouched).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/version.h>

#include "knn_core.h"

#define KNN_FIX_UNTOUCHED 0x7fa00000u

static char *app_name = "fixture";
module_param_named(app, app_name, charp, 0444);
MODULE_PARM_DESC(app, "application name (default fixture)");
static unsigned int out_min_bits, out_max_bits;
module_param(out_min_bits, uint, 0444);
MODULE_PARM_DESC(out_min_bits, "float32 bits of the lowest allowed output (both 0: any finite)");
module_param(out_max_bits, uint, 0444);
MODULE_PARM_DESC(out_max_bits, "float32 bits of the highest allowed output");
static unsigned int repeat = 1;
module_param(repeat, uint, 0644);
MODULE_PARM_DESC(repeat, "inferences per write to infer or softirq_infer (default 1)");

static struct knn_app *knn_fix_app;
static char knn_fix_result[96] = "none";

struct knn_fix_call {
	u32 input[2];
	u32 output[2];
	unsigned int ok;
	int ret;
};

static void knn_fix_infer(struct knn_fix_call *call)
{
	unsigned int i, n = max(READ_ONCE(repeat), 1u);

	call->ok = 0;
	for (i = 0; i < n; i++) {
		call->output[0] = KNN_FIX_UNTOUCHED;
		call->output[1] = KNN_FIX_UNTOUCHED;
		call->ret = knn_core_infer(knn_fix_app, call->input, call->output, NULL);
		if (!call->ret)
			call->ok++;
	}
}

static void knn_fix_report(const struct knn_fix_call *call)
{
	snprintf(knn_fix_result, sizeof(knn_fix_result), "ret=%d out=%08x,%08x ok=%u",
		 call->ret, call->output[0], call->output[1], call->ok);
}

static int knn_fix_parse(const char *val, struct knn_fix_call *call)
{
	char text[32], *rest = text, *word;
	int i;

	strscpy(text, val, sizeof(text));
	strim(text);
	for (i = 0; i < 2; i++) {
		word = strsep(&rest, ",");
		if (!word || kstrtou32(word, 16, &call->input[i])) {
			pr_err("infer=%s: write two float32 bit patterns in hex, e.g. 3fc00000,c0400000\n", val);
			return -EINVAL;
		}
	}
	return 0;
}

static int knn_fix_set_infer(const char *val, const struct kernel_param *kp)
{
	struct knn_fix_call call;
	int ret = knn_fix_parse(val, &call);

	if (ret)
		return ret;
	knn_fix_infer(&call);
	knn_fix_report(&call);
	return 0;
}

static struct knn_fix_call knn_fix_timer_call;
static DECLARE_COMPLETION(knn_fix_timer_done);
static struct timer_list knn_fix_timer;

static void knn_fix_timer_fn(struct timer_list *timer)
{
	knn_fix_infer(&knn_fix_timer_call);
	complete(&knn_fix_timer_done);
}

static int knn_fix_set_softirq_infer(const char *val, const struct kernel_param *kp)
{
	int ret = knn_fix_parse(val, &knn_fix_timer_call);

	if (ret)
		return ret;
	reinit_completion(&knn_fix_timer_done);
	mod_timer(&knn_fix_timer, jiffies + 1);
	wait_for_completion(&knn_fix_timer_done);
	knn_fix_report(&knn_fix_timer_call);
	return 0;
}

static int knn_fix_set_activate(const char *val, const struct kernel_param *kp)
{
	u32 id;

	if (kstrtou32(val, 0, &id))
		return -EINVAL;
	snprintf(knn_fix_result, sizeof(knn_fix_result), "ret=%d", knn_core_activate(app_name, id));
	return 0;
}

static int knn_fix_set_rollback(const char *val, const struct kernel_param *kp)
{
	snprintf(knn_fix_result, sizeof(knn_fix_result), "ret=%d", knn_core_rollback(app_name));
	return 0;
}

static int knn_fix_get_result(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n", knn_fix_result);
}

static const struct kernel_param_ops knn_fix_infer_ops = { .set = knn_fix_set_infer };
static const struct kernel_param_ops knn_fix_softirq_ops = { .set = knn_fix_set_softirq_infer };
static const struct kernel_param_ops knn_fix_activate_ops = { .set = knn_fix_set_activate };
static const struct kernel_param_ops knn_fix_rollback_ops = { .set = knn_fix_set_rollback };
static const struct kernel_param_ops knn_fix_result_ops = { .get = knn_fix_get_result };
module_param_cb(infer, &knn_fix_infer_ops, NULL, 0200);
module_param_cb(softirq_infer, &knn_fix_softirq_ops, NULL, 0200);
module_param_cb(activate, &knn_fix_activate_ops, NULL, 0200);
module_param_cb(rollback, &knn_fix_rollback_ops, NULL, 0200);
module_param_cb(result, &knn_fix_result_ops, NULL, 0444);

static int __init knn_fix_init(void)
{
	struct knn_app_desc desc = {
		.name = app_name,
		.input_type = KNN_TYPE_FLOAT32,
		.output_type = KNN_TYPE_FLOAT32,
		.input_bytes = 8,
		.output_bytes = 8,
		.output_min_bits = out_min_bits,
		.output_max_bits = out_max_bits,
		.owner = THIS_MODULE,
	};

	timer_setup(&knn_fix_timer, knn_fix_timer_fn, 0);
	knn_fix_app = knn_core_register_app(&desc);
	if (IS_ERR(knn_fix_app))
		return PTR_ERR(knn_fix_app);
	return 0;
}

static void __exit knn_fix_exit(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	timer_delete_sync(&knn_fix_timer);
#else
	del_timer_sync(&knn_fix_timer);
#endif
	knn_core_unregister_app(knn_fix_app);
}

module_init(knn_fix_init);
module_exit(knn_fix_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("knn_core test fixture application");
