"""test_ftpload: the load generator (src/ftpload, built by make as ftpload)
against a real ftpd: each scenario ends with one JSON line, and what it says
it did must have happened (the files stored are on disk, the entries a LIST
parsed are the directory's)."""

import json
import os
import subprocess

from harness import anonymous_server, check, check_equal, skip, tls_server, user_server, \
    write_file

RUN_TIMEOUT = 60


def ftpload_path():
    path = os.environ.get("FTPLOAD")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "default", "ftpload")
    if not os.path.exists(path):
        skip("ftpload is not built (make builds it for make integration)")
    return os.path.abspath(path)


def run_ftpload(server, scenario, *arguments):
    """Runs one scenario; returns its result line, parsed."""
    argv = [ftpload_path(), "--port", str(server.port)] + list(arguments) + [scenario]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    lines = result.stdout.splitlines()
    check(len(lines) == 1, "ftpload %s printed %r (stderr: %s)"
          % (scenario, result.stdout, result.stderr[-2000:]))
    outcome = json.loads(lines[0])
    check_equal(outcome["scenario"], scenario, "scenario in the result line")
    check_equal(outcome["errors"], 0, "errors of %s (stderr: %s)"
                % (scenario, result.stderr[-2000:]))
    check_equal(result.returncode, 0, "ftpload's exit status")
    return outcome


def test_login_sessions():
    server, _root = anonymous_server()
    with server:
        outcome = run_ftpload(server, "login", "--sessions", "50", "--concurrency", "5")
    check_equal(outcome["operations"], 50, "sessions completed")
    check(outcome["ops_per_second"] > 0, "no sessions per second: %r" % outcome)
    check(0 < outcome["p50_ms"] <= outcome["p99_ms"], "latencies: %r" % outcome)
    for key in ("sessions", "seconds", "bytes", "MB_per_second"):
        check(key in outcome, "%s missing from %r" % (key, outcome))


def test_retr_small_files():
    server, root = anonymous_server()
    write_file(os.path.join(root, "pub", "small.bin"), os.urandom(4096))
    with server:
        outcome = run_ftpload(server, "retr-small", "--path", "pub/small.bin", "--size", "4096",
                              "--count", "100", "--sessions", "2")
    check_equal(outcome["operations"], 100, "files retrieved")
    check_equal(outcome["bytes"], 100 * 4096, "bytes retrieved")


def test_retr_small_refuses_wrong_sizes():
    """--size is what every download must be: a shorter file is an error."""
    server, root = anonymous_server()
    write_file(os.path.join(root, "short.bin"), b"x" * 100)
    with server:
        result = subprocess.run([ftpload_path(), "--port", str(server.port), "--path",
                                 "short.bin", "--size", "4096", "--count", "3", "retr-small"],
                                capture_output=True, text=True, timeout=RUN_TIMEOUT)
    outcome = json.loads(result.stdout)
    check_equal(outcome["errors"], 3, "downloads of the wrong size")
    check_equal(result.returncode, 1, "exit status with errors")


def test_stor_small_files_land_on_disk():
    server, home_root = user_server()
    with server:
        outcome = run_ftpload(server, "stor-small", "--user", "alice", "--password", "secret",
                              "--size", "1000", "--count", "60", "--sessions", "3", "--epsv")
    check_equal(outcome["operations"], 60, "files stored")
    home = os.path.join(home_root, "alice")
    names = [name for name in os.listdir(home) if name.startswith("ftpload-")]
    check_equal(len(names), 60, "files on disk (names must be unique)")
    for name in names:
        check_equal(os.path.getsize(os.path.join(home, name)), 1000, "size of " + name)


def test_list_parses_every_entry():
    server, root = anonymous_server()
    directory = os.path.join(root, "many")
    os.makedirs(directory)
    for number in range(1000):
        # Every tenth name has blanks, which the LIST line reader must keep.
        name = "file %d.txt" % number if number % 10 == 0 else "f%d" % number
        write_file(os.path.join(directory, name), b"x" * number)
    with server:
        outcome = run_ftpload(server, "list", "--path", "many", "--count", "5")
    check_equal(outcome["operations"], 5, "LISTs")
    check_equal(outcome["entries_per_list"], 1000.0, "entries parsed per LIST")
    check(outcome["ms_per_list"] > 0, "ms per LIST: %r" % outcome)


def test_big_transfers_both_ways():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "big.bin"), b"\0" * (8 << 20))
    os.makedirs(os.path.join(home, "up"))
    with server:
        retr = run_ftpload(server, "retr", "--user", "alice", "--password", "secret",
                           "--path", "big.bin", "--size", str(8 << 20))
        stor = run_ftpload(server, "stor", "--user", "alice", "--password", "secret",
                           "--size", str(5 << 20), "--path", "up")
        parallel = run_ftpload(server, "parallel-retr", "--user", "alice", "--password",
                               "secret", "--path", "big.bin", "--concurrency", "3",
                               "--count", "2")
    check_equal(retr["bytes"], 8 << 20, "bytes of retr")
    check(retr["MB_per_second"] > 0, "retr MB/s: %r" % retr)
    check_equal(stor["bytes"], 5 << 20, "bytes of stor")
    stored = os.listdir(os.path.join(home, "up"))
    check_equal(len(stored), 1, "files stored under up/")
    check_equal(os.path.getsize(os.path.join(home, "up", stored[0])), 5 << 20, "stored size")
    check_equal(parallel["operations"], 6, "parallel RETRs")
    check_equal(parallel["sessions"], 3, "parallel clients")
    check_equal(parallel["bytes"], 6 * (8 << 20), "parallel bytes")


def test_hold_reports_new_session_latency():
    server, _root = anonymous_server(options={"max_prelogin_per_ip": "0",
                                              "max_clients": "1000"})
    with server:
        outcome = run_ftpload(server, "hold", "--sessions", "200", "--concurrency", "20",
                              "--seconds", "1", "--count", "3")
    check_equal(outcome["held"], 200, "sessions held")
    check_equal(outcome["held_at_end"], 200, "sessions still up at the end")
    check_equal(outcome["operations"], 3, "new sessions timed")
    check(outcome["new_session_ms"] > 0, "new-session latency: %r" % outcome)


def test_tls_transfers_resume_the_session():
    """ftpd refuses a protected data connection that does not resume the
    control connection's TLS session, so these pass only if ftpload does."""
    server, root = tls_server()
    write_file(os.path.join(root, "pub", "small.bin"), os.urandom(2048))
    with server:
        outcome = run_ftpload(server, "retr-small", "--tls", "--path", "pub/small.bin",
                              "--size", "2048", "--count", "20")
        listing = run_ftpload(server, "list", "--tls", "--path", "pub", "--count", "2")
    check_equal(outcome["bytes"], 20 * 2048, "bytes over TLS")
    check_equal(listing["entries_per_list"], 4.0, "entries of pub over TLS")
