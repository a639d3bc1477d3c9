// SPDX-License-Identifier: GPL-2.0
/*
 * knn_nf: an IPv4 NF_INET_PRE_ROUTING hook, the application "netfilter" of
 * knn_core. Every packet becomes 8 float32 features (knn_nf_features.h):
 *
 *   0: 1 if TCP else 0                 4: IP total length / 65536
 *   1: 1 if UDP else 0                 5: TTL / 256
 *   2: source port / 65536             6: 1 if TCP and SYN is set else 0
 *   3: destination port / 65536        7: last octet of the destination address / 256
 *
 * (ports 0 when neither TCP nor UDP, or in a fragment other than the first),
 * and the active model's 2 scores [accept, drop] decide: drop iff drop > accept.
 * Without a model, or when it cannot run, the packet is accepted (fail open)
 * and counted. The hook is in every network namespace except the initial one
 * unless init_netns=1, so a model can never cut the management path (SSH)
 * into the machine. Counters per namespace in /proc/net/knn_nf (README.md).
 *
 * Built with the kernel's no-FPU flags: features are float32 bit patterns
 * made with integer arithmetic; knn_core runs the model inside
 * kernel_fpu_begin/end.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "knn_core.h"
#include "knn_nf_features.h"

#define KNN_NF_APP "netfilter"

static bool init_netns;
module_param(init_netns, bool, 0444);
MODULE_PARM_DESC(init_netns,
		 "also hook the initial network namespace, where SSH to this machine usually arrives (default 0: only other namespaces)");

enum knn_nf_counter {
	KNN_NF_PACKETS,
	KNN_NF_SCORED,
	KNN_NF_ACCEPTED,
	KNN_NF_DROPPED,
	KNN_NF_FAILED_OPEN,
	KNN_NF_FAILED_NO_MODEL,
	KNN_NF_FAILED_FPU_BUSY,
	KNN_NF_FAILED_GUARD,
	KNN_NF_FAILED_NAN,
	KNN_NF_FAILED_OTHER,
	KNN_NF_TRUNCATED,
	KNN_NF_COUNTERS,
};

/* Names in /proc/net/knn_nf, in enum order. */
static const char *const knn_nf_counter_names[KNN_NF_COUNTERS] = {
	"packets", "scored", "accepted", "dropped", "failed_open", "failed_no_model",
	"failed_fpu_busy", "failed_guard", "failed_nan", "failed_other", "truncated",
};

struct knn_nf_counters {
	u64 count[KNN_NF_COUNTERS];
};

struct knn_nf_net {
	struct knn_nf_counters __percpu *counters;
	bool hooked;
};

static unsigned int knn_nf_net_id __read_mostly;
static struct knn_app *knn_nf_app;

static inline void knn_nf_count(struct knn_nf_net *kn, enum knn_nf_counter counter)
{
	this_cpu_inc(kn->counters->count[counter]);
}

/* Reads what the features need; false when the transport header is cut short. */
static bool knn_nf_read(const struct sk_buff *skb, struct knn_nf_packet *packet)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int offset = skb_network_offset(skb) + ip_hdrlen(skb);

	memset(packet, 0, sizeof(*packet));
	packet->protocol = iph->protocol;
	packet->ttl = iph->ttl;
	packet->length = ntohs(iph->tot_len);
	packet->dst_last_octet = ntohl(iph->daddr) & 0xff;
	/* only the first fragment carries the ports */
	if (ntohs(iph->frag_off) & IP_OFFSET)
		return true;
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr buffer;
		const struct tcphdr *th = skb_header_pointer(skb, offset, sizeof(buffer), &buffer);

		if (!th)
			return false;
		packet->src_port = ntohs(th->source);
		packet->dst_port = ntohs(th->dest);
		packet->syn = th->syn;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr buffer;
		const struct udphdr *uh = skb_header_pointer(skb, offset, sizeof(buffer), &buffer);

		if (!uh)
			return false;
		packet->src_port = ntohs(uh->source);
		packet->dst_port = ntohs(uh->dest);
	}
	return true;
}

static void knn_nf_count_failure(struct knn_nf_net *kn, int status)
{
	knn_nf_count(kn, KNN_NF_FAILED_OPEN);
	switch (status) {
	case -ENODATA:
		knn_nf_count(kn, KNN_NF_FAILED_NO_MODEL);
		break;
	case -EAGAIN:
		knn_nf_count(kn, KNN_NF_FAILED_FPU_BUSY);
		break;
	case -ERANGE:
		knn_nf_count(kn, KNN_NF_FAILED_GUARD);
		break;
	case -EDOM:
		knn_nf_count(kn, KNN_NF_FAILED_NAN);
		break;
	default:
		knn_nf_count(kn, KNN_NF_FAILED_OTHER);
		break;
	}
}

