/*
 * Runs the hooks' kernel-free headers (knn_nf_features.h, knn_tcp_step.h) in user space, one request per stdin
 * line, one answer line each, so test/unit/runtimeHooks.test.ts checks the modules' own arithmetic:
 *   nf PROTOCOL SRC_PORT DST_PORT LENGTH TTL SYN DST_LAST_OCTET -> 8 hex float32 words
 *   drop ACCEPT_HEX DROP_HEX                                    -> 0 or 1
 *   tcpin DELAY_NS DELIVERY_BPS SEND_BPS CWND PREV_ACTION       -> 9 hex float32 words
 *   argmax HEX HEX HEX HEX HEX                                  -> action or -1
 *   cwnd CWND ACTION CLAMP                                      -> the next cwnd
 */
#include <stdio.h>
#include <string.h>

#include "knn_nf_features.h"
#include "knn_tcp_step.h"

static void print_words(const unsigned int *words, int count)
{
	int i;

	for (i = 0; i < count; i++)
		printf(i ? " %08x" : "%08x", words[i]);
	printf("\n");
}

int main(void)
{
	char command[16];

	while (scanf("%15s", command) == 1) {
		if (!strcmp(command, "nf")) {
			unsigned int v[7], bits[KNN_NF_FEATURES];
			struct knn_nf_packet p;

			if (scanf("%u %u %u %u %u %u %u", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7)
				return 2;
			p.protocol = (unsigned char)v[0];
			p.src_port = (unsigned short)v[1];
			p.dst_port = (unsigned short)v[2];
			p.length = (unsigned short)v[3];
			p.ttl = (unsigned char)v[4];
			p.syn = (unsigned char)v[5];
			p.dst_last_octet = (unsigned char)v[6];
			knn_nf_features(&p, bits);
			print_words(bits, KNN_NF_FEATURES);
		} else if (!strcmp(command, "drop")) {
			unsigned int scores[KNN_NF_SCORES];

			if (scanf("%x %x", &scores[0], &scores[1]) != 2)
				return 2;
			printf("%d\n", knn_nf_should_drop(scores));
		} else if (!strcmp(command, "tcpin")) {
			unsigned long long delay, delivery, send;
			unsigned int cwnd, inputs[KNN_TCP_INPUTS];
			int prev;

			if (scanf("%llu %llu %llu %u %d", &delay, &delivery, &send, &cwnd, &prev) != 5)
				return 2;
			knn_tcp_inputs(delay, delivery, send, cwnd, prev, inputs);
			print_words(inputs, KNN_TCP_INPUTS);
		} else if (!strcmp(command, "argmax")) {
			unsigned int s[KNN_TCP_ACTIONS];

			if (scanf("%x %x %x %x %x", &s[0], &s[1], &s[2], &s[3], &s[4]) != 5)
				return 2;
			printf("%d\n", knn_tcp_argmax(s));
		} else if (!strcmp(command, "cwnd")) {
			unsigned int cwnd, clamp;
			int action;

			if (scanf("%u %d %u", &cwnd, &action, &clamp) != 3)
				return 2;
			printf("%u\n", knn_tcp_next_cwnd(cwnd, action, clamp));
		} else {
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
