"""test_proxy: the PROXY protocol (v1 and v2) on a listener behind a balancer,
the test playing the balancer with raw sockets. ftpd listens on 127.0.0.2,
the "balancer" connects from 127.0.0.3 (proxy_trusted), anyone else from
127.0.0.1; the clients its headers name are addresses that never connect
themselves (198.51.100.0/24), or loopback ones where the server must connect
back (PORT). Real HAProxy in front of two instances: test_haproxy."""

import ipaddress
import os
import re
import socket
import struct
import subprocess
import time

from harness import (Control, Server, auth_tls, check, check_equal, ftpd_command, populate_tree,
                     protect_data, read_all, read_all_tls, temp_dir, tls_options, wait_until,
                     wrap_data)

LISTEN_HOST = "127.0.0.2"
BALANCER = "127.0.0.3"
CLIENT = "198.51.100.7"
FRONT = "127.0.0.9"          # the address the client connected to, on the balancer
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1_header(source=CLIENT, destination=FRONT, source_port=40123, destination_port=21):
    family = "TCP6" if ":" in source else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (family, source, destination, source_port,
                                          destination_port)).encode()


def v2_header(source=CLIENT, destination=FRONT, source_port=40123, destination_port=21,
              command=1, tlvs=b""):
    if command == 0:
        return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", len(tlvs)) + tlvs
    block = (ipaddress.ip_address(source).packed + ipaddress.ip_address(destination).packed
             + struct.pack("!HH", source_port, destination_port))
    family = 0x21 if ":" in source else 0x11
    return (V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(block) + len(tlvs))
            + block + tlvs)


def proxy_server(options=None):
    """An anonymous server whose one listener expects PROXY headers from BALANCER."""
    root = temp_dir("ftpd-proxy-")
    populate_tree(root)
    opts = {"anonymous": "yes", "anonymous_root": root, "proxy_trusted": BALANCER,
            "proxy_timeout": "1", "log_level": "debug"}
    opts.update(options or {})
    server = Server(opts, start=False)
    server.options["listen"] = "%s:%d proxy" % (LISTEN_HOST, server.port)
    server.start()
    return server, root


def wait_ready(server):
    wait_until(lambda: " ready (" in server.stderr_text(), 10, "ftpd ready")


class ProxiedControl(Control):
    """A control connection as a balancer makes it: from source, header first."""

    def __init__(self, server, header, source=BALANCER, greet=True, extra=b""):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.bind((source, 0))
        self.sock.connect((LISTEN_HOST, server.port))
        self.buffer = b""
        if header or extra:
            self.sock.sendall(header + extra)
        self.greeting = self.read_reply() if greet else None


def balancer_data_connection(port, header, source=BALANCER):
    """The balancer forwarding a passive data connection with its header (send-proxy-v2)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect((LISTEN_HOST, port))
    sock.sendall(header)
    return sock


def pasv(control):
    reply = control.expect("PASV", 227)
    numbers = [int(n) for n in re.search(r"\((\d+(?:,\d+){5})\)", reply.lines[-1]).group(1)
               .split(",")]
    return "%d.%d.%d.%d" % tuple(numbers[:4]), numbers[4] * 256 + numbers[5]


def closed_without_data(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_v1_and_v2_headers_name_the_client():
    """Both versions: the session, its log lines and its limits are the named
    client's; PASV announces where the client connected (the balancer)."""
    server, root = proxy_server()
    with server:
        for version, make in (("v1", v1_header), ("v2", v2_header)):
            with ProxiedControl(server, make(source=CLIENT)) as control:
                check_equal(control.greeting.code, 220, version + " greeting")
                control.login_anonymous()
                host, port = pasv(control)
                check_equal(host, FRONT, version + ": PASV announces the balancer's front address")
                data = balancer_data_connection(port, v2_header(source=CLIENT))
                control.expect("RETR pub/hello.txt", 150)
                check_equal(read_all(data), b"hello, world\n", version + ": RETR through the balancer")
                check_equal(control.read_reply().code, 226, version + ": RETR end")
                control.expect("QUIT", 221)
        log = server.stderr_text()
        check(log.count("%s: connected (through a balancer)" % CLIENT) == 2,
              "the log names the client, not the balancer: %s" % log[-2000:])
        check("%s: login ok: anonymous" % CLIENT in log, "login logged for the client")
        check("(PROXY v1)" in log and "(PROXY v2)" in log, "both versions logged at debug")
        check("%s: connected" % BALANCER not in log, "the balancer never counts as a client")


