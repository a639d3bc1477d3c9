// SPDX-License-Identifier: GPL-2.0
/*
 * knn_core's generic netlink family "knn" (knn_channel.h): the commands, the
 * LIST dump, and the two multicast groups. Events and records are sent from
 * work items, never from the datapath.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "knn_core_internal.h"

enum { KNN_MCGRP_RECORDS, KNN_MCGRP_EVENTS };

/* events waiting for the work item; more are counted and reported as lost */
#define KNN_EVENT_QUEUE 64
#define KNN_MESSAGE_MAX 160

struct knn_event_item {
	char app[KNN_NAME_MAX];
	u8 kind;
	u8 reason;
	u32 model_id;
	u32 from_id;
	u32 to_id;
	u64 time_ns;
	char message[KNN_MESSAGE_MAX];
};

static struct knn_event_item knn_events[KNN_EVENT_QUEUE];
static unsigned int knn_events_head, knn_events_count, knn_events_lost;
static DEFINE_SPINLOCK(knn_events_lock);
static void knn_event_work_fn(struct work_struct *work);
static DECLARE_WORK(knn_event_work, knn_event_work_fn);
static bool knn_channel_up;

static struct genl_family knn_family;

const char *knn_reason_name(u8 reason)
{
	static const char *const names[] = { "none", "nan", "range", "latency", "error" };

	return reason < ARRAY_SIZE(names) ? names[reason] : "?";
}

/* extack messages hold 79 characters (NETLINK_MAX_FMTMSG_LEN in 6.2+): keep them short */
#ifndef NL_SET_ERR_MSG_FMT
/* 6.1 keeps only a pointer to the message until the ack is built: rotate a few static buffers */
#define KNN_EXTACK_BUFFERS 8
static char knn_extack_buf[KNN_EXTACK_BUFFERS][80];
static atomic_t knn_extack_next = ATOMIC_INIT(0);
#endif

void knn_extack_fmt(struct netlink_ext_ack *extack, const char *fmt, ...)
{
	char text[80];
	va_list args;

	if (!extack)
		return;
	va_start(args, fmt);
	vsnprintf(text, sizeof(text), fmt, args);
	va_end(args);
#ifdef NL_SET_ERR_MSG_FMT
	NL_SET_ERR_MSG_FMT(extack, "%s", text);
#else
	{
		unsigned int i = (unsigned int)atomic_inc_return(&knn_extack_next) % KNN_EXTACK_BUFFERS;

		strscpy(knn_extack_buf[i], text, sizeof(knn_extack_buf[i]));
		extack->_msg = knn_extack_buf[i];
	}
#endif
}

void knn_event(const struct knn_app *app, u8 kind, u8 reason, u32 model_id, u32 from_id, u32 to_id,
	       const char *fmt, ...)
{
	struct knn_event_item *item;
	unsigned long flags;
	va_list args;

	spin_lock_irqsave(&knn_events_lock, flags);
	if (knn_events_count == KNN_EVENT_QUEUE) {
		knn_events_lost++;
		spin_unlock_irqrestore(&knn_events_lock, flags);
		schedule_work(&knn_event_work);
		return;
	}
	item = &knn_events[(knn_events_head + knn_events_count) % KNN_EVENT_QUEUE];
	knn_events_count++;
	strscpy(item->app, app->name, sizeof(item->app));
	item->kind = kind;
	item->reason = reason;
	item->model_id = model_id;
	item->from_id = from_id;
	item->to_id = to_id;
	item->time_ns = ktime_get_real_ns();
	va_start(args, fmt);
	vsnprintf(item->message, sizeof(item->message), fmt, args);
	va_end(args);
	spin_unlock_irqrestore(&knn_events_lock, flags);
	schedule_work(&knn_event_work);
}

static void knn_event_send(const struct knn_event_item *item)
{
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&knn_family, &init_net, KNN_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &knn_family, 0, KNN_CMD_EVENT);
	if (!hdr ||
	    nla_put_string(skb, KNN_A_APP, item->app) ||
	    nla_put_u8(skb, KNN_A_EVENT, item->kind) ||
	    nla_put_u8(skb, KNN_A_REASON, item->reason) ||
	    nla_put_u32(skb, KNN_A_MODEL_ID, item->model_id) ||
	    nla_put_u32(skb, KNN_A_FROM_ID, item->from_id) ||
	    nla_put_u32(skb, KNN_A_TO_ID, item->to_id) ||
	    nla_put_string(skb, KNN_A_MESSAGE, item->message) ||
	    nla_put_u64_64bit(skb, KNN_A_TIME_NS, item->time_ns, KNN_A_PAD)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&knn_family, skb, 0, KNN_MCGRP_EVENTS, GFP_KERNEL);
}

