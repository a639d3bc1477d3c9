/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What knn_core's units share: the application and model objects, the
 * records ring and the event queue. Not for other modules (they use knn_core.h).
 */
#ifndef KNN_CORE_INTERNAL_H
#define KNN_CORE_INTERNAL_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "knn_core.h"

#define KNN_MAX_APPS 16
/* records ring: slots per application and the largest input + output it carries */
#define KNN_RING_RECORDS 1024
#define KNN_RECORD_PAYLOAD_MAX 512
/* records per KNN_CMD_RECORDS message */
#define KNN_BATCH_RECORDS 64
/* log-linear latency histogram: 4 sub-buckets per power of two up to 2^40 ns */
#define KNN_HIST_SUB 4
#define KNN_HIST_BUCKETS (40 * KNN_HIST_SUB)

/* One CPU's counters of one model; written only by that CPU with bottom halves off. */
struct knn_model_stats {
	u64 inferences;
	u64 errors;
	u64 skipped;
	u64 max_ns;
	u64 hist[KNN_HIST_BUCKETS];
};

/* A model in a slot: the core's wrapper around the model module's ops. */
struct knn_model {
	const struct knn_model_ops *ops;
	u32 id;
	u8 slot;
	/* enum knn_guard_reason; written under the application's lock */
	u8 failed;
	char name[KNN_NAME_MAX];
	char module[MODULE_NAME_LEN];
	u64 registered_ns;
	atomic64_t rollbacks;
	struct knn_model_stats __percpu *stats;
};

/* Guard settings and the current window; the window counters are shared by all CPUs. */
struct knn_guard {
	u32 window;
	u32 bad_outputs;
	u32 latency_ns;
	u32 min_bits;
	u32 max_bits;
	atomic_t count;
	atomic_t bad;
	atomic64_t latency_sum;
};

/* Preallocated records of one application, filled by the datapath and drained by a work item. */
struct knn_ring {
	/* NULL when input + output exceed KNN_RECORD_PAYLOAD_MAX: no records */
	u8 *buf;
	u32 record_bytes;
	u32 head;
	u32 count;
	u64 seq;
	/* lost to a full ring since the last batch, and in total */
	u64 dropped_pending;
	u64 dropped_total;
	u64 sent_total;
	/* token bucket of records_per_sec */
	u64 tokens;
	u64 refill_ns;
	spinlock_t lock;
	struct delayed_work drain;
};

struct knn_app {
	char name[KNN_NAME_MAX];
	char owner[MODULE_NAME_LEN];
	struct knn_app_desc desc;
	/* made by KNN_CMD_APP_ADD: only those can be deleted from user space */
	bool from_channel;
	/* table index, for dumps */
	int index;
	/* slots and active change under knn_core_lock and this lock; the guard takes only this one */
	spinlock_t lock;
	struct knn_model *slots[KNN_SLOTS];
	struct knn_model __rcu *active;
	struct knn_guard guard;
	struct knn_ring ring;
	/* per CPU: the output of the inference in flight, returned only if it passes the guard */
	void __percpu *scratch;
};

/* knn_core_main.c */
extern struct mutex knn_core_lock;
extern struct knn_app __rcu *knn_apps[KNN_MAX_APPS];
extern unsigned int knn_records_per_sec;
struct knn_app *knn_app_find(const char *name);
int knn_app_create(const struct knn_app_desc *desc, bool from_channel, struct netlink_ext_ack *extack);
int knn_app_delete(const char *name, struct netlink_ext_ack *extack);
int knn_do_activate(const char *app_name, u32 model_id, struct netlink_ext_ack *extack);
int knn_do_rollback(const char *app_name, struct netlink_ext_ack *extack);
void knn_guard_reset(struct knn_guard *guard);

/* knn_core_infer.c */
void knn_model_sum_stats(const struct knn_model *model, struct knn_model_stats *sum);
u64 knn_hist_percentile(const struct knn_model_stats *sum, unsigned int per_mille);
void knn_ring_offer(struct knn_app *app, const struct knn_model *model, u64 latency_ns,
		    const void *input, const void *output);

/* knn_core_channel.c */
int knn_channel_init(void);
void knn_channel_exit(void);
bool knn_channel_records_wanted(void);
void knn_ring_drain_work(struct work_struct *work);
/* queues an event for the events group and the log; safe from softirq */
void knn_event(const struct knn_app *app, u8 kind, u8 reason, u32 model_id, u32 from_id, u32 to_id,
	       const char *fmt, ...) __printf(7, 8);
const char *knn_reason_name(u8 reason);

/* extack messages naming the application or model (6.1 lacks NL_SET_ERR_MSG_FMT) */
void knn_extack_fmt(struct netlink_ext_ack *extack, const char *fmt, ...) __printf(2, 3);

#endif /* KNN_CORE_INTERNAL_H */
