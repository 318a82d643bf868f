"""test_data_security: the data-channel commands (PASV, EPSV, PORT, EPRT) and
their rules: reply formats, EPSV ALL, passive port range and address, no
bouncing to other hosts, no foreign peers on a passive port, IPv6, and paths
that try to leave the share through the data commands."""

import os
import re
import socket

from harness import (Control, Server, anonymous_server, check, check_equal,
                     download, extended_passive_port, expect_preliminary,
                     ipv6_loopback_available, listing_lines, open_passive, passive_address,
                     populate_tree, read_all, skip, snapshot, temp_dir, upload, user_server,
                     write_file)


def refuses_connection(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.settimeout(2)
            # Some listeners accept and close at once; that is not a usable port either.
            try:
                return sock.recv(1) == b""
            except (socket.timeout, ConnectionResetError):
                return False
    except ConnectionRefusedError:
        return True


def test_pasv_and_epsv_reply_format():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        reply = control.expect("PASV", 227)
        check(re.match(r"^227 Entering Passive Mode \(127,0,0,1,\d{1,3},\d{1,3}\)\.$",
                       reply.lines[-1]), "PASV reply %r" % reply)
        host, port = passive_address(reply)
        check(1024 <= port <= 65535, "PASV port %d" % port)
        reply = control.expect("EPSV", 229)
        check(re.match(r"^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)\.$", reply.lines[-1]),
              "EPSV reply %r" % reply)
        control.expect("EPSV 1", 229)
        control.expect("EPSV 3", 522)


def test_new_pasv_closes_previous_port():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        _host, first = passive_address(control.expect("PASV", 227))
        second = extended_passive_port(control.expect("EPSV", 229))
        check(refuses_connection(first), "port %d of the replaced PASV still accepts" % first)
        _host, third = passive_address(control.expect("PASV", 227))
        check(refuses_connection(second), "port %d of the replaced EPSV still accepts" % second)
        data = socket.create_connection(("127.0.0.1", third), timeout=10)
        expect_preliminary(control, "RETR README.txt")
        check_equal(read_all(data), b"read me\n", "RETR over the last PASV")
        check_equal(control.read_reply().code, 226, "end of RETR")


def test_port_replaces_pasv():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        _host, port = passive_address(control.expect("PASV", 227))
        check_equal(download(control, "RETR README.txt", "active"), b"read me\n", "RETR via PORT")
        check(refuses_connection(port), "PASV port %d open after PORT" % port)


def test_epsv_all_locks_out_other_modes():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("EPSV ALL", 200)
        control.expect("PASV", 503)
        control.expect("PORT 127,0,0,1,200,10", 503)
        control.expect("EPRT |1|127.0.0.1|51210|", 503)
        check_equal(download(control, "RETR README.txt", "epsv"), b"read me\n", "RETR via EPSV")
        control.expect("PASV", 503)


def pasv_range():
    """A small range, different for each test process."""
    low = 20000 + (os.getpid() * 7) % 40000
    return low, low + 4


def test_pasv_ports_range():
    low, high = pasv_range()
    server, _root = anonymous_server({"pasv_ports": "%d-%d" % (low, high)})
    with server, server.connect() as control:
        control.login_anonymous()
        for number in range(6):
            if number % 2:
                _host, port = passive_address(control.expect("PASV", 227))
            else:
                port = extended_passive_port(control.expect("EPSV", 229))
            check(low <= port <= high, "passive port %d outside %d-%d" % (port, low, high))
        data = open_passive(control)
        port = data.getpeername()[1]
        check(low <= port <= high, "passive port %d outside %d-%d" % (port, low, high))
        expect_preliminary(control, "RETR README.txt")
        check_equal(read_all(data), b"read me\n", "RETR on port %d" % port)
        check_equal(control.read_reply().code, 226, "end of RETR")


def test_pasv_ports_reusable_after_transfers():
    """More downloads than ports: the server closes each data connection first, so
    the port sits in TIME_WAIT; a passive listener must still be able to bind it
    (SO_REUSEADDR), or a range of N ports serves only N downloads a minute."""
    low, high = pasv_range()
    server, _root = anonymous_server({"pasv_ports": "%d-%d" % (low, high)})
    with server, server.connect() as control:
        control.login_anonymous()
        for number in range(12):
            reply = control.command("PASV")
            check(reply.code == 227, "PASV number %d in a range of %d ports answered %r"
                  % (number + 1, high - low + 1, reply))
            _host, port = passive_address(reply)
            data = socket.create_connection(("127.0.0.1", port), timeout=10)
            expect_preliminary(control, "RETR README.txt")
            check_equal(read_all(data), b"read me\n", "RETR on port %d" % port)
            check_equal(control.read_reply().code, 226, "end of RETR")


def test_pasv_address_is_announced():
    server, _root = anonymous_server({"pasv_address": "10.1.2.3"})
    with server, server.connect() as control:
        control.login_anonymous()
        reply = control.expect("PASV", 227)
        host, port = passive_address(reply)
        check_equal(host, "10.1.2.3", "address in the 227 reply")
        # The listener itself is still on the server's address.
        data = socket.create_connection(("127.0.0.1", port), timeout=10)
        expect_preliminary(control, "RETR README.txt")
        check_equal(read_all(data), b"read me\n", "RETR behind pasv_address")
        check_equal(control.read_reply().code, 226, "end of RETR")
        # EPSV names only a port, so it is unaffected.
        check_equal(download(control, "RETR README.txt", "epsv"), b"read me\n", "RETR via EPSV")


def test_port_and_eprt_arguments():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        cases = [
            ("PORT 127,0,0,2,200,10", 500),
            ("EPRT |1|127.0.0.2|51210|", 500),
            ("PORT 10,0,0,1,200,10", 500),
            ("PORT 127,0,0,1,0,21", 504),
            ("PORT 127,0,0,1,3,255", 504),
            ("EPRT |1|127.0.0.1|21|", 504),
            ("PORT 1,2,3", 501),
            ("PORT 127,0,0,1,200", 501),
            ("PORT 127,0,0,1,200,10,1", 501),
            ("PORT 256,0,0,1,200,10", 501),
            ("PORT 127,0,0,1,256,10", 501),
            ("PORT a,b,c,d,e,f", 501),
            ("PORT -1,0,0,1,200,10", 501),
            ("EPRT garbage", 501),
            ("EPRT |1|127.0.0.1|", 501),
            ("EPRT |1|127.0.0.1|70000|", 501),
            ("EPRT |1|not-an-address|51210|", 501),
            ("EPRT |3|127.0.0.1|51210|", 522),
        ]
        for line, code in cases:
            control.expect(line, code)
        control.expect("PORT", 501)
        for line in ("PORT 127,0,0,1,0,0", "EPRT |1|127.0.0.1|0|"):
            reply = control.command(line)
            check(reply.code in (501, 504), "%s answered %r" % (line, reply))
        check_equal(download(control, "RETR README.txt", "active"), b"read me\n",
                    "RETR via PORT after the refusals")
        check_equal(download(control, "RETR README.txt", "eprt"), b"read me\n", "RETR via EPRT")


def test_refused_port_leaves_no_data_connection():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("PORT 127,0,0,2,200,10", 500)
        control.expect("RETR README.txt", 425)


def connect_from(source, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def foreign_gets_nothing(sock):
    """True if the server closed (or reset) the connection without sending data."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_foreign_passive_peer_is_refused_before_command():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        _host, port = passive_address(control.expect("PASV", 227))
        foreign = connect_from("127.0.0.2", port)
        real = connect_from("127.0.0.1", port)
        expect_preliminary(control, "RETR README.txt")
        check_equal(read_all(real), b"read me\n", "RETR for the real client")
        check_equal(control.read_reply().code, 226, "end of RETR")
        check(foreign_gets_nothing(foreign), "the foreign peer was not closed empty-handed")
        foreign.close()


def test_foreign_passive_peer_is_refused_after_command():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "target.txt"), b"original")
    with server, server.connect() as control:
        control.login("alice", "secret")
        _host, port = passive_address(control.expect("PASV", 227))
        control.send("STOR target.txt\r\n")
        foreign = connect_from("127.0.0.2", port)
        try:
            foreign.sendall(b"injected by a foreign host")
        except OSError:
            pass
        check(foreign_gets_nothing(foreign), "the foreign peer was not closed")
        foreign.close()
        real = connect_from("127.0.0.1", port)
        first = control.read_reply()
        check(first.code in (125, 150), "STOR answered %r" % first)
        real.sendall(b"from the real client")
        real.close()
        check_equal(control.read_reply().code, 226, "end of STOR")
    with open(os.path.join(home, "target.txt"), "rb") as f:
        check_equal(f.read(), b"from the real client", "stored content")


def test_paths_cannot_leave_the_share_through_data_commands():
    outside = temp_dir("ftpd-outside-")
    secret = write_file(os.path.join(outside, "secret.txt"), b"secret")
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    os.symlink(secret, os.path.join(home, "filelink"))
    os.symlink(outside, os.path.join(home, "dirlink"))
    outside_before = snapshot(outside)
    with server, server.connect() as control:
        control.login("alice", "secret")
        for line in ("RETR filelink", "RETR dirlink/secret.txt", "LIST dirlink",
                     "MLSD dirlink", "NLST dirlink", "STOR dirlink/new.txt",
                     "APPE dirlink/secret.txt", "RETR ../../../../../etc/passwd"):
            data = open_passive(control)
            reply = control.command(line)
            if reply.code in (125, 150):
                if line.startswith(("STOR", "APPE")):
                    data.sendall(b"escaped")
                    data.close()
                    control.read_reply()
                else:
                    received = read_all(data)
                    control.read_reply()
                    check(b"secret" not in received and b"root:" not in received,
                          "%s sent data from outside the share: %r" % (line, received[:100]))
            else:
                data.close()
                check_equal(reply.code, 550, "reply to %s" % line)
        control.expect("MLST dirlink/secret.txt", 550)
        control.expect("SIZE dirlink/secret.txt", 550)
        upload(control, "STOR ../../escape.txt", b"stays inside")
        # Whatever STOR does to the symlink itself, the file it points to is untouched.
        data = open_passive(control)
        reply = control.command("STOR filelink")
        if reply.code in (125, 150):
            data.sendall(b"overwritten")
            data.close()
            control.read_reply()
        else:
            data.close()
        names = set(parse_names(listing_lines(control, "LIST ../..")))
        check("escape.txt" in names and "filelink" in names,
              "LIST ../.. does not show the home: %r" % names)
    check_equal(snapshot(outside), outside_before, "directory outside the share")
    with open(secret, "rb") as f:
        check_equal(f.read(), b"secret", "file outside the share")
    check(os.path.isfile(os.path.join(home, "escape.txt")), "STOR ../../escape.txt not in home")
    check(not os.path.exists(os.path.join(home_root, "escape.txt")), "STOR escaped the home")


def parse_names(lines):
    return [line.split(None, 8)[-1] for line in lines]


class Control6(Control):
    """A control connection to [::1]."""

    def __init__(self, port):
        self.sock = socket.create_connection(("::1", port), timeout=10)
        self.buffer = b""
        self.greeting = self.read_reply()


def ipv6_server():
    """An anonymous server listening on both 127.0.0.1 and [::1] (same port)."""
    if not ipv6_loopback_available():
        skip("::1 is not available")
    root = temp_dir("ftpd-anon-")
    populate_tree(root)
    server = Server({"anonymous": "yes", "anonymous_root": root}, start=False)
    del server.options["listen"]
    # Both listeners in the config file: the harness waits for the IPv4 one.
    with open(server.config_file, "w") as f:
        f.write("listen = 127.0.0.1:%d\nlisten = [::1]:%d\n" % (server.port, server.port))
    try:
        server.start()
    except AssertionError:
        if "in use" in server.stderr_text():
            skip("port %d is taken on ::1" % server.port)
        raise
    return server, root


def test_ipv6_epsv_and_eprt():
    server, _root = ipv6_server()
    with server, Control6(server.port) as control:
        control.login_anonymous()
        check_equal(download(control, "RETR README.txt", "epsv"), b"read me\n", "RETR via EPSV")
        check_equal(download(control, "RETR README.txt", "eprt"), b"read me\n", "RETR via EPRT")
        control.expect("EPSV 2", 229)
        reply = control.command("PASV")
        check(reply.code >= 400, "PASV on an IPv6 control connection: %r" % reply)
        for line in ("EPRT |1|127.0.0.1|51210|", "PORT 127,0,0,1,200,10",
                     "EPRT |2|::2|51210|"):
            reply = control.command(line)
            check(reply.code in (500, 501, 522), "%s on IPv6 answered %r" % (line, reply))
        control.expect("EPRT |2|::1|21|", 504)
        check_equal(download(control, "RETR README.txt", "eprt"), b"read me\n", "RETR via EPRT")


def test_ipv6_foreign_passive_peer_is_refused():
    """A connection over IPv4 to the port announced on an IPv6 session is foreign."""
    server, _root = ipv6_server()
    with server, Control6(server.port) as control:
        control.login_anonymous()
        port = extended_passive_port(control.expect("EPSV", 229))
        try:
            foreign = socket.create_connection(("127.0.0.1", port), timeout=5)
        except ConnectionRefusedError:
            foreign = None
        real = socket.create_connection(("::1", port), timeout=10)
        expect_preliminary(control, "RETR README.txt")
        check_equal(read_all(real), b"read me\n", "RETR for the real client")
        check_equal(control.read_reply().code, 226, "end of RETR")
        if foreign is not None:
            check(foreign_gets_nothing(foreign), "the IPv4 peer was not closed")
            foreign.close()