def test_header_and_first_commands_in_one_packet():
    """Not a byte after the header is lost: commands sent with it are served."""
    server, _root = proxy_server()
    with server:
        for header in (v1_header(), v2_header()):
            with ProxiedControl(server, header, greet=False,
                                extra=b"USER anonymous\r\nPASS guest@\r\nPWD\r\n") as control:
                check_equal(control.read_reply().code, 220, "greeting")
                check_equal(control.read_reply().code, 331, "USER sent with the header")
                check_equal(control.read_reply().code, 230, "PASS sent with the header")
                check_equal(control.read_reply().code, 257, "PWD sent with the header")


def test_untrusted_source_is_refused():
    """A header from an address outside proxy_trusted is not believed: 421, logged."""
    server, _root = proxy_server()
    with server:
        with ProxiedControl(server, v1_header(source="10.1.2.3"), source="127.0.0.1") as control:
            check_equal(control.greeting.code, 421, "forged header from an untrusted address")
            check(control.is_closed(), "the connection is closed")
        log = server.stderr_text()
        check("127.0.0.1: refused: not in proxy_trusted" in log, "refusal logged: %s" % log[-1500:])
        check("10.1.2.3" not in log, "the forged client address is never used")
        # A scan from outside proxy_trusted is refused every time, and logged
        # once per 10 s and worker, not once per connection.
        for _ in range(50):
            with ProxiedControl(server, b"", source="127.0.0.1") as control:
                check_equal(control.greeting.code, 421, "a scan's connection")
        lines = server.stderr_text().count("refused: not in proxy_trusted")
        check(lines <= int(server.options.get("workers", "2")),
              "%d warnings for 51 refusals" % lines)


def test_malformed_or_missing_header_is_refused():
    """Malformed headers, and silence beyond proxy_timeout: 421 and closed."""
    server, _root = proxy_server()
    cases = [
        (b"PROXY TCP4 198.51.100.7 127.0.0.9 05555 21\r\n", "v1 port"),
        (b"PROXY TCP4 2001:db8::1 127.0.0.9 5555 21\r\n", "TCP4 address"),
        (b"PROXY  TCP4 198.51.100.7 127.0.0.9 5555 21\r\n", "two spaces"),
        (b"USER anonymous\r\n", "not a PROXY header"),
        (V2_SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12), "v2 bad version"),
        (V2_SIGNATURE + b"\x21\x11\x00\x04" + bytes(4), "v2 length too short"),
    ]
    with server:
        for header, reason in cases:
            with ProxiedControl(server, header) as control:
                check_equal(control.greeting.code, 421, "%s refused" % reason)
        started = time.monotonic()
        with ProxiedControl(server, b"") as control:
            check_equal(control.greeting.code, 421, "no header within proxy_timeout")
        waited = time.monotonic() - started
        check(0.8 < waited < 4, "refused after about proxy_timeout (1 s): %.2f s" % waited)
        log = server.stderr_text()
        check(log.count("refused: bad PROXY header") == len(cases),
              "each malformed header logged: %s" % log[-2000:])
        check("refused: no PROXY header within 1 s" in log, "the timeout logged")
        check("connected" not in log.replace("disconnected", ""), "no session started")


def test_health_checks_are_answered_and_not_counted():
    """v2 LOCAL, v1 UNKNOWN and a header naming the balancer itself are its
    own checks: a 220 and closed, even with max_clients reached, and no
    session logged."""
    server, _root = proxy_server({"max_clients": "1"})
    with server:
        with ProxiedControl(server, v2_header()) as held:
            held.login_anonymous()
            # HAProxy's v1 checks name the balancer itself.
            for header in (v2_header(command=0), b"PROXY UNKNOWN\r\n",
                           b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
                           v1_header(source=BALANCER, destination=LISTEN_HOST)):
                with ProxiedControl(server, header) as check_connection:
                    check_equal(check_connection.greeting.code, 220, "health check %r" % header[:14])
                    check(check_connection.is_closed(), "a health check is closed after its 220")
        log = server.stderr_text()
        check(log.count("health check") == 4, "health checks logged at debug")
        check(log.count(": connected") == 1, "only the real session counted: %s" % log[-1500:])


