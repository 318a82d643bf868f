"""test_quotas: quota_bytes and quota_files on a user's home: uploads that
would pass them fail with 552 (a large one as soon as it crosses), leave no
partial file and never damage the file they would replace; DELE and RMD give
room back; the home is counted once per session, and sessions do not see
each other's uploads."""

import glob
import os
import time

from harness import (check, check_equal, expect_preliminary, open_passive, protect_data,
                     temp_dir, tls_control, tls_server, upload, user_server, wrap_data, write_file)

KIBIBYTE = 1 << 10
MEBIBYTE = 1 << 20


def alice_server(options):
    server, home_root = user_server(options=options)
    return server, os.path.join(home_root, "alice")


def alice(server):
    control = server.connect()
    control.login("alice", "secret")
    control.expect("TYPE I", 200)
    return control


def read(path):
    with open(path, "rb") as f:
        return f.read()


def upload_leftovers(directory):
    return glob.glob(os.path.join(directory, ".ftpd-upload.*"))


def refused_upload(control, line, data):
    """Starts an upload the quota must stop: 150, then the data until the server
    closes the data connection. Returns (final reply, bytes the client got to send)."""
    sock = open_passive(control)
    expect_preliminary(control, line)
    sent = 0
    try:
        while sent < len(data):
            sent += sock.send(data[sent:sent + 256 * KIBIBYTE])
    except OSError:
        pass
    sock.close()
    return control.read_reply(), sent


def test_stor_past_quota_bytes_fails_with_552_and_leaves_nothing():
    server, home = alice_server({"quota_bytes": "1M"})
    write_file(os.path.join(home, "old.bin"), os.urandom(200 * KIBIBYTE))
    with server, alice(server) as control:
        reply, _sent = refused_upload(control, "STOR new.bin", os.urandom(900 * KIBIBYTE))
        check_equal(reply.code, 552, "STOR of 900 KiB with 824 KiB left: %r" % reply)
        check("exceeded storage allocation" in reply.text, "552 text: %r" % reply)
        check(not os.path.exists(os.path.join(home, "new.bin")), "the refused upload was kept")
        check_equal(upload_leftovers(home), [], "temporary files after the refused upload")
        # Exactly what is left still fits.
        payload = os.urandom(824 * KIBIBYTE)
        upload(control, "STOR new.bin", payload)
        check(read(os.path.join(home, "new.bin")) == payload, "new.bin after a fitting STOR")
        reply, _sent = refused_upload(control, "STOR one-more.bin", b"x")
        check_equal(reply.code, 552, "STOR of 1 byte into a full home")
        check(not os.path.exists(os.path.join(home, "one-more.bin")), "one-more.bin was kept")


def test_huge_upload_is_stopped_when_it_crosses():
    """The check is made as bytes arrive: a 200 MiB upload into 1 MiB of room
    is cut off near the first MiB, not after all of it was received."""
    server, home = alice_server({"quota_bytes": "1M"})
    payload = bytes(200 * MEBIBYTE)
    with server, alice(server) as control:
        started = time.monotonic()
        reply, sent = refused_upload(control, "STOR huge.bin", payload)
        seconds = time.monotonic() - started
        check_equal(reply.code, 552, "STOR of 200 MiB with a 1 MiB quota")
        check(sent < 64 * MEBIBYTE, "the client could send %d bytes before the server stopped "
              "the upload" % sent)
        check(seconds < 10, "the 552 took %.1f s" % seconds)
        check(not os.path.exists(os.path.join(home, "huge.bin")), "huge.bin was kept")
        check_equal(upload_leftovers(home), [], "temporary files after the huge upload")
        control.expect("NOOP", 200)


def test_replaced_file_stays_whole_and_its_size_counts_as_free():
    server, home = alice_server({"quota_bytes": "1M"})
    previous = os.urandom(300 * KIBIBYTE)
    write_file(os.path.join(home, "doc.bin"), previous)
    with server, alice(server) as control:
        reply, _sent = refused_upload(control, "STOR doc.bin", os.urandom(2 * MEBIBYTE))
        check_equal(reply.code, 552, "STOR over doc.bin past the quota")
        check(read(os.path.join(home, "doc.bin")) == previous, "doc.bin changed by a refused STOR")
        check_equal(upload_leftovers(home), [], "temporary files after the refused STOR")
        # The old version's 300 KiB go when the new one lands: 1 MiB fits.
        payload = os.urandom(MEBIBYTE)
        upload(control, "STOR doc.bin", payload)
        check(read(os.path.join(home, "doc.bin")) == payload, "doc.bin after a fitting STOR")


