"""test_transfers: RETR, STOR, APPE, STOU and REST over passive and active data
connections, TYPE A conversion, failed uploads, and odd file names."""

import glob
import os
import re
import socket
import struct

from harness import (anonymous_server, check, check_equal, download, expect_preliminary,
                     open_passive, read_all, snapshot, upload, user_server, write_file)

MODES = ("passive", "epsv", "active", "eprt")


def alice_server(options=None):
    server, home_root = user_server(options=options)
    return server, os.path.join(home_root, "alice")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def upload_leftovers(directory):
    return glob.glob(os.path.join(directory, ".ftpd-upload.*"))


def test_retr_in_every_mode():
    server, root = anonymous_server()
    expected = read(os.path.join(root, "pub", "data.bin"))
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        for mode in MODES:
            check_equal(download(control, "RETR pub/data.bin", mode), expected,
                        "RETR pub/data.bin (%s)" % mode)


def test_retr_replies_150_then_transfer_complete():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        data = open_passive(control)
        expect_preliminary(control, "RETR pub/hello.txt")
        check_equal(read_all(data), b"hello, world\n", "RETR data")
        check_equal(control.read_reply().lines, ["226 Transfer complete."], "end of RETR")
        control.expect("NOOP", 200)


def test_retr_empty_file():
    server, root = anonymous_server()
    write_file(os.path.join(root, "empty.bin"), b"")
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(download(control, "RETR empty.bin"), b"", "RETR of an empty file")


def test_retr_missing_or_directory_550():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("RETR missing.bin", "RETR pub", "RETR pub/empty", "RETR /"):
            data = open_passive(control)
            control.expect(line, 550)
            data.close()
        check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after 550s")


def test_transfer_without_data_connection_425():
    server, home = alice_server()
    write_file(os.path.join(home, "file.txt"), b"x")
    with server, server.connect() as control:
        control.login("alice", "secret")
        for line in ("RETR file.txt", "STOR new.txt", "APPE file.txt", "STOU", "LIST", "NLST",
                     "MLSD"):
            control.expect(line, 425)
        check(not os.path.exists(os.path.join(home, "new.txt")), "STOR without data created")
        check_equal(read(os.path.join(home, "file.txt")), b"x", "file after APPE without data")


def test_data_connection_is_used_once():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(download(control, "RETR README.txt"), b"read me\n", "first RETR")
        control.expect("RETR README.txt", 425)


def test_stor_in_every_mode():
    server, home = alice_server()
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        for number, mode in enumerate(MODES):
            data = os.urandom(100000 + number)
            upload(control, "STOR up-%s.bin" % mode, data, mode)
            check_equal(read(os.path.join(home, "up-%s.bin" % mode)), data,
                        "stored file (%s)" % mode)
        check_equal(upload_leftovers(home), [], "temporary upload files")


def test_stor_replaces_existing_file():
    server, home = alice_server()
    write_file(os.path.join(home, "file.txt"), b"old contents that are longer\n")
    with server, server.connect() as control:
        control.login("alice", "secret")
        upload(control, "STOR file.txt", b"new\n")
        check_equal(read(os.path.join(home, "file.txt")), b"new\n", "replaced file")
        upload(control, "STOR file.txt", b"")
        check_equal(read(os.path.join(home, "file.txt")), b"", "file replaced by empty")


def test_stor_into_missing_directory_550():
    server, home = alice_server()
    before = snapshot(home)
    with server, server.connect() as control:
        control.login("alice", "secret")
        data = open_passive(control)
        control.expect("STOR no-such-dir/file.txt", 550)
        data.close()
        control.expect("NOOP", 200)
    check_equal(snapshot(home), before, "home after STOR into a missing directory")


def test_stor_onto_a_directory_550():
    server, home = alice_server()
    os.makedirs(os.path.join(home, "adir", "inner"))
    before = snapshot(home)
    with server, server.connect() as control:
        control.login("alice", "secret")
        for line in ("STOR adir", "APPE adir", "STOR /"):
            data = open_passive(control)
            control.expect(line, 550)
            data.close()
    check_equal(snapshot(home), before, "home after STOR onto directories")


