// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * knn-channel: the target-side bridge to knn_core's generic netlink family
 * "knn" (knn_channel.h). Prints JSON lines on stdout for the host, which runs
 * it over SSH. Plain libc and the kernel's uapi headers, no libnl, so that one
 * static binary runs on any x86-64 target.
 *
 *   gcc -O2 -static -Wall -Wextra -o knn-channel knn_channel.c -I../core
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/types.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>

#include "knn_channel.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define EXIT_FAILED 1
#define EXIT_NOT_LOADED 2
#define EXIT_USAGE 64

/* Batches of many records arrive in one message; a short buffer would truncate them. */
#define RECV_BUFFER_BYTES (1 << 20)
#define SEND_BUFFER_BYTES 4096
#define STREAM_RCVBUF_BYTES (32 << 20)
#define MAX_APPS 64

struct nl_socket {
	int fd;
	__u32 port;
	__u32 seq;
};

struct family {
	__u16 id;
	__u32 records_group;
	__u32 events_group;
};

struct request {
	unsigned char buf[SEND_BUFFER_BYTES];
	struct nlmsghdr *hdr;
};

struct app_types {
	char name[KNN_NAME_MAX];
	__u8 input_type;
	__u8 output_type;
	/* per application: the seq the next record should carry, 0 before the first batch */
	__u64 next_seq;
};

static unsigned char recv_buf[RECV_BUFFER_BYTES] __attribute__((aligned(8)));
/* the multicast datagram being printed by stream, apart from recv_buf */
static unsigned char stream_buf[RECV_BUFFER_BYTES] __attribute__((aligned(8)));
static volatile sig_atomic_t stop_requested;

/* ---- JSON output ---- */

/* Writes s (at most len bytes, up to a NUL) as a JSON string: control characters as \u00XX, bad UTF-8 as U+FFFD. */
static void json_string(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	putchar('"');
	while (i < len && p[i]) {
		unsigned char c = p[i];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			putchar('\\');
			putchar(c);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
			i++;
			continue;
		}
		if (c < 0x80) {
			putchar(c);
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		if (n) {
			size_t k;

			for (k = 1; k <= n; k++)
				if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
					break;
			if (k > n) {
				fwrite(p + i, 1, n + 1, stdout);
				i += n + 1;
				continue;
			}
		}
		fputs("\\ufffd", stdout);
		i++;
	}
	putchar('"');
}

static void json_cstring(const char *s)
{
	json_string(s, strlen(s));
}

/* JSON has no NaN or Inf: they travel as the strings the host turns back into numbers. */
static void json_float(float f)
{
	if (isnan(f))
		fputs("\"NaN\"", stdout);
	else if (isinf(f))
		fputs(f > 0 ? "\"Infinity\"" : "\"-Infinity\"", stdout);
	else
		printf("%.9g", (double)f);
}

/* Ends a line; a reader that went away (SIGPIPE, EPIPE) ends the program quietly. */
static int end_line(void)
{
	putchar('\n');
	if (fflush(stdout) != 0 || ferror(stdout)) {
		stop_requested = 1;
		return -1;
	}
	return 0;
}

static void print_command_error(int err, const char *message)
{
	printf("{\"ok\":false,\"errno\":%d,\"error\":", err);
	if (message && *message) {
		char text[512];

		snprintf(text, sizeof(text), "%s: %s", strerror(err), message);
		json_cstring(text);
	} else {
		json_cstring(strerror(err));
	}
	putchar('}');
	end_line();
}

/* ---- netlink plumbing ---- */