static unsigned int knn_nf_hook(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct knn_nf_net *kn = net_generic(state->net, knn_nf_net_id);
	u32 features[KNN_NF_FEATURES], scores[KNN_NF_SCORES];
	struct knn_nf_packet packet;
	int status;

	knn_nf_count(kn, KNN_NF_PACKETS);
	if (!knn_nf_read(skb, &packet)) {
		knn_nf_count(kn, KNN_NF_TRUNCATED);
		return NF_ACCEPT;
	}
	knn_nf_features(&packet, features);
	status = knn_core_infer(knn_nf_app, features, scores, NULL);
	/* the guard refuses NaN; this keeps a NaN from ever deciding */
	if (!status && (knn_float_bits_is_nan(scores[0]) || knn_float_bits_is_nan(scores[1])))
		status = -EDOM;
	if (status) {
		knn_nf_count_failure(kn, status);
		return NF_ACCEPT;
	}
	knn_nf_count(kn, KNN_NF_SCORED);
	if (knn_nf_should_drop(scores)) {
		knn_nf_count(kn, KNN_NF_DROPPED);
		return NF_DROP;
	}
	knn_nf_count(kn, KNN_NF_ACCEPTED);
	return NF_ACCEPT;
}

static const struct nf_hook_ops knn_nf_ops = {
	.hook = knn_nf_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_PRE_ROUTING,
	/* after conntrack's defragmentation, before NAT and filtering */
	.priority = NF_IP_PRI_CONNTRACK + 1,
};

static int knn_nf_show(struct seq_file *seq, void *unused)
{
	struct knn_nf_net *kn = net_generic(seq_file_single_net(seq), knn_nf_net_id);
	u64 total[KNN_NF_COUNTERS] = {};
	int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct knn_nf_counters *c = per_cpu_ptr(kn->counters, cpu);

		for (i = 0; i < KNN_NF_COUNTERS; i++)
			total[i] += READ_ONCE(c->count[i]);
	}
	seq_printf(seq, "hooked %d\n", kn->hooked);
	for (i = 0; i < KNN_NF_COUNTERS; i++)
		seq_printf(seq, "%s %llu\n", knn_nf_counter_names[i], total[i]);
	return 0;
}

static int __net_init knn_nf_net_init(struct net *net)
{
	struct knn_nf_net *kn = net_generic(net, knn_nf_net_id);
	int status;

	kn->counters = alloc_percpu(struct knn_nf_counters);
	if (!kn->counters)
		return -ENOMEM;
	if (!proc_create_net_single("knn_nf", 0444, net->proc_net, knn_nf_show, NULL)) {
		status = -ENOMEM;
		goto free_counters;
	}
	if (net_eq(net, &init_net) && !init_netns)
		return 0;
	status = nf_register_net_hook(net, &knn_nf_ops);
	if (status) {
		pr_err("cannot hook PRE_ROUTING in a network namespace (%d)\n", status);
		goto remove_proc;
	}
	kn->hooked = true;
	return 0;

remove_proc:
	remove_proc_entry("knn_nf", net->proc_net);
free_counters:
	free_percpu(kn->counters);
	return status;
}

static void __net_exit knn_nf_net_exit(struct net *net)
{
	struct knn_nf_net *kn = net_generic(net, knn_nf_net_id);

	/* waits for hooks in flight, so the counters can go */
	if (kn->hooked)
		nf_unregister_net_hook(net, &knn_nf_ops);
	remove_proc_entry("knn_nf", net->proc_net);
	free_percpu(kn->counters);
}

static struct pernet_operations knn_nf_net_ops = {
	.init = knn_nf_net_init,
	.exit = knn_nf_net_exit,
	.id = &knn_nf_net_id,
	.size = sizeof(struct knn_nf_net),
};

static const struct knn_app_desc knn_nf_desc = {
	.name = KNN_NF_APP,
	.input_type = KNN_TYPE_FLOAT32,
	.output_type = KNN_TYPE_FLOAT32,
	.input_bytes = KNN_NF_FEATURES * 4,
	.output_bytes = KNN_NF_SCORES * 4,
	.state_bytes_max = 0,
	/* any finite score: only their order matters */
	.output_min_bits = 0,
	.output_max_bits = 0,
	.owner = THIS_MODULE,
};

static int __init knn_nf_init(void)
{
	struct knn_app *app;
	int status;

	BUILD_BUG_ON(ARRAY_SIZE(knn_nf_counter_names) != KNN_NF_COUNTERS);
	app = knn_core_register_app(&knn_nf_desc);
	if (IS_ERR_OR_NULL(app)) {
		status = app ? PTR_ERR(app) : -ENOMEM;
		pr_err("cannot register the application \"%s\" with knn_core (%d)%s\n", KNN_NF_APP, status,
		       status == -EEXIST ? ": another module or a user (knn-channel app-add) already made it; remove that first" : "");
		return status;
	}
	knn_nf_app = app;
	/* the application exists before the first hook can call it */
	status = register_pernet_subsys(&knn_nf_net_ops);
	if (status) {
		pr_err("cannot hook the network namespaces (%d)\n", status);
		knn_core_unregister_app(knn_nf_app);
		return status;
	}
	pr_info("hooked IPv4 PRE_ROUTING for application %s in %s; without an active model every packet is accepted\n",
		KNN_NF_APP, init_netns ? "every network namespace" : "every network namespace but the initial one (init_netns=0)");
	return 0;
}

static void __exit knn_nf_exit(void)
{
	unregister_pernet_subsys(&knn_nf_net_ops);
	knn_core_unregister_app(knn_nf_app);
}

module_init(knn_nf_init);
module_exit(knn_nf_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel NN netfilter hook: IPv4 PRE_ROUTING verdicts from knn_core's application netfilter, fail open");