def test_limits_count_the_real_client():
    """max_clients_per_ip counts the clients the headers name, not the balancer."""
    server, _root = proxy_server({"max_clients_per_ip": "1", "max_clients": "10"})
    with server:
        with ProxiedControl(server, v2_header(source=CLIENT)) as first:
            check_equal(first.greeting.code, 220, "first session of the client")
            with ProxiedControl(server, v1_header(source=CLIENT)) as second:
                check_equal(second.greeting.code, 421, "second session of the same client")
                check("from your address" in second.greeting.lines[-1], "the per-address limit")
            with ProxiedControl(server, v2_header(source="198.51.100.8")) as other:
                check_equal(other.greeting.code, 220, "another client through the same balancer")


def test_passive_theft_through_the_balancer_is_refused():
    """A passive connection the balancer forwards for another client, or one
    straight from a stranger, is refused; the client's own then works."""
    server, _root = proxy_server()
    with server:
        with ProxiedControl(server, v2_header(source=CLIENT)) as control:
            control.login_anonymous()
            _host, port = pasv(control)
            # The server accepts on the passive port once the command that uses it came.
            control.send("RETR pub/data.bin\r\n")
            thief = balancer_data_connection(port, v2_header(source="198.51.100.66"))
            check(closed_without_data(thief), "a connection for another client is closed")
            stranger = socket.create_connection((LISTEN_HOST, port), timeout=10)
            check(closed_without_data(stranger), "a direct connection from a stranger is closed")
            silent = balancer_data_connection(port, b"")
            check(closed_without_data(silent), "a balancer connection without a header is closed")
            data = balancer_data_connection(port, v1_header(source=CLIENT))
            check_equal(control.read_reply().code, 150, "RETR starts on the client's connection")
            check_equal(len(read_all(data)), 256 * 40, "the client's own transfer")
            check_equal(control.read_reply().code, 226, "RETR end")
        log = server.stderr_text()
        check("refused a passive data connection from 198.51.100.66 (through a balancer)" in log,
              "the theft through the balancer logged: %s" % log[-2000:])
        check("refused a passive data connection from 127.0.0.1" in log, "the stranger logged")


def test_tls_data_through_a_balancer_without_header_must_resume():
    """A balancer that forwards the passive ports as plain TCP, without a
    header: the data connection comes from the balancer, not the client.
    Under PROT P its TLS handshake must then resume the control connection's
    session, which only the client holds, even with tls_require_reuse = no;
    a fresh session, or plaintext, is refused."""
    import ssl

    server, _root = proxy_server(tls_options(options={"tls_require_reuse": "no"}))
    with server:
        control = ProxiedControl(server, v2_header(source=CLIENT))
        auth_tls(control)
        control.login_anonymous()
        protect_data(control)
        _host, port = pasv(control)
        control.send("RETR pub/data.bin\r\n")
        plain = balancer_data_connection(port, b"NOOP\r\n")
        check(closed_without_data(plain), "plaintext without a header was not closed")
        stranger = balancer_data_connection(port, b"")
        check_equal(control.read_reply().code, 150, "RETR accepted a TLS connection")
        try:
            fresh = wrap_data(control, stranger, reuse=False)
            check(not fresh.session_reused, "a fresh client resumed a session")
            check_equal(fresh.recv(1), b"", "a fresh session got data")
        except (ssl.SSLError, OSError):
            pass
        refused = control.read_reply()
        check(refused.code in (425, 426), "a fresh TLS session through the balancer got %r"
              % (refused,))
        _host, port = pasv(control)
        control.send("RETR pub/data.bin\r\n")
        sock = balancer_data_connection(port, b"")
        check_equal(control.read_reply().code, 150, "RETR on the client's own connection")
        tls = wrap_data(control, sock)
        check(tls.session_reused, "the client's data connection did not resume")
        check_equal(len(read_all_tls(tls)), 256 * 40, "the client's own transfer")
        check_equal(control.read_reply().code, 226, "RETR end")
        control.close()
        log = server.stderr_text()
        check("did not resume the control connection's session" in log,
              "the fresh session's refusal is not logged: %s" % log[-2000:])


