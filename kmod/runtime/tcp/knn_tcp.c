// SPDX-License-Identifier: GPL-2.0
/*
 * knn_tcp: the TCP congestion control "knn", an application ("tcp") of
 * knn_core. About every 10 ms of ACKs a socket's Indigo inputs (StanfordSNR/
 * indigo, USENIX ATC '18: queueing delay, delivery and send rate EWMAs, cwnd,
 * one-hot of the previous of 5 actions; knn_tcp_step.h) go through the
 * application's active model, and the argmax of its 5 scores changes cwnd.
 * When there is no model or it cannot run (no active model, FPU busy in this
 * softirq, the guard refused the output), the socket grows like Reno for that
 * interval, so a flow never stalls waiting for a model.
 *
 * Built with the kernel's no-FPU flags: inputs are float32 bit patterns made
 * with integer arithmetic; knn_core runs the model inside kernel_fpu_begin/end.
 * Counters: /proc/net/knn_tcp (see README.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/math64.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <net/net_namespace.h>
#include <net/tcp.h>

#include "knn_core.h"
#include "knn_tcp_step.h"

#define KNN_TCP_APP "tcp"
#define KNN_TCP_CA_NAME "knn"
/* Indigo's step_len_ms */
#define KNN_TCP_STEP_US (10 * USEC_PER_MSEC)
/* per socket recurrent state the core may hand to a model */
#define KNN_TCP_STATE_BYTES 1024

static_assert(sizeof(KNN_TCP_CA_NAME) <= TCP_CA_NAME_MAX, "the congestion control name is too long");

#define KNN_SEEN_DELAY BIT(0)
#define KNN_SEEN_DELIVERY_RATE BIT(1)
#define KNN_SEEN_SEND_RATE BIT(2)

/* Per socket; inet_csk_ca() is too small for the model's state, so it holds a pointer. */
struct knn_ca {
	u64 step_start_us;
	u64 delay_ewma_ns;
	u64 delivery_rate_ewma_bps;
	u64 send_rate_ewma_bps;
	u32 min_rtt_us;
	u8 prev_action;
	/* KNN_SEEN_*: like Indigo's, each EWMA starts at its first sample */
	u8 seen;
	/* the model did not decide this interval: grow like Reno on every ACK */
	bool reno;
	/* last: KNN_TCP_STATE_BYTES of data follow it */
	struct knn_flow_state flow;
};

enum knn_tcp_counter {
	KNN_TCP_SOCKETS,
	KNN_TCP_SOCKETS_RELEASED,
	KNN_TCP_NO_MEMORY,
	KNN_TCP_STEPS,
	KNN_TCP_DECISIONS,
	KNN_TCP_FALLBACKS,
	KNN_TCP_FALLBACK_NO_MODEL,
	KNN_TCP_FALLBACK_FPU_BUSY,
	KNN_TCP_FALLBACK_GUARD,
	KNN_TCP_FALLBACK_STATE,
	KNN_TCP_FALLBACK_NAN,
	KNN_TCP_FALLBACK_OTHER,
	KNN_TCP_ACTION_0,
	KNN_TCP_COUNTERS = KNN_TCP_ACTION_0 + KNN_TCP_ACTIONS,
};

/* Names in /proc/net/knn_tcp, in enum order; the actions are Indigo's. */
static const char *const knn_tcp_counter_names[KNN_TCP_COUNTERS] = {
	"sockets", "sockets_released", "sockets_without_state", "steps", "decisions", "fallbacks",
	"fallback_no_model", "fallback_fpu_busy", "fallback_guard", "fallback_state_too_small",
	"fallback_nan", "fallback_other",
	"action_div2", "action_minus10", "action_keep", "action_plus10", "action_times2",
};

struct knn_tcp_counters {
	u64 count[KNN_TCP_COUNTERS];
};

