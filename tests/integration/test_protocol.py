"""test_protocol: line framing on the control connection: over-long lines,
bare LF, pipelining, Telnet IAC sequences, NUL bytes."""

from harness import anonymous_server, check, check_equal, pwd_path


def test_overlong_line_then_session_survives():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.send(b"NOOP " + b"a" * 100000 + b"\r\n")
        reply = control.read_reply()
        check_equal(reply.code, 500, "reply to a 100 KB line")
        control.expect("NOOP", 200)
        control.login_anonymous()
        control.expect("PWD", 257)


def test_overlong_line_in_pieces():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        for _ in range(20):
            control.send(b"x" * 5000)
        control.send(b"\r\n")
        check_equal(control.read_reply().code, 500, "reply to a 100 KB line sent in pieces")
        control.expect("NOOP", 200)


def test_bare_lf_line_endings():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.send(b"NOOP\n")
        check_equal(control.read_reply().code, 200, "NOOP ended by LF")
        control.send(b"USER anonymous\nPASS x\nPWD\n")
        check_equal(control.read_reply().code, 331, "USER ended by LF")
        check_equal(control.read_reply().code, 230, "PASS ended by LF")
        check_equal(pwd_path(control.read_reply()), "/", "PWD ended by LF")


def test_pipelined_commands_answered_in_order():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.send(b"USER anonymous\r\nPASS x\r\nPWD\r\nNOOP\r\nCWD pub\r\nPWD\r\nSIZE hello.txt\r\n")
        codes = [control.read_reply() for _ in range(7)]
        check_equal([reply.code for reply in codes], [331, 230, 257, 200, 250, 257, 213],
                    "pipelined reply codes")
        check_equal(pwd_path(codes[5]), "/pub", "pipelined PWD after CWD")
        control.expect("NOOP", 200)


def test_pipelined_command_split_across_sends():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        for piece in (b"NO", b"OP\r", b"\nNOOP", b"\r\n"):
            control.send(piece)
        check_equal([control.read_reply().code for _ in range(2)], [200, 200], "split NOOPs")


def test_telnet_iac_stripped():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        # IAC IP, IAC DM (what clients send before ABOR), then a command.
        control.send(b"\xff\xf4\xff\xf2NOOP\r\n")
        check_equal(control.read_reply().code, 200, "NOOP after IAC IP IAC DM")
        # IAC WILL/DO option negotiation in the middle of a line.
        control.send(b"NO\xff\xfb\x01OP\r\n")
        check_equal(control.read_reply().code, 200, "NOOP with IAC WILL inside")
        control.send(b"\xff\xfd\x03NOOP\r\n")
        check_equal(control.read_reply().code, 200, "NOOP after IAC DO")
        control.expect("NOOP", 200)


def test_nul_in_command_line():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.send(b"NO\x00OP\r\n")
        check_equal(control.read_reply().code, 500, "NUL inside the command")
        control.login_anonymous()
        control.send(b"SIZE README.txt\x00../../etc/passwd\r\n")
        check_equal(control.read_reply().code, 500, "NUL inside an argument")
        control.expect("NOOP", 200)
        control.expect("SIZE README.txt", 213)


def test_empty_lines_ignored_or_rejected():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.send(b"\r\nNOOP\r\n")
        reply = control.read_reply()
        if reply.code != 200:
            check(reply.code in (500, 501), "reply to an empty line: %r" % reply)
            reply = control.read_reply()
        check_equal(reply.code, 200, "NOOP after an empty line")


def test_client_closes_abruptly():
    server, _root = anonymous_server()
    with server:
        for _ in range(5):
            control = server.connect()
            control.send(b"USER anonymous\r\nPASS x\r\nPWD\r\n")
            control.close()
        with server.connect() as control:
            control.login_anonymous()
            control.expect("PWD", 257)