static void knn_event_work_fn(struct work_struct *work)
{
	struct knn_event_item item;
	unsigned int lost;

	for (;;) {
		spin_lock_irq(&knn_events_lock);
		lost = knn_events_lost;
		knn_events_lost = 0;
		if (!knn_events_count) {
			spin_unlock_irq(&knn_events_lock);
			break;
		}
		item = knn_events[knn_events_head];
		knn_events_head = (knn_events_head + 1) % KNN_EVENT_QUEUE;
		knn_events_count--;
		spin_unlock_irq(&knn_events_lock);

		if (lost)
			pr_warn("%u events were lost: the event queue of %d was full\n", lost, KNN_EVENT_QUEUE);
		pr_info("%s\n", item.message);
		if (READ_ONCE(knn_channel_up))
			knn_event_send(&item);
	}
	if (lost)
		pr_warn("%u events were lost: the event queue of %d was full\n", lost, KNN_EVENT_QUEUE);
}

bool knn_channel_records_wanted(void)
{
	return READ_ONCE(knn_channel_up) && genl_has_listeners(&knn_family, &init_net, KNN_MCGRP_RECORDS);
}

/* Sends what the application's ring holds, up to KNN_BATCH_RECORDS per message. */
void knn_ring_drain_work(struct work_struct *work)
{
	struct knn_ring *ring = container_of(to_delayed_work(work), struct knn_ring, drain);
	struct knn_app *app = container_of(ring, struct knn_app, ring);
	struct knn_record_header header;
	u32 n, i, pending;

	for (;;) {
		struct sk_buff *skb;
		struct nlattr *attr;
		void *hdr;
		u8 *dst;

		spin_lock_bh(&ring->lock);
		pending = ring->count;
		spin_unlock_bh(&ring->lock);
		if (!pending)
			return;
		n = min_t(u32, pending, KNN_BATCH_RECORDS);
		skb = genlmsg_new(nla_total_size(KNN_NAME_MAX) +
				  nla_total_size_64bit(sizeof(header) + (size_t)n * ring->record_bytes), GFP_KERNEL);
		if (!skb)
			return;
		hdr = genlmsg_put(skb, 0, 0, &knn_family, 0, KNN_CMD_RECORDS);
		if (!hdr || nla_put_string(skb, KNN_A_APP, app->name))
			goto err_free;
		attr = nla_reserve_64bit(skb, KNN_A_RECORD_BATCH, sizeof(header) + (size_t)n * ring->record_bytes,
					 KNN_A_PAD);
		if (!attr)
			goto err_free;
		dst = (u8 *)nla_data(attr) + sizeof(header);

		spin_lock_bh(&ring->lock);
		for (i = 0; i < n; i++) {
			memcpy(dst + (size_t)i * ring->record_bytes,
			       ring->buf + (size_t)ring->head * ring->record_bytes, ring->record_bytes);
			ring->head = (ring->head + 1) % KNN_RING_RECORDS;
		}
		ring->count -= n;
		header.dropped = ring->dropped_pending;
		ring->dropped_pending = 0;
		ring->sent_total += n;
		spin_unlock_bh(&ring->lock);

		header.count = n;
		header.record_bytes = ring->record_bytes;
		header.input_bytes = app->desc.input_bytes;
		header.output_bytes = app->desc.output_bytes;
		memcpy(nla_data(attr), &header, sizeof(header));
		genlmsg_end(skb, hdr);
		genlmsg_multicast(&knn_family, skb, 0, KNN_MCGRP_RECORDS, GFP_KERNEL);
		cond_resched();
		continue;
err_free:
		nlmsg_free(skb);
		return;
	}
}

