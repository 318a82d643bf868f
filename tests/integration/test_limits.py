"""test_limits: many sessions at once, connection limits, idle timeout,
failed-login limits and the login failure delay (which must not block)."""

import ftplib
import os
import select
import socket
import threading
import time

from harness import (TEST_WORKERS, anonymous_server, check, check_equal, pwd_path, user_server,
                     worker_pids, write_file)


def test_200_concurrent_sessions():
    # 200 connect at once, before any logs in: max_prelogin_per_ip must allow it.
    server, _root = anonymous_server({"max_clients": "0", "max_clients_per_ip": "0",
                                      "max_prelogin_per_ip": "0"})
    errors = []
    start = threading.Barrier(200, timeout=60)

    def session(number):
        try:
            start.wait()
            client = ftplib.FTP()
            client.connect("127.0.0.1", server.port, timeout=60)
            client.login()
            if client.pwd() != "/":
                errors.append("session %d: PWD was not /" % number)
            client.quit()
        except Exception as error:
            errors.append("session %d: %s: %s" % (number, type(error).__name__, error))

    with server:
        threads = [threading.Thread(target=session, args=(n,)) for n in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        check(not any(thread.is_alive() for thread in threads), "sessions still running")
        check(not errors, "%d of 200 sessions failed, first: %s" % (len(errors), errors[:3]))
        with server.connect() as control:
            control.login_anonymous()


def read_rejection(port):
    """Connects and returns the first reply line (or '' if closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
        closed = False
        if line.startswith("421"):
            sock.settimeout(5)
            try:
                closed = sock.recv(4096) == b""
            except ConnectionResetError:
                closed = True
        return line, closed


def connect_when_allowed(server, seconds=5.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            control = server.connect()
            if control.greeting.code == 220:
                return control
            last = control.greeting
            control.close()
        except ConnectionError as error:
            last = error
        if time.monotonic() > deadline:
            raise AssertionError("no connection accepted after a slot was freed: %r" % last)
        time.sleep(0.1)


def check_connection_limit(options, names=None):
    """Two sessions fit, a third is refused 421; the 421 names the limit (names)."""
    server, _root = anonymous_server(options)
    with server:
        first = server.connect()
        second = server.connect()
        check_equal(first.greeting.code, 220, "first greeting")
        check_equal(second.greeting.code, 220, "second greeting")
        line, closed = read_rejection(server.port)
        check(line.startswith("421"), "third connection got %r instead of 421" % line)
        check(names is None or names in line, "the 421 does not name %s: %r" % (names, line))
        check(closed, "third connection not closed after 421")
        first.expect("QUIT", 221)
        first.is_closed()
        first.close()
        third = connect_when_allowed(server)
        third.login_anonymous()
        second.expect("NOOP", 200)
        third.close()
        second.close()


def test_max_clients_per_ip():
    check_connection_limit({"max_clients_per_ip": "2", "max_clients": "0"}, "max_clients_per_ip")


def test_max_clients():
    check_connection_limit({"max_clients": "2", "max_clients_per_ip": "0"}, "Too many users")


def test_idle_timeout_before_login():
    server, _root = anonymous_server({"idle_timeout": "1"})
    with server, server.connect() as control:
        started = time.monotonic()
        reply = control.read_reply()
        elapsed = time.monotonic() - started
        check_equal(reply.code, 421, "idle timeout reply")
        check(0.5 <= elapsed <= 4.0, "idle timeout after %.2f s, expected about 1 s" % elapsed)
        check(control.is_closed(), "connection not closed after the idle timeout")


def test_idle_timeout_after_login_and_activity_resets():
    server, _root = anonymous_server({"idle_timeout": "1"})
    with server, server.connect() as control:
        control.login_anonymous()
        # Commands keep the session alive past the timeout.
        for _ in range(4):
            time.sleep(0.4)
            control.expect("NOOP", 200)
        started = time.monotonic()
        reply = control.read_reply()
        elapsed = time.monotonic() - started
        check_equal(reply.code, 421, "idle timeout reply")
        check(0.5 <= elapsed <= 4.0, "idle timeout after %.2f s, expected about 1 s" % elapsed)
        check(control.is_closed(), "connection not closed after the idle timeout")


def test_max_login_failures():
    server, _home_root = user_server(options={"max_login_failures": "2",
                                              "login_failure_delay": "0"})
    with server, server.connect() as control:
        control.expect("USER alice", 331)
        control.expect("PASS wrong", 530)
        control.expect("USER alice", 331)
        control.expect("PASS wrong-again", 530)
        reply = control.read_reply()
        check_equal(reply.code, 421, "reply after the last allowed failure")
        check(control.is_closed(), "connection not closed after too many failures")
        # Other connections are not affected.
        with server.connect() as other:
            other.login("alice", "secret")


def test_login_failure_delay_does_not_block():
    server, _home_root = user_server(options={"max_login_failures": "10",
                                              "login_failure_delay": "500"})
    with server, server.connect() as slow, server.connect() as other:
        slow.expect("USER alice", 331)
        sent = time.monotonic()
        slow.send("PASS wrong\r\n")
        time.sleep(0.1)
        noop_sent = time.monotonic()
        other.expect("NOOP", 200)
        noop_time = time.monotonic() - noop_sent
        reply = slow.read_reply()
        pass_time = time.monotonic() - sent
        check_equal(reply.code, 530, "wrong PASS")
        check(pass_time >= 0.45, "wrong PASS answered after %.3f s, expected >= 0.45" % pass_time)
        check(noop_time < 0.3, "NOOP on another session took %.3f s during the delay" % noop_time)
        # A right password is not delayed.
        other.expect("USER alice", 331)
        sent = time.monotonic()
        other.expect("PASS secret", 230)
        check(time.monotonic() - sent < 0.4, "right PASS was delayed")
        check_equal(pwd_path(other.expect("PWD", 257)), "/", "PWD")


def test_pipelined_commands_wait_for_delayed_login_reply():
    server, _home_root = user_server(options={"max_login_failures": "10",
                                              "login_failure_delay": "300"})
    with server, server.connect() as control:
        control.send("USER alice\r\nPASS wrong\r\nNOOP\r\nUSER alice\r\nPASS secret\r\nPWD\r\n")
        codes = [control.read_reply().code for _ in range(6)]
        check_equal(codes, [331, 530, 200, 331, 230, 257], "replies in command order")


def test_client_gone_during_login_delay():
    server, _home_root = user_server(options={"max_login_failures": "10",
                                              "login_failure_delay": "300"})
    with server:
        for _ in range(3):
            control = server.connect()
            control.send("USER alice\r\nPASS wrong\r\n")
            control.read_reply()
            control.close()
        time.sleep(0.6)
        with server.connect() as control:
            control.login("alice", "secret")


def test_shutdown_with_sessions_in_every_state():
    server, home_root = user_server(options={"max_login_failures": "10",
                                             "login_failure_delay": "5000"})
    write_file(os.path.join(home_root, "alice", "file.txt"), b"x")
    sessions = [server.connect() for _ in range(4)]
    sessions[1].expect("USER alice", 331)
    sessions[2].login("alice", "secret")
    sessions[3].login("alice", "secret")
    sessions[3].expect("RNFR file.txt", 350)
    waiting = server.connect()
    waiting.expect("USER alice", 331)
    waiting.send("PASS wrong\r\n")
    sessions.append(waiting)
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    check(time.monotonic() - started < 5, "shutdown waited for the login delay")
    for number, control in enumerate(sessions):
        check(control.is_closed(5), "session %d still open after the server stopped" % number)
        control.close()


def process_cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(server):
    """CPU time of ftpd's monitor and workers together."""
    pids = [server.process.pid] + worker_pids(server.process.pid)
    return sum(process_cpu_seconds(pid) for pid in pids)


def test_out_of_file_descriptors_backs_off_and_recovers():
    """EMFILE at accept must not spin the loop (libevent #71); service resumes."""
    server, _root = anonymous_server({"max_clients": "0", "max_clients_per_ip": "0"},
                                     fd_limit=32)
    with server:
        # Each worker has the limit: enough connections to exhaust every one of them.
        sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=10)
                   for _ in range(40 * int(TEST_WORKERS))]
        try:
            first_lines = {}
            deadline = time.monotonic() + 3
            pending = set(sockets)
            while pending and time.monotonic() < deadline:
                readable, _, _ = select.select(list(pending), [], [], 0.2)
                for sock in readable:
                    first_lines[sock] = sock.recv(200)
                    pending.discard(sock)
            greeted = sum(1 for line in first_lines.values() if line.startswith(b"220"))
            refused = sum(1 for line in first_lines.values() if line.startswith(b"421"))
            check(greeted >= 5, "only %d connections were greeted" % greeted)
            check(refused >= 1, "no connection was answered 421 when out of descriptors")
            before = server_cpu_seconds(server)
            time.sleep(2)
            spent = server_cpu_seconds(server) - before
            check(spent < 0.5, "ftpd used %.2f s of CPU in 2 s while out of fds" % spent)
        finally:
            for sock in sockets:
                sock.close()
        deadline = time.monotonic() + 5
        while True:
            try:
                with server.connect() as control:
                    control.login_anonymous()
                    control.expect("PWD", 257)
                break
            except (AssertionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
