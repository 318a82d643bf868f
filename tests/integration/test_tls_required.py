"""test_tls_required: tls = required refuses logins before AUTH TLS and
transfers without PROT P; tls_anonymous = optional lets anonymous users stay
in plaintext; tls = implicit serves TLS from the first byte on listen_implicit
and makes the plain port behave as tls = required."""

import os
import socket

from harness import (ImplicitControl, auth_tls, check, check_equal, download, free_port,
                     listing_lines, open_passive, protect_data, pwd_path, temp_dir,
                     tls_download, tls_server, tls_upload, upload, write_file)

ALICE = (("alice", "secret", None),)


def expect_login_refused_for_tls(control, user):
    reply = control.command("USER " + user)
    check(reply.code == 530 and "TLS" in reply.lines[-1].upper(),
          "USER %s before AUTH TLS: expected 530 mentioning TLS, got %r" % (user, reply))


def expect_transfer_refused(control, line):
    data = open_passive(control)
    try:
        reply = control.command(line)
        check_equal(reply.code, 521, "%s with PROT C under tls = required (%r)" % (line, reply))
    finally:
        data.close()


def test_required_refuses_user_before_auth():
    server, _root = tls_server("required", users=ALICE)
    with server, server.connect() as control:
        expect_login_refused_for_tls(control, "alice")
        reply = control.command("PASS secret")
        check(reply.code in (503, 530), "PASS after the refused USER: %r" % reply)
        control.expect("PWD", 530)
        # Commands that need no login still work in plaintext.
        control.expect("NOOP", 200)
        control.expect("FEAT", 211)
        auth_tls(control)
        control.login("alice", "secret")
        control.expect("PWD", 257)


def test_required_refuses_anonymous_by_default():
    server, _root = tls_server("required")
    with server, server.connect() as control:
        expect_login_refused_for_tls(control, "anonymous")
        expect_login_refused_for_tls(control, "ftp")
        auth_tls(control)
        control.login_anonymous()


def test_required_transfers_need_prot_p():
    server, home_root = tls_server("required", users=ALICE)
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "kept.txt"), b"kept\n")
    with server, server.connect() as control:
        auth_tls(control)
        control.login("alice", "secret")
        # Default protection is Clear: every transfer is refused.
        for line in ("LIST", "NLST", "MLSD", "RETR kept.txt", "STOR new.txt"):
            expect_transfer_refused(control, line)
        control.expect("PBSZ 0", 200)
        control.expect("PROT C", 200)
        for line in ("LIST", "RETR kept.txt", "STOR new.txt", "APPE kept.txt"):
            expect_transfer_refused(control, line)
        check(not os.path.exists(os.path.join(home, "new.txt")), "refused STOR created the file")
        control.expect("PROT P", 200)
        tls_upload(control, "STOR new.txt", b"protected upload\n")
        check_equal(tls_download(control, "RETR new.txt"), b"protected upload\n", "RETR")
        listing = tls_download(control, "LIST").decode()
        check("new.txt" in listing and "kept.txt" in listing, "LIST over TLS: %r" % listing)
        # Back to Clear: refused again, and the session goes on.
        control.expect("PROT C", 200)
        expect_transfer_refused(control, "RETR new.txt")
        control.expect("PROT P", 200)
        check_equal(tls_download(control, "RETR kept.txt"), b"kept\n", "RETR after PROT P")
    with open(os.path.join(home, "new.txt"), "rb") as f:
        check_equal(f.read(), b"protected upload\n", "stored file")


def test_required_anonymous_transfer_needs_prot_p():
    server, _root = tls_server("required")
    with server, server.connect() as control:
        auth_tls(control)
        control.login_anonymous()
        expect_transfer_refused(control, "RETR README.txt")
        protect_data(control)
        check_equal(tls_download(control, "RETR README.txt"), b"read me\n", "anonymous RETR")


def test_tls_anonymous_optional():
    anonymous_root = temp_dir("ftpd-anon-")
    write_file(os.path.join(anonymous_root, "public.txt"), b"public\n")
    server, _home_root = tls_server("required", users=ALICE, options={
        "tls_anonymous": "optional", "anonymous": "yes", "anonymous_root": anonymous_root})
    with server:
        with server.connect() as control:
            control.login_anonymous()
            check_equal(download(control, "RETR public.txt"), b"public\n",
                        "plaintext anonymous RETR")
            check("public.txt" in " ".join(listing_lines(control, "LIST")),
                  "plaintext anonymous LIST")
        with server.connect() as control:
            expect_login_refused_for_tls(control, "alice")
            control.login_anonymous()
        with server.connect() as control:
            auth_tls(control)
            control.login_anonymous()
            protect_data(control)
            check_equal(tls_download(control, "RETR public.txt"), b"public\n",
                        "anonymous RETR over TLS")
        with server.connect() as control:
            auth_tls(control)
            control.login("alice", "secret")
            expect_transfer_refused(control, "LIST")


def test_implicit_tls_listener():
    server, root = tls_server("implicit")
    with server:
        with ImplicitControl(server.implicit_port) as control:
            check_equal(control.greeting.code, 220, "greeting over implicit TLS")
            control.expect("AUTH TLS", 503)
            control.login_anonymous()
            protect_data(control)
            check_equal(tls_download(control, "RETR pub/hello.txt"), b"hello, world\n",
                        "RETR over implicit TLS")
            with open(os.path.join(root, "pub", "data.bin"), "rb") as f:
                check_equal(tls_download(control, "RETR pub/data.bin", "epsv"), f.read(),
                            "RETR over implicit TLS (EPSV)")
            control.expect("QUIT", 221)
        # A plaintext client on the implicit port gets no plaintext greeting.
        with socket.create_connection(("127.0.0.1", server.implicit_port), timeout=5) as raw:
            raw.sendall(b"USER anonymous\r\n")
            raw.settimeout(5)
            try:
                got = raw.recv(100)
            except (ConnectionResetError, socket.timeout):
                got = b""
            check(not got.startswith(b"220") and not got.startswith(b"331"),
                  "plaintext answer on the implicit port: %r" % got)
        with ImplicitControl(server.implicit_port) as control:
            control.expect("NOOP", 200)


def test_implicit_mode_plain_port_behaves_as_required():
    server, _root = tls_server("implicit", users=ALICE)
    with server, server.connect() as control:
        expect_login_refused_for_tls(control, "alice")
        auth_tls(control)
        control.login("alice", "secret")
        expect_transfer_refused(control, "LIST")
        protect_data(control)
        tls_upload(control, "STOR x.txt", b"x\n")
        check_equal(tls_download(control, "RETR x.txt"), b"x\n", "RETR on the plain port")


def test_explicit_mode_with_implicit_listener():
    server, home_root = tls_server("explicit", users=ALICE, options={
        "listen_implicit": "127.0.0.1:%d" % free_port()})
    with server:
        with ImplicitControl(server.implicit_port) as control:
            control.login("alice", "secret")
            check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD")
            protect_data(control)
            tls_upload(control, "STOR up.bin", b"\x00\x01" * 5000)
        with server.connect() as control:
            # Plain port in explicit mode: plaintext login and transfers are fine.
            control.login("alice", "secret")
            check_equal(download(control, "RETR up.bin"), b"\x00\x01" * 5000, "plaintext RETR")
            upload(control, "STOR plain.txt", b"plain\n")
    with open(os.path.join(home_root, "alice", "plain.txt"), "rb") as f:
        check_equal(f.read(), b"plain\n", "plaintext STOR")
