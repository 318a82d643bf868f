"""test_transfer_control: the control connection while data moves: ABOR, STAT,
the data timeout, the idle timeout during a long transfer, dropped connections."""

import os
import socket
import time

from harness import (ActiveListener, anonymous_server, check, check_equal, download,
                     expect_preliminary, open_passive, passive_address, read_all, user_server,
                     write_file)

MEGABYTE = 1 << 20


def big_file_server(size, options=None):
    """An anonymous server whose root holds big.bin of size random-ish bytes."""
    server, root = anonymous_server(options)
    block = os.urandom(MEGABYTE)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for _ in range(size // MEGABYTE):
            f.write(block)
        f.write(block[:size % MEGABYTE])
    return server, root


def test_abor_without_transfer_225():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("ABOR", 225)
        data = open_passive(control)
        control.expect("ABOR", 225)
        data.close()
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after ABORs")


def test_abor_during_retr_426_then_226():
    server, _root = big_file_server(32 * MEGABYTE)
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        check(len(data.recv(4096)) > 0, "no data before ABOR")
        control.send("ABOR\r\n")
        check_equal(control.read_reply().code, 426, "first reply to ABOR during RETR")
        check_equal(control.read_reply().code, 226, "second reply to ABOR during RETR")
        data.close()
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after ABOR")
        control.expect("ABOR", 225)


def test_abor_with_urgent_telnet_sequence():
    """Clients send IAC IP IAC DM (the DM as urgent data) before ABOR, as RFC 959 asks."""
    server, _root = big_file_server(32 * MEGABYTE)
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        data.recv(4096)
        control.sock.send(b"\xff\xf4\xff", 0)
        control.sock.send(b"\xf2", socket.MSG_OOB)
        control.send("ABOR\r\n")
        codes = [control.read_reply().code]
        if codes[0] == 426:
            codes.append(control.read_reply().code)
        check(codes in ([426, 226], [226]), "replies to ABOR after IAC IP IAC DM: %r" % codes)
        data.close()
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after ABOR")


def test_abor_while_waiting_for_data_connection():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        _host, port = passive_address(control.expect("PASV", 227))
        reply = control.command("RETR README.txt")
        codes = [reply.code]
        if reply.code in (125, 150):
            control.send("ABOR\r\n")
            codes.append(control.read_reply().code)
            if codes[-1] == 426:
                codes.append(control.read_reply().code)
        check(codes in ([150, 426, 226], [150, 225], [150, 226]),
              "replies to RETR then ABOR before the data connection: %r" % codes)
        try:
            late = socket.create_connection(("127.0.0.1", port), timeout=2)
            late.settimeout(2)
            try:
                check_equal(late.recv(100), b"", "data on the aborted passive port")
            except (ConnectionResetError, socket.timeout):
                pass
            late.close()
        except ConnectionRefusedError:
            pass
        control.expect("NOOP", 200)
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after ABOR")


def test_stat_during_transfer():
    server, _root = big_file_server(16 * MEGABYTE)
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        first = data.recv(65536)
        control.sock.settimeout(5)
        reply = control.expect("STAT", 211)
        check(len(reply.lines) > 2, "STAT during a transfer is not multi-line: %r" % reply)
        check(any("Transfer in progress" in line for line in reply.lines),
              "STAT during a transfer does not mention it: %r" % reply)
        rest = read_all(data)
        check_equal(len(first) + len(rest), 16 * MEGABYTE, "bytes received")
        check_equal(control.read_reply().code, 226, "end of the RETR")


def test_noop_answered_during_transfer():
    """DESIGN.md: NOOP is one of the commands allowed while a transfer runs."""
    server, _root = big_file_server(16 * MEGABYTE)
    with server, server.connect() as control:
        control.login_anonymous()
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        data.recv(4096)
        control.sock.settimeout(5)
        control.expect("NOOP", 200)
        read_all(data)
        check_equal(control.read_reply().code, 226, "end of the RETR")


def test_other_commands_during_transfer_answered_in_order():
    """A command not allowed during a transfer is refused at once or run after it."""
    server, _root = big_file_server(16 * MEGABYTE)
    with server, server.connect() as control:
        control.login_anonymous()
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        data.recv(4096)
        control.send("CWD pub\r\n")
        check_equal(len(read_all(data)) > 0, True, "rest of the data")
        codes = [control.read_reply().code, control.read_reply().code]
        check(codes in ([450, 226], [503, 226], [226, 250]),
              "replies to RETR and a CWD sent during it: %r" % codes)
        control.expect("CWD /pub", 250)


def test_passive_connection_that_never_comes_425():
    server, _root = anonymous_server({"data_timeout": "1"})
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("PASV", 227)
        started = time.monotonic()
        reply = control.command("RETR README.txt")
        if reply.code == 150:
            reply = control.read_reply()
        waited = time.monotonic() - started
        check_equal(reply.code, 425, "RETR with no data connection")
        check(0.5 <= waited <= 5, "425 came after %.2f s with data_timeout=1" % waited)
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after the 425")


def test_active_connection_refused_425():
    server, _root = anonymous_server({"data_timeout": "2"})
    with server, server.connect() as control:
        control.login_anonymous()
        listener = ActiveListener(control)
        listener.close()
        started = time.monotonic()
        reply = control.command("RETR README.txt")
        if reply.code == 150:
            reply = control.read_reply()
        check_equal(reply.code, 425, "RETR to a closed active port")
        check(time.monotonic() - started < 5, "425 took %.2f s" % (time.monotonic() - started))
        check_equal(download(control, "RETR README.txt", "active"), b"read me\n",
                    "active RETR after the 425")


def test_idle_timeout_does_not_fire_during_slow_download():
    size = 8 * MEGABYTE
    server, _root = big_file_server(size, {"idle_timeout": "1"})
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        data = open_passive(control, receive_buffer=32768)
        started = time.monotonic()
        expect_preliminary(control, "RETR big.bin")
        received = 0
        # About 3 s in all: 64 KiB every 24 ms.
        while True:
            chunk = data.recv(65536)
            if not chunk:
                break
            received += len(chunk)
            time.sleep(0.024 * len(chunk) / 65536)
        data.close()
        elapsed = time.monotonic() - started
        check_equal(received, size, "bytes of the slow download")
        check(elapsed > 2, "the download was not slow (%.2f s)" % elapsed)
        check_equal(control.read_reply().lines, ["226 Transfer complete."], "end of slow RETR")


def test_idle_timeout_fires_after_transfer():
    server, _root = anonymous_server({"idle_timeout": "1"})
    with server, server.connect() as control:
        control.login_anonymous()
        download(control, "RETR README.txt")
        reply = control.read_reply()
        check_equal(reply.code, 421, "reply when idle after a transfer")
        check(control.is_closed(), "connection open after the idle timeout")


def test_stalled_download_426_and_session_survives():
    server, _root = big_file_server(32 * MEGABYTE, {"data_timeout": "2"})
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        data = open_passive(control, receive_buffer=16384)
        started = time.monotonic()
        expect_preliminary(control, "RETR big.bin")
        data.recv(4096)
        control.sock.settimeout(15)
        reply = control.read_reply()
        waited = time.monotonic() - started
        check_equal(reply.code, 426, "reply to a stalled download")
        check(1.5 <= waited <= 10, "426 came after %.2f s with data_timeout=2" % waited)
        data.close()
        control.expect("NOOP", 200)
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after the stall")


def test_stalled_upload_426():
    """A client that opens an upload and sends nothing is cut off after data_timeout."""
    server, home_root = user_server(options={"data_timeout": "1"})
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "keep.txt"), b"keep")
    with server, server.connect() as control:
        control.login("alice", "secret")
        data = open_passive(control)
        expect_preliminary(control, "STOR keep.txt")
        data.sendall(b"partial")
        control.sock.settimeout(10)
        reply = control.read_reply()
        check(reply.code in (426, 451), "reply to a stalled upload: %r" % reply)
        data.close()
        with open(os.path.join(home, "keep.txt"), "rb") as f:
            check_equal(f.read(), b"keep", "file after a stalled upload")
        control.expect("NOOP", 200)


