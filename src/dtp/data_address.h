/*
 * data_address: parsing and formatting the addresses of data connections:
 * PORT and PASV (RFC 959), EPRT and EPSV (RFC 2428), and REST offsets.
 */
#ifndef FTPD_DATA_ADDRESS_H
#define FTPD_DATA_ADDRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

/*
 * "h1,h2,h3,h4,p1,p2" -> IPv4 address and port. Every number 0-255 in
 * decimal, exactly six, optional spaces around the commas; -EINVAL otherwise.
 */
int data_address_parse_port(const char *argument, struct sockaddr_storage *out,
    socklen_t *length);

/*
 * "<d>1<d>a.b.c.d<d>port<d>" or "<d>2<d>ipv6<d>port<d>" where <d> is any
 * printable ASCII delimiter (33-126) used four times. -EINVAL for malformed
 * input (port 0 included), -EAFNOSUPPORT for a protocol other than 1 or 2
 * (reply 522). An IPv4-mapped IPv6 address comes back as AF_INET.
 */
int data_address_parse_eprt(const char *argument, struct sockaddr_storage *out,
    socklen_t *length);

/*
 * The PASV reply body "h1,h2,h3,h4,p1,p2" for an IPv4 (or IPv4-mapped IPv6)
 * address. -EAFNOSUPPORT for others, -ENOSPC when size is too small.
 */
int data_address_format_pasv(const struct sockaddr *address, char *out, size_t size);

enum epsv_request { EPSV_ANY, EPSV_IPV4, EPSV_IPV6, EPSV_ALL };

/* EPSV argument: "" -> ANY, "1", "2", "ALL" (any case); -EAFNOSUPPORT other numbers, -EINVAL junk. */
int data_address_parse_epsv(const char *argument, enum epsv_request *out);

/* REST argument: decimal digits only, up to 2^63-1. -EINVAL otherwise. */
int data_address_parse_rest(const char *argument, uint64_t *offset);

/* 1 when both name the same host (an IPv4-mapped IPv6 address equals its IPv4 one). */
int data_address_same_host(const struct sockaddr *a, const struct sockaddr *b);

/*
 * 1 for an IPv4 address clients on the Internet cannot reach: private
 * (RFC 1918), shared (100.64/10), loopback, link-local; 0 otherwise.
 */
int data_address_ipv4_is_private(struct in_addr address);

/* The port of an AF_INET/AF_INET6 address (host order), 0 for others. */
unsigned data_address_port(const struct sockaddr *address);

#endif