def test_concurrent_stor_of_one_name_keeps_one_whole_file():
    """Two sessions upload the same name at once: the file ends up as exactly one
    of the two uploads, never a mix, and no temporary file is left."""
    server, home = alice_server()
    contents = [bytes([65 + number]) * (3 << 20) for number in range(2)]
    with server, server.connect() as first, server.connect() as second:
        sockets = []
        for control in (first, second):
            control.login("alice", "secret")
            control.expect("TYPE I", 200)
            sockets.append(open_passive(control))
            expect_preliminary(control, "STOR same.bin")
        # Interleave the two uploads in chunks.
        for offset in range(0, 3 << 20, 1 << 18):
            for number, sock in enumerate(sockets):
                sock.sendall(contents[number][offset:offset + (1 << 18)])
        for number, control in enumerate((first, second)):
            sockets[number].close()
            check_equal(control.read_reply().code, 226, "end of STOR %d" % number)
    check(read(os.path.join(home, "same.bin")) in contents, "same.bin is a mix of two uploads")
    check_equal(upload_leftovers(home), [], "temporary upload files")


def reset_connection(sock):
    """Closes with an RST instead of a FIN: the peer sees an error, not an end of file."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_stor_reset_keeps_previous_content():
    server, home = alice_server()
    previous = b"the previous content\n" * 100
    write_file(os.path.join(home, "keep.bin"), previous)
    with server, server.connect() as control:
        control.login("alice", "secret")
        data = open_passive(control)
        expect_preliminary(control, "STOR keep.bin")
        data.sendall(os.urandom(300000))
        reset_connection(data)
        reply = control.read_reply()
        check(reply.code in (426, 451), "STOR with a reset data connection answered %r" % reply)
        check_equal(read(os.path.join(home, "keep.bin")), previous, "file after a failed STOR")
        check_equal(upload_leftovers(home), [], "temporary upload files after a failed STOR")
        upload(control, "STOR other.bin", b"fine")
        check_equal(read(os.path.join(home, "other.bin")), b"fine", "STOR after a failed one")


def test_stor_abort_keeps_previous_content():
    server, home = alice_server()
    previous = b"previous\n"
    write_file(os.path.join(home, "keep.bin"), previous)
    with server, server.connect() as control:
        control.login("alice", "secret")
        data = open_passive(control)
        expect_preliminary(control, "STOR keep.bin")
        data.sendall(os.urandom(200000))
        control.send("ABOR\r\n")
        first = control.read_reply()
        check_equal(first.code, 426, "first reply to ABOR during STOR")
        second = control.read_reply()
        check_equal(second.code, 226, "second reply to ABOR during STOR")
        data.close()
        check_equal(read(os.path.join(home, "keep.bin")), previous, "file after an aborted STOR")
        check_equal(upload_leftovers(home), [], "temporary upload files after ABOR")
        control.expect("NOOP", 200)


def test_failed_in_place_uploads_leave_files_as_they_were():
    """APPE, REST + STOR and STOU write in place; cut off, they are undone:
    the appended bytes go, a file they created goes."""
    server, home = alice_server()
    previous = b"the previous content\n" * 100
    write_file(os.path.join(home, "log.bin"), previous)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        for setup, line in ((None, "APPE log.bin"), ("REST %d" % len(previous), "STOR log.bin"),
                            (None, "APPE new.bin"), (None, "STOU")):
            if setup is not None:
                control.expect(setup, 350)
            data = open_passive(control)
            expect_preliminary(control, line)
            data.sendall(os.urandom(300000))
            reset_connection(data)
            reply = control.read_reply()
            check(reply.code in (426, 451), "%s with a reset data connection answered %r"
                  % (line, reply))
            check_equal(read(os.path.join(home, "log.bin")), previous,
                        "log.bin after a failed %s" % line)
            check_equal(sorted(os.listdir(home)), ["log.bin"], "home after a failed %s" % line)


def test_rest_retr():
    server, root = anonymous_server()
    expected = read(os.path.join(root, "pub", "data.bin"))
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        for offset in (0, 1, 1000, len(expected) - 1, len(expected)):
            control.expect("REST %d" % offset, 350)
            check_equal(download(control, "RETR pub/data.bin"), expected[offset:],
                        "RETR after REST %d" % offset)
        # The restart point applies to one transfer only.
        control.expect("REST 100", 350)
        download(control, "RETR pub/data.bin")
        check_equal(download(control, "RETR pub/data.bin"), expected, "RETR after a REST RETR")


def test_rest_beyond_end_554():
    server, root = anonymous_server()
    size = os.path.getsize(os.path.join(root, "pub", "data.bin"))
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("REST %d" % (size + 1), 350)
        data = open_passive(control)
        control.expect("RETR pub/data.bin", 554)
        data.close()
        control.expect("NOOP", 200)


def test_rest_bad_argument_501():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("REST -1", "REST abc", "REST 12x", "REST 99999999999999999999999"):
            control.expect(line, 501)


def test_rest_stor_resumes_upload():
    server, home = alice_server()
    whole = os.urandom(50000)
    write_file(os.path.join(home, "partial.bin"), whole[:20000])
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        control.expect("REST 20000", 350)
        upload(control, "STOR partial.bin", whole[20000:])
        check_equal(read(os.path.join(home, "partial.bin")), whole, "file after REST + STOR")
        check_equal(upload_leftovers(home), [], "temporary upload files")


def test_appe_appends_and_creates():
    server, home = alice_server()
    write_file(os.path.join(home, "log.txt"), b"one\n")
    with server, server.connect() as control:
        control.login("alice", "secret")
        upload(control, "APPE log.txt", b"two\n")
        upload(control, "APPE log.txt", b"three\n", "active")
        check_equal(read(os.path.join(home, "log.txt")), b"one\ntwo\nthree\n", "appended file")
        upload(control, "APPE fresh.txt", b"new\n")
        check_equal(read(os.path.join(home, "fresh.txt")), b"new\n", "APPE of a new file")


def test_stou_names_a_new_file():
    server, home = alice_server()
    write_file(os.path.join(home, "sub", "existing"), b"keep")
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("CWD sub", 250)
        names = []
        for number in range(2):
            first = upload(control, "STOU", b"unique %d" % number)
            text = first.lines[-1]
            check(text.startswith("150 FILE: /sub/"), "STOU 150 reply %r" % text)
            path = text[len("150 FILE: "):]
            names.append(path)
            check_equal(read(os.path.join(home, path.lstrip("/"))), b"unique %d" % number,
                        "content of the STOU file %s" % path)
        check(names[0] != names[1], "two STOU uploads got the same name %r" % names)
        check_equal(read(os.path.join(home, "sub", "existing")), b"keep", "existing file")
    # Nobody can guess the next name: a server started afresh draws other ones.
    again, home = alice_server()
    with again, again.connect() as control:
        control.login("alice", "secret")
        text = upload(control, "STOU", b"again").lines[-1]
        check(os.path.basename(text) not in [os.path.basename(name) for name in names],
              "a new server chose a name the first one did: %r in %r" % (text, names))
        check(re.fullmatch(r"150 FILE: /ftpd\.[0-9a-f]{16}", text) is not None,
              "STOU name with 64 random bits: %r" % text)


def test_anonymous_cannot_write():
    server, root = anonymous_server()
    before = snapshot(root)
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("STOR new.txt", "STOR README.txt", "APPE README.txt", "STOU",
                     "STOR pub/new.txt"):
            data = open_passive(control)
            control.expect(line, 550)
            data.close()
        control.expect("MKD newdir", 550)
        control.expect("REST 2", 350)
        data = open_passive(control)
        control.expect("STOR README.txt", 550)
        data.close()
        control.expect("NOOP", 200)
    check_equal(snapshot(root), before, "anonymous root after upload attempts")


def test_type_ascii_download_converts_lf_to_crlf():
    server, root = anonymous_server()
    write_file(os.path.join(root, "text.txt"), b"a\nb\n")
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE A", 200)
        check_equal(download(control, "RETR text.txt"), b"a\r\nb\r\n", "TYPE A RETR")
        check_equal(control.expect("SIZE text.txt", 213).lines, ["213 6"], "SIZE in TYPE A")
        control.expect("TYPE I", 200)
        check_equal(download(control, "RETR text.txt"), b"a\nb\n", "TYPE I RETR")
        check_equal(control.expect("SIZE text.txt", 213).lines, ["213 4"], "SIZE in TYPE I")


def test_type_ascii_upload_converts_crlf_to_lf():
    server, home = alice_server()
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE A", 200)
        upload(control, "STOR text.txt", b"a\r\nb\r\n")
        check_equal(read(os.path.join(home, "text.txt")), b"a\nb\n", "TYPE A STOR")
        control.expect("TYPE I", 200)
        upload(control, "STOR binary.txt", b"a\r\nb\r\n")
        check_equal(read(os.path.join(home, "binary.txt")), b"a\r\nb\r\n", "TYPE I STOR")


def test_type_ascii_large_file_round_trip():
    """The conversion must hold across buffer boundaries (a CR at the end of one read)."""
    server, home = alice_server()
    lines = b"".join(b"line %d %s\n" % (number, b"x" * (number % 97))
                     for number in range(40000))
    write_file(os.path.join(home, "big.txt"), lines)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE A", 200)
        converted = download(control, "RETR big.txt")
        check_equal(converted, lines.replace(b"\n", b"\r\n"), "TYPE A RETR of a large file")
        upload(control, "STOR back.txt", converted)
        check(read(os.path.join(home, "back.txt")) == lines, "TYPE A STOR of a large file")


def test_binary_is_byte_exact():
    server, home = alice_server()
    data = bytes(range(256)) * 64 + b"\r\n\r\r\n\n\r"
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        upload(control, "STOR all.bin", data)
        check_equal(read(os.path.join(home, "all.bin")), data, "TYPE I upload")
        check_equal(download(control, "RETR all.bin"), data, "TYPE I download")


def test_names_with_spaces_and_utf8():
    server, home = alice_server()
    names = ["with space.txt", "  leading spaces.txt", "gr\u00fc\u00dfe \u65e5\u672c.txt",
             "semi;colon,comma.txt"]
    with server, server.connect() as control:
        control.login("alice", "secret")
        for number, name in enumerate(names):
            data = b"content %d" % number
            upload(control, "STOR " + name, data)
            check_equal(read(os.path.join(home, name)), data, "stored %r" % name)
            check_equal(download(control, "RETR " + name), data, "RETR %r" % name)
        listing = download(control, "NLST").decode("utf-8").split("\r\n")
        for name in names:
            check(name in listing, "NLST lacks %r: %r" % (name, listing))
        listing = download(control, "LIST").decode("utf-8")
        for name in names:
            check(listing.count(" " + name + "\r\n") == 1, "LIST lacks %r: %r" % (name, listing))


def test_name_with_newline_cannot_be_created():
    server, home = alice_server()
    with server, server.connect() as control:
        control.login("alice", "secret")
        data = open_passive(control)
        # The line ends at the LF, so the command is "STOR bad" followed by a junk line.
        control.send("STOR bad\nname.txt\r\n")
        replies = [control.read_reply()]
        if replies[0].code in (125, 150):
            data.close()
            replies.append(control.read_reply())
        else:
            data.close()
        replies.append(control.read_reply())
        control.expect("NOOP", 200)
    check(not any("\n" in name for name in os.listdir(home)),
          "a name with a newline was created: %r (replies %r)" % (os.listdir(home), replies))


def test_file_truncated_during_a_download_is_not_reported_complete():
    """A 20 MB file cut to 1 MB while it is being sent: TYPE A (no byte count
    a client could check) and TYPE I must both end without 226."""
    server, root = anonymous_server()
    path = os.path.join(root, "shrinking.txt")
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy\n"
    with server:
        for mode in ("A", "I"):
            with open(path, "wb") as f:
                f.write(line * (20 * 1000 * 1000 // len(line)))
            with server.connect() as control:
                control.login_anonymous()
                control.expect("TYPE " + mode, 200)
                data = open_passive(control, receive_buffer=16384)
                expect_preliminary(control, "RETR shrinking.txt")
                received = len(data.recv(65536))
                os.truncate(path, 1000 * 1000)
                while True:
                    chunk = data.recv(1 << 20)
                    if not chunk:
                        break
                    received += len(chunk)
                data.close()
                reply = control.read_reply()
                check(reply.code != 226, "TYPE %s: a download of a file truncated to 1 MB "
                      "ended %r after %d bytes" % (mode, reply.lines, received))
