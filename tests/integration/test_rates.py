"""test_rates: max_rate_down, max_rate_up and anonymous_max_rate_down pace the
data connection (K, M and G are powers of 1024): the time a transfer takes is
measured against its size over the rate."""

import os
import time

from harness import (check, check_equal, download, protect_data, temp_dir, tls_control,
                     tls_download, tls_server, upload, user_server, write_file)

MEBIBYTE = 1 << 20
ALICE = (("alice", "secret", None),)


def timed(function, *arguments):
    """(what function returned, seconds it took)."""
    started = time.monotonic()
    result = function(*arguments)
    return result, time.monotonic() - started


def check_took(seconds, low, high, what):
    check(low <= seconds <= high, "%s took %.2f s, expected %.1f to %.1f s"
          % (what, seconds, low, high))


def alice_server(options):
    server, home_root = user_server(options=options)
    return server, os.path.join(home_root, "alice")


def test_download_at_max_rate_down():
    """10 MiB at 1M (1048576 bytes per second) takes about 10 s."""
    server, home = alice_server({"max_rate_down": "1M"})
    payload = os.urandom(10 * MEBIBYTE)
    write_file(os.path.join(home, "ten.bin"), payload)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        got, seconds = timed(download, control, "RETR ten.bin")
        check(got == payload, "the paced download differs from the file")
        check_took(seconds, 9.0, 12.0, "RETR of 10 MiB at max_rate_down = 1M")
        # The rate is per transfer second, not a budget: a second download is paced the same.
        write_file(os.path.join(home, "one.bin"), payload[:MEBIBYTE])
        got, seconds = timed(download, control, "RETR one.bin")
        check(got == payload[:MEBIBYTE], "the second paced download differs from the file")
        check_took(seconds, 0.8, 2.0, "RETR of 1 MiB at max_rate_down = 1M")


def test_upload_at_max_rate_up():
    """5 MiB at 1M: the 226 comes about 5 s after the 150, however fast the client sends."""
    server, home = alice_server({"max_rate_up": "1M"})
    payload = os.urandom(5 * MEBIBYTE)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        _reply, seconds = timed(upload, control, "STOR five.bin", payload)
        with open(os.path.join(home, "five.bin"), "rb") as f:
            check(f.read() == payload, "the paced upload was not stored whole")
        check_took(seconds, 4.5, 6.5, "STOR of 5 MiB at max_rate_up = 1M")
        # Downloads are not limited by max_rate_up.
        got, seconds = timed(download, control, "RETR five.bin")
        check(got == payload, "download after the paced upload differs")
        check_took(seconds, 0.0, 2.0, "RETR of 5 MiB with only max_rate_up set")


def test_tls_download_at_max_rate_down():
    """PROT P downloads are paced too (no kernel-TLS sendfile past the limit)."""
    server, home_root = tls_server(users=ALICE, options={"max_rate_down": "1M"})
    payload = os.urandom(3 * MEBIBYTE)
    write_file(os.path.join(home_root, "alice", "three.bin"), payload)
    with server:
        control = tls_control(server)
        control.login("alice", "secret")
        protect_data(control)
        control.expect("TYPE I", 200)
        got, seconds = timed(tls_download, control, "RETR three.bin")
        check(got == payload, "the paced TLS download differs from the file")
        check_took(seconds, 2.6, 4.5, "TLS RETR of 3 MiB at max_rate_down = 1M")
        control.close()


def guests_and_alice(options):
    """A server with anonymous logins and alice, each seeing the same 2 MiB file."""
    payload = os.urandom(2 * MEBIBYTE)
    anonymous_root = temp_dir("ftpd-anon-")
    write_file(os.path.join(anonymous_root, "two.bin"), payload)
    server, home_root = user_server(options=dict(options, anonymous="yes",
                                                 anonymous_root=anonymous_root))
    write_file(os.path.join(home_root, "alice", "two.bin"), payload)
    return server, payload


def download_as(server, login, payload):
    with server.connect() as control:
        login(control)
        control.expect("TYPE I", 200)
        got, seconds = timed(download, control, "RETR two.bin")
        check_equal(len(got), len(payload), "bytes downloaded")
        check(got == payload, "downloaded bytes differ from the file")
        return seconds


def as_guest(control):
    control.login_anonymous()


def as_alice(control):
    control.login("alice", "secret")


def test_anonymous_max_rate_down_limits_guests_only():
    server, payload = guests_and_alice({"anonymous_max_rate_down": "1M"})
    with server:
        check_took(download_as(server, as_guest, payload), 1.7, 3.5,
                   "anonymous RETR of 2 MiB at anonymous_max_rate_down = 1M")
        check_took(download_as(server, as_alice, payload), 0.0, 1.0,
                   "alice's RETR of 2 MiB with only anonymous_max_rate_down set")


def test_anonymous_max_rate_down_overrides_max_rate_down():
    """anonymous_max_rate_down = 0 frees guests from max_rate_down; users stay paced."""
    server, payload = guests_and_alice({"max_rate_down": "1M", "anonymous_max_rate_down": "0"})
    with server:
        check_took(download_as(server, as_guest, payload), 0.0, 1.0,
                   "anonymous RETR of 2 MiB with anonymous_max_rate_down = 0")
        check_took(download_as(server, as_alice, payload), 1.7, 3.5,
                   "alice's RETR of 2 MiB at max_rate_down = 1M")


def test_anonymous_follows_max_rate_down_by_default():
    server, payload = guests_and_alice({"max_rate_down": "2M"})
    with server:
        check_took(download_as(server, as_guest, payload), 0.8, 2.0,
                   "anonymous RETR of 2 MiB at max_rate_down = 2M")