static int knn_put_slot(struct sk_buff *skb, struct knn_model *model, bool active, u8 failed)
{
	struct knn_model_stats *sum;
	struct nlattr *nest;
	int ret = -EMSGSIZE;

	sum = kmalloc(sizeof(*sum), GFP_KERNEL);
	if (!sum)
		return -ENOMEM;
	knn_model_sum_stats(model, sum);
	nest = nla_nest_start(skb, KNN_A_SLOT);
	if (!nest)
		goto out;
	if (nla_put_u8(skb, KNN_S_INDEX, model->slot) ||
	    nla_put_u32(skb, KNN_S_MODEL_ID, model->id) ||
	    nla_put_string(skb, KNN_S_NAME, model->name) ||
	    nla_put_string(skb, KNN_S_MODULE, model->module) ||
	    (active && nla_put_flag(skb, KNN_S_ACTIVE)) ||
	    nla_put_u8(skb, KNN_S_FAILED, failed) ||
	    nla_put_u64_64bit(skb, KNN_S_INFERENCES, sum->inferences, KNN_S_PAD) ||
	    nla_put_u64_64bit(skb, KNN_S_ERRORS, sum->errors, KNN_S_PAD) ||
	    nla_put_u64_64bit(skb, KNN_S_SKIPPED, sum->skipped, KNN_S_PAD) ||
	    nla_put_u64_64bit(skb, KNN_S_ROLLBACKS, atomic64_read(&model->rollbacks), KNN_S_PAD) ||
	    nla_put_u64_64bit(skb, KNN_S_LATENCY_P50_NS, knn_hist_percentile(sum, 500), KNN_S_PAD) ||
	    nla_put_u64_64bit(skb, KNN_S_LATENCY_P99_NS, knn_hist_percentile(sum, 990), KNN_S_PAD) ||
	    nla_put_u64_64bit(skb, KNN_S_LATENCY_MAX_NS, sum->max_ns, KNN_S_PAD) ||
	    nla_put_u8(skb, KNN_S_USES_FPU, model->ops->uses_fpu) ||
	    nla_put_u64_64bit(skb, KNN_S_REGISTERED_NS, model->registered_ns, KNN_S_PAD)) {
		nla_nest_cancel(skb, nest);
		goto out;
	}
	nla_nest_end(skb, nest);
	ret = 0;
out:
	kfree(sum);
	return ret;
}

/* One LIST message; under knn_core_lock, so the slots' models stay. */
static int knn_put_app(struct sk_buff *skb, struct netlink_callback *cb, struct knn_app *app)
{
	struct knn_model *models[KNN_SLOTS], *active;
	u64 sent, dropped;
	u8 failed[KNN_SLOTS];
	void *hdr;
	int s;

	spin_lock_bh(&app->lock);
	active = rcu_dereference_protected(app->active, lockdep_is_held(&app->lock));
	for (s = 0; s < KNN_SLOTS; s++) {
		models[s] = app->slots[s];
		failed[s] = models[s] ? models[s]->failed : 0;
	}
	spin_unlock_bh(&app->lock);
	spin_lock_bh(&app->ring.lock);
	sent = app->ring.sent_total;
	dropped = app->ring.dropped_total;
	spin_unlock_bh(&app->ring.lock);

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, &knn_family, NLM_F_MULTI,
			  KNN_CMD_LIST);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, KNN_A_APP, app->name) ||
	    nla_put_string(skb, KNN_A_OWNER, app->owner) ||
	    nla_put_u8(skb, KNN_A_INPUT_TYPE, app->desc.input_type) ||
	    nla_put_u8(skb, KNN_A_OUTPUT_TYPE, app->desc.output_type) ||
	    nla_put_u32(skb, KNN_A_INPUT_BYTES, app->desc.input_bytes) ||
	    nla_put_u32(skb, KNN_A_OUTPUT_BYTES, app->desc.output_bytes) ||
	    nla_put_u32(skb, KNN_A_STATE_BYTES, app->desc.state_bytes_max) ||
	    nla_put_u32(skb, KNN_A_ACTIVE_ID, active ? active->id : 0) ||
	    nla_put_u32(skb, KNN_A_GUARD_WINDOW, READ_ONCE(app->guard.window)) ||
	    nla_put_u32(skb, KNN_A_GUARD_BAD_OUTPUTS, READ_ONCE(app->guard.bad_outputs)) ||
	    nla_put_u32(skb, KNN_A_GUARD_LATENCY_NS, READ_ONCE(app->guard.latency_ns)) ||
	    nla_put_u32(skb, KNN_A_GUARD_MIN_BITS, READ_ONCE(app->guard.min_bits)) ||
	    nla_put_u32(skb, KNN_A_GUARD_MAX_BITS, READ_ONCE(app->guard.max_bits)) ||
	    nla_put_u64_64bit(skb, KNN_A_RECORDS_SENT, sent, KNN_A_PAD) ||
	    nla_put_u64_64bit(skb, KNN_A_RECORDS_DROPPED, dropped, KNN_A_PAD) ||
	    (!app->ring.buf &&
	     nla_put_string(skb, KNN_A_MESSAGE, "no records: input + output exceed 512 bytes")))
		goto err_cancel;
	for (s = 0; s < KNN_SLOTS; s++) {
		if (models[s] && knn_put_slot(skb, models[s], models[s] == active, failed[s]))
			goto err_cancel;
	}
	genlmsg_end(skb, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int knn_cmd_list_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct nlattr *filter = nlmsg_find_attr(cb->nlh, GENL_HDRLEN, KNN_A_APP);
	char name[KNN_NAME_MAX] = "";
	int i;

	if (filter && nla_strscpy(name, filter, sizeof(name)) < 0)
		return -EINVAL;
	mutex_lock(&knn_core_lock);
	for (i = cb->args[0]; i < KNN_MAX_APPS; i++) {
		struct knn_app *app = rcu_dereference_protected(knn_apps[i], lockdep_is_held(&knn_core_lock));

		if (!app || (name[0] && strcmp(app->name, name)))
			continue;
		if (knn_put_app(skb, cb, app))
			break;
	}
	mutex_unlock(&knn_core_lock);
	/* a message that does not fit an empty skb would loop forever: report it instead */
	if (i < KNN_MAX_APPS && i == cb->args[0] && !skb->len)
		return -EMSGSIZE;
	cb->args[0] = i;
	return skb->len;
}

