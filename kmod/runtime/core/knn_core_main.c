// SPDX-License-Identifier: GPL-2.0
/*
 * knn_core: the application table, the two model slots of each application,
 * activation and rollback, and the module's parameters. The datapath is in
 * knn_core_infer.c, the generic netlink channel in knn_core_channel.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "knn_core_internal.h"

static unsigned int guard_window = 1000;
static unsigned int guard_bad_outputs = 1;
static unsigned int guard_latency_ns;
unsigned int knn_records_per_sec = 20000;

static int knn_param_set_positive(const char *val, const struct kernel_param *kp)
{
	unsigned int value;

	if (kstrtouint(val, 0, &value) || !value) {
		pr_err("%s=%s: use a whole number of at least 1\n", kp->name, val);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = value;
	return 0;
}

static const struct kernel_param_ops knn_param_positive = {
	.set = knn_param_set_positive,
	.get = param_get_uint,
};

module_param_cb(guard_window, &knn_param_positive, &guard_window, 0644);
MODULE_PARM_DESC(guard_window, "inferences per guard window, for applications registered after it is set (default 1000)");
module_param_cb(guard_bad_outputs, &knn_param_positive, &guard_bad_outputs, 0644);
MODULE_PARM_DESC(guard_bad_outputs, "NaN/Inf/out-of-range outputs within a window that roll back at once (default 1)");
module_param(guard_latency_ns, uint, 0644);
MODULE_PARM_DESC(guard_latency_ns, "mean latency budget over a window in ns, 0 off (default 0)");
module_param_named(records_per_sec, knn_records_per_sec, uint, 0644);
MODULE_PARM_DESC(records_per_sec, "records per second and application offered to the channel, 0 none (default 20000)");

DEFINE_MUTEX(knn_core_lock);
struct knn_app __rcu *knn_apps[KNN_MAX_APPS];
/* model ids, under knn_core_lock; never 0 */
static u32 knn_next_model_id;

static struct knn_app *knn_app_at(int i)
{
	return rcu_dereference_protected(knn_apps[i], lockdep_is_held(&knn_core_lock));
}

/* Under knn_core_lock. */
struct knn_app *knn_app_find(const char *name)
{
	int i;

	for (i = 0; i < KNN_MAX_APPS; i++) {
		struct knn_app *app = knn_app_at(i);

		if (app && !strcmp(app->name, name))
			return app;
	}
	return NULL;
}

static struct knn_model *knn_active(struct knn_app *app)
{
	return rcu_dereference_protected(app->active, lockdep_is_held(&app->lock));
}

static const char *knn_type_name(u8 type)
{
	static const char *const names[] = { "?", "float32", "int8", "uint8", "int16", "int32" };

	return type < ARRAY_SIZE(names) ? names[type] : "?";
}

static unsigned int knn_type_size(u8 type)
{
	switch (type) {
	case KNN_TYPE_FLOAT32:
	case KNN_TYPE_INT32:
		return 4;
	case KNN_TYPE_INT16:
		return 2;
	case KNN_TYPE_INT8:
	case KNN_TYPE_UINT8:
		return 1;
	default:
		return 0;
	}
}

static bool knn_name_valid(const char *name)
{
	size_t len = name ? strnlen(name, KNN_NAME_MAX) : 0;
	size_t i;

	if (!len || len >= KNN_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!isalnum(name[i]) && name[i] != '_')
			return false;
	}
	return true;
}

