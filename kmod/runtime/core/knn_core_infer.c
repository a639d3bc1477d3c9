// SPDX-License-Identifier: GPL-2.0
/*
 * knn_core's datapath: one inference through an application's active model,
 * the guard that checks its outputs and latency, per-CPU counters and latency
 * histograms, and the offer of a record to the channel. Built with the
 * kernel's no-FPU flags: float32 outputs are checked as bit patterns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/hardirq.h>
#include <linux/math64.h>
#include <linux/preempt.h>
#include <linux/sched/clock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <asm/fpu/api.h>

#include "knn_core_internal.h"

#define KNN_EXPONENT_BITS 0x7f800000u

/* Maps float32 bits to keys whose unsigned order is the floats' order (as kmod/knn_bits.h). */
static inline u32 knn_order_key(u32 bits)
{
	return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

static unsigned int knn_hist_bucket(u64 ns)
{
	unsigned int msb, bucket;

	if (ns < KNN_HIST_SUB)
		return ns;
	msb = fls64(ns) - 1;
	bucket = (msb - 1) * KNN_HIST_SUB + ((ns >> (msb - 2)) & (KNN_HIST_SUB - 1));
	return min_t(unsigned int, bucket, KNN_HIST_BUCKETS - 1);
}

/* The largest latency a bucket holds. */
static u64 knn_hist_upper(unsigned int bucket)
{
	unsigned int msb, sub;

	if (bucket < KNN_HIST_SUB)
		return bucket;
	msb = bucket / KNN_HIST_SUB + 1;
	sub = bucket % KNN_HIST_SUB;
	return ((u64)(KNN_HIST_SUB + sub + 1) << (msb - 2)) - 1;
}

void knn_model_sum_stats(const struct knn_model *model, struct knn_model_stats *sum)
{
	int cpu, b;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct knn_model_stats *s = per_cpu_ptr(model->stats, cpu);

		sum->inferences += READ_ONCE(s->inferences);
		sum->errors += READ_ONCE(s->errors);
		sum->skipped += READ_ONCE(s->skipped);
		sum->max_ns = max_t(u64, sum->max_ns, READ_ONCE(s->max_ns));
		for (b = 0; b < KNN_HIST_BUCKETS; b++)
			sum->hist[b] += READ_ONCE(s->hist[b]);
	}
}

/* The latency below which per_mille of the inferences fall, at the histogram's resolution (25%). */
u64 knn_hist_percentile(const struct knn_model_stats *sum, unsigned int per_mille)
{
	u64 total = 0, rank, seen = 0;
	int b;

	for (b = 0; b < KNN_HIST_BUCKETS; b++)
		total += sum->hist[b];
	if (!total)
		return 0;
	rank = max_t(u64, div_u64(total * per_mille + 999, 1000), 1);
	for (b = 0; b < KNN_HIST_BUCKETS; b++) {
		seen += sum->hist[b];
		if (seen >= rank)
			return min_t(u64, knn_hist_upper(b), sum->max_ns);
	}
	return sum->max_ns;
}

/* enum knn_guard_reason of one float32 output, or KNN_GUARD_NONE. */
static u8 knn_check_outputs(const struct knn_guard *guard, const u32 *words, u32 count)
{
	u32 min_bits = READ_ONCE(guard->min_bits), max_bits = READ_ONCE(guard->max_bits);
	bool ranged = min_bits || max_bits;
	u32 i;

	for (i = 0; i < count; i++) {
		u32 bits = words[i];

		if ((bits & KNN_EXPONENT_BITS) == KNN_EXPONENT_BITS)
			return KNN_GUARD_NAN;
		if (ranged && (knn_order_key(bits) < knn_order_key(min_bits) ||
			       knn_order_key(bits) > knn_order_key(max_bits)))
			return KNN_GUARD_RANGE;
	}
	return KNN_GUARD_NONE;
}

/*
 * The guard takes the model out: the other slot's model becomes active if it
 * did not fail, else none. Softirq-safe; the event is sent by a work item.
 */
static void knn_guard_trip(struct knn_app *app, struct knn_model *model, u8 reason, u64 detail)
{
	struct knn_model *to = NULL, *other;

	spin_lock(&app->lock);
	if (rcu_access_pointer(app->active) != model) {
		/* another CPU or a user got there first */
		spin_unlock(&app->lock);
		return;
	}
	model->failed = reason;
	other = app->slots[1 - model->slot];
	if (other && !other->failed)
		to = other;
	rcu_assign_pointer(app->active, to);
	knn_guard_reset(&app->guard);
	atomic64_inc(&model->rollbacks);
	spin_unlock(&app->lock);

	if (reason == KNN_GUARD_LATENCY)
		knn_event(app, KNN_EVENT_GUARD, reason, model->id, model->id, to ? to->id : 0,
			  "app %s: guard rolled back model %u (latency: mean %llu ns over the window, budget %u ns) to %s %u",
			  app->name, model->id, detail, READ_ONCE(app->guard.latency_ns),
			  to ? "model" : "no model,", to ? to->id : 0);
	else
		knn_event(app, KNN_EVENT_GUARD, reason, model->id, model->id, to ? to->id : 0,
			  "app %s: guard rolled back model %u (%s) to %s %u", app->name, model->id,
			  knn_reason_name(reason), to ? "model" : "no model,", to ? to->id : 0);
}