static int knn_app_attr(struct genl_info *info, char *name)
{
	if (GENL_REQ_ATTR_CHECK(info, KNN_A_APP))
		return -EINVAL;
	nla_strscpy(name, info->attrs[KNN_A_APP], KNN_NAME_MAX);
	return 0;
}

static int knn_cmd_activate(struct sk_buff *skb, struct genl_info *info)
{
	char name[KNN_NAME_MAX];
	u32 id = 0;

	if (knn_app_attr(info, name))
		return -EINVAL;
	if (info->attrs[KNN_A_MODEL_ID])
		id = nla_get_u32(info->attrs[KNN_A_MODEL_ID]);
	return knn_do_activate(name, id, info->extack);
}

static int knn_cmd_rollback(struct sk_buff *skb, struct genl_info *info)
{
	char name[KNN_NAME_MAX];

	if (knn_app_attr(info, name))
		return -EINVAL;
	return knn_do_rollback(name, info->extack);
}

static int knn_cmd_app_add(struct sk_buff *skb, struct genl_info *info)
{
	struct knn_app_desc desc = { .owner = NULL };
	char name[KNN_NAME_MAX];

	if (knn_app_attr(info, name) ||
	    GENL_REQ_ATTR_CHECK(info, KNN_A_INPUT_TYPE) || GENL_REQ_ATTR_CHECK(info, KNN_A_OUTPUT_TYPE) ||
	    GENL_REQ_ATTR_CHECK(info, KNN_A_INPUT_BYTES) || GENL_REQ_ATTR_CHECK(info, KNN_A_OUTPUT_BYTES))
		return -EINVAL;
	desc.name = name;
	desc.input_type = nla_get_u8(info->attrs[KNN_A_INPUT_TYPE]);
	desc.output_type = nla_get_u8(info->attrs[KNN_A_OUTPUT_TYPE]);
	desc.input_bytes = nla_get_u32(info->attrs[KNN_A_INPUT_BYTES]);
	desc.output_bytes = nla_get_u32(info->attrs[KNN_A_OUTPUT_BYTES]);
	if (info->attrs[KNN_A_STATE_BYTES])
		desc.state_bytes_max = nla_get_u32(info->attrs[KNN_A_STATE_BYTES]);
	if (desc.input_bytes > (1u << 20) || desc.output_bytes > (1u << 20)) {
		knn_extack_fmt(info->extack, "app %s: input and output are limited to 1 MiB each", name);
		return -EINVAL;
	}
	return knn_app_create(&desc, true, info->extack);
}

static int knn_cmd_app_del(struct sk_buff *skb, struct genl_info *info)
{
	char name[KNN_NAME_MAX];

	if (knn_app_attr(info, name))
		return -EINVAL;
	return knn_app_delete(name, info->extack);
}

