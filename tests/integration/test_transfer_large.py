"""test_transfer_large: big files end to end (sha256 both ways, passive and
active, resumed), offsets past 4 GiB, and many sessions transferring at once."""

import hashlib
import os
import threading

from harness import (anonymous_server, check, check_equal, download, expect_preliminary,
                     open_passive, sha256_file, upload, user_server, write_file)

MEGABYTE = 1 << 20
GIGABYTE = 1 << 30


def random_file(path, size):
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * MEGABYTE))
            f.write(block)
            remaining -= len(block)
    return path


def test_50_megabytes_both_ways_passive_and_active():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    source = random_file(os.path.join(home, "source.bin"), 50 * MEGABYTE)
    expected = sha256_file(source)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        check_equal(control.expect("SIZE source.bin", 213).lines, ["213 %d" % (50 * MEGABYTE)],
                    "SIZE of the 50 MB file")
        for mode in ("passive", "active"):
            data = download(control, "RETR source.bin", mode)
            check_equal(len(data), 50 * MEGABYTE, "bytes downloaded (%s)" % mode)
            check_equal(hashlib.sha256(data).hexdigest(), expected, "sha256 of RETR (%s)" % mode)
            upload(control, "STOR copy-%s.bin" % mode, data, mode)
            del data
            check_equal(sha256_file(os.path.join(home, "copy-%s.bin" % mode)), expected,
                        "sha256 of STOR (%s)" % mode)


def test_resume_both_ways_passive_and_active():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    size = 20 * MEGABYTE + 12345
    source = random_file(os.path.join(home, "source.bin"), size)
    with open(source, "rb") as f:
        whole = f.read()
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        for mode, offset in (("passive", 7 * MEGABYTE + 1), ("active", 13 * MEGABYTE - 3)):
            control.expect("REST %d" % offset, 350)
            tail = download(control, "RETR source.bin", mode)
            check(whole[:offset] + tail == whole, "REST %d + RETR (%s) did not complete the file"
                  % (offset, mode))
            partial = write_file(os.path.join(home, "resumed-%s.bin" % mode), whole[:offset])
            control.expect("REST %d" % offset, 350)
            upload(control, "STOR resumed-%s.bin" % mode, whole[offset:], mode)
            check_equal(os.path.getsize(partial), size, "size after REST + STOR (%s)" % mode)
            check(sha256_file(partial) == hashlib.sha256(whole).hexdigest(),
                  "REST %d + STOR (%s) did not rebuild the file" % (offset, mode))


def test_sparse_file_beyond_4_gigabytes():
    server, root = anonymous_server()
    path = os.path.join(root, "huge.bin")
    size = 5 * GIGABYTE
    offset = 4 * GIGABYTE + GIGABYTE // 2
    marker = b"MARKER past 4 GiB " * 400
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(offset)
        f.write(marker)
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        check_equal(control.expect("SIZE huge.bin", 213).lines, ["213 %d" % size],
                    "SIZE of a 5 GiB file")
        check_equal(control.expect("REST %d" % offset, 350).code, 350, "REST past 4 GiB")
        data = open_passive(control)
        expect_preliminary(control, "RETR huge.bin")
        received = b""
        while len(received) < len(marker):
            chunk = data.recv(len(marker) - len(received))
            if not chunk:
                break
            received += chunk
        check_equal(received, marker, "bytes at offset %d" % offset)
        control.send("ABOR\r\n")
        data.close()
        codes = [control.read_reply().code]
        if codes[0] == 426:
            codes.append(control.read_reply().code)
        # The data connection's close and the ABOR race: when the close is seen
        # first the transfer has ended (426) before ABOR, which then has nothing
        # left to abort (225), as RFC 959 allows.
        check(codes in ([426, 226], [226], [426, 225]),
              "replies to ABOR of the huge RETR: %r" % codes)
        control.expect("REST %d" % (size - 5), 350)
        check_equal(download(control, "RETR huge.bin"), b"\0" * 5, "the last 5 bytes")


def test_100_concurrent_sessions_list_and_retr():
    # 100 connect at once, before any logs in: max_prelogin_per_ip must allow it.
    server, root = anonymous_server({"max_clients": "0", "max_clients_per_ip": "0",
                                     "max_prelogin_per_ip": "0"})
    for number in range(10):
        write_file(os.path.join(root, "files", "f%d.txt" % number), b"file %d\n" % number * 50)
    errors = []
    start = threading.Barrier(100, timeout=60)

    def session(number):
        try:
            start.wait()
            with server.connect() as control:
                control.login_anonymous()
                control.expect("TYPE I", 200)
                listing = download(control, "LIST files").decode()
                names = sorted(line.split()[-1] for line in listing.splitlines())
                expected_names = sorted("f%d.txt" % n for n in range(10))
                if names != expected_names:
                    errors.append("session %d: LIST gave %r" % (number, names))
                which = number % 10
                data = download(control, "RETR files/f%d.txt" % which,
                                "passive" if number % 2 else "active")
                if data != b"file %d\n" % which * 50:
                    errors.append("session %d: RETR gave %d bytes" % (number, len(data)))
                control.expect("QUIT", 221)
        except Exception as error:
            errors.append("session %d: %s: %s" % (number, type(error).__name__, error))

    with server:
        threads = [threading.Thread(target=session, args=(n,)) for n in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        check(not any(thread.is_alive() for thread in threads), "sessions still running")
        check(not errors, "%d of 100 sessions failed, first: %s" % (len(errors), errors[:3]))
        with server.connect() as control:
            control.login_anonymous()
            check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR afterwards")