static void die_system(const char *what)
{
	fprintf(stderr, "knn-channel: %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILED);
}

static void nl_open(struct nl_socket *sock)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	socklen_t addr_len = sizeof(addr);
	int one = 1;

	sock->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (sock->fd < 0)
		die_system("cannot open a generic netlink socket (is this a Linux kernel with CONFIG_NETLINK?)");
	if (bind(sock->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die_system("cannot bind the netlink socket");
	if (getsockname(sock->fd, (struct sockaddr *)&addr, &addr_len) < 0)
		die_system("cannot read the netlink socket's port");
	sock->port = addr.nl_pid;
	sock->seq = (__u32)time(NULL);
	/* extack messages name the application or model; older kernels simply ignore these */
	setsockopt(sock->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(sock->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

static void request_init(struct request *req, __u16 family, __u8 cmd, __u8 version, __u16 flags)
{
	struct genlmsghdr *genl;

	memset(req->buf, 0, sizeof(req->buf));
	req->hdr = (struct nlmsghdr *)req->buf;
	req->hdr->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req->hdr->nlmsg_type = family;
	req->hdr->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = NLMSG_DATA(req->hdr);
	genl->cmd = cmd;
	genl->version = version;
}

static void put_attr(struct request *req, __u16 type, const void *data, size_t len)
{
	size_t offset = NLMSG_ALIGN(req->hdr->nlmsg_len);
	struct nlattr *attr = (struct nlattr *)(req->buf + offset);

	if (offset + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(req->buf)) {
		fprintf(stderr, "knn-channel: request too long (attribute %u)\n", type);
		exit(EXIT_USAGE);
	}
	attr->nla_type = type;
	attr->nla_len = NLA_HDRLEN + len;
	memcpy((unsigned char *)attr + NLA_HDRLEN, data, len);
	req->hdr->nlmsg_len = offset + NLA_HDRLEN + NLA_ALIGN(len);
}

static void put_string(struct request *req, __u16 type, const char *s)
{
	put_attr(req, type, s, strlen(s) + 1);
}

static void put_u8(struct request *req, __u16 type, __u8 v)
{
	put_attr(req, type, &v, sizeof(v));
}

static void put_u32(struct request *req, __u16 type, __u32 v)
{
	put_attr(req, type, &v, sizeof(v));
}

static void nl_send(struct nl_socket *sock, struct request *req)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	req->hdr->nlmsg_seq = ++sock->seq;
	req->hdr->nlmsg_pid = sock->port;
	if (sendto(sock->fd, req->buf, req->hdr->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		die_system("cannot send to the kernel over netlink");
}

/* Receives one datagram; returns its length, 0 when interrupted by a stop signal, -errno on ENOBUFS. */
static ssize_t nl_recv(struct nl_socket *sock)
{
	struct sockaddr_nl from;
	struct iovec iov = { recv_buf, sizeof(recv_buf) };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	for (;;) {
		n = recvmsg(sock->fd, &msg, 0);
		if (n >= 0)
			break;
		if (errno == EINTR) {
			if (stop_requested)
				return 0;
			continue;
		}
		if (errno == ENOBUFS)
			return -ENOBUFS;
		die_system("cannot receive from the kernel over netlink");
	}
	if (msg.msg_flags & MSG_TRUNC) {
		fprintf(stderr, "knn-channel: a netlink message was longer than %d bytes and was cut\n", RECV_BUFFER_BYTES);
		return -EMSGSIZE;
	}
	return n;
}

/* Attributes of one level, by type (the last of a repeated type); returns 0 or -EINVAL on a malformed stream. */
static int parse_attrs(const void *data, int len, const struct nlattr **table, int max)
{
	const struct nlattr *attr = data;

	memset(table, 0, sizeof(*table) * (max + 1));
	while (len >= NLA_HDRLEN) {
		int type = attr->nla_type & NLA_TYPE_MASK;

		if (attr->nla_len < NLA_HDRLEN || attr->nla_len > len)
			return -EINVAL;
		if (type <= max)
			table[type] = attr;
		len -= NLA_ALIGN(attr->nla_len);
		attr = (const struct nlattr *)((const unsigned char *)attr + NLA_ALIGN(attr->nla_len));
	}
	return 0;
}

static const void *attr_data(const struct nlattr *attr)
{
	return (const unsigned char *)attr + NLA_HDRLEN;
}

static int attr_len(const struct nlattr *attr)
{
	return attr->nla_len - NLA_HDRLEN;
}

static __u64 attr_uint(const struct nlattr *attr)
{
	__u8 u8;
	__u16 u16;
	__u32 u32;
	__u64 u64;

	if (!attr)
		return 0;
	switch (attr_len(attr)) {
	case 1:
		memcpy(&u8, attr_data(attr), 1);
		return u8;
	case 2:
		memcpy(&u16, attr_data(attr), 2);
		return u16;
	case 4:
		memcpy(&u32, attr_data(attr), 4);
		return u32;
	case 8:
		memcpy(&u64, attr_data(attr), 8);
		return u64;
	default:
		return 0;
	}
}

/* Copies a string attribute into out (NUL-terminated, cut to size). */
static void attr_string(const struct nlattr *attr, char *out, size_t size)
{
	size_t len;

	out[0] = 0;
	if (!attr || size == 0)
		return;
	len = strnlen(attr_data(attr), attr_len(attr));
	if (len >= size)
		len = size - 1;
	memcpy(out, attr_data(attr), len);
	out[len] = 0;
}

static void json_attr_string(const struct nlattr *attr)
{
	if (!attr)
		json_cstring("");
	else
		json_string(attr_data(attr), attr_len(attr));
}

/* The extack message of an error ack, if the kernel sent one. */
static const char *extack_message(const struct nlmsghdr *hdr)
{
	const struct nlmsgerr *err = NLMSG_DATA(hdr);
	const struct nlattr *table[NLMSGERR_ATTR_MAX + 1];
	size_t offset = sizeof(*err);
	static char message[256];

	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		offset += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	offset = NLMSG_ALIGN(offset);
	if (NLMSG_HDRLEN + offset >= hdr->nlmsg_len)
		return NULL;
	if (parse_attrs((const unsigned char *)err + offset, hdr->nlmsg_len - NLMSG_HDRLEN - offset, table, NLMSGERR_ATTR_MAX))
		return NULL;
	if (!table[NLMSGERR_ATTR_MSG])
		return NULL;
	attr_string(table[NLMSGERR_ATTR_MSG], message, sizeof(message));
	return message;
}

/*
 * Reads the replies to the request just sent until its ack or NLMSG_DONE,
 * calling on_message for each data message. Returns 0 or a negative errno,
 * with the extack message (if any) in *message.
 */
static int nl_transact(struct nl_socket *sock, int (*on_message)(const struct nlmsghdr *, void *), void *ctx,
		       const char **message)
{
	*message = NULL;
	for (;;) {
		ssize_t n = nl_recv(sock);
		struct nlmsghdr *hdr;
		int len;

		if (n == 0)
			return -EINTR;
		if (n < 0)
			return (int)n;
		len = (int)n;
		for (hdr = (struct nlmsghdr *)recv_buf; NLMSG_OK(hdr, (unsigned int)len); hdr = NLMSG_NEXT(hdr, len)) {
			if (hdr->nlmsg_seq != sock->seq)
				continue;
			if (hdr->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = NLMSG_DATA(hdr);

				if (err->error)
					*message = extack_message(hdr);
				return err->error;
			}
			if (hdr->nlmsg_type == NLMSG_DONE) {
				int status = 0;

				if (hdr->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&status, NLMSG_DATA(hdr), sizeof(status));
				if (status < 0 && (hdr->nlmsg_flags & NLM_F_ACK_TLVS)) {
					const struct nlattr *table[NLMSGERR_ATTR_MAX + 1];
					static char done_message[256];
					size_t offset = NLMSG_ALIGN(sizeof(int));

					if (hdr->nlmsg_len > NLMSG_LENGTH(offset) &&
					    !parse_attrs((const unsigned char *)NLMSG_DATA(hdr) + offset,
							 hdr->nlmsg_len - NLMSG_LENGTH(offset), table, NLMSGERR_ATTR_MAX) &&
					    table[NLMSGERR_ATTR_MSG]) {
						attr_string(table[NLMSGERR_ATTR_MSG], done_message, sizeof(done_message));
						*message = done_message;
					}
				}
				return status;
			}
			if (on_message) {
				int ret = on_message(hdr, ctx);

				if (ret)
					return ret;
			}
		}
	}
}

/* ---- family resolution ---- */

static int on_family(const struct nlmsghdr *hdr, void *ctx)
{
	struct family *fam = ctx;
	const struct genlmsghdr *genl = NLMSG_DATA(hdr);
	const struct nlattr *table[CTRL_ATTR_MAX + 1];
	const struct nlattr *group;
	int rem;

	if (parse_attrs((const unsigned char *)genl + GENL_HDRLEN, hdr->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), table, CTRL_ATTR_MAX))
		return -EINVAL;
	if (table[CTRL_ATTR_FAMILY_ID])
		fam->id = (__u16)attr_uint(table[CTRL_ATTR_FAMILY_ID]);
	if (!table[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	group = attr_data(table[CTRL_ATTR_MCAST_GROUPS]);
	rem = attr_len(table[CTRL_ATTR_MCAST_GROUPS]);
	while (rem >= NLA_HDRLEN && group->nla_len >= NLA_HDRLEN && group->nla_len <= rem) {
		const struct nlattr *g[CTRL_ATTR_MCAST_GRP_MAX + 1];
		char name[GENL_NAMSIZ];

		if (!parse_attrs(attr_data(group), attr_len(group), g, CTRL_ATTR_MCAST_GRP_MAX) &&
		    g[CTRL_ATTR_MCAST_GRP_NAME] && g[CTRL_ATTR_MCAST_GRP_ID]) {
			attr_string(g[CTRL_ATTR_MCAST_GRP_NAME], name, sizeof(name));
			if (!strcmp(name, KNN_GROUP_RECORDS))
				fam->records_group = (__u32)attr_uint(g[CTRL_ATTR_MCAST_GRP_ID]);
			else if (!strcmp(name, KNN_GROUP_EVENTS))
				fam->events_group = (__u32)attr_uint(g[CTRL_ATTR_MCAST_GRP_ID]);
		}
		rem -= NLA_ALIGN(group->nla_len);
		group = (const struct nlattr *)((const unsigned char *)group + NLA_ALIGN(group->nla_len));
	}
	return 0;
}

static void resolve_family(struct nl_socket *sock, struct family *fam)
{
	struct request req;
	const char *message;
	int err;

	memset(fam, 0, sizeof(*fam));
	/* the ack ends the exchange: a request without one gets the reply alone */
	request_init(&req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	put_string(&req, CTRL_ATTR_FAMILY_NAME, KNN_GENL_NAME);
	nl_send(sock, &req);
	err = nl_transact(sock, on_family, fam, &message);
	if (err == -ENOENT || (!err && !fam->id)) {
		fprintf(stderr, "knn-channel: knn_core is not loaded (generic netlink family \"%s\" not found): run knn runtime install\n",
			KNN_GENL_NAME);
		exit(EXIT_NOT_LOADED);
	}
	if (err) {
		fprintf(stderr, "knn-channel: cannot look up the generic netlink family \"%s\": %s\n", KNN_GENL_NAME, strerror(-err));
		exit(EXIT_FAILED);
	}
}

/* ---- names ---- */

static const char *const element_types[] = { NULL, "float32", "int8", "uint8", "int16", "int32" };
static const char *const guard_reasons[] = { "none", "nan", "range", "latency", "error" };
static const char *const event_kinds[] = { NULL, "register", "unregister", "activate", "rollback", "guard" };

#define NAME_OF(table, value) \
	((value) < sizeof(table) / sizeof((table)[0]) && (table)[value] ? (table)[value] : "unknown")

static int element_type_of(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof(element_types) / sizeof(element_types[0]); i++)
		if (!strcmp(name, element_types[i]))
			return (int)i;
	return -1;
}

static size_t element_size(int type)
{
	switch (type) {
	case KNN_TYPE_INT8:
	case KNN_TYPE_UINT8:
		return 1;
	case KNN_TYPE_INT16:
		return 2;
	default:
		return 4;
	}
}

/* ---- list ---- */

struct list_ctx {
	const char *app;
	/* when set, application types are collected instead of printed */
	struct app_types *types;
	int *type_count;
};

static const struct nlattr *const *genl_attrs(const struct nlmsghdr *hdr, const struct nlattr **table, int max)
{
	const unsigned char *payload = (const unsigned char *)NLMSG_DATA(hdr) + GENL_HDRLEN;

	if (hdr->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
		return NULL;
	if (parse_attrs(payload, hdr->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), table, max))
		return NULL;
	return table;
}

static void print_slot(const struct nlattr *nest)
{
	const struct nlattr *s[KNN_S_MAX + 1];

	if (parse_attrs(attr_data(nest), attr_len(nest), s, KNN_S_MAX))
		return;
	printf("{\"index\":%llu,\"modelId\":%llu,\"name\":", (unsigned long long)attr_uint(s[KNN_S_INDEX]),
	       (unsigned long long)attr_uint(s[KNN_S_MODEL_ID]));
	json_attr_string(s[KNN_S_NAME]);
	fputs(",\"module\":", stdout);
	json_attr_string(s[KNN_S_MODULE]);
	printf(",\"active\":%s,\"failed\":\"%s\"", s[KNN_S_ACTIVE] ? "true" : "false",
	       NAME_OF(guard_reasons, attr_uint(s[KNN_S_FAILED])));
	printf(",\"inferences\":%llu,\"errors\":%llu,\"skipped\":%llu,\"rollbacks\":%llu",
	       (unsigned long long)attr_uint(s[KNN_S_INFERENCES]), (unsigned long long)attr_uint(s[KNN_S_ERRORS]),
	       (unsigned long long)attr_uint(s[KNN_S_SKIPPED]), (unsigned long long)attr_uint(s[KNN_S_ROLLBACKS]));
	printf(",\"latencyP50Ns\":%llu,\"latencyP99Ns\":%llu,\"latencyMaxNs\":%llu",
	       (unsigned long long)attr_uint(s[KNN_S_LATENCY_P50_NS]), (unsigned long long)attr_uint(s[KNN_S_LATENCY_P99_NS]),
	       (unsigned long long)attr_uint(s[KNN_S_LATENCY_MAX_NS]));
	printf(",\"usesFpu\":%s,\"registeredMs\":%llu}", attr_uint(s[KNN_S_USES_FPU]) ? "true" : "false",
	       (unsigned long long)(attr_uint(s[KNN_S_REGISTERED_NS]) / 1000000));
}

static float float_of_bits(__u32 bits)
{
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static void print_app(const struct nlmsghdr *hdr, const struct nlattr **a)
{
	const unsigned char *payload = (const unsigned char *)NLMSG_DATA(hdr) + GENL_HDRLEN;
	int rem = hdr->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	const struct nlattr *attr = (const struct nlattr *)payload;
	__u32 min_bits = (__u32)attr_uint(a[KNN_A_GUARD_MIN_BITS]);
	__u32 max_bits = (__u32)attr_uint(a[KNN_A_GUARD_MAX_BITS]);
	int first = 1;

	fputs("{\"app\":", stdout);
	json_attr_string(a[KNN_A_APP]);
	fputs(",\"owner\":", stdout);
	json_attr_string(a[KNN_A_OWNER]);
	printf(",\"inputType\":\"%s\",\"outputType\":\"%s\"", NAME_OF(element_types, attr_uint(a[KNN_A_INPUT_TYPE])),
	       NAME_OF(element_types, attr_uint(a[KNN_A_OUTPUT_TYPE])));
	printf(",\"inputBytes\":%llu,\"outputBytes\":%llu,\"stateBytes\":%llu,\"activeId\":%llu,\"slots\":[",
	       (unsigned long long)attr_uint(a[KNN_A_INPUT_BYTES]), (unsigned long long)attr_uint(a[KNN_A_OUTPUT_BYTES]),
	       (unsigned long long)attr_uint(a[KNN_A_STATE_BYTES]), (unsigned long long)attr_uint(a[KNN_A_ACTIVE_ID]));
	/* KNN_A_SLOT repeats, so walk the attributes rather than the table */
	while (rem >= NLA_HDRLEN && attr->nla_len >= NLA_HDRLEN && attr->nla_len <= rem) {
		if ((attr->nla_type & NLA_TYPE_MASK) == KNN_A_SLOT) {
			if (!first)
				putchar(',');
			print_slot(attr);
			first = 0;
		}
		rem -= NLA_ALIGN(attr->nla_len);
		attr = (const struct nlattr *)((const unsigned char *)attr + NLA_ALIGN(attr->nla_len));
	}
	printf("],\"recordsSent\":%llu,\"recordsDropped\":%llu", (unsigned long long)attr_uint(a[KNN_A_RECORDS_SENT]),
	       (unsigned long long)attr_uint(a[KNN_A_RECORDS_DROPPED]));
	if (a[KNN_A_MESSAGE]) {
		fputs(",\"message\":", stdout);
		json_attr_string(a[KNN_A_MESSAGE]);
	}
	printf(",\"guard\":{\"window\":%llu,\"latencyNs\":%llu", (unsigned long long)attr_uint(a[KNN_A_GUARD_WINDOW]),
	       (unsigned long long)attr_uint(a[KNN_A_GUARD_LATENCY_NS]));
	if (a[KNN_A_GUARD_BAD_OUTPUTS])
		printf(",\"badOutputs\":%llu", (unsigned long long)attr_uint(a[KNN_A_GUARD_BAD_OUTPUTS]));
	/* both 0: any finite output is allowed, so there is no range to print */
	if (min_bits || max_bits) {
		fputs(",\"min\":", stdout);
		json_float(float_of_bits(min_bits));
		fputs(",\"max\":", stdout);
		json_float(float_of_bits(max_bits));
	}
	fputs("}}", stdout);
	end_line();
}

static int on_app(const struct nlmsghdr *hdr, void *ctx)
{
	struct list_ctx *list = ctx;
	const struct nlattr *a[KNN_A_MAX + 1];
	char name[KNN_NAME_MAX];

	if (!genl_attrs(hdr, a, KNN_A_MAX))
		return 0;
	attr_string(a[KNN_A_APP], name, sizeof(name));
	if (list->app && strcmp(list->app, name))
		return 0;
	if (list->types) {
		if (*list->type_count < MAX_APPS) {
			struct app_types *t = &list->types[(*list->type_count)++];

			memcpy(t->name, name, sizeof(t->name));
			t->input_type = (__u8)attr_uint(a[KNN_A_INPUT_TYPE]);
			t->output_type = (__u8)attr_uint(a[KNN_A_OUTPUT_TYPE]);
			t->next_seq = 0;
		}
		return 0;
	}
	print_app(hdr, a);
	return stop_requested ? -EINTR : 0;
}

static int dump_apps(struct nl_socket *sock, const struct family *fam, struct list_ctx *list, const char **message)
{
	struct request req;

	request_init(&req, fam->id, KNN_CMD_LIST, KNN_GENL_VERSION, NLM_F_DUMP);
	if (list->app)
		put_string(&req, KNN_A_APP, list->app);
	nl_send(sock, &req);
	return nl_transact(sock, on_app, list, message);
}

/* ---- stream ---- */

struct stream_ctx {
	const char *app;
	long remaining;		/* lines still to print, -1 without --count */
	struct nl_socket *query;
	const struct family *fam;
	struct app_types apps[MAX_APPS];
	int app_count;
};

static struct app_types *lookup_app(struct stream_ctx *st, const char *name)
{
	int i;

	for (i = 0; i < st->app_count; i++)
		if (!strcmp(st->apps[i].name, name))
			return &st->apps[i];
	return NULL;
}

/* Learns the element types of an application that appeared since the last look. */
static struct app_types *find_app(struct stream_ctx *st, const char *name)
{
	struct app_types *found = lookup_app(st, name);
	struct app_types fresh[MAX_APPS];
	int fresh_count = 0, i;
	struct list_ctx list = { .types = fresh, .type_count = &fresh_count };
	const char *message;

	if (found)
		return found;
	if (dump_apps(st->query, st->fam, &list, &message) == 0) {
		for (i = 0; i < fresh_count; i++)
			if (!lookup_app(st, fresh[i].name) && st->app_count < MAX_APPS)
				st->apps[st->app_count++] = fresh[i];
	}
	found = lookup_app(st, name);
	if (!found && st->app_count < MAX_APPS) {
		/* gone already: decode its bytes as unsigned bytes rather than guessing */
		found = &st->apps[st->app_count++];
		snprintf(found->name, sizeof(found->name), "%s", name);
		found->input_type = KNN_TYPE_UINT8;
		found->output_type = KNN_TYPE_UINT8;
		found->next_seq = 0;
	}
	return found;
}

static int line_printed(struct stream_ctx *st)
{
	if (end_line())
		return -1;
	if (st->remaining > 0 && --st->remaining == 0)
		stop_requested = 1;
	return 0;
}

static void print_dropped(struct stream_ctx *st, const char *app, long long count)
{
	fputs("{\"kind\":\"dropped\",\"app\":", stdout);
	json_cstring(app);
	printf(",\"count\":%lld}", count);
	line_printed(st);
}

static void print_values(const unsigned char *p, __u32 bytes, int type)
{
	size_t size = element_size(type), i;

	putchar('[');
	for (i = 0; i + size <= bytes; i += size) {
		if (i)
			putchar(',');
		switch (type) {
		case KNN_TYPE_FLOAT32: {
			float f;

			memcpy(&f, p + i, 4);
			json_float(f);
			break;
		}
		case KNN_TYPE_INT8:
			printf("%d", (int)(__s8)p[i]);
			break;
		case KNN_TYPE_UINT8:
			printf("%u", p[i]);
			break;
		case KNN_TYPE_INT16: {
			__s16 v;

			memcpy(&v, p + i, 2);
			printf("%d", v);
			break;
		}
		case KNN_TYPE_INT32: {
			__s32 v;

			memcpy(&v, p + i, 4);
			printf("%d", v);
			break;
		}
		default:
			printf("%u", p[i]);
		}
	}
	putchar(']');
}

static void print_records(struct stream_ctx *st, const char *app, const struct nlattr *batch)
{
	const unsigned char *p = attr_data(batch);
	size_t len = attr_len(batch);
	struct knn_record_header header;
	struct app_types *types;
	__u64 gap = 0;
	__u32 i;

	if (len < sizeof(header))
		return;
	memcpy(&header, p, sizeof(header));
	if (header.record_bytes < sizeof(struct knn_record) + (size_t)header.input_bytes + header.output_bytes ||
	    (len - sizeof(header)) / header.record_bytes < header.count)
		return;
	types = find_app(st, app);
	if (!types)
		return;
	if (header.count) {
		struct knn_record first;

		memcpy(&first, p + sizeof(header), sizeof(first));
		if (types->next_seq && first.seq > types->next_seq)
			gap = first.seq - types->next_seq;
	}
	/* the seq gap also counts batches lost to a full socket buffer, the header only the kernel's own drops */
	if (header.dropped > gap)
		gap = header.dropped;
	if (gap && !stop_requested)
		print_dropped(st, app, (long long)gap);
	for (i = 0; i < header.count && !stop_requested; i++) {
		const unsigned char *r = p + sizeof(header) + (size_t)i * header.record_bytes;
		struct knn_record rec;

		memcpy(&rec, r, sizeof(rec));
		types->next_seq = rec.seq + 1;
		fputs("{\"kind\":\"record\",\"app\":", stdout);
		json_cstring(app);
		printf(",\"seq\":%llu,\"timeNs\":%llu,\"modelId\":%u,\"latencyNs\":%u,\"input\":", (unsigned long long)rec.seq,
		       (unsigned long long)rec.time_ns, rec.model_id, rec.latency_ns);
		print_values(r + sizeof(rec), header.input_bytes, types->input_type);
		fputs(",\"output\":", stdout);
		print_values(r + sizeof(rec) + header.input_bytes, header.output_bytes, types->output_type);
		putchar('}');
		line_printed(st);
	}
}

static void print_event(struct stream_ctx *st, const struct nlattr **a)
{
	fputs("{\"kind\":\"event\",\"app\":", stdout);
	json_attr_string(a[KNN_A_APP]);
	printf(",\"event\":\"%s\",\"reason\":\"%s\",\"fromId\":%llu,\"toId\":%llu,\"modelId\":%llu,\"message\":",
	       NAME_OF(event_kinds, attr_uint(a[KNN_A_EVENT])), NAME_OF(guard_reasons, attr_uint(a[KNN_A_REASON])),
	       (unsigned long long)attr_uint(a[KNN_A_FROM_ID]), (unsigned long long)attr_uint(a[KNN_A_TO_ID]),
	       (unsigned long long)attr_uint(a[KNN_A_MODEL_ID]));
	json_attr_string(a[KNN_A_MESSAGE]);
	printf(",\"timeMs\":%llu}", (unsigned long long)(attr_uint(a[KNN_A_TIME_NS]) / 1000000));
	line_printed(st);
}

static void on_multicast(struct stream_ctx *st, const struct nlmsghdr *hdr)
{
	const struct genlmsghdr *genl = NLMSG_DATA(hdr);
	const struct nlattr *a[KNN_A_MAX + 1];
	char app[KNN_NAME_MAX];

	if (!genl_attrs(hdr, a, KNN_A_MAX))
		return;
	attr_string(a[KNN_A_APP], app, sizeof(app));
	if (st->app && strcmp(st->app, app))
		return;
	if (genl->cmd == KNN_CMD_RECORDS && a[KNN_A_RECORD_BATCH])
		print_records(st, app, a[KNN_A_RECORD_BATCH]);
	else if (genl->cmd == KNN_CMD_EVENT)
		print_event(st, a);
}

static void join_group(struct nl_socket *sock, __u32 group, const char *name)
{
	if (!group) {
		fprintf(stderr, "knn-channel: knn_core has no multicast group \"%s\": load a knn_core built from this version\n", name);
		exit(EXIT_FAILED);
	}
	if (setsockopt(sock->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		die_system("cannot join knn_core's multicast group");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_stream(struct nl_socket *query, const struct family *fam, const char *app, int records, int events,
		      long count, double seconds)
{
	static struct stream_ctx st;
	struct nl_socket sock;
	int size = STREAM_RCVBUF_BYTES;
	long long deadline = seconds > 0 ? now_ms() + (long long)(seconds * 1000) : 0;

	st.app = app;
	st.remaining = count > 0 ? count : -1;
	st.query = query;
	st.fam = fam;
	nl_open(&sock);
	/* a burst of records must wait in the socket, not be lost; FORCE lifts rmem_max for root */
	if (setsockopt(sock.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(sock.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (records)
		join_group(&sock, fam->records_group, KNN_GROUP_RECORDS);
	if (events)
		join_group(&sock, fam->events_group, KNN_GROUP_EVENTS);
	while (!stop_requested) {
		struct pollfd pfd = { .fd = sock.fd, .events = POLLIN };
		int timeout = -1;
		ssize_t n;
		int len;
		struct nlmsghdr *hdr;

		if (deadline) {
			long long left = deadline - now_ms();

			if (left <= 0)
				break;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (poll(&pfd, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die_system("cannot wait for netlink messages");
		}
		if (!(pfd.revents & POLLIN))
			continue;
		n = nl_recv(&sock);
		if (n == -ENOBUFS) {
			print_dropped(&st, "*", -1);
			continue;
		}
		if (n <= 0)
			continue;
		/* decoding a record may ask knn_core for an application's types, which reuses recv_buf */
		memcpy(stream_buf, recv_buf, (size_t)n);
		len = (int)n;
		for (hdr = (struct nlmsghdr *)stream_buf; NLMSG_OK(hdr, (unsigned int)len) && !stop_requested;
		     hdr = NLMSG_NEXT(hdr, len))
			if (hdr->nlmsg_type == fam->id)
				on_multicast(&st, hdr);
	}
	close(sock.fd);
	return 0;
}

/* ---- command line ---- */

static void usage(FILE *out)
{
	fputs("usage: knn-channel COMMAND [OPTIONS]\n"
	      "Talks to knn_core (generic netlink family \"knn\"); prints JSON lines.\n\n"
	      "  list [--app A]                          one JSON object per application\n"
	      "  activate --app A [--model ID]           activate model ID (default: the standby slot)\n"
	      "  rollback --app A                        swap back to the other slot's model\n"
	      "  app-add --app A --input-type T --output-type T --input-bytes N --output-bytes N [--state-bytes N]\n"
	      "                                          T: float32 int8 uint8 int16 int32\n"
	      "  app-del --app A                         remove an application made by app-add\n"
	      "  guard --app A [--window N] [--bad-outputs N] [--latency-ns N] [--min X] [--max X]\n"
	      "  stream [--app A] [--records-only|--events-only] [--count N] [--seconds S]\n\n"
	      "Commands print {\"ok\":true} or {\"ok\":false,\"errno\":N,\"error\":\"...\"} and exit 1.\n"
	      "Exit 2: knn_core is not loaded. Exit 64: bad command line.\n", out);
}

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("knn-channel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; see knn-channel --help\n", stderr);
	exit(EXIT_USAGE);
}

static __u32 parse_u32(const char *option, const char *text)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || end == text || *end || v > UINT32_MAX || text[0] == '-')
		usage_error("--%s wants a whole number from 0 to %u, not \"%s\"", option, UINT32_MAX, text);
	return (__u32)v;
}

static __u32 parse_float_bits(const char *option, const char *text)
{
	char *end;
	float f;
	__u32 bits;

	errno = 0;
	f = strtof(text, &end);
	if (errno || end == text || *end || !isfinite(f))
		usage_error("--%s wants a finite number, not \"%s\"", option, text);
	memcpy(&bits, &f, sizeof(bits));
	return bits;
}

static __u8 parse_type(const char *option, const char *text)
{
	int type = element_type_of(text);

	if (type < 0)
		usage_error("--%s wants float32, int8, uint8, int16 or int32, not \"%s\"", option, text);
	return (__u8)type;
}

static void check_app_name(const char *app)
{
	size_t i, len = strlen(app);

	if (len == 0 || len >= KNN_NAME_MAX)
		usage_error("--app wants 1 to %d characters, not \"%s\"", KNN_NAME_MAX - 1, app);
	for (i = 0; i < len; i++)
		if (!(app[i] == '_' || (app[i] >= '0' && app[i] <= '9') || (app[i] >= 'a' && app[i] <= 'z') ||
		      (app[i] >= 'A' && app[i] <= 'Z')))
			usage_error("--app \"%s\" may hold only letters, digits and _", app);
}

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a blocked recv or poll returns so the loop sees the request */
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

enum option_id {
	OPT_APP = 1, OPT_MODEL, OPT_INPUT_TYPE, OPT_OUTPUT_TYPE, OPT_INPUT_BYTES, OPT_OUTPUT_BYTES, OPT_STATE_BYTES,
	OPT_WINDOW, OPT_LATENCY, OPT_MIN, OPT_MAX, OPT_RECORDS_ONLY, OPT_EVENTS_ONLY, OPT_COUNT, OPT_SECONDS, OPT_BAD_OUTPUTS,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "app", required_argument, NULL, OPT_APP },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "input-type", required_argument, NULL, OPT_INPUT_TYPE },
	{ "output-type", required_argument, NULL, OPT_OUTPUT_TYPE },
	{ "input-bytes", required_argument, NULL, OPT_INPUT_BYTES },
	{ "output-bytes", required_argument, NULL, OPT_OUTPUT_BYTES },
	{ "state-bytes", required_argument, NULL, OPT_STATE_BYTES },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "latency-ns", required_argument, NULL, OPT_LATENCY },
	{ "min", required_argument, NULL, OPT_MIN },
	{ "max", required_argument, NULL, OPT_MAX },
	{ "records-only", no_argument, NULL, OPT_RECORDS_ONLY },
	{ "events-only", no_argument, NULL, OPT_EVENTS_ONLY },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "bad-outputs", required_argument, NULL, OPT_BAD_OUTPUTS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct options {
	const char *app;
	int have[OPT_HELP + 1];
	__u32 model, input_bytes, output_bytes, state_bytes, window, latency, min_bits, max_bits, bad_outputs;
	__u8 input_type, output_type;
	long count;
	double seconds;
};

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == '?')
			usage_error("unknown or incomplete option");
		o->have[c] = 1;
		switch (c) {
		case OPT_APP:
			check_app_name(optarg);
			o->app = optarg;
			break;
		case OPT_MODEL:
			o->model = parse_u32("model", optarg);
			break;
		case OPT_INPUT_TYPE:
			o->input_type = parse_type("input-type", optarg);
			break;
		case OPT_OUTPUT_TYPE:
			o->output_type = parse_type("output-type", optarg);
			break;
		case OPT_INPUT_BYTES:
			o->input_bytes = parse_u32("input-bytes", optarg);
			break;
		case OPT_OUTPUT_BYTES:
			o->output_bytes = parse_u32("output-bytes", optarg);
			break;
		case OPT_STATE_BYTES:
			o->state_bytes = parse_u32("state-bytes", optarg);
			break;
		case OPT_WINDOW:
			o->window = parse_u32("window", optarg);
			break;
		case OPT_LATENCY:
			o->latency = parse_u32("latency-ns", optarg);
			break;
		case OPT_BAD_OUTPUTS:
			o->bad_outputs = parse_u32("bad-outputs", optarg);
			break;
		case OPT_MIN:
			o->min_bits = parse_float_bits("min", optarg);
			break;
		case OPT_MAX:
			o->max_bits = parse_float_bits("max", optarg);
			break;
		case OPT_COUNT:
			o->count = (long)parse_u32("count", optarg);
			break;
		case OPT_SECONDS: {
			char *end;

			o->seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(o->seconds > 0))
				usage_error("--seconds wants a positive number, not \"%s\"", optarg);
			break;
		}
		}
	}
}

static void require(const struct options *o, int option, const char *command)
{
	if (!o->have[option])
		usage_error("%s needs --%s", command, long_options[option - 1].name);
}

/* Sends a command that answers with an ack; prints the JSON verdict and returns the exit status. */
static int run_command(struct nl_socket *sock, struct request *req)
{
	const char *message;
	int err;

	req->hdr->nlmsg_flags |= NLM_F_ACK;
	nl_send(sock, req);
	err = nl_transact(sock, NULL, NULL, &message);
	if (err) {
		print_command_error(-err, message);
		return EXIT_FAILED;
	}
	fputs("{\"ok\":true}", stdout);
	end_line();
	return 0;
}

int main(int argc, char **argv)
{
	struct nl_socket sock;
	struct family fam;
	struct request req;
	struct options o;
	const char *command;

	if (argc < 2)
		usage_error("no command given");
	command = argv[1];
	if (!strcmp(command, "--help") || !strcmp(command, "-h") || !strcmp(command, "help")) {
		usage(stdout);
		return 0;
	}
	parse_options(argc - 1, argv + 1, &o);
	if (optind < argc - 1)
		usage_error("unexpected argument \"%s\"", argv[optind + 1]);
	install_signals();

	if (!strcmp(command, "list")) {
		struct list_ctx list = { .app = o.app };
		const char *message;
		int err;

		nl_open(&sock);
		resolve_family(&sock, &fam);
		err = dump_apps(&sock, &fam, &list, &message);
		if (err && err != -EINTR) {
			print_command_error(-err, message);
			return EXIT_FAILED;
		}
		return 0;
	}
	if (!strcmp(command, "stream")) {
		if (o.have[OPT_RECORDS_ONLY] && o.have[OPT_EVENTS_ONLY])
			usage_error("--records-only and --events-only exclude each other");
		nl_open(&sock);
		resolve_family(&sock, &fam);
		return run_stream(&sock, &fam, o.app, !o.have[OPT_EVENTS_ONLY], !o.have[OPT_RECORDS_ONLY], o.count, o.seconds);
	}

	if (!strcmp(command, "activate")) {
		require(&o, OPT_APP, command);
	} else if (!strcmp(command, "rollback") || !strcmp(command, "app-del")) {
		require(&o, OPT_APP, command);
	} else if (!strcmp(command, "app-add")) {
		require(&o, OPT_APP, command);
		require(&o, OPT_INPUT_TYPE, command);
		require(&o, OPT_OUTPUT_TYPE, command);
		require(&o, OPT_INPUT_BYTES, command);
		require(&o, OPT_OUTPUT_BYTES, command);
	} else if (!strcmp(command, "guard")) {
		require(&o, OPT_APP, command);
	} else {
		usage_error("unknown command \"%s\"", command);
	}

	nl_open(&sock);
	resolve_family(&sock, &fam);
	if (!strcmp(command, "activate")) {
		request_init(&req, fam.id, KNN_CMD_ACTIVATE, KNN_GENL_VERSION, 0);
		put_string(&req, KNN_A_APP, o.app);
		if (o.have[OPT_MODEL])
			put_u32(&req, KNN_A_MODEL_ID, o.model);
	} else if (!strcmp(command, "rollback")) {
		request_init(&req, fam.id, KNN_CMD_ROLLBACK, KNN_GENL_VERSION, 0);
		put_string(&req, KNN_A_APP, o.app);
	} else if (!strcmp(command, "app-del")) {
		request_init(&req, fam.id, KNN_CMD_APP_DEL, KNN_GENL_VERSION, 0);
		put_string(&req, KNN_A_APP, o.app);
	} else if (!strcmp(command, "app-add")) {
		request_init(&req, fam.id, KNN_CMD_APP_ADD, KNN_GENL_VERSION, 0);
		put_string(&req, KNN_A_APP, o.app);
		put_u8(&req, KNN_A_INPUT_TYPE, o.input_type);
		put_u8(&req, KNN_A_OUTPUT_TYPE, o.output_type);
		put_u32(&req, KNN_A_INPUT_BYTES, o.input_bytes);
		put_u32(&req, KNN_A_OUTPUT_BYTES, o.output_bytes);
		if (o.have[OPT_STATE_BYTES])
			put_u32(&req, KNN_A_STATE_BYTES, o.state_bytes);
	} else {
		request_init(&req, fam.id, KNN_CMD_SET_GUARD, KNN_GENL_VERSION, 0);
		put_string(&req, KNN_A_APP, o.app);
		if (o.have[OPT_WINDOW])
			put_u32(&req, KNN_A_GUARD_WINDOW, o.window);
		if (o.have[OPT_BAD_OUTPUTS])
			put_u32(&req, KNN_A_GUARD_BAD_OUTPUTS, o.bad_outputs);
		if (o.have[OPT_LATENCY])
			put_u32(&req, KNN_A_GUARD_LATENCY_NS, o.latency);
		if (o.have[OPT_MIN])
			put_u32(&req, KNN_A_GUARD_MIN_BITS, o.min_bits);
		if (o.have[OPT_MAX])
			put_u32(&req, KNN_A_GUARD_MAX_BITS, o.max_bits);
	}
	return run_command(&sock, &req);
}