static int knn_cmd_set_guard(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct knn_app *app;
	char name[KNN_NAME_MAX];

	if (knn_app_attr(info, name))
		return -EINVAL;
	if ((attrs[KNN_A_GUARD_WINDOW] && !nla_get_u32(attrs[KNN_A_GUARD_WINDOW])) ||
	    (attrs[KNN_A_GUARD_BAD_OUTPUTS] && !nla_get_u32(attrs[KNN_A_GUARD_BAD_OUTPUTS]))) {
		knn_extack_fmt(info->extack, "app %s: the guard window and bad outputs must be at least 1", name);
		return -EINVAL;
	}
	mutex_lock(&knn_core_lock);
	app = knn_app_find(name);
	if (!app) {
		mutex_unlock(&knn_core_lock);
		knn_extack_fmt(info->extack, "no app %s to set the guard of", name);
		return -ENOENT;
	}
	spin_lock_bh(&app->lock);
	if (attrs[KNN_A_GUARD_WINDOW])
		WRITE_ONCE(app->guard.window, nla_get_u32(attrs[KNN_A_GUARD_WINDOW]));
	if (attrs[KNN_A_GUARD_BAD_OUTPUTS])
		WRITE_ONCE(app->guard.bad_outputs, nla_get_u32(attrs[KNN_A_GUARD_BAD_OUTPUTS]));
	if (attrs[KNN_A_GUARD_LATENCY_NS])
		WRITE_ONCE(app->guard.latency_ns, nla_get_u32(attrs[KNN_A_GUARD_LATENCY_NS]));
	if (attrs[KNN_A_GUARD_MIN_BITS])
		WRITE_ONCE(app->guard.min_bits, nla_get_u32(attrs[KNN_A_GUARD_MIN_BITS]));
	if (attrs[KNN_A_GUARD_MAX_BITS])
		WRITE_ONCE(app->guard.max_bits, nla_get_u32(attrs[KNN_A_GUARD_MAX_BITS]));
	knn_guard_reset(&app->guard);
	spin_unlock_bh(&app->lock);
	mutex_unlock(&knn_core_lock);
	return 0;
}

static const struct nla_policy knn_policy[KNN_A_MAX + 1] = {
	[KNN_A_APP] = { .type = NLA_NUL_STRING, .len = KNN_NAME_MAX - 1 },
	[KNN_A_INPUT_TYPE] = { .type = NLA_U8 },
	[KNN_A_OUTPUT_TYPE] = { .type = NLA_U8 },
	[KNN_A_INPUT_BYTES] = { .type = NLA_U32 },
	[KNN_A_OUTPUT_BYTES] = { .type = NLA_U32 },
	[KNN_A_STATE_BYTES] = { .type = NLA_U32 },
	[KNN_A_MODEL_ID] = { .type = NLA_U32 },
	[KNN_A_GUARD_WINDOW] = { .type = NLA_U32 },
	[KNN_A_GUARD_LATENCY_NS] = { .type = NLA_U32 },
	[KNN_A_GUARD_MIN_BITS] = { .type = NLA_U32 },
	[KNN_A_GUARD_MAX_BITS] = { .type = NLA_U32 },
	[KNN_A_GUARD_BAD_OUTPUTS] = { .type = NLA_U32 },
};

static const struct genl_small_ops knn_ops[] = {
	{ .cmd = KNN_CMD_LIST, .dumpit = knn_cmd_list_dump },
	{ .cmd = KNN_CMD_ACTIVATE, .doit = knn_cmd_activate, .flags = GENL_ADMIN_PERM },
	{ .cmd = KNN_CMD_ROLLBACK, .doit = knn_cmd_rollback, .flags = GENL_ADMIN_PERM },
	{ .cmd = KNN_CMD_APP_ADD, .doit = knn_cmd_app_add, .flags = GENL_ADMIN_PERM },
	{ .cmd = KNN_CMD_APP_DEL, .doit = knn_cmd_app_del, .flags = GENL_ADMIN_PERM },
	{ .cmd = KNN_CMD_SET_GUARD, .doit = knn_cmd_set_guard, .flags = GENL_ADMIN_PERM },
};

static const struct genl_multicast_group knn_mcgrps[] = {
	[KNN_MCGRP_RECORDS] = { .name = KNN_GROUP_RECORDS },
	[KNN_MCGRP_EVENTS] = { .name = KNN_GROUP_EVENTS },
};

static struct genl_family knn_family __ro_after_init = {
	.name = KNN_GENL_NAME,
	.version = KNN_GENL_VERSION,
	.maxattr = KNN_A_MAX,
	.policy = knn_policy,
	.module = THIS_MODULE,
	.small_ops = knn_ops,
	.n_small_ops = ARRAY_SIZE(knn_ops),
	/* every command is new-style (reserved header fields checked): no legacy callers to keep */
	.resv_start_op = KNN_CMD_LIST,
	.mcgrps = knn_mcgrps,
	.n_mcgrps = ARRAY_SIZE(knn_mcgrps),
};

int knn_channel_init(void)
{
	int ret = genl_register_family(&knn_family);

	if (!ret)
		WRITE_ONCE(knn_channel_up, true);
	return ret;
}

void knn_channel_exit(void)
{
	/* the apps are gone: send their last events, then stop */
	flush_work(&knn_event_work);
	WRITE_ONCE(knn_channel_up, false);
	genl_unregister_family(&knn_family);
	cancel_work_sync(&knn_event_work);
}
