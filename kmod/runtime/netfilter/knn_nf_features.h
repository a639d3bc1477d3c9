/* SPDX-License-Identifier: GPL-2.0 */
/*
 * knn_nf's packet features without the kernel, as float32 bit patterns built
 * with integer arithmetic (knn_nf.c is built without FPU flags). It includes
 * only knn_bits.h, so the same code is checked in user space against
 * test/support/runtime/hooks/netfilterFeatures.ts.
 *
 *   0: 1 if TCP else 0
 *   1: 1 if UDP else 0
 *   2: source port / 65536 (0 if neither TCP nor UDP)
 *   3: destination port / 65536 (0 if neither)
 *   4: IP total length / 65536
 *   5: TTL / 256
 *   6: 1 if TCP and SYN is set else 0
 *   7: last octet of the destination address / 256
 *
 * Every value is exact in float32 (at most 16 significant bits over a power of two).
 */
#ifndef KNN_NF_FEATURES_H
#define KNN_NF_FEATURES_H

#include "knn_bits.h"

#define KNN_NF_FEATURES 8
#define KNN_NF_SCORES 2
#define KNN_NF_PROTO_TCP 6
#define KNN_NF_PROTO_UDP 17

/* What the hook reads from an IPv4 packet; ports and syn are 0 when the packet has none. */
struct knn_nf_packet {
	unsigned char protocol;
	unsigned char ttl;
	unsigned char syn;
	unsigned char dst_last_octet;
	unsigned short src_port;
	unsigned short dst_port;
	unsigned short length;
};

static inline void knn_nf_features(const struct knn_nf_packet *p, unsigned int *bits)
{
	int tcp = p->protocol == KNN_NF_PROTO_TCP;
	int udp = p->protocol == KNN_NF_PROTO_UDP;

	bits[0] = tcp ? KNN_FLOAT_ONE_BITS : 0;
	bits[1] = udp ? KNN_FLOAT_ONE_BITS : 0;
	bits[2] = tcp || udp ? knn_float_bits_from_ratio(p->src_port, 65536) : 0;
	bits[3] = tcp || udp ? knn_float_bits_from_ratio(p->dst_port, 65536) : 0;
	bits[4] = knn_float_bits_from_ratio(p->length, 65536);
	bits[5] = knn_float_bits_from_ratio(p->ttl, 256);
	bits[6] = tcp && p->syn ? KNN_FLOAT_ONE_BITS : 0;
	bits[7] = knn_float_bits_from_ratio(p->dst_last_octet, 256);
}

/* The order key of a non-NaN float32, with -0 and +0 equal as they are as floats. */
static inline unsigned int knn_nf_score_key(unsigned int bits)
{
	return knn_float_order_key((bits & 0x7fffffffu) ? bits : 0);
}

/* Drop iff score[1] (drop) > score[0] (accept) as float32; a NaN never drops. */
static inline int knn_nf_should_drop(const unsigned int *scores)
{
	if (knn_float_bits_is_nan(scores[0]) || knn_float_bits_is_nan(scores[1]))
		return 0;
	return knn_nf_score_key(scores[1]) > knn_nf_score_key(scores[0]);
}

#endif /* KNN_NF_FEATURES_H */