/* Per CPU so that ACK processing on many CPUs never shares a cache line. */
static DEFINE_PER_CPU(struct knn_tcp_counters, knn_tcp_stats);

static struct knn_app *knn_tcp_app;

static inline void knn_tcp_count(enum knn_tcp_counter counter)
{
	this_cpu_inc(knn_tcp_stats.count[counter]);
}

static struct knn_ca **knn_ca_slot(struct sock *sk)
{
	return inet_csk_ca(sk);
}

static void knn_ca_init(struct sock *sk)
{
	struct knn_ca *ca = kzalloc(sizeof(*ca) + KNN_TCP_STATE_BYTES, GFP_ATOMIC);

	*knn_ca_slot(sk) = ca;
	knn_tcp_count(KNN_TCP_SOCKETS);
	if (!ca) {
		knn_tcp_count(KNN_TCP_NO_MEMORY);
		pr_warn_ratelimited("out of memory for a socket's state: its cwnd stays as it is\n");
		return;
	}
	ca->prev_action = KNN_TCP_FIRST_ACTION;
	ca->min_rtt_us = U32_MAX;
	ca->reno = true;
	ca->flow.bytes = KNN_TCP_STATE_BYTES;
}

static void knn_ca_release(struct sock *sk)
{
	struct knn_ca **slot = knn_ca_slot(sk);

	/* listening sockets are released without ever being initialised */
	if (*slot)
		knn_tcp_count(KNN_TCP_SOCKETS_RELEASED);
	kfree(*slot);
	*slot = NULL;
}

static u64 knn_ewma(u64 average, u64 sample, u8 *seen, u8 bit)
{
	if (!(*seen & bit)) {
		*seen |= bit;
		return sample;
	}
	/* Indigo: 0.875 * average + 0.125 * sample */
	return (average * 7 + sample) >> 3;
}

/* Per ACK, as Indigo updates its EWMAs per ACK; tcp_rate.c has done the sampling. */
static void knn_measure(struct knn_ca *ca, const struct tcp_sock *tp, const struct rate_sample *rs)
{
	u64 bits;

	if (rs->rtt_us > 0) {
		u32 rtt_us = (u32)min_t(long, rs->rtt_us, U32_MAX);

		ca->min_rtt_us = min(ca->min_rtt_us, rtt_us);
		ca->delay_ewma_ns = knn_ewma(ca->delay_ewma_ns,
					     (u64)(rtt_us - ca->min_rtt_us) * NSEC_PER_USEC,
					     &ca->seen, KNN_SEEN_DELAY);
	}
	if (rs->delivered <= 0)
		return;
	bits = (u64)rs->delivered * tp->mss_cache * BITS_PER_BYTE * USEC_PER_SEC;
	if (rs->interval_us > 0)
		ca->delivery_rate_ewma_bps = knn_ewma(ca->delivery_rate_ewma_bps,
						      div64_u64(bits, rs->interval_us),
						      &ca->seen, KNN_SEEN_DELIVERY_RATE);
	/* the rate at which the delivered packets were sent */
	if (rs->snd_interval_us > 0)
		ca->send_rate_ewma_bps = knn_ewma(ca->send_rate_ewma_bps,
						  div64_u64(bits, rs->snd_interval_us),
						  &ca->seen, KNN_SEEN_SEND_RATE);
}

static void knn_count_fallback(int status)
{
	knn_tcp_count(KNN_TCP_FALLBACKS);
	switch (status) {
	case -ENODATA:
		knn_tcp_count(KNN_TCP_FALLBACK_NO_MODEL);
		break;
	case -EAGAIN:
		knn_tcp_count(KNN_TCP_FALLBACK_FPU_BUSY);
		break;
	case -ERANGE:
		knn_tcp_count(KNN_TCP_FALLBACK_GUARD);
		break;
	case -ENOSPC:
		knn_tcp_count(KNN_TCP_FALLBACK_STATE);
		break;
	case -EDOM:
		knn_tcp_count(KNN_TCP_FALLBACK_NAN);
		break;
	default:
		knn_tcp_count(KNN_TCP_FALLBACK_OTHER);
		break;
	}
}