/* Counts one inference in the window; trips the guard on too many bad outputs or a slow window. */
static void knn_guard_account(struct knn_app *app, struct knn_model *model, u64 latency_ns, u8 reason)
{
	struct knn_guard *guard = &app->guard;
	u32 window = READ_ONCE(guard->window);
	u32 budget = READ_ONCE(guard->latency_ns);
	int count;

	atomic64_add(latency_ns, &guard->latency_sum);
	count = atomic_inc_return(&guard->count);
	if (reason != KNN_GUARD_NONE &&
	    atomic_inc_return(&guard->bad) >= (int)READ_ONCE(guard->bad_outputs)) {
		knn_guard_trip(app, model, reason, 0);
		return;
	}
	/* one CPU claims the end of the window */
	if (count >= (int)window && atomic_cmpxchg(&guard->count, count, 0) == count) {
		u64 sum = atomic64_xchg(&guard->latency_sum, 0);
		u64 mean = div_u64(sum, count);

		atomic_set(&guard->bad, 0);
		if (budget && mean > budget)
			knn_guard_trip(app, model, KNN_GUARD_LATENCY, mean);
	}
}

int knn_core_infer(struct knn_app *app, const void *input, void *output, struct knn_flow_state *state)
{
	const struct knn_model_ops *ops;
	struct knn_model *model;
	u64 start, latency;
	void *scratch;
	u8 reason;
	int ret;

	if (unlikely(in_hardirq() || in_nmi() || irqs_disabled())) {
		rcu_read_lock();
		model = rcu_dereference(app->active);
		if (model)
			this_cpu_inc(model->stats->skipped);
		rcu_read_unlock();
		return -EAGAIN;
	}

	local_bh_disable();
	rcu_read_lock();
	model = rcu_dereference(app->active);
	if (!model) {
		ret = -ENODATA;
		goto out;
	}
	ops = model->ops;
	if (ops->state_bytes) {
		if (!state || state->bytes < ops->state_bytes) {
			this_cpu_inc(model->stats->errors);
			ret = -ENOSPC;
			goto out;
		}
		if (state->model_id != model->id) {
			memset(state->data, 0, ops->state_bytes);
			state->model_id = model->id;
		}
	}
	if (ops->uses_fpu && !irq_fpu_usable()) {
		this_cpu_inc(model->stats->skipped);
		ret = -EAGAIN;
		goto out;
	}

	scratch = this_cpu_ptr(app->scratch);
	start = local_clock();
	if (ops->uses_fpu) {
		kernel_fpu_begin();
		ret = ops->run(ops, input, scratch, ops->state_bytes ? state->data : NULL);
		kernel_fpu_end();
	} else {
		ret = ops->run(ops, input, scratch, ops->state_bytes ? state->data : NULL);
	}
	latency = local_clock() - start;

	this_cpu_inc(model->stats->inferences);
	this_cpu_inc(model->stats->hist[knn_hist_bucket(latency)]);
	if (latency > __this_cpu_read(model->stats->max_ns))
		__this_cpu_write(model->stats->max_ns, latency);

	if (ret)
		reason = KNN_GUARD_ERROR;
	else if (app->desc.output_type == KNN_TYPE_FLOAT32)
		reason = knn_check_outputs(&app->guard, scratch, app->desc.output_bytes / 4);
	else
		reason = KNN_GUARD_NONE;

	if (!ret)
		knn_ring_offer(app, model, latency, input, scratch);
	if (reason != KNN_GUARD_NONE) {
		this_cpu_inc(model->stats->errors);
		if (ops->state_bytes)
			state->model_id = 0;
		if (!ret)
			ret = -ERANGE;
	} else {
		memcpy(output, scratch, app->desc.output_bytes);
	}
	knn_guard_account(app, model, latency, reason);
out:
	rcu_read_unlock();
	local_bh_enable();
	return ret;
}
EXPORT_SYMBOL_GPL(knn_core_infer);

/*
 * Copies one inference into the application's ring when someone listens to
 * "records" and the token bucket allows: over the rate a record is not
 * offered (no seq), in a full ring it is dropped (seq consumed, a gap).
 * Bottom halves are off.
 */
void knn_ring_offer(struct knn_app *app, const struct knn_model *model, u64 latency_ns,
		    const void *input, const void *output)
{
	struct knn_ring *ring = &app->ring;
	u32 rate = READ_ONCE(knn_records_per_sec);
	struct knn_record *record;
	u64 now, elapsed, burst;
	bool half;

	if (!ring->buf || !rate || !knn_channel_records_wanted())
		return;
	now = ktime_get_ns();
	burst = rate / 10 + 1;
	spin_lock(&ring->lock);
	elapsed = min_t(u64, now - ring->refill_ns, NSEC_PER_SEC);
	if (elapsed * rate >= NSEC_PER_SEC) {
		ring->tokens = min(ring->tokens + div_u64(elapsed * rate, NSEC_PER_SEC), burst);
		ring->refill_ns = now;
	}
	if (!ring->tokens) {
		spin_unlock(&ring->lock);
		return;
	}
	ring->tokens--;
	ring->seq++;
	if (ring->count == KNN_RING_RECORDS) {
		ring->dropped_pending++;
		ring->dropped_total++;
		spin_unlock(&ring->lock);
		return;
	}
	record = (struct knn_record *)(ring->buf +
		 (size_t)((ring->head + ring->count) % KNN_RING_RECORDS) * ring->record_bytes);
	record->seq = ring->seq;
	record->time_ns = now;
	record->model_id = model->id;
	record->latency_ns = (u32)min_t(u64, latency_ns, U32_MAX);
	memcpy(record + 1, input, app->desc.input_bytes);
	memcpy((u8 *)(record + 1) + app->desc.input_bytes, output, app->desc.output_bytes);
	ring->count++;
	half = ring->count == KNN_RING_RECORDS / 2;
	spin_unlock(&ring->lock);

	/* unbound: another CPU drains while this one is busy in a softirq or a long loop */
	if (half)
		mod_delayed_work(system_unbound_wq, &ring->drain, 0);
	else
		queue_delayed_work(system_unbound_wq, &ring->drain, msecs_to_jiffies(10));
}
