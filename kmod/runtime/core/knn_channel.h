/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * knn_core's generic netlink channel, shared by the kernel module and the
 * user-space tool knn-channel (which needs no libnl). Family "knn", version 1.
 *
 * Commands (request -> reply):
 *   KNN_CMD_LIST      dump, optional KNN_A_APP filter -> one KNN_CMD_LIST message per application
 *   KNN_CMD_ACTIVATE  KNN_A_APP, optional KNN_A_MODEL_ID (0/absent: the standby slot) -> ack
 *   KNN_CMD_ROLLBACK  KNN_A_APP -> ack
 *   KNN_CMD_APP_ADD   KNN_A_APP, KNN_A_INPUT_TYPE, KNN_A_OUTPUT_TYPE, KNN_A_INPUT_BYTES, KNN_A_OUTPUT_BYTES,
 *                     optional KNN_A_STATE_BYTES -> ack (an application owned by knn_core itself)
 *   KNN_CMD_APP_DEL   KNN_A_APP -> ack (only applications made by KNN_CMD_APP_ADD)
 *   KNN_CMD_SET_GUARD KNN_A_APP, optional KNN_A_GUARD_* -> ack
 * Every command but LIST needs CAP_NET_ADMIN. Errors are negative errnos in
 * the ack, with an extack message naming the application or model.
 *
 * Multicast groups:
 *   "records": KNN_CMD_RECORDS messages, KNN_A_APP + KNN_A_RECORD_BATCH
 *   "events":  KNN_CMD_EVENT messages (register, unregister, activate, rollback, guard)
 */
#ifndef KNN_CHANNEL_H
#define KNN_CHANNEL_H

#define KNN_GENL_NAME "knn"
#define KNN_GENL_VERSION 1
#define KNN_GROUP_RECORDS "records"
#define KNN_GROUP_EVENTS "events"
/* application and model names, with the NUL */
#define KNN_NAME_MAX 32
/* slots per application */
#define KNN_SLOTS 2

enum knn_element_type {
	KNN_TYPE_FLOAT32 = 1,
	KNN_TYPE_INT8,
	KNN_TYPE_UINT8,
	KNN_TYPE_INT16,
	KNN_TYPE_INT32,
};

enum knn_cmd {
	KNN_CMD_UNSPEC,
	KNN_CMD_LIST,
	KNN_CMD_ACTIVATE,
	KNN_CMD_ROLLBACK,
	KNN_CMD_APP_ADD,
	KNN_CMD_APP_DEL,
	KNN_CMD_SET_GUARD,
	KNN_CMD_RECORDS,
	KNN_CMD_EVENT,
	__KNN_CMD_MAX,
};
#define KNN_CMD_MAX (__KNN_CMD_MAX - 1)

enum knn_event_kind {
	KNN_EVENT_REGISTER = 1,	/* a model entered a slot */
	KNN_EVENT_UNREGISTER,	/* a model left its slot (module unloaded or evicted) */
	KNN_EVENT_ACTIVATE,	/* a user activated a model */
	KNN_EVENT_ROLLBACK,	/* a user rolled back */
	KNN_EVENT_GUARD,	/* the guard rolled back by itself */
};

enum knn_guard_reason {
	KNN_GUARD_NONE,
	KNN_GUARD_NAN,		/* an output was NaN or Inf */
	KNN_GUARD_RANGE,	/* an output was outside the application's range */
	KNN_GUARD_LATENCY,	/* the window's mean latency exceeded the budget */
	KNN_GUARD_ERROR,	/* run() returned an error */
};