/* One Indigo step: the model's action decides cwnd, or Reno does until the next step. */
static void knn_step(struct sock *sk, struct knn_ca *ca)
{
	struct tcp_sock *tp = tcp_sk(sk);
	u32 inputs[KNN_TCP_INPUTS], scores[KNN_TCP_ACTIONS];
	int action, status;

	knn_tcp_count(KNN_TCP_STEPS);
	knn_tcp_inputs(ca->delay_ewma_ns, ca->delivery_rate_ewma_bps, ca->send_rate_ewma_bps,
		       tcp_snd_cwnd(tp), ca->prev_action, inputs);
	status = knn_core_infer(knn_tcp_app, inputs, scores, &ca->flow);
	/* the guard refuses NaN; this keeps a NaN from ever picking an action */
	action = status ? -1 : knn_tcp_argmax(scores);
	if (!status && action < 0)
		status = -EDOM;
	if (status) {
		knn_count_fallback(status);
		ca->reno = true;
		return;
	}
	knn_tcp_count(KNN_TCP_DECISIONS);
	knn_tcp_count(KNN_TCP_ACTION_0 + action);
	tcp_snd_cwnd_set(tp, knn_tcp_next_cwnd(tcp_snd_cwnd(tp), action, tp->snd_cwnd_clamp));
	ca->prev_action = action;
	ca->reno = false;
}

/*
 * With cong_control the stack leaves cwnd entirely to us (no PRR, no
 * cong_avoid), so the fallback does Reno's part: halve to ssthresh (set by
 * tcp_reno_ssthresh on loss or ECN) while the stack reduces cwnd, else grow.
 */
static void knn_reno(struct sock *sk, const struct rate_sample *rs)
{
	struct tcp_sock *tp = tcp_sk(sk);

	if (tcp_in_cwnd_reduction(sk)) {
		if (tcp_snd_cwnd(tp) > tp->snd_ssthresh)
			tcp_snd_cwnd_set(tp, max(tp->snd_ssthresh, KNN_TCP_MIN_CWND));
		return;
	}
	if (rs->acked_sacked > 0)
		tcp_reno_cong_avoid(sk, 0, rs->acked_sacked);
}

static void knn_control(struct sock *sk, const struct rate_sample *rs)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct knn_ca *ca = *knn_ca_slot(sk);

	if (!ca)
		return;
	knn_measure(ca, tp, rs);
	if (!ca->step_start_us) {
		ca->step_start_us = tp->tcp_mstamp;
	} else if (tp->tcp_mstamp - ca->step_start_us > KNN_TCP_STEP_US) {
		ca->step_start_us = tp->tcp_mstamp;
		knn_step(sk, ca);
		return;
	}
	if (ca->reno)
		knn_reno(sk, rs);
}

