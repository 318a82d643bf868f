"""test_timeouts: the deadlines a hostile client used to slip past. A TLS
handshake that never finishes (implicit TLS, or AUTH TLS and then nothing),
bytes trickled without ever completing a command, and a login that never
completes each end the connection on time, so silent connections cannot fill
max_clients; a passive port nobody uses goes back to the range; a control
connection that is not TCP/IP gets a plain answer to data commands."""

import os
import socket
import subprocess
import time

from harness import (anonymous_server, check, check_equal, ftpd_command, temp_dir, tls_server,
                     write_file)


def closed_within(sock, seconds):
    """Seconds until sock reads end-of-connection (what arrived is ignored),
    or None if it stays open for longer than seconds."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - started
    return None


def test_implicit_tls_handshake_times_out():
    """Connect to the implicit-TLS port and say nothing: closed after
    tls_handshake_timeout, even though idle_timeout is long."""
    server, _root = tls_server("implicit", {"tls_handshake_timeout": "2",
                                            "idle_timeout": "600"})
    with server:
        with socket.create_connection(("127.0.0.1", server.implicit_port)) as sock:
            elapsed = closed_within(sock, 8)
            check(elapsed is not None, "a silent implicit-TLS connection was still open "
                  "after 8 s (tls_handshake_timeout = 2)")
            check(1.5 <= elapsed <= 5, "closed after %.1f s, expected about 2 s" % elapsed)
        check("TLS handshake timeout" in server.stderr_text(),
              "no 'TLS handshake timeout' in the log: %r" % server.stderr_tail())


def test_auth_tls_then_silence_times_out():
    """AUTH TLS answered 234, then no handshake: closed after
    tls_handshake_timeout."""
    server, _root = tls_server("explicit", {"tls_handshake_timeout": "2",
                                            "idle_timeout": "600"})
    with server, server.connect() as control:
        control.expect("AUTH TLS", 234)
        elapsed = closed_within(control.sock, 8)
        check(elapsed is not None, "silence after AUTH TLS was still connected after 8 s")
        check(elapsed <= 5, "closed after %.1f s, expected about 2 s" % elapsed)


def test_trickled_bytes_do_not_reset_the_idle_timeout():
    """One byte every 0.4 s, never a whole command: idle_timeout still ends it,
    before login and after."""
    server, _root = anonymous_server({"idle_timeout": "2", "login_timeout": "600"})
    with server:
        for logged_in in (False, True):
            with server.connect() as control:
                if logged_in:
                    control.login_anonymous()
                started = time.monotonic()
                control.sock.settimeout(0.4)
                received = b""
                while time.monotonic() - started < 8 and b"421" not in received:
                    try:
                        control.sock.sendall(b"N")
                        received += control.sock.recv(4096)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                elapsed = time.monotonic() - started
                check(b"421 Timeout" in received, "no idle timeout while trickling bytes "
                      "(%s): got %r after %.1f s" % ("logged in" if logged_in else
                                                     "before login", received, elapsed))
                check(1.5 <= elapsed <= 5, "idle timeout after %.1f s, expected about 2 s"
                      % elapsed)


def test_login_timeout_ends_a_login_that_never_completes():
    """NOOP every 0.4 s keeps idle_timeout away, but a login must be complete
    within login_timeout: 421 names it, and the connection closes."""
    server, _root = anonymous_server({"idle_timeout": "600", "login_timeout": "2"})
    with server, server.connect() as control:
        started = time.monotonic()
        while True:
            reply = control.command("NOOP")
            if reply.code != 200:
                break
            check(time.monotonic() - started < 8, "still not logged out after 8 s of NOOP")
            time.sleep(0.4)
        elapsed = time.monotonic() - started
        check_equal(reply.code, 421, "reply once login_timeout passed: %r" % reply)
        check("no login within 2 seconds" in reply.text, "421 does not name the login "
              "timeout: %r" % reply.text)
        check(1.5 <= elapsed <= 5, "login timeout after %.1f s, expected about 2 s" % elapsed)
        check(control.is_closed(), "connection still open after the login timeout")


def test_login_timeout_spares_logged_in_sessions():
    """Once logged in, login_timeout no longer applies."""
    server, _root = anonymous_server({"idle_timeout": "600", "login_timeout": "1"})
    with server, server.connect() as control:
        control.login_anonymous()
        time.sleep(2)
        control.expect("NOOP", 200)


def test_stop_does_not_wait_for_an_unfinished_handshake():
    """SIGTERM with a silent connection on the implicit-TLS port: ftpd exits at
    once instead of waiting for a handshake that will never come."""
    server, _root = tls_server("implicit", {"shutdown_grace": "30"})
    with socket.create_connection(("127.0.0.1", server.implicit_port)) as sock:
        time.sleep(0.3)
        started = time.monotonic()
        server.stop()
        elapsed = time.monotonic() - started
        check(elapsed < 5, "ftpd took %.1f s to stop with a handshake pending" % elapsed)
        check(closed_within(sock, 2) is not None, "the silent connection was not closed")


def test_unused_passive_port_expires():
    """PASV not followed by a transfer command: the port is closed after
    data_timeout and goes back to the range, where it used to stay taken until
    the session ended (100 such sessions held a 100-port range)."""
    # Below the ephemeral range (32768+), where client sockets could take one.
    port_low = 26000 + os.getpid() % 5000
    server, _root = anonymous_server({"data_timeout": "1", "workers": "1",
                                      "pasv_ports": "%d-%d" % (port_low, port_low)})
    with server, server.connect() as holder, server.connect() as other:
        holder.login_anonymous()
        other.login_anonymous()
        check_equal(holder.command("PASV").code, 227, "PASV of the first session")
        check_equal(other.command("PASV").code, 425, "PASV while the only port is taken")
        time.sleep(2)
        check_equal(other.command("PASV").code, 227, "PASV once the unused port expired")
        check_equal(holder.command("LIST").code, 425, "LIST on the expired passive port")


def test_data_commands_on_a_unix_control_connection():
    """ftpd -i on a socketpair (socat EXEC: without nofork): PASV, EPSV, PORT
    and EPRT say plainly that there is no TCP/IP control connection, and no
    stray socket file appears in the working directory."""
    directory = temp_dir("ftpd-cwd-")
    root = temp_dir("ftpd-anon-")
    server_end, client_end = socket.socketpair()
    config = write_file(os.path.join(temp_dir(), "ftpd.conf"), "")
    process = subprocess.Popen(ftpd_command(config, {"anonymous_root": root}, ["-i"]),
                               stdin=server_end, stdout=server_end,
                               stderr=subprocess.DEVNULL, cwd=directory)
    server_end.close()
    try:
        client = client_end.makefile("rwb", buffering=0)

        def ask(line):
            client.write(line + b"\r\n")
            return client.readline()

        check(client.readline().startswith(b"220"), "no greeting on the socketpair")
        check(ask(b"USER anonymous").startswith(b"331"), "USER")
        check(ask(b"PASS guest@").startswith(b"230"), "PASS")
        for line in (b"PASV", b"EPSV", b"PORT 127,0,0,1,200,10", b"EPRT |1|127.0.0.1|51210|"):
            reply = ask(line)
            check(reply.startswith(b"425") and b"not TCP/IP" in reply,
                  "%s on a socketpair answered %r" % (line.decode(), reply))
        check(ask(b"QUIT").startswith(b"221"), "QUIT")
    finally:
        client_end.close()
        process.wait(10)
    check_equal(os.listdir(directory), [], "files left in the working directory")
