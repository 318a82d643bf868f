"""test_tls_protocol: hostile input around AUTH TLS on the control connection:
garbage instead of a ClientHello, a client that drops mid-handshake, an
over-long line over TLS, and plaintext commands pipelined behind AUTH TLS
(the STARTTLS injection), which must never be answered."""

import socket
import ssl
import time

from harness import (REPLY_TIMEOUT, check, check_equal, client_context, protect_data, pwd_path, start_tls,
                     tls_control, tls_download, tls_server)


def still_serving(server):
    with tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        check_equal(tls_download(control, "RETR README.txt"), b"read me\n",
                    "RETR on a new session")


def nothing_pending(control, wait=0.3):
    """True if the server sent nothing more (in plaintext) within wait seconds."""
    time.sleep(wait)
    if control.buffer:
        return False
    control.sock.setblocking(False)
    try:
        control.sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    finally:
        control.sock.settimeout(REPLY_TIMEOUT)


def client_hello(control):
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def test_garbage_instead_of_client_hello():
    server, _root = tls_server()
    with server:
        bystander = tls_control(server)
        bystander.login_anonymous()
        for garbage in (b"USER anonymous\r\n", b"\x16\x03\x01\xff\xff" + b"\x00" * 300,
                        bytes(range(256)) * 8, b"\x80" * 300):
            with server.connect() as control:
                control.expect("AUTH TLS", 234)
                control.send(garbage)
                check(control.is_closed(), "connection still open after %r..." % garbage[:16])
        bystander.expect("PWD", 257)
        bystander.close()
        still_serving(server)


def test_client_drops_mid_handshake():
    server, _root = tls_server()
    with server:
        for part in (0.0, 0.5, 1.0):
            control = server.connect()
            control.expect("AUTH TLS", 234)
            hello = client_hello(control)
            control.send(hello[:int(len(hello) * part)])
            if part == 1.0:
                # Wait for the server's flight, then vanish without answering.
                control.sock.settimeout(5)
                check(control.sock.recv(5), "no ServerHello after a whole ClientHello")
            control.close()
        # A half-open one left hanging while others are served.
        hanging = server.connect()
        hanging.expect("AUTH TLS", 234)
        hello = client_hello(hanging)
        hanging.send(hello[:10])
        still_serving(server)
        hanging.close()
        still_serving(server)


def test_overlong_line_over_tls():
    server, _root = tls_server()
    with server, tls_control(server) as control:
        control.send(b"NOOP " + b"a" * 100000 + b"\r\n")
        check_equal(control.read_reply().code, 500, "reply to a 100 KB line over TLS")
        control.expect("NOOP", 200)
        for _ in range(20):
            control.send(b"x" * 5000)
        control.send(b"\r\n")
        check_equal(control.read_reply().code, 500, "reply to a 100 KB line in pieces over TLS")
        control.login_anonymous()
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after the long lines")


def test_pipelined_plaintext_after_auth_is_not_answered():
    server, _root = tls_server()
    with server, server.connect() as control:
        control.send(b"AUTH TLS\r\nNOOP\r\n")
        reply = control.read_reply()
        check_equal(reply.code, 234, "reply to AUTH TLS")
        check(nothing_pending(control), "the server answered the injected NOOP in plaintext: %r"
              % control.buffer)
        try:
            start_tls(control)
        except (ssl.SSLError, OSError) as error:
            raise AssertionError("handshake after AUTH TLS with a pipelined NOOP failed: %s"
                                 % error)
        reply = control.command("SYST")
        check(reply.code == 215, "first reply over TLS after the injected NOOP: %r "
              "(215 to SYST expected; 200 means the plaintext NOOP was run)" % reply)
        control.expect("NOOP", 200)


def test_pipelined_user_after_auth_is_not_run():
    server, _root = tls_server(users=(("alice", "secret", None),))
    with server, server.connect() as control:
        control.send(b"AUTH TLS\r\nUSER alice\r\n")
        check_equal(control.read_reply().code, 234, "reply to AUTH TLS")
        check(nothing_pending(control), "plaintext after 234: %r" % control.buffer)
        start_tls(control)
        # Had the injected USER been run, PASS would log in.
        reply = control.command("PASS secret")
        check(reply.code == 503, "PASS after an injected plaintext USER: %r (503 expected)"
              % reply)
        control.login("alice", "secret")
