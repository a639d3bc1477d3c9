/* SPDX-License-Identifier: GPL-2.0 */
/*
 * knn_tcp's Indigo step without the kernel: the 9 inputs as float32 bit
 * patterns, the argmax of the 5 scores and the cwnd an action leads to. It
 * includes only knn_bits.h, so the same code is checked in user space
 * (test/unit/runtimeHooks.test.ts).
 */
#ifndef KNN_TCP_STEP_H
#define KNN_TCP_STEP_H

#include "knn_bits.h"

#define KNN_TCP_FEATURES 4
#define KNN_TCP_ACTIONS 5
#define KNN_TCP_INPUTS (KNN_TCP_FEATURES + KNN_TCP_ACTIONS)
/* Indigo starts as if its previous action had been the last one (prev_action = action_cnt - 1) */
#define KNN_TCP_FIRST_ACTION (KNN_TCP_ACTIONS - 1)
#define KNN_TCP_MIN_CWND 2u
/*
 * 2^20 packets (about 1.5 GB in flight at 1500 bytes): far above any path, far below the INT_MAX at which the
 * kernel's tcp_snd_cwnd_set() warns, so neither "*2" nor Reno's growth in a fallback interval can get there.
 */
#define KNN_TCP_MAX_CWND (1u << 20)
/* Indigo's normalisation: 200 ms and 200 Mbit/s, here in ns and bit/s */
#define KNN_TCP_DELAY_SCALE_NS 200000000ull
#define KNN_TCP_RATE_SCALE_BPS 200000000ull
#define KNN_TCP_CWND_SCALE 5000ull

/* [delay / 200 ms, delivery rate / 200 Mbit/s, send rate / 200 Mbit/s, cwnd / 5000, one-hot(prev_action)] */
static inline void knn_tcp_inputs(unsigned long long delay_ns, unsigned long long delivery_bps,
				  unsigned long long send_bps, unsigned int cwnd, int prev_action,
				  unsigned int *inputs)
{
	int i;

	inputs[0] = knn_float_bits_from_ratio(delay_ns, KNN_TCP_DELAY_SCALE_NS);
	inputs[1] = knn_float_bits_from_ratio(delivery_bps, KNN_TCP_RATE_SCALE_BPS);
	inputs[2] = knn_float_bits_from_ratio(send_bps, KNN_TCP_RATE_SCALE_BPS);
	inputs[3] = knn_float_bits_from_ratio(cwnd, KNN_TCP_CWND_SCALE);
	for (i = 0; i < KNN_TCP_ACTIONS; i++)
		inputs[KNN_TCP_FEATURES + i] = i == prev_action ? KNN_FLOAT_ONE_BITS : 0;
}

/* The order key of a non-NaN float32, with -0 and +0 equal as they are as floats. */
static inline unsigned int knn_tcp_score_key(unsigned int bits)
{
	return knn_float_order_key((bits & 0x7fffffffu) ? bits : 0);
}

/* The first of equal scores wins, as numpy's argmax; -1 when a score is NaN. */
static inline int knn_tcp_argmax(const unsigned int *scores)
{
	int action = 0;
	int i;

	for (i = 0; i < KNN_TCP_ACTIONS; i++) {
		if (knn_float_bits_is_nan(scores[i]))
			return -1;
		if (knn_tcp_score_key(scores[i]) > knn_tcp_score_key(scores[action]))
			action = i;
	}
	return action;
}

/* Indigo's actions "/2.0", "-10.0", "+0.0", "+10.0", "*2.0", kept within [2, max(min(clamp, 2^20), 2)]. */
static inline unsigned int knn_tcp_next_cwnd(unsigned int cwnd, int action, unsigned int clamp)
{
	unsigned int high = clamp < KNN_TCP_MAX_CWND ? clamp : KNN_TCP_MAX_CWND;

	if (high < KNN_TCP_MIN_CWND)
		high = KNN_TCP_MIN_CWND;

	switch (action) {
	case 0:
		cwnd /= 2;
		break;
	case 1:
		cwnd = cwnd > 10 ? cwnd - 10 : 0;
		break;
	case 3:
		cwnd = cwnd > 0xffffffffu - 10 ? 0xffffffffu : cwnd + 10;
		break;
	case 4:
		cwnd = cwnd > 0xffffffffu / 2 ? 0xffffffffu : cwnd * 2;
		break;
	default:
		break;
	}
	if (cwnd < KNN_TCP_MIN_CWND)
		return KNN_TCP_MIN_CWND;
	return cwnd > high ? high : cwnd;
}

#endif /* KNN_TCP_STEP_H */
