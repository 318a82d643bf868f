"""test_tls_commands: the RFC 4217 commands on the control connection: AUTH
(TLS, SSL, any case, unknown mechanisms, repeated, after login), PBSZ, PROT,
CCC, FEAT, and both kinds of user over a protected control connection."""

import os
import ssl

from harness import (anonymous_server, auth_tls, check, check_equal, protect_data, pwd_path,
                     start_tls, tls_control, tls_download, tls_server, tls_upload, write_file)


def feature_lines(control):
    reply = control.expect("FEAT", 211)
    return [line.strip() for line in reply.lines[1:-1]]


def test_auth_tls_handshake_then_commands_over_tls():
    server, _root = tls_server()
    with server, tls_control(server) as control:
        check(isinstance(control.sock, ssl.SSLSocket), "control connection not wrapped")
        check(control.sock.version() in ("TLSv1.2", "TLSv1.3"),
              "negotiated %r" % control.sock.version())
        certificate = control.sock.getpeercert(binary_form=True)
        check(certificate, "the server sent no certificate")
        control.expect("NOOP", 200)
        control.login_anonymous()
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD over TLS")
        control.expect("QUIT", 221)


def test_auth_names_and_case():
    server, _root = tls_server()
    with server:
        for line in ("AUTH TLS", "AUTH SSL", "auth tls", "Auth Ssl", "AUTH tls",
                     "AUTH TLS-C", "AUTH TLS-P"):
            with server.connect() as control:
                reply = control.command(line)
                if line in ("AUTH TLS-C", "AUTH TLS-P"):
                    # RFC 2228 era names: accepting them is fine, any refusal must be 504.
                    if reply.code != 234:
                        check_equal(reply.code, 504, "reply to %s" % line)
                        continue
                check_equal(reply.code, 234, "reply to %s" % line)
                check(reply.text, "234 without text")
                start_tls(control)
                control.expect("NOOP", 200)


def test_auth_unknown_mechanism_504():
    server, _root = tls_server()
    with server, server.connect() as control:
        for line in ("AUTH KERBEROS_V4", "AUTH GSSAPI", "AUTH X", "AUTH TLSX"):
            control.expect(line, 504)
        reply = control.command("AUTH")
        check(reply.code in (501, 504), "AUTH without an argument: %r" % reply)
        # Still plaintext and usable, and AUTH TLS still possible.
        control.expect("NOOP", 200)
        auth_tls(control)
        control.expect("NOOP", 200)


def test_auth_when_tls_off_502():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("AUTH TLS", 502)
        control.expect("AUTH SSL", 502)
        control.expect("NOOP", 200)
        control.login_anonymous()
        features = feature_lines(control)
        for name in ("AUTH TLS", "PBSZ", "PROT"):
            check(not any(line.upper().startswith(name) for line in features),
                  "FEAT lists %s with tls = off: %r" % (name, features))


def test_feat_lists_tls_features():
    for mode in ("explicit", "required"):
        server, _root = tls_server(mode)
        with server, server.connect() as control:
            features = feature_lines(control)
            upper = [line.upper() for line in features]
            check(any(line.startswith("AUTH") and "TLS" in line.split() for line in upper),
                  "FEAT with tls = %s lacks AUTH TLS: %r" % (mode, features))
            for name in ("PBSZ", "PROT"):
                check(name in upper, "FEAT with tls = %s lacks %s: %r" % (mode, name, features))
            # And the same after AUTH TLS.
            auth_tls(control)
            check("PBSZ" in [line.upper() for line in feature_lines(control)],
                  "FEAT over TLS lacks PBSZ")


def test_second_auth_on_protected_connection_503():
    server, _root = tls_server()
    with server, tls_control(server) as control:
        control.expect("AUTH TLS", 503)
        control.expect("AUTH SSL", 503)
        control.expect("NOOP", 200)
        control.login_anonymous()
        control.expect("AUTH TLS", 503)
        control.expect("PWD", 257)


