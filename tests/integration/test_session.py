"""test_session: the control connection before and around login: greeting,
public commands, command syntax errors, transfer parameters."""

import ftplib

from harness import anonymous_server, check, check_equal


def test_greeting_default_banner():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        check_equal(control.greeting.lines, ["220 ftpd ready."], "greeting")


def test_greeting_custom_banner():
    server, _root = anonymous_server({"banner": "Welcome to the test share"})
    with server, server.connect() as control:
        check_equal(control.greeting.lines, ["220 Welcome to the test share"], "greeting")


def test_feat_before_login():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        reply = control.expect("FEAT", 211)
        check(reply.lines[0].startswith("211-"), "FEAT first line %r" % reply.lines[0])
        check(" UTF8" in reply.lines[1:-1], "no ' UTF8' feature line in %r" % reply)
        check_equal(reply.lines[-1], "211 End", "FEAT last line")
        for line in reply.lines[1:-1]:
            check(line.startswith(" "), "feature line without leading space: %r" % line)


def test_public_commands_before_login():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        check_equal(control.expect("SYST", 215).lines, ["215 UNIX Type: L8"], "SYST")
        control.expect("NOOP", 200)
        help_reply = control.expect("HELP", 214)
        check(len(help_reply.lines) > 2 and help_reply.lines[0].startswith("214-"),
              "HELP is not multi-line: %r" % help_reply)
        check(any("USER" in line for line in help_reply.lines), "HELP lacks USER")
        control.expect("OPTS UTF8 ON", 200)
        control.expect("OPTS UTF8 OFF", 200)


def test_quit_closes_connection():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("QUIT", 221)
        check(control.is_closed(), "server did not close the connection after QUIT")


def test_quit_after_login():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("QUIT", 221)
        check(control.is_closed(), "server did not close the connection after QUIT")


def test_commands_are_case_insensitive():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("noop", 200)
        control.expect("user anonymous", 331)
        control.expect("pass x", 230)
        control.expect("pwd", 257)


def test_unknown_command():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("FOOBAR", 500)
        control.expect("XYZZY with arguments", 500)
        control.login_anonymous()
        control.expect("FOOBAR", 500)
        control.expect("NOOP", 200)


def test_unimplemented_commands_502():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("REIN", "ACCT billing", "SMNT /"):
            control.expect(line, 502)
        control.expect("NOOP", 200)


def test_missing_argument_501():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("USER", 501)
        control.login_anonymous()
        for line in ("MKD", "SIZE", "MDTM", "DELE", "RNFR", "TYPE"):
            control.expect(line, 501)
        control.expect("NOOP", 200)


def test_argument_to_no_argument_command_501():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("PWD x", 501)
        control.expect("CDUP x", 501)
        control.expect("NOOP x", 501)
        control.expect("PWD", 257)


def test_type_mode_stru_allo():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("TYPE A", "TYPE A N", "TYPE I", "TYPE L 8", "type i"):
            control.expect(line, 200)
        for line in ("TYPE E", "TYPE A T"):
            control.expect(line, 504)
        control.expect("TYPE X", 501)
        control.expect("MODE S", 200)
        control.expect("MODE B", 504)
        control.expect("STRU F", 200)
        control.expect("STRU R", 504)
        control.expect("ALLO 1000", 202)


def test_ftplib_session():
    server, _root = anonymous_server()
    with server:
        client = ftplib.FTP()
        client.connect("127.0.0.1", server.port, timeout=10)
        check_equal(client.getwelcome(), "220 ftpd ready.", "ftplib welcome")
        client.login()
        check_equal(client.pwd(), "/", "ftplib pwd")
        client.cwd("pub")
        check_equal(client.pwd(), "/pub", "ftplib pwd after cwd")
        check_equal(client.size("hello.txt"), 13, "ftplib size")
        client.quit()