def test_port_must_name_the_real_client():
    """PORT/EPRT may only name the client the header named (FTP bounce), and
    the server connects to it directly."""
    client = "127.0.0.5"
    server, _root = proxy_server()
    with server:
        with ProxiedControl(server, v2_header(source=client)) as control:
            control.login_anonymous()
            reply = control.command("PORT %s,%d,%d" % (BALANCER.replace(".", ","), 200, 1))
            check(reply.code >= 500, "PORT to the balancer is a bounce: %r" % reply)
            reply = control.command("EPRT |1|127.0.0.1|51000|")
            check(reply.code >= 500, "EPRT to the control connection's real peer: %r" % reply)
            listener = socket.socket()
            listener.bind((client, 0))
            listener.listen(1)
            listener.settimeout(10)
            port = listener.getsockname()[1]
            control.expect("PORT %s,%d,%d" % (client.replace(".", ","), port // 256, port % 256), 200)
            control.expect("RETR pub/hello.txt", 150)
            data, address = listener.accept()
            check_equal(read_all(data), b"hello, world\n", "RETR to the named client")
            check_equal(control.read_reply().code, 226, "RETR end")
            listener.close()
        check("refused PORT/EPRT to another host" in server.stderr_text(), "the bounce logged")


def test_proxy_configuration_is_checked():
    """PROXY listeners need proxy_trusted; a bad network is named."""
    directory = temp_dir("ftpd-proxy-config-")
    os.makedirs(os.path.join(directory, "root"))
    config = os.path.join(directory, "ftpd.conf")
    cases = [
        ("proxy_protocol = yes\n", "proxy_protocol = yes needs proxy_trusted"),
        ("listen = 127.0.0.1:2121 proxy\n", "listen ... proxy needs proxy_trusted"),
        ("proxy_protocol = yes\nproxy_trusted = 10.0.0.1/8\n", "proxy_trusted"),
        ("listen = 127.0.0.1:2121 proxi\nproxy_trusted = 10.0.0.0/8\n", "listen"),
        ("proxy_trusted = 10.0.0.0/8 fd00::/8, 192.168.1.7\nproxy_protocol = yes\n", None),
    ]
    for text, message in cases:
        with open(config, "w") as f:
            f.write("anonymous_root = %s\n%s" % (os.path.join(directory, "root"), text))
        result = subprocess.run(ftpd_command(config, args=["-t"]), capture_output=True, text=True,
                                timeout=10)
        if message is None:
            check_equal(result.returncode, 0, "ftpd -t with %r: %s" % (text, result.stderr))
        else:
            check_equal(result.returncode, 1, "ftpd -t with %r" % text)
            check(message in result.stderr, "%r in %r" % (message, result.stderr))


def test_pasv_address_host_name_and_private_warning():
    """pasv_address may be a host name, resolved at start; a private one with
    a listener open to anyone is warned about."""
    root = temp_dir("ftpd-pasv-name-")
    populate_tree(root)
    with Server({"anonymous": "yes", "anonymous_root": root,
                 "pasv_address": "localhost"}) as server:
        with server.connect() as control:
            control.login_anonymous()
            host, _port = pasv(control)
            check_equal(host, "127.0.0.1", "PASV announces what localhost resolves to")
        check("a private address" not in server.stderr_text(),
              "no warning while only loopback listens")
    public = Server({"anonymous": "yes", "anonymous_root": root, "pasv_address": "10.1.2.3"},
                    start=False)
    public.options["listen"] = "0.0.0.0:%d" % public.port
    public.start()
    with public:
        check("pasv_address 10.1.2.3 is 10.1.2.3, a private address, but 0.0.0.0:%d accepts "
              "clients from anywhere" % public.port in public.stderr_text(),
              "the warning: %s" % public.stderr_tail())