def test_auth_after_login_keeps_the_session():
    server, home_root = tls_server(users=(("alice", "secret", None),))
    write_file(os.path.join(home_root, "alice", "sub", "file.txt"), b"in sub\n")
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("CWD sub", 250)
        auth_tls(control)
        check_equal(pwd_path(control.expect("PWD", 257)), "/sub", "PWD after AUTH TLS")
        control.expect("SIZE file.txt", 213)
        protect_data(control)
        check_equal(tls_download(control, "RETR file.txt"), b"in sub\n", "RETR after AUTH TLS")


def test_pbsz():
    server, _root = tls_server()
    with server, server.connect() as control:
        control.expect("PBSZ 0", 503)
        auth_tls(control)
        reply = control.expect("PBSZ 0", 200)
        check_equal(reply.lines[-1], "200 PBSZ=0", "reply to PBSZ 0")
        # Any other size: PBSZ=0 back (RFC 4217 section 8) or a refusal.
        reply = control.command("PBSZ 1024")
        check((reply.code == 200 and "PBSZ=0" in reply.lines[-1]) or reply.code in (501, 504),
              "PBSZ 1024: %r" % reply)
        reply = control.command("PBSZ")
        check(reply.code == 501 or (reply.code == 200 and "PBSZ=0" in reply.lines[-1]),
              "PBSZ without an argument: %r" % reply)
        reply = control.command("PBSZ abc")
        check(reply.code == 501 or (reply.code == 200 and "PBSZ=0" in reply.lines[-1]),
              "PBSZ abc: %r" % reply)
        control.expect("NOOP", 200)


def test_prot():
    server, _root = tls_server()
    with server, server.connect() as control:
        control.expect("PROT P", 503)
        auth_tls(control)
        control.expect("PROT P", 503)
        control.expect("PBSZ 0", 200)
        control.expect("PROT P", 200)
        control.expect("PROT C", 200)
        control.expect("prot p", 200)
        control.expect("PROT S", 536)
        control.expect("PROT E", 536)
        control.expect("PROT X", 504)
        reply = control.command("PROT")
        check(reply.code in (501, 504), "PROT without an argument: %r" % reply)
        control.expect("CCC", 533)
        control.expect("NOOP", 200)


def test_ccc_refused_533():
    server, _root = tls_server()
    with server, tls_control(server) as control:
        control.expect("CCC", 533)
        control.login_anonymous()
        control.expect("CCC", 533)
        # Still TLS: a plaintext reply here would not parse.
        control.expect("PWD", 257)


def test_anonymous_over_tls():
    server, root = tls_server()
    with server, tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        check_equal(tls_download(control, "RETR pub/hello.txt"), b"hello, world\n",
                    "anonymous RETR")
        with open(os.path.join(root, "pub", "data.bin"), "rb") as f:
            check_equal(tls_download(control, "RETR pub/data.bin"), f.read(), "anonymous RETR")
        names = tls_download(control, "NLST pub").decode().split("\r\n")
        check_equal(sorted(name.split("/")[-1] for name in names if name),
                    ["data.bin", "empty", "hello.txt"], "anonymous NLST")
        control.expect("QUIT", 221)


def test_passwd_user_over_tls():
    server, home_root = tls_server(users=(("alice", "secret", None), ("bob", "hunter2", None)))
    with server:
        for name, password in (("alice", "secret"), ("bob", "hunter2")):
            with tls_control(server) as control:
                control.expect("USER " + name, 331)
                control.expect("PASS wrong", 530)
                control.login(name, password)
                protect_data(control)
                body = ("%s's file\n" % name).encode() * 100
                tls_upload(control, "STOR mine.txt", body)
                check_equal(tls_download(control, "RETR mine.txt"), body, "RETR of the upload")
                control.expect("SIZE mine.txt", 213)
            with open(os.path.join(home_root, name, "mine.txt"), "rb") as f:
                check_equal(f.read(), body, "%s's stored file" % name)