def test_appe_and_rest_stor_past_the_quota_are_undone():
    server, home = alice_server({"quota_bytes": "1M"})
    previous = os.urandom(600 * KIBIBYTE)
    write_file(os.path.join(home, "log.bin"), previous)
    with server, alice(server) as control:
        reply, _sent = refused_upload(control, "APPE log.bin", os.urandom(600 * KIBIBYTE))
        check_equal(reply.code, 552, "APPE of 600 KiB onto 600 KiB under 1M")
        check(read(os.path.join(home, "log.bin")) == previous, "log.bin after a refused APPE")
        control.expect("REST %d" % len(previous), 350)
        reply, _sent = refused_upload(control, "STOR log.bin", os.urandom(600 * KIBIBYTE))
        check_equal(reply.code, 552, "REST + STOR of 600 KiB onto 600 KiB under 1M")
        check(read(os.path.join(home, "log.bin")) == previous,
              "log.bin after a refused REST + STOR")
        tail = os.urandom(424 * KIBIBYTE)
        upload(control, "APPE log.bin", tail)
        check(read(os.path.join(home, "log.bin")) == previous + tail, "log.bin after APPE")


def test_quota_files_counts_files_and_directories():
    server, home = alice_server({"quota_files": "4"})
    write_file(os.path.join(home, "a.txt"), b"a")
    os.makedirs(os.path.join(home, "dir"))
    write_file(os.path.join(home, "dir", "b.txt"), b"b")
    with server, alice(server) as control:
        upload(control, "STOR c.txt", b"c")
        # Four entries: a new file is refused before any data moves.
        data = open_passive(control)
        control.expect("STOR d.txt", 552)
        data.close()
        data = open_passive(control)
        control.expect("STOU", 552)
        data.close()
        control.expect("MKD newdir", 552)
        check_equal(sorted(os.listdir(home)), ["a.txt", "c.txt", "dir"], "home when full")
        # Replacing or extending a file adds no entry.
        upload(control, "STOR a.txt", b"new a")
        upload(control, "APPE a.txt", b"!")
        check_equal(read(os.path.join(home, "a.txt")), b"new a!", "a.txt")
        # DELE and RMD give entries back.
        control.expect("DELE dir/b.txt", 250)
        upload(control, "STOR d.txt", b"d")
        control.expect("DELE d.txt", 250)
        control.expect("RMD dir", 250)
        control.expect("MKD newdir", 257)
        upload(control, "STOR newdir/e.txt", b"e")
        check_equal(sorted(os.listdir(home)), ["a.txt", "c.txt", "newdir"], "home at the end")


def test_dele_gives_bytes_back():
    server, home = alice_server({"quota_bytes": "1M"})
    with server, alice(server) as control:
        upload(control, "STOR first.bin", os.urandom(700 * KIBIBYTE))
        reply, _sent = refused_upload(control, "STOR second.bin", os.urandom(500 * KIBIBYTE))
        check_equal(reply.code, 552, "a second 500 KiB with 324 KiB left")
        control.expect("DELE first.bin", 250)
        second = os.urandom(500 * KIBIBYTE)
        upload(control, "STOR second.bin", second)
        check(read(os.path.join(home, "second.bin")) == second, "second.bin after DELE")
        # And a kept count: 524 KiB left exactly.
        upload(control, "STOR third.bin", os.urandom(524 * KIBIBYTE))
        reply, _sent = refused_upload(control, "STOR fourth.bin", b"x")
        check_equal(reply.code, 552, "one byte more")


def test_home_is_counted_as_it_was_found_without_following_symlinks():
    server, home = alice_server({"quota_bytes": "1M"})
    write_file(os.path.join(home, "top.bin"), os.urandom(300 * KIBIBYTE))
    write_file(os.path.join(home, "a", "b", "c", "deep.bin"), os.urandom(500 * KIBIBYTE))
    outside = temp_dir("ftpd-outside-")
    write_file(os.path.join(outside, "big.bin"), bytes(8 * MEBIBYTE))
    os.symlink(outside, os.path.join(home, "link-to-outside"))
    os.symlink(os.path.join(outside, "big.bin"), os.path.join(home, "link-to-big.bin"))
    os.symlink(".", os.path.join(home, "a", "loop"))
    with server, alice(server) as control:
        # 800 KiB counted (the links add nothing): 224 KiB left.
        reply, _sent = refused_upload(control, "STOR new.bin", os.urandom(225 * KIBIBYTE))
        check_equal(reply.code, 552, "225 KiB with 224 KiB left")
        upload(control, "STOR new.bin", os.urandom(224 * KIBIBYTE))


