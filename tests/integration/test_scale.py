"""test_scale: ftpd raises its soft limit on open files to the hard one at
start (each session holds two or three), and with a thousand logged-in
sessions held open a new session is still served at once. make bench's
ftpload holds 10,000; this is the quick version make check can afford."""

import resource
import socket
import time

from harness import anonymous_server, check, check_equal, skip, worker_pids

HELD = 1000


def soft_open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files line in /proc/%d/limits" % pid)


def login(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    stream = sock.makefile("rb")
    for command in (None, b"USER anonymous", b"PASS guest"):
        if command is not None:
            sock.sendall(command + b"\r\n")
        line = stream.readline()
        check(line[:1] in (b"2", b"3"), "reply %r to %r" % (line, command))
    return sock, stream


def test_open_files_limit_is_raised():
    """Started with a soft limit of 256 under a higher hard one, the monitor
    and its workers run with the hard one."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    server, _root = anonymous_server(fd_limit=(min(256, hard), hard))
    with server:
        workers = worker_pids(server.process.pid, count=int(server.options["workers"]))
        for pid in [server.process.pid] + workers:
            check_equal(soft_open_files_limit(pid), hard, "soft open-files limit of %d" % pid)


def test_a_new_session_is_served_while_a_thousand_are_held():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2 * HELD + 100:
        skip("the hard limit on open files (%d) is too low to hold %d sessions" % (hard, HELD))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server, _root = anonymous_server({"max_clients": str(HELD + 10), "max_prelogin_per_ip": "0",
                                      "max_clients_per_ip": "0"})
    held = []
    try:
        with server:
            for _ in range(HELD):
                held.append(login(server.port))
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                sock, stream = login(server.port)
                sock.sendall(b"PWD\r\n")
                check(stream.readline().startswith(b"257"), "PWD of the new session")
                timings.append((time.perf_counter() - started) * 1000)
                sock.close()
            timings.sort()
            check(timings[2] < 100, "a new session beside %d held ones took %.1f ms (median)"
                  % (HELD, timings[2]))
            # The held sessions are still alive.
            sock, stream = held[HELD // 2]
            sock.sendall(b"NOOP\r\n")
            check(stream.readline().startswith(b"200"), "NOOP on a held session")
    finally:
        for sock, _stream in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
