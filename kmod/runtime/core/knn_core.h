/* SPDX-License-Identifier: GPL-2.0 */
/*
 * knn_core: Kernel NN's datapath runtime. Applications (a TCP congestion
 * control, a netfilter hook, or an application created from user space) ask
 * it for inferences; model modules register into an application's two slots.
 *
 *  - The active model is an RCU-protected pointer: knn_core_infer() never
 *    blocks on a swap, and a model leaves a slot only after a grace period.
 *  - The other slot keeps the previous model resident, so rollback is one
 *    pointer store.
 *  - The guard rolls an application back by itself when its active model
 *    produces NaN/Inf or out-of-range outputs, or exceeds the latency budget
 *    over a window (module parameters of knn_core).
 *  - Every inference may become a record on the generic netlink channel
 *    (knn_channel.h), rate-limited and batched: the datapath never waits.
 *
 * Model modules and application modules are built with knn_core's
 * Module.symvers (KBUILD_EXTRA_SYMBOLS) and call only what is below.
 */
#ifndef KNN_CORE_H
#define KNN_CORE_H

#include <linux/module.h>
#include <linux/types.h>

#include "knn_channel.h"

struct knn_app;

/* What an application feeds its models and reads back; models must match it. */
struct knn_app_desc {
	/* [A-Za-z0-9_], 1..KNN_NAME_MAX-1 characters: "tcp", "netfilter", ... */
	const char *name;
	/* enum knn_element_type of the input and output elements */
	u8 input_type;
	u8 output_type;
	/* bytes of argument 0 / result 0 of every model of this application */
	u32 input_bytes;
	u32 output_bytes;
	/* the most recurrent-state bytes a caller keeps per flow (0: stateless models only) */
	u32 state_bytes_max;
	/*
	 * float32 outputs only: the range every output must lie in, as float32
	 * bit patterns (the core is built without FPU); both 0 means any finite
	 * value. NaN and Inf are always out of range.
	 */
	u32 output_min_bits;
	u32 output_max_bits;
	struct module *owner;
};

/* What a model module hands to the core. The core never frees it. */
struct knn_model_ops {
	/* the model's prefix (Kernel NN's module name without "knn_"), for status and events */
	const char *name;
	struct module *owner;
	u8 input_type;
	u8 output_type;
	u32 input_bytes;
	u32 output_bytes;
	/* bytes of the recurrent state: arguments 1.. concatenated, fed from results 1.. */
	u32 state_bytes;
	/* true: run() executes FP/SIMD code and is called only inside kernel_fpu_begin/end */
	bool uses_fpu;
	/*
	 * One inference on this CPU's instance: input -> output, state updated in
	 * place (zeroed by the core when the flow's state belonged to another
	 * model). Called with bottom halves disabled, never from hard IRQ or NMI,
	 * never concurrently on one CPU. Returns 0 or a negative errno.
	 */
	int (*run)(const struct knn_model_ops *ops, const void *input, void *output, void *state);
	void *priv;
};

/* A caller's per-flow state, e.g. per socket; zero-initialise it. */
struct knn_flow_state {
	/* the model whose state bytes follow; 0: none yet */
	u32 model_id;
	u32 bytes;
	u8 data[];
};

/* Registers an application; returns it or an ERR_PTR: -EEXIST if the name is taken. Process context. */
struct knn_app *knn_core_register_app(const struct knn_app_desc *desc);
/* Removes it; its models are dropped from their slots after a grace period. Process context. */
void knn_core_unregister_app(struct knn_app *app);

/*
 * Registers a model into the standby slot of the named application (the slot
 * that is not active; a model already there is evicted after a grace period).
 * It is not active until knn_core_activate() or the channel's ACTIVATE
 * command. Returns the model id (> 0) or a negative errno: -ENOENT no such
 * application, -EINVAL a model that does not match the application's sizes
 * and types (the reason is logged, naming both). Process context.
 */
int knn_core_register_model(const char *app_name, const struct knn_model_ops *ops);
/*
 * Removes a model wherever it is. If it was active the application rolls back
 * to the other slot (event reason "unregistered"), or has no model. Returns
 * after a grace period: the caller may free the model and unload. Process context.
 */
void knn_core_unregister_model(const struct knn_model_ops *ops);

/* Makes model_id the active model of its application (0: the standby slot's model). */
int knn_core_activate(const char *app_name, u32 model_id);
/* Swaps back to the other slot's model, if it holds one that did not fail the guard. */
int knn_core_rollback(const char *app_name);

/*
 * One inference through the application's active model, from process or
 * softirq context. Returns 0 with output written, or a negative errno with
 * output untouched: -ENODATA no active model, -EAGAIN the FPU is not usable in
 * this context (counted as skipped), -ERANGE the output failed the guard,
 * -ENOSPC the flow's state is too small for the model. state may be NULL for
 * stateless applications.
 */
int knn_core_infer(struct knn_app *app, const void *input, void *output, struct knn_flow_state *state);

#endif /* KNN_CORE_H */
