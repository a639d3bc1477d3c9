/*
 * udpprobe: counts UDP datagrams across a path, per destination port, for the sandbox's traffic tests.
 *
 *   udpprobe send HOST PORT... --count N [--source-port P] [--gap-us U]
 *       sends N datagrams to each port from one socket bound to the source port (default 40000)
 *       and prints {"sent":{"PORT":N,...},"errors":E}
 *   udpprobe recv --ports P1,P2,... --seconds S [--idle-ms M]
 *       binds the ports and counts datagrams until S seconds have passed, or M ms (default 1000) of
 *       silence after the first one; prints {"received":{"PORT":N,...}}
 *
 * Built with gcc -O2 -static so it runs in the VM's initramfs, which has no C library of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64

static int parse_port(const char *text)
{
	char *end;
	long port = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "udpprobe: \"%s\" is not a port (1-65535)\n", text);
		exit(2);
	}
	return (int)port;
}

static long parse_count(const char *text, const char *flag)
{
	char *end;
	long value = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || value < 0) {
		fprintf(stderr, "udpprobe: %s needs a whole number >= 0, not \"%s\"\n", flag, text);
		exit(2);
	}
	return value;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int do_send(int argc, char **argv)
{
	int ports[MAX_PORTS], nports = 0, source_port = 40000, fd, i;
	long count = -1, gap_us = 0, sent[MAX_PORTS] = { 0 }, errors = 0, n;
	const char *host = NULL;
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	char payload[32];

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = parse_count(argv[++i], "--count");
		else if (strcmp(argv[i], "--source-port") == 0 && i + 1 < argc)
			source_port = parse_port(argv[++i]);
		else if (strcmp(argv[i], "--gap-us") == 0 && i + 1 < argc)
			gap_us = parse_count(argv[++i], "--gap-us");
		else if (!host)
			host = argv[i];
		else if (nports < MAX_PORTS)
			ports[nports++] = parse_port(argv[i]);
	}
	if (!host || nports == 0 || count < 0) {
		fprintf(stderr, "usage: udpprobe send HOST PORT... --count N [--source-port P] [--gap-us U]\n");
		return 2;
	}
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
		fprintf(stderr, "udpprobe: \"%s\" is not an IPv4 address\n", host);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	src.sin_port = htons(source_port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		fprintf(stderr, "udpprobe: cannot bind source port %d: %s\n", source_port, strerror(errno));
		return 1;
	}
	/* Round robin over the ports, so a drop policy that changes mid-run hits every port alike. */
	for (n = 0; n < count; n++) {
		for (i = 0; i < nports; i++) {
			int len = snprintf(payload, sizeof(payload), "knn %d %ld", ports[i], n);

			dst.sin_port = htons(ports[i]);
			if (sendto(fd, payload, len, 0, (struct sockaddr *)&dst, sizeof(dst)) == len)
				sent[i]++;
			else
				errors++;
			if (gap_us)
				usleep(gap_us);
		}
	}
	printf("{\"sent\":{");
	for (i = 0; i < nports; i++)
		printf("%s\"%d\":%ld", i ? "," : "", ports[i], sent[i]);
	printf("},\"errors\":%ld}\n", errors);
	close(fd);
	return 0;
}

static int do_recv(int argc, char **argv)
{
	struct pollfd fds[MAX_PORTS];
	int ports[MAX_PORTS], nports = 0, i, big = 8 << 20;
	long seconds = -1, idle_ms = 1000, received[MAX_PORTS] = { 0 }, total = 0;
	long long deadline, last = 0;
	char buf[2048], *list = NULL, *tok;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ports") == 0 && i + 1 < argc)
			list = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = parse_count(argv[++i], "--seconds");
		else if (strcmp(argv[i], "--idle-ms") == 0 && i + 1 < argc)
			idle_ms = parse_count(argv[++i], "--idle-ms");
	}
	if (!list || seconds < 0) {
		fprintf(stderr, "usage: udpprobe recv --ports P1,P2,... --seconds S [--idle-ms M]\n");
		return 2;
	}
	for (tok = strtok(list, ","); tok && nports < MAX_PORTS; tok = strtok(NULL, ","))
		ports[nports++] = parse_port(tok);
	for (i = 0; i < nports; i++) {
		struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(ports[i]) };

		fds[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
		fds[i].events = POLLIN;
		/* A slow receiver under emulation must not drop what the path delivered: as root, past rmem_max. */
		if (setsockopt(fds[i].fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
			setsockopt(fds[i].fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (fds[i].fd < 0 || bind(fds[i].fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			fprintf(stderr, "udpprobe: cannot bind port %d: %s\n", ports[i], strerror(errno));
			return 1;
		}
	}
	deadline = now_ms() + seconds * 1000;
	for (;;) {
		long long now = now_ms(), wait = deadline - now;

		if (wait <= 0 || (total > 0 && now - last >= idle_ms))
			break;
		if (total > 0 && idle_ms - (now - last) < wait)
			wait = idle_ms - (now - last);
		if (poll(fds, nports, (int)wait) <= 0)
			continue;
		for (i = 0; i < nports; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			while (recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0) {
				received[i]++;
				total++;
			}
			last = now_ms();
		}
	}
	printf("{\"received\":{");
	for (i = 0; i < nports; i++)
		printf("%s\"%d\":%ld", i ? "," : "", ports[i], received[i]);
	printf("}}\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return do_send(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "recv") == 0)
		return do_recv(argc - 2, argv + 2);
	fprintf(stderr, "usage: udpprobe send HOST PORT... --count N | udpprobe recv --ports P1,P2,... --seconds S\n");
	return 2;
}