/* Channel errors go back in the extack; errors of module callers go to the log. */
#define knn_fail(extack, fmt, ...)						\
	do {									\
		if (extack)							\
			knn_extack_fmt(extack, fmt, ##__VA_ARGS__);		\
		else								\
			pr_err(fmt "\n", ##__VA_ARGS__);			\
	} while (0)

void knn_guard_reset(struct knn_guard *guard)
{
	atomic_set(&guard->count, 0);
	atomic_set(&guard->bad, 0);
	atomic64_set(&guard->latency_sum, 0);
}

static void knn_app_free(struct knn_app *app)
{
	free_percpu(app->scratch);
	kvfree(app->ring.buf);
	kfree(app);
}

static void knn_model_free(struct knn_model *model)
{
	free_percpu(model->stats);
	kfree(model);
}

int knn_app_create(const struct knn_app_desc *desc, bool from_channel, struct netlink_ext_ack *extack)
{
	unsigned int in_size = knn_type_size(desc->input_type);
	unsigned int out_size = knn_type_size(desc->output_type);
	struct knn_app *app;
	int i, slot = -1;
	u32 payload;

	if (!knn_name_valid(desc->name)) {
		knn_fail(extack, "application name \"%.*s\" is invalid: use 1 to %d of [A-Za-z0-9_]",
			 KNN_NAME_MAX, desc->name ? desc->name : "", KNN_NAME_MAX - 1);
		return -EINVAL;
	}
	if (!in_size || !out_size || !desc->input_bytes || !desc->output_bytes ||
	    desc->input_bytes % in_size || desc->output_bytes % out_size) {
		knn_fail(extack, "app %s: input %u B of type %u, output %u B of type %u: use types 1-5, whole elements",
			 desc->name, desc->input_bytes, desc->input_type, desc->output_bytes, desc->output_type);
		return -EINVAL;
	}

	app = kzalloc(sizeof(*app), GFP_KERNEL);
	if (!app)
		return -ENOMEM;
	strscpy(app->name, desc->name, sizeof(app->name));
	strscpy(app->owner, from_channel || !desc->owner ? KBUILD_MODNAME : module_name(desc->owner),
		sizeof(app->owner));
	app->desc = *desc;
	app->desc.name = app->name;
	app->from_channel = from_channel;
	spin_lock_init(&app->lock);
	app->guard.window = READ_ONCE(guard_window);
	app->guard.bad_outputs = READ_ONCE(guard_bad_outputs);
	app->guard.latency_ns = READ_ONCE(guard_latency_ns);
	app->guard.min_bits = desc->output_min_bits;
	app->guard.max_bits = desc->output_max_bits;
	spin_lock_init(&app->ring.lock);
	INIT_DELAYED_WORK(&app->ring.drain, knn_ring_drain_work);

	app->scratch = __alloc_percpu(desc->output_bytes, 8);
	if (!app->scratch)
		goto err_nomem;
	payload = desc->input_bytes + desc->output_bytes;
	if (desc->input_bytes <= KNN_RECORD_PAYLOAD_MAX && payload <= KNN_RECORD_PAYLOAD_MAX) {
		app->ring.record_bytes = ALIGN(sizeof(struct knn_record) + payload, 8);
		app->ring.buf = kvzalloc(KNN_RING_RECORDS * app->ring.record_bytes, GFP_KERNEL);
		if (!app->ring.buf)
			goto err_nomem;
	}

	mutex_lock(&knn_core_lock);
	if (knn_app_find(app->name)) {
		mutex_unlock(&knn_core_lock);
		knn_fail(extack, "app %s is already registered: unload its module or delete it first", app->name);
		knn_app_free(app);
		return -EEXIST;
	}
	for (i = 0; i < KNN_MAX_APPS && slot < 0; i++) {
		if (!knn_app_at(i))
			slot = i;
	}
	if (slot < 0) {
		mutex_unlock(&knn_core_lock);
		knn_fail(extack, "app %s: all %d applications are in use: delete one first",
			 app->name, KNN_MAX_APPS);
		knn_app_free(app);
		return -ENOSPC;
	}
	app->index = slot;
	rcu_assign_pointer(knn_apps[slot], app);
	mutex_unlock(&knn_core_lock);
	pr_info("app %s registered by %s: input %u bytes of %s, output %u bytes of %s%s\n",
		app->name, app->owner, desc->input_bytes, knn_type_name(desc->input_type),
		desc->output_bytes, knn_type_name(desc->output_type),
		app->ring.buf ? "" : ", no records (input + output over 512 bytes)");
	return 0;

err_nomem:
	knn_fail(extack, "app %s: out of memory for its buffers", desc->name);
	knn_app_free(app);
	return -ENOMEM;
}

/* Removes the app from the table and frees it with its models; called with knn_core_lock held, returns unlocked. */
static void knn_app_remove_unlock(struct knn_app *app)
{
	struct knn_model *models[KNN_SLOTS];
	int i;

	RCU_INIT_POINTER(knn_apps[app->index], NULL);
	spin_lock_bh(&app->lock);
	RCU_INIT_POINTER(app->active, NULL);
	for (i = 0; i < KNN_SLOTS; i++) {
		models[i] = app->slots[i];
		app->slots[i] = NULL;
	}
	spin_unlock_bh(&app->lock);
	mutex_unlock(&knn_core_lock);

	synchronize_rcu();
	cancel_delayed_work_sync(&app->ring.drain);
	for (i = 0; i < KNN_SLOTS; i++) {
		if (!models[i])
			continue;
		knn_event(app, KNN_EVENT_UNREGISTER, KNN_GUARD_NONE, models[i]->id, models[i]->id, 0,
			  "app %s: model %u (%s) left slot %d: the application is going away",
			  app->name, models[i]->id, models[i]->name, i);
		knn_model_free(models[i]);
	}
	pr_info("app %s unregistered\n", app->name);
	knn_app_free(app);
}

int knn_app_delete(const char *name, struct netlink_ext_ack *extack)
{
	struct knn_app *app;

	mutex_lock(&knn_core_lock);
	app = knn_app_find(name);
	if (!app) {
		mutex_unlock(&knn_core_lock);
		knn_fail(extack, "no app %s", name);
		return -ENOENT;
	}
	if (!app->from_channel) {
		mutex_unlock(&knn_core_lock);
		knn_fail(extack, "app %s belongs to module %s: unload that module instead", name, app->owner);
		return -EPERM;
	}
	knn_app_remove_unlock(app);
	return 0;
}

struct knn_app *knn_core_register_app(const struct knn_app_desc *desc)
{
	struct knn_app *app;
	int ret;

	ret = knn_app_create(desc, false, NULL);
	if (ret)
		return ERR_PTR(ret);
	mutex_lock(&knn_core_lock);
	app = knn_app_find(desc->name);
	mutex_unlock(&knn_core_lock);
	return app ?: ERR_PTR(-ENOENT);
}
EXPORT_SYMBOL_GPL(knn_core_register_app);

void knn_core_unregister_app(struct knn_app *app)
{
	if (IS_ERR_OR_NULL(app))
		return;
	mutex_lock(&knn_core_lock);
	knn_app_remove_unlock(app);
}
EXPORT_SYMBOL_GPL(knn_core_unregister_app);

static bool knn_model_matches(const struct knn_app *app, const struct knn_model_ops *ops)
{
	const struct knn_app_desc *d = &app->desc;
	const char *module = ops->owner ? module_name(ops->owner) : "?";

	if (ops->input_type != d->input_type || ops->input_bytes != d->input_bytes) {
		pr_err("app %s: model %s (module %s) takes %u bytes of %s but the application feeds %u bytes of %s: compile the model for this application's input\n",
		       app->name, ops->name, module, ops->input_bytes, knn_type_name(ops->input_type),
		       d->input_bytes, knn_type_name(d->input_type));
		return false;
	}
	if (ops->output_type != d->output_type || ops->output_bytes != d->output_bytes) {
		pr_err("app %s: model %s (module %s) gives %u bytes of %s but the application reads %u bytes of %s: compile the model for this application's output\n",
		       app->name, ops->name, module, ops->output_bytes, knn_type_name(ops->output_type),
		       d->output_bytes, knn_type_name(d->output_type));
		return false;
	}
	if (ops->state_bytes > d->state_bytes_max) {
		pr_err("app %s: model %s (module %s) keeps %u bytes of state per flow but the application keeps at most %u: use a smaller recurrent state\n",
		       app->name, ops->name, module, ops->state_bytes, d->state_bytes_max);
		return false;
	}
	return true;
}

/* Under knn_core_lock: the model wrapper that holds these ops, and its app. */
static struct knn_model *knn_model_find_ops(const struct knn_model_ops *ops, struct knn_app **app_out)
{
	int i, s;

	for (i = 0; i < KNN_MAX_APPS; i++) {
		struct knn_app *app = knn_app_at(i);

		for (s = 0; app && s < KNN_SLOTS; s++) {
			if (app->slots[s] && app->slots[s]->ops == ops) {
				*app_out = app;
				return app->slots[s];
			}
		}
	}
	return NULL;
}

/* Under the app's lock: the slot a new model goes to, the one that is not active. */
static int knn_standby_slot(struct knn_app *app)
{
	struct knn_model *active = knn_active(app);
	struct knn_model *a = app->slots[0], *b = app->slots[1];

	if (active)
		return 1 - active->slot;
	if (!a || !b)
		return a ? 1 : 0;
	if (a->failed != b->failed)
		return a->failed ? 0 : 1;
	return a->id < b->id ? 0 : 1;
}

int knn_core_register_model(const char *app_name, const struct knn_model_ops *ops)
{
	struct knn_model *model, *old;
	struct knn_app *app, *other_app;
	int slot;
	u32 id;

	if (!ops || !ops->run || !ops->name) {
		pr_err("register_model for app %s: ops, ops->run and ops->name are required\n",
		       app_name ? app_name : "(null)");
		return -EINVAL;
	}
	model = kzalloc(sizeof(*model), GFP_KERNEL);
	if (!model)
		return -ENOMEM;
	model->stats = alloc_percpu(struct knn_model_stats);
	if (!model->stats) {
		kfree(model);
		return -ENOMEM;
	}
	model->ops = ops;
	strscpy(model->name, ops->name, sizeof(model->name));
	strscpy(model->module, ops->owner ? module_name(ops->owner) : "?", sizeof(model->module));
	model->registered_ns = ktime_get_real_ns();
	atomic64_set(&model->rollbacks, 0);

	mutex_lock(&knn_core_lock);
	app = app_name ? knn_app_find(app_name) : NULL;
	if (!app) {
		pr_err("model %s (module %s): no app %s: load the application's module (knn_tcp, knn_nf) or create it first\n",
		       model->name, model->module, app_name ? app_name : "(null)");
		goto err_unlock;
	}
	if (knn_model_find_ops(ops, &other_app)) {
		pr_err("model %s (module %s) is already registered with app %s: unregister it first\n",
		       model->name, model->module, other_app->name);
		mutex_unlock(&knn_core_lock);
		knn_model_free(model);
		return -EBUSY;
	}
	if (!knn_model_matches(app, ops)) {
		mutex_unlock(&knn_core_lock);
		knn_model_free(model);
		return -EINVAL;
	}
	if (++knn_next_model_id == 0)
		knn_next_model_id = 1;
	id = knn_next_model_id;
	model->id = id;

	spin_lock_bh(&app->lock);
	slot = knn_standby_slot(app);
	model->slot = slot;
	old = app->slots[slot];
	app->slots[slot] = model;
	spin_unlock_bh(&app->lock);

	if (old) {
		knn_event(app, KNN_EVENT_UNREGISTER, KNN_GUARD_NONE, old->id, old->id, 0,
			  "app %s: model %u (%s) evicted from slot %d by model %u (%s)",
			  app->name, old->id, old->name, slot, id, model->name);
	}
	knn_event(app, KNN_EVENT_REGISTER, KNN_GUARD_NONE, id, 0, 0,
		  "app %s: model %u (%s, module %s) registered in standby slot %d",
		  app->name, id, model->name, model->module, slot);
	mutex_unlock(&knn_core_lock);
	if (old) {
		synchronize_rcu();
		knn_model_free(old);
	}
	return id;

err_unlock:
	mutex_unlock(&knn_core_lock);
	knn_model_free(model);
	return -ENOENT;
}
EXPORT_SYMBOL_GPL(knn_core_register_model);

void knn_core_unregister_model(const struct knn_model_ops *ops)
{
	struct knn_model *model, *other, *to = NULL;
	struct knn_app *app;
	bool was_active;

	mutex_lock(&knn_core_lock);
	model = ops ? knn_model_find_ops(ops, &app) : NULL;
	if (!model) {
		mutex_unlock(&knn_core_lock);
		return;
	}
	spin_lock_bh(&app->lock);
	app->slots[model->slot] = NULL;
	was_active = knn_active(app) == model;
	if (was_active) {
		other = app->slots[1 - model->slot];
		to = other && !other->failed ? other : NULL;
		rcu_assign_pointer(app->active, to);
		knn_guard_reset(&app->guard);
	}
	spin_unlock_bh(&app->lock);

	if (was_active && to)
		knn_event(app, KNN_EVENT_UNREGISTER, KNN_GUARD_NONE, model->id, model->id, to->id,
			  "app %s: active model %u (%s) unregistered, rolled back to model %u (%s)",
			  app->name, model->id, model->name, to->id, to->name);
	else if (was_active)
		knn_event(app, KNN_EVENT_UNREGISTER, KNN_GUARD_NONE, model->id, model->id, 0,
			  "app %s: active model %u (%s) unregistered, no model is active now",
			  app->name, model->id, model->name);
	else
		knn_event(app, KNN_EVENT_UNREGISTER, KNN_GUARD_NONE, model->id, 0, 0,
			  "app %s: standby model %u (%s) unregistered", app->name, model->id, model->name);
	mutex_unlock(&knn_core_lock);
	synchronize_rcu();
	knn_model_free(model);
}
EXPORT_SYMBOL_GPL(knn_core_unregister_model);

int knn_do_activate(const char *app_name, u32 model_id, struct netlink_ext_ack *extack)
{
	struct knn_model *model = NULL, *from;
	struct knn_app *app;
	int s;

	mutex_lock(&knn_core_lock);
	app = knn_app_find(app_name);
	if (!app) {
		mutex_unlock(&knn_core_lock);
		knn_fail(extack, "no app %s to activate a model in", app_name);
		return -ENOENT;
	}
	spin_lock_bh(&app->lock);
	from = knn_active(app);
	if (model_id) {
		for (s = 0; s < KNN_SLOTS; s++) {
			if (app->slots[s] && app->slots[s]->id == model_id)
				model = app->slots[s];
		}
	} else {
		model = app->slots[knn_standby_slot(app)];
	}
	if (!model) {
		u32 a = app->slots[0] ? app->slots[0]->id : 0, b = app->slots[1] ? app->slots[1]->id : 0;

		spin_unlock_bh(&app->lock);
		mutex_unlock(&knn_core_lock);
		if (model_id)
			knn_fail(extack, "app %s has no model %u (slots hold %u and %u)",
				 app_name, model_id, a, b);
		else
			knn_fail(extack, "app %s has no standby model: register a model first", app_name);
		return -ENOENT;
	}
	model->failed = KNN_GUARD_NONE;
	if (from != model) {
		rcu_assign_pointer(app->active, model);
		knn_guard_reset(&app->guard);
	}
	spin_unlock_bh(&app->lock);
	if (from != model)
		knn_event(app, KNN_EVENT_ACTIVATE, KNN_GUARD_NONE, model->id, from ? from->id : 0, model->id,
			  "app %s: model %u (%s) activated, was %s %u", app_name, model->id, model->name,
			  from ? "model" : "none", from ? from->id : 0);
	mutex_unlock(&knn_core_lock);
	return 0;
}

int knn_do_rollback(const char *app_name, struct netlink_ext_ack *extack)
{
	struct knn_model *from, *to;
	struct knn_app *app;

	mutex_lock(&knn_core_lock);
	app = knn_app_find(app_name);
	if (!app) {
		mutex_unlock(&knn_core_lock);
		knn_fail(extack, "no app %s to roll back", app_name);
		return -ENOENT;
	}
	spin_lock_bh(&app->lock);
	from = knn_active(app);
	to = from ? app->slots[1 - from->slot] : NULL;
	if (!from || !to || to->failed) {
		u8 failed = to ? to->failed : KNN_GUARD_NONE;

		spin_unlock_bh(&app->lock);
		mutex_unlock(&knn_core_lock);
		if (!from)
			knn_fail(extack, "app %s has no active model to roll back from", app_name);
		else if (!to)
			knn_fail(extack, "app %s: no previous model to roll back to from model %u", app_name, from->id);
		else
			knn_fail(extack, "app %s: model %u failed the guard (%s); activate it to use it",
				 app_name, to->id, knn_reason_name(failed));
		return from ? -ENOENT : -ENODATA;
	}
	rcu_assign_pointer(app->active, to);
	knn_guard_reset(&app->guard);
	atomic64_inc(&from->rollbacks);
	spin_unlock_bh(&app->lock);
	knn_event(app, KNN_EVENT_ROLLBACK, KNN_GUARD_NONE, from->id, from->id, to->id,
		  "app %s: rolled back from model %u (%s) to model %u (%s)", app_name, from->id, from->name,
		  to->id, to->name);
	mutex_unlock(&knn_core_lock);
	return 0;
}

int knn_core_activate(const char *app_name, u32 model_id)
{
	return app_name ? knn_do_activate(app_name, model_id, NULL) : -EINVAL;
}
EXPORT_SYMBOL_GPL(knn_core_activate);

int knn_core_rollback(const char *app_name)
{
	return app_name ? knn_do_rollback(app_name, NULL) : -EINVAL;
}
EXPORT_SYMBOL_GPL(knn_core_rollback);

static int __init knn_core_init(void)
{
	int ret = knn_channel_init();

	if (ret) {
		pr_err("cannot register the generic netlink family \"%s\" (%d): is another knn_core loaded?\n",
		       KNN_GENL_NAME, ret);
		return ret;
	}
	pr_info("loaded: guard_window=%u guard_bad_outputs=%u guard_latency_ns=%u records_per_sec=%u\n",
		guard_window, guard_bad_outputs, guard_latency_ns, knn_records_per_sec);
	return 0;
}

static void __exit knn_core_exit(void)
{
	int i;

	/* only applications made from the channel can remain: other owners pin this module */
	for (i = 0; i < KNN_MAX_APPS; i++) {
		struct knn_app *app;

		mutex_lock(&knn_core_lock);
		app = knn_app_at(i);
		if (app)
			knn_app_remove_unlock(app);
		else
			mutex_unlock(&knn_core_lock);
	}
	knn_channel_exit();
	pr_info("unloaded\n");
}

module_init(knn_core_init);
module_exit(knn_core_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel NN datapath runtime: applications, model slots, guard and netlink channel");