def test_sessions_count_on_their_own():
    """As documented: each session counts the home when it first needs to and
    then sees only its own uploads, so two sessions at once can together pass
    the quota; the next session counts again and has no room."""
    server, home = alice_server({"quota_bytes": "1M"})
    with server, alice(server) as first, alice(server) as second:
        # Both count the empty home now (a 0-byte upload is enough).
        upload(first, "STOR zero-1", b"")
        upload(second, "STOR zero-2", b"")
        upload(first, "STOR first.bin", os.urandom(600 * KIBIBYTE))
        upload(second, "STOR second.bin", os.urandom(600 * KIBIBYTE))
        with alice(server) as third:
            reply, _sent = refused_upload(third, "STOR third.bin", b"x")
            check_equal(reply.code, 552, "a new session's upload into a home over quota")
            third.expect("DELE second.bin", 250)
            upload(third, "STOR third.bin", b"x")
    check_equal(sorted(os.listdir(home)), ["first.bin", "third.bin", "zero-1", "zero-2"],
                "home at the end")


def test_partial_upload_kept_counts():
    """keep_partial_uploads: what an aborted upload kept uses the quota; one
    stopped by the quota is not kept."""
    server, home = alice_server({"quota_bytes": "1M", "keep_partial_uploads": "yes"})
    kept = os.urandom(600 * KIBIBYTE)
    with server, alice(server) as control:
        data = open_passive(control)
        expect_preliminary(control, "STOR part.bin")
        data.sendall(kept)
        deadline = time.monotonic() + 10
        while os.path.getsize(os.path.join(home, "part.bin")) < len(kept):
            check(time.monotonic() < deadline, "the server did not write the bytes sent")
            time.sleep(0.02)
        control.send("ABOR\r\n")
        check_equal(control.read_reply().code, 426, "first reply to ABOR")
        check_equal(control.read_reply().code, 226, "second reply to ABOR")
        data.close()
        check(read(os.path.join(home, "part.bin")) == kept, "part.bin after ABOR")
        reply, _sent = refused_upload(control, "STOR more.bin", os.urandom(500 * KIBIBYTE))
        check_equal(reply.code, 552, "500 KiB more with 424 KiB left")
        check(not os.path.exists(os.path.join(home, "more.bin")),
              "an upload stopped by the quota was kept")
        reply, _sent = refused_upload(control, "APPE part.bin", os.urandom(500 * KIBIBYTE))
        check_equal(reply.code, 552, "APPE of 500 KiB with 424 KiB left")
        check(read(os.path.join(home, "part.bin")) == kept, "part.bin after a refused APPE")


def test_tls_upload_past_the_quota():
    server, home_root = tls_server(users=(("alice", "secret", None),),
                                   options={"quota_bytes": "512K"})
    home = os.path.join(home_root, "alice")
    with server:
        control = tls_control(server)
        control.login("alice", "secret")
        protect_data(control)
        control.expect("TYPE I", 200)
        sock = open_passive(control)
        expect_preliminary(control, "STOR secret.bin")
        tls = wrap_data(control, sock)
        try:
            tls.sendall(os.urandom(4 * MEBIBYTE))
        except OSError:
            pass
        tls.close()
        check_equal(control.read_reply().code, 552, "TLS STOR of 4 MiB under 512K")
        check(not os.path.exists(os.path.join(home, "secret.bin")), "secret.bin was kept")
        check_equal(upload_leftovers(home), [], "temporary files after the TLS upload")
        control.close()


def test_without_a_quota_the_home_is_not_counted():
    server, home = alice_server({})
    payload = os.urandom(3 * MEBIBYTE)
    with server, alice(server) as control:
        upload(control, "STOR free.bin", payload)
        control.expect("MKD dir", 257)
        control.expect("DELE free.bin", 250)
    check(" holds " not in server.stderr_text(), "the home was counted without a quota")