/* cong_control gained the ACK's sequence and flags in 6.10 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
static void knn_cong_control(struct sock *sk, u32 ack, int flag, const struct rate_sample *rs)
{
	knn_control(sk, rs);
}
#else
static void knn_cong_control(struct sock *sk, const struct rate_sample *rs)
{
	knn_control(sk, rs);
}
#endif

static struct tcp_congestion_ops knn_congestion_ops __read_mostly = {
	.init = knn_ca_init,
	.release = knn_ca_release,
	.cong_control = knn_cong_control,
	.ssthresh = tcp_reno_ssthresh,
	.undo_cwnd = tcp_reno_undo_cwnd,
	.owner = THIS_MODULE,
	.name = KNN_TCP_CA_NAME,
};

static int knn_tcp_show(struct seq_file *seq, void *unused)
{
	u64 total[KNN_TCP_COUNTERS] = {};
	int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct knn_tcp_counters *c = per_cpu_ptr(&knn_tcp_stats, cpu);

		for (i = 0; i < KNN_TCP_COUNTERS; i++)
			total[i] += READ_ONCE(c->count[i]);
	}
	for (i = 0; i < KNN_TCP_COUNTERS; i++)
		seq_printf(seq, "%s %llu\n", knn_tcp_counter_names[i], total[i]);
	return 0;
}

/* The counters are global; the file is in every network namespace so a test inside one can read it. */
static int __net_init knn_tcp_net_init(struct net *net)
{
	if (!proc_create_net_single("knn_tcp", 0444, net->proc_net, knn_tcp_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit knn_tcp_net_exit(struct net *net)
{
	remove_proc_entry("knn_tcp", net->proc_net);
}

static struct pernet_operations knn_tcp_net_ops = {
	.init = knn_tcp_net_init,
	.exit = knn_tcp_net_exit,
};

static const struct knn_app_desc knn_tcp_desc = {
	.name = KNN_TCP_APP,
	.input_type = KNN_TYPE_FLOAT32,
	.output_type = KNN_TYPE_FLOAT32,
	.input_bytes = KNN_TCP_INPUTS * 4,
	.output_bytes = KNN_TCP_ACTIONS * 4,
	.state_bytes_max = KNN_TCP_STATE_BYTES,
	/* any finite score: only their order matters */
	.output_min_bits = 0,
	.output_max_bits = 0,
	.owner = THIS_MODULE,
};

static int __init knn_tcp_init(void)
{
	struct knn_app *app;
	int status;

	BUILD_BUG_ON(sizeof(struct knn_ca *) > ICSK_CA_PRIV_SIZE);
	BUILD_BUG_ON(ARRAY_SIZE(knn_tcp_counter_names) != KNN_TCP_COUNTERS);
	app = knn_core_register_app(&knn_tcp_desc);
	if (IS_ERR_OR_NULL(app)) {
		status = app ? PTR_ERR(app) : -ENOMEM;
		pr_err("cannot register the application \"%s\" with knn_core (%d)%s\n", KNN_TCP_APP, status,
		       status == -EEXIST ? ": another module or a user (knn-channel app-add) already made it; remove that first" : "");
		return status;
	}
	knn_tcp_app = app;
	status = register_pernet_subsys(&knn_tcp_net_ops);
	if (status) {
		pr_err("cannot create /proc/net/knn_tcp (%d)\n", status);
		goto unregister_app;
	}
	status = tcp_register_congestion_control(&knn_congestion_ops);
	if (status) {
		pr_err("cannot register the congestion control \"%s\" (%d)%s\n", KNN_TCP_CA_NAME, status,
		       status == -EEXIST ? ": another module already uses that name; unload it first" : "");
		goto unregister_net;
	}
	pr_info("registered congestion control %s for application %s: select it with sysctl net.ipv4.tcp_congestion_control=%s or setsockopt(TCP_CONGESTION); without an active model it behaves like Reno\n",
		KNN_TCP_CA_NAME, KNN_TCP_APP, KNN_TCP_CA_NAME);
	return 0;

unregister_net:
	unregister_pernet_subsys(&knn_tcp_net_ops);
unregister_app:
	knn_core_unregister_app(knn_tcp_app);
	return status;
}

/* Only reached when no socket and no netns default uses "knn": each holds a module reference. */
static void __exit knn_tcp_exit(void)
{
	tcp_unregister_congestion_control(&knn_congestion_ops);
	unregister_pernet_subsys(&knn_tcp_net_ops);
	knn_core_unregister_app(knn_tcp_app);
}

module_init(knn_tcp_init);
module_exit(knn_tcp_exit);

/* GPL: tcp_reno_ssthresh(), tcp_reno_cong_avoid() and tcp_reno_undo_cwnd() are EXPORT_SYMBOL_GPL */
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel NN TCP congestion control knn: Indigo-style steps through knn_core's application tcp, Reno without a model");