enum knn_attr {
	KNN_A_UNSPEC,
	KNN_A_APP,		/* string: application name */
	KNN_A_INPUT_TYPE,	/* u8 */
	KNN_A_OUTPUT_TYPE,	/* u8 */
	KNN_A_INPUT_BYTES,	/* u32 */
	KNN_A_OUTPUT_BYTES,	/* u32 */
	KNN_A_STATE_BYTES,	/* u32 */
	KNN_A_ACTIVE_ID,	/* u32: active model id, 0 none */
	KNN_A_SLOT,		/* nested, repeated: one per occupied slot, KNN_S_* */
	KNN_A_MODEL_ID,		/* u32 */
	KNN_A_EVENT,		/* u8 enum knn_event_kind */
	KNN_A_REASON,		/* u8 enum knn_guard_reason */
	KNN_A_FROM_ID,		/* u32: model active before the event */
	KNN_A_TO_ID,		/* u32: model active after it */
	KNN_A_MESSAGE,		/* string: a sentence for people */
	KNN_A_RECORD_BATCH,	/* binary: struct knn_record_header + records, see below */
	KNN_A_GUARD_WINDOW,	/* u32: inferences per guard window */
	KNN_A_GUARD_LATENCY_NS,	/* u32: mean latency budget over a window, 0 off */
	KNN_A_GUARD_MIN_BITS,	/* u32: float32 bits of the lowest allowed output */
	KNN_A_GUARD_MAX_BITS,	/* u32: float32 bits of the highest allowed output */
	KNN_A_RECORDS_DROPPED,	/* u64: records lost because a batch buffer was full */
	KNN_A_RECORDS_SENT,	/* u64 */
	KNN_A_OWNER,		/* string: module that registered the application, "knn_core" for KNN_CMD_APP_ADD */
	KNN_A_PAD,
	KNN_A_TIME_NS,		/* u64: ktime_get_real_ns() of an event */
	KNN_A_GUARD_BAD_OUTPUTS,	/* u32: bad outputs within a window that roll back at once */
	__KNN_A_MAX,
};
#define KNN_A_MAX (__KNN_A_MAX - 1)

/* Inside a KNN_A_SLOT nest */
enum knn_slot_attr {
	KNN_S_UNSPEC,
	KNN_S_INDEX,		/* u8: 0 or 1 */
	KNN_S_MODEL_ID,		/* u32 */
	KNN_S_NAME,		/* string: the model's name */
	KNN_S_MODULE,		/* string: the module that registered it */
	KNN_S_ACTIVE,		/* flag */
	KNN_S_FAILED,		/* u8 enum knn_guard_reason: why the guard took it out, 0 healthy */
	KNN_S_INFERENCES,	/* u64 */
	KNN_S_ERRORS,		/* u64: run() errors and guard failures */
	KNN_S_SKIPPED,		/* u64: calls where the FPU was not usable */
	KNN_S_ROLLBACKS,	/* u64: times the guard or a user took it out */
	KNN_S_LATENCY_P50_NS,	/* u64 */
	KNN_S_LATENCY_P99_NS,	/* u64 */
	KNN_S_LATENCY_MAX_NS,	/* u64 */
	KNN_S_USES_FPU,		/* u8 */
	KNN_S_PAD,
	KNN_S_REGISTERED_NS,	/* u64: ktime_get_real_ns() when it registered */
	__KNN_S_MAX,
};
#define KNN_S_MAX (__KNN_S_MAX - 1)

/*
 * KNN_A_RECORD_BATCH: this header, then count records of record_bytes each:
 * struct knn_record, then input_bytes of input, then output_bytes of output,
 * padded to 8 bytes. Little-endian host order (the target's).
 */
struct knn_record_header {
	__u32 count;
	__u32 record_bytes;
	__u32 input_bytes;
	__u32 output_bytes;
	/*
	 * records this application dropped since the last message because its
	 * ring was full; each used a seq, so they show as a gap. Inferences over
	 * the records_per_sec rate are not offered at all: they use no seq and
	 * are not counted here.
	 */
	__u64 dropped;
};

struct knn_record {
	/* per application, +1 per record offered to the channel: a gap is a lost record */
	__u64 seq;
	__u64 time_ns;		/* ktime_get_ns() */
	__u32 model_id;
	__u32 latency_ns;
};

#endif /* KNN_CHANNEL_H */
