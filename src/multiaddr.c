/*
 * multiaddr.c - the multiaddrs peerlock uses: /ip4 /ip6 /dns /dns4 /dns6
 * host, /tcp port, optional /p2p (or /ipfs) peer ID; plus "host:port" and
 * "[v6]:port" for local ends.  Text in, struct out, and back to canonical
 * text or the binary form (peer-ids.md section 5).
 */
#include "multiaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "varint.h"

/* Multicodec codes (multiformats table.csv, tag multiaddr). */
enum {
	MA_CODE_IP4 = 0x04,
	MA_CODE_TCP = 0x06,
	MA_CODE_IP6 = 0x29,
	MA_CODE_DNS = 0x35,
	MA_CODE_DNS4 = 0x36,
	MA_CODE_DNS6 = 0x37,
	MA_CODE_P2P = 0x01a5
};

enum {
	MA_MAX_COMPONENTS = 8,	/* ip/host/tcp/port/p2p/id + slack */
	MA_LABEL_MAX = 63,	/* one DNS label */
	MA_QUOTE_MAX = 80	/* input echoed into error messages */
};

/* A slice of the input text. */
struct span {
	const char *p;
	size_t n;
};

/* Host protocols by name, kind and code. */
static const struct {
	const char *name;
	enum ma_host kind;
	unsigned code;
} ma_hosts[] = {
	{ "ip4", MA_IP4, MA_CODE_IP4 },
	{ "ip6", MA_IP6, MA_CODE_IP6 },
	{ "dns", MA_DNS, MA_CODE_DNS },
	{ "dns4", MA_DNS4, MA_CODE_DNS4 },
	{ "dns6", MA_DNS6, MA_CODE_DNS6 },
};

