/*
 * proxyv2.c - the PROXY protocol v2 header; see proxyv2.h.
 */
#include "proxyv2.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

static const uint8_t proxy_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* sa's address as 16 bytes (IPv4 as ::ffff:a.b.c.d) and its port. */
static void
proxy_v2_addr16(const struct sockaddr *sa, uint8_t ip[16], uint8_t port[2])
{
	const struct sockaddr_in *s4 = (const void *)sa;
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (sa->sa_family == AF_INET6) {
		memcpy(ip, &s6->sin6_addr, 16);
		memcpy(port, &s6->sin6_port, 2);
		return;
	}
	memset(ip, 0, 10);
	ip[10] = ip[11] = 0xff;
	memcpy(ip + 12, &s4->sin_addr, 4);
	memcpy(port, &s4->sin_port, 2);
}

static bool
proxy_v2_ip(const struct sockaddr *sa)
{
	return sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6);
}

size_t
proxy_v2_header(uint8_t *out, const struct sockaddr *src,
    const struct sockaddr *dst, const char *peer)
{
	const struct sockaddr_in *s4 = (const void *)src;
	const struct sockaddr_in *d4 = (const void *)dst;
	size_t n = 16, plen = strnlen(peer, PEER_ID_STR_MAX - 1);

	memcpy(out, proxy_sig, sizeof(proxy_sig));
	out[12] = 0x21;				/* version 2, PROXY */
	if (!proxy_v2_ip(src) || !proxy_v2_ip(dst)) {
		out[12] = 0x20;			/* LOCAL: no addresses */
		out[13] = 0x00;
	} else if (src->sa_family == AF_INET && dst->sa_family == AF_INET) {
		out[13] = 0x11;			/* TCP over IPv4 */
		memcpy(out + 16, &s4->sin_addr, 4);
		memcpy(out + 20, &d4->sin_addr, 4);
		memcpy(out + 24, &s4->sin_port, 2);
		memcpy(out + 26, &d4->sin_port, 2);
		n += 12;
	} else {
		out[13] = 0x21;			/* TCP over IPv6 */
		proxy_v2_addr16(src, out + 16, out + 48);
		proxy_v2_addr16(dst, out + 32, out + 50);
		n += 36;
	}
	out[n++] = PROXY_V2_TYPE_PEER_ID;
	out[n++] = (uint8_t)(plen >> 8);
	out[n++] = (uint8_t)plen;
	memcpy(out + n, peer, plen);
	n += plen;
	out[14] = (uint8_t)((n - 16) >> 8);
	out[15] = (uint8_t)(n - 16);
	return n;
}