def test_client_drops_data_connection_mid_retr():
    server, _root = big_file_server(32 * MEGABYTE)
    with server:
        with server.connect() as control:
            control.login_anonymous()
            control.expect("TYPE I", 200)
            data = open_passive(control, receive_buffer=16384)
            expect_preliminary(control, "RETR big.bin")
            data.recv(65536)
            data.close()
            reply = control.read_reply()
            check(reply.code in (426, 226), "reply after the client dropped the data: %r" % reply)
            control.expect("NOOP", 200)
            check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after drop")
        with server.connect() as control:
            control.login_anonymous()
            check_equal(download(control, "RETR README.txt"), b"read me\n", "new session RETR")


def test_client_drops_control_connection_mid_retr():
    server, _root = big_file_server(32 * MEGABYTE)
    with server:
        control = server.connect()
        control.login_anonymous()
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        data.recv(65536)
        control.close()
        # The server must end the transfer with the session, not keep sending.
        data.settimeout(10)
        try:
            while data.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass
        data.close()
        with server.connect() as other:
            other.login_anonymous()
            check_equal(download(other, "RETR README.txt"), b"read me\n", "new session RETR")


def test_quit_during_transfer():
    """QUIT ends the session, at once (aborting the transfer) or after it (RFC 959)."""
    server, _root = big_file_server(16 * MEGABYTE)
    with server, server.connect() as control:
        control.login_anonymous()
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        data.recv(4096)
        control.send("QUIT\r\n")
        try:
            while data.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass
        data.close()
        codes = []
        while not codes or codes[-1] != 221:
            codes.append(control.read_reply().code)
        check(codes in ([221], [426, 221], [426, 226, 221], [226, 221]),
              "replies to QUIT during a transfer: %r" % codes)
        check(control.is_closed(), "connection open after QUIT during a transfer")