/* Write "multiaddr: <fmt>" into err; always returns -1. */
static int __attribute__((format(printf, 3, 4)))
ma_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return -1;
	n = snprintf(err, errlen, "multiaddr: ");
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copy n bytes of p for an error message: bounded, non-printables as '?'. */
static const char *
ma_quote(const char *p, size_t n, char out[static MA_QUOTE_MAX])
{
	size_t i, max = MA_QUOTE_MAX - 4;

	for (i = 0; i < n && i < max; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	if (n > max) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* True if the span equals the NUL-terminated word. */
static bool
span_is(struct span s, const char *word)
{
	return strlen(word) == s.n && memcmp(s.p, word, s.n) == 0;
}

/* Copy a span into a NUL-terminated buffer; -1 if it does not fit. */
static int
span_copy(struct span s, char *buf, size_t cap)
{
	if (s.n >= cap)
		return -1;
	memcpy(buf, s.p, s.n);
	buf[s.n] = '\0';
	return 0;
}

/* Parse a decimal port 0..65535 (digits only); 0 or -1. */
static int
ma_parse_port(struct span s, uint16_t *port)
{
	unsigned v = 0;
	size_t i;

	if (s.n == 0 || s.n > 5)
		return -1;
	for (i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Check a DNS name; NULL if acceptable, else what is wrong with it. */
static const char *
ma_dns_problem(struct span s)
{
	size_t i, label = 0;
	char c;

	if (s.n == 0)
		return "empty name";
	if (s.n > MULTIADDR_DNS_MAX)
		return "longer than 253 characters";
	for (i = 0; i <= s.n; i++) {
		c = i < s.n ? s.p[i] : '.';
		if (c == '.') {
			if (label == 0)
				return "empty label";
			if (s.p[i - 1] == '-')
				return "label ends with '-'";
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return "invalid character";
		if (label == 0 && c == '-')
			return "label starts with '-'";
		if (++label > MA_LABEL_MAX)
			return "label longer than 63 characters";
	}
	return NULL;
}

/* Parse an IP literal of family af into canonical text in out->host. */
static int
ma_parse_ip(struct span s, int af, struct multiaddr *out, char *err,
    size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 1], q[MA_QUOTE_MAX];
	uint8_t bin[16];
	const char *name = af == AF_INET ? "ip4" : "ip6";

	if (span_copy(s, buf, sizeof(buf)) == -1 ||
	    inet_pton(af, buf, bin) != 1)
		return ma_fail(err, errlen, "bad %s address '%s'", name,
		    ma_quote(s.p, s.n, q));
	if (inet_ntop(af, bin, out->host, sizeof(out->host)) == NULL)
		return ma_fail(err, errlen, "bad %s address '%s'", name,
		    ma_quote(s.p, s.n, q));
	out->kind = af == AF_INET ? MA_IP4 : MA_IP6;
	return 0;
}

/* Validate a DNS name and store it with the given kind. */
static int
ma_parse_dns(struct span s, enum ma_host kind, struct multiaddr *out,
    char *err, size_t errlen)
{
	char q[MA_QUOTE_MAX];
	const char *why;

	if ((why = ma_dns_problem(s)) != NULL)
		return ma_fail(err, errlen, "bad dns name '%s': %s",
		    ma_quote(s.p, s.n, q), why);
	memcpy(out->host, s.p, s.n);
	out->host[s.n] = '\0';
	out->kind = kind;
	return 0;
}

/* Parse the text of a peer ID into out->peer. */
static int
ma_parse_peer(struct span s, struct multiaddr *out, char *err,
    size_t errlen)
{
	char buf[PEER_ID_STR_MAX], q[MA_QUOTE_MAX];

	if (span_copy(s, buf, sizeof(buf)) == -1 ||
	    peer_id_parse(buf, &out->peer) == -1)
		return ma_fail(err, errlen, "bad peer ID '%s'",
		    ma_quote(s.p, s.n, q));
	out->has_peer = true;
	return 0;
}

/* Split "/a/b/c" into components; -1 on an empty or too many. */
static int
ma_split(const char *s, struct span *c, size_t *nc, char *err,
    size_t errlen)
{
	const char *p = s + 1, *slash;
	size_t n = 0;

	for (;;) {
		if (n == MA_MAX_COMPONENTS)
			return ma_fail(err, errlen, "too many components");
		slash = strchr(p, '/');
		c[n].p = p;
		c[n].n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (c[n].n == 0)
			return ma_fail(err, errlen,
			    "empty component (stray '/')");
		n++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	*nc = n;
	return 0;
}

/* Parse the host component pair c[0], c[1]. */
static int
ma_parse_host(const struct span *c, size_t nc, struct multiaddr *out,
    char *err, size_t errlen)
{
	char q[MA_QUOTE_MAX];
	size_t i;

	for (i = 0; i < sizeof(ma_hosts) / sizeof(ma_hosts[0]); i++)
		if (span_is(c[0], ma_hosts[i].name))
			break;
	if (i == sizeof(ma_hosts) / sizeof(ma_hosts[0]))
		return ma_fail(err, errlen, "unsupported protocol /%s",
		    ma_quote(c[0].p, c[0].n, q));
	if (nc < 2)
		return ma_fail(err, errlen, "missing /%s value",
		    ma_hosts[i].name);
	switch (ma_hosts[i].kind) {
	case MA_IP4:
		return ma_parse_ip(c[1], AF_INET, out, err, errlen);
	case MA_IP6:
		return ma_parse_ip(c[1], AF_INET6, out, err, errlen);
	default:
		return ma_parse_dns(c[1], ma_hosts[i].kind, out, err, errlen);
	}
}

/* Parse the "/..." text form. */
static int
ma_parse_text(const char *s, struct multiaddr *out, char *err,
    size_t errlen)
{
	struct span c[MA_MAX_COMPONENTS];
	char q[MA_QUOTE_MAX];
	size_t nc = 0;

	if (ma_split(s, c, &nc, err, errlen) == -1 ||
	    ma_parse_host(c, nc, out, err, errlen) == -1)
		return -1;
	if (nc < 3)
		return ma_fail(err, errlen, "missing /tcp port");
	if (!span_is(c[2], "tcp"))
		return ma_fail(err, errlen, "unsupported protocol /%s",
		    ma_quote(c[2].p, c[2].n, q));
	if (nc < 4)
		return ma_fail(err, errlen, "missing /tcp port");
	if (ma_parse_port(c[3], &out->port) == -1)
		return ma_fail(err, errlen, "bad tcp port '%s'",
		    ma_quote(c[3].p, c[3].n, q));
	if (nc == 4)
		return 0;
	if (!span_is(c[4], "p2p") && !span_is(c[4], "ipfs"))
		return ma_fail(err, errlen, "unsupported protocol /%s",
		    ma_quote(c[4].p, c[4].n, q));
	if (nc < 6)
		return ma_fail(err, errlen, "missing /p2p peer ID");
	if (ma_parse_peer(c[5], out, err, errlen) == -1)
		return -1;
	if (nc > 6)
		return ma_fail(err, errlen, "unexpected /%s after /p2p",
		    ma_quote(c[6].p, c[6].n, q));
	return 0;
}

/* True if the span holds only digits and dots (a would-be IPv4). */
static bool
ma_looks_ip4(struct span s)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (s.p[i] != '.' && (s.p[i] < '0' || s.p[i] > '9'))
			return false;
	return s.n > 0;
}

/* Parse "host:port" or "[v6]:port". */
static int
ma_parse_hostport(const char *s, struct multiaddr *out, char *err,
    size_t errlen)
{
	struct span host, port;
	const char *colon, *close;
	char q[MA_QUOTE_MAX];
	int rc;

	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return ma_fail(err, errlen, "missing ']' in '%s'",
			    ma_quote(s, strlen(s), q));
		if (close[1] != ':')
			return ma_fail(err, errlen, "missing port in '%s'",
			    ma_quote(s, strlen(s), q));
		host = (struct span){ s + 1, (size_t)(close - s - 1) };
		colon = close + 1;
		rc = ma_parse_ip(host, AF_INET6, out, err, errlen);
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return ma_fail(err, errlen, "expected /ip4, /ip6, "
			    "/dns or host:port, got '%s'",
			    ma_quote(s, strlen(s), q));
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return ma_fail(err, errlen, "ip6 address needs "
			    "brackets, as in '[::1]:port'");
		host = (struct span){ s, (size_t)(colon - s) };
		if (host.n == 0)
			return ma_fail(err, errlen, "missing host in '%s'",
			    ma_quote(s, strlen(s), q));
		if (ma_looks_ip4(host))
			rc = ma_parse_ip(host, AF_INET, out, err, errlen);
		else
			rc = ma_parse_dns(host, MA_DNS, out, err, errlen);
	}
	if (rc == -1)
		return -1;
	port = (struct span){ colon + 1, strlen(colon + 1) };
	if (port.n == 0)
		return ma_fail(err, errlen, "missing port in '%s'",
		    ma_quote(s, strlen(s), q));
	if (ma_parse_port(port, &out->port) == -1)
		return ma_fail(err, errlen, "bad port '%s'",
		    ma_quote(port.p, port.n, q));
	return 0;
}

int
multiaddr_parse(const char *s, struct multiaddr *out, char *err,
    size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL || s[0] == '\0')
		return ma_fail(err, errlen, "empty address");
	if (s[0] == '/')
		rc = ma_parse_text(s, out, err, errlen);
	else
		rc = ma_parse_hostport(s, out, err, errlen);
	if (rc == -1)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* Protocol name and code of a host kind; NULL name if invalid. */
static const char *
ma_host_proto(enum ma_host kind, unsigned *code)
{
	size_t i;

	for (i = 0; i < sizeof(ma_hosts) / sizeof(ma_hosts[0]); i++) {
		if (ma_hosts[i].kind == kind) {
			if (code != NULL)
				*code = ma_hosts[i].code;
			return ma_hosts[i].name;
		}
	}
	return NULL;
}

char *
multiaddr_to_string(const struct multiaddr *ma, char *buf, size_t cap)
{
	char id[PEER_ID_STR_MAX];
	const char *proto;

	if (cap == 0)
		return buf;
	if ((proto = ma_host_proto(ma->kind, NULL)) == NULL)
		proto = "?";
	id[0] = '\0';
	if (ma->has_peer)
		peer_id_to_string(&ma->peer, id, sizeof(id));
	snprintf(buf, cap, "/%s/%s/tcp/%u%s%s", proto, ma->host,
	    (unsigned)ma->port, ma->has_peer ? "/p2p/" : "", id);
	return buf;
}

/* Append len bytes at *off; -1 if they do not fit. */
static int
ma_put(uint8_t *out, size_t cap, size_t *off, const void *p, size_t len)
{
	if (len > cap - *off)
		return -1;
	memcpy(out + *off, p, len);
	*off += len;
	return 0;
}

/* Append a uvarint at *off; -1 if it does not fit. */
static int
ma_put_varint(uint8_t *out, size_t cap, size_t *off, uint64_t v)
{
	uint8_t tmp[9];

	return ma_put(out, cap, off, tmp, varint_encode(v, tmp));
}

/* Append the binary host component of ma. */
static int
ma_put_host(const struct multiaddr *ma, uint8_t *out, size_t cap,
    size_t *off)
{
	uint8_t bin[16];
	unsigned code;
	size_t len;

	if (ma_host_proto(ma->kind, &code) == NULL ||
	    ma_put_varint(out, cap, off, code) == -1)
		return -1;
	switch (ma->kind) {
	case MA_IP4:
		if (inet_pton(AF_INET, ma->host, bin) != 1)
			return -1;
		return ma_put(out, cap, off, bin, 4);
	case MA_IP6:
		if (inet_pton(AF_INET6, ma->host, bin) != 1)
			return -1;
		return ma_put(out, cap, off, bin, 16);
	default:
		len = strnlen(ma->host, sizeof(ma->host));
		if (len == 0 || len > MULTIADDR_DNS_MAX ||
		    ma_put_varint(out, cap, off, len) == -1)
			return -1;
		return ma_put(out, cap, off, ma->host, len);
	}
}

int
multiaddr_to_bytes(const struct multiaddr *ma, uint8_t *out, size_t cap)
{
	uint8_t port[2] = { (uint8_t)(ma->port >> 8), (uint8_t)ma->port };
	size_t off = 0;

	if (ma_put_host(ma, out, cap, &off) == -1 ||
	    ma_put_varint(out, cap, &off, MA_CODE_TCP) == -1 ||
	    ma_put(out, cap, &off, port, 2) == -1)
		return -1;
	if (ma->has_peer) {
		if (ma->peer.len == 0 || ma->peer.len > PEER_ID_MAX ||
		    ma_put_varint(out, cap, &off, MA_CODE_P2P) == -1 ||
		    ma_put_varint(out, cap, &off, ma->peer.len) == -1 ||
		    ma_put(out, cap, &off, ma->peer.mh, ma->peer.len) == -1)
			return -1;
	}
	return (int)off;
}

/* "ip:port" or "[ip6]:port" of a socket address. */
char *
multiaddr_fmt_sockaddr(const struct sockaddr *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *s4 = (const void *)sa;
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (cap == 0)
		return buf;
	if (sa != NULL && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip)) != NULL)
		snprintf(buf, cap, "%s:%u", ip, ntohs(s4->sin_port));
	else if (sa != NULL && sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip)) != NULL)
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
	else
		snprintf(buf, cap, "-");
	return buf;
}

bool
multiaddr_literal(const struct multiaddr *ma, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ma->kind == MA_IP4 &&
	    inet_pton(AF_INET, ma->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(ma->port);
		*len = sizeof(*s4);
		return true;
	}
	if (ma->kind == MA_IP6 &&
	    inet_pton(AF_INET6, ma->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ma->port);
		*len = sizeof(*s6);
		return true;
	}
	return false;
}
