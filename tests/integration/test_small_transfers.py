"""test_small_transfers: a stall check, not a speed target. A small file's
transfer must cost no fixed delay: with Nagle's algorithm on the control
connection, the 226 after a 150 waited for the client's delayed ACK and every
transfer of a 4 KiB file took 44 ms. The median of 20 transfers each way (and
of 20 listings) must stay under 20 ms on loopback, however slow the machine."""

import ftplib
import io
import os
import statistics
import time

from harness import check, user_server

STALL_MS = 20.0
ROUNDS = 20


def median_ms(action):
    times = []
    for number in range(ROUNDS):
        started = time.perf_counter()
        action(number)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def test_small_transfers_do_not_stall():
    server, home_root = user_server()
    payload = os.urandom(4096)
    with server:
        client = ftplib.FTP(timeout=10)
        client.connect("127.0.0.1", server.port)
        client.login("alice", "secret")
        stor = median_ms(lambda n: client.storbinary("STOR f%d.bin" % n, io.BytesIO(payload)))
        retr = median_ms(lambda n: client.retrbinary("RETR f%d.bin" % n, lambda data: None))
        listing = median_ms(lambda n: client.retrlines("LIST", lambda line: None))
        client.quit()
    for name, milliseconds in (("STOR", stor), ("RETR", retr), ("LIST", listing)):
        check(milliseconds < STALL_MS, "median %s of a 4 KiB file took %.1f ms (a stall: "
              "%.0f ms or more)" % (name, milliseconds, STALL_MS))
    with open(os.path.join(home_root, "alice", "f7.bin"), "rb") as f:
        check(f.read() == payload, "f7.bin is not what was stored")


def test_upload_sync_no_still_stores_whole_files():
    """upload_sync = no skips the fsync, not the rename: an upload replaces
    the old file whole, and a failed one leaves it as it was."""
    server, home_root = user_server(options={"upload_sync": "no"})
    home = os.path.join(home_root, "alice")
    with open(os.path.join(home, "kept.txt"), "wb") as f:
        f.write(b"old content")
    with server:
        client = ftplib.FTP(timeout=10)
        client.connect("127.0.0.1", server.port)
        client.login("alice", "secret")
        for number in range(50):
            client.storbinary("STOR n%d.txt" % number, io.BytesIO(b"%d" % number * 100))
        client.storbinary("STOR kept.txt", io.BytesIO(b"new content"))
        client.quit()
    for number in range(50):
        with open(os.path.join(home, "n%d.txt" % number), "rb") as f:
            check(f.read() == b"%d" % number * 100, "n%d.txt is not what was stored" % number)
    with open(os.path.join(home, "kept.txt"), "rb") as f:
        check(f.read() == b"new content", "kept.txt was not replaced")
    check(not [name for name in os.listdir(home) if name.startswith(".ftpd-upload.")],
          "temporaries left: %r" % os.listdir(home))
