"""test_resume: uploads cut off by a client that goes away, and how real
clients resume them: keep_partial_uploads = yes keeps what arrived of a new
file (or of an APPE / REST + STOR), so lftp's `put -c` (REST + STOR) and
curl's `-C -` (APPE) carry on from there; a file a STOR replaces is never
damaged. With the key off a cut-off upload leaves nothing, and both clients
start over."""

import glob
import os
import shutil
import socket
import struct
import subprocess

from harness import (check, check_equal, expect_preliminary, open_passive, skip, temp_dir,
                     user_server, wait_until, write_file)

MEBIBYTE = 1 << 20
LFTP_SETTINGS = "set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "


def alice_server(keep_partial):
    server, home_root = user_server(options={"keep_partial_uploads": keep_partial})
    return server, os.path.join(home_root, "alice")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def size_of(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def upload_leftovers(directory):
    return glob.glob(os.path.join(directory, ".ftpd-upload.*"))


def reset(sock):
    """Closes with an RST: the peer sees the connection broken, not ended."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def cut_off_upload(server, home, line, sent, setup=None, control_first=False, kept=True):
    """A client that starts `line`, sends `sent`, waits until the server has
    written all of it (to the file or to its temporary), then resets the data
    and the control connection, as a client killed or a network lost would.
    kept: whether the server must say it keeps the bytes."""
    name = line.split(" ", 1)[1]
    target = os.path.join(home, name)
    before = max(size_of(target), 0)
    control = server.connect()
    control.login("alice", "secret")
    control.expect("TYPE I", 200)
    if setup is not None:
        control.expect(setup, 350)
    data = open_passive(control)
    expect_preliminary(control, line)
    data.sendall(sent)

    def written():
        sizes = [size_of(target) - before] + [size_of(path) for path in upload_leftovers(home)]
        return len(sent) in sizes

    wait_until(written, 10, "the server to write the %d bytes sent" % len(sent))
    log = server.stderr_text()
    disconnected, keeping = log.count(": disconnected ("), log.count(": keeping them")
    for sock in ((control.sock, data) if control_first else (data, control.sock)):
        reset(sock)
    wait_until(lambda: server.stderr_text().count(": disconnected (") > disconnected, 10,
               "the session of the cut-off upload to end")
    if kept:
        wait_until(lambda: server.stderr_text().count(": keeping them") > keeping, 10,
                   "the server to keep the bytes of the cut-off %s" % line)
    else:
        check_equal(server.stderr_text().count(": keeping them"), keeping,
                    "times the server kept the bytes of the cut-off %s" % line)


def lftp_put_continue(server, local, remote):
    """lftp's `put -c`; returns the FTP commands it sent."""
    if shutil.which("lftp") is None:
        skip("lftp is not installed")
    script = "%sopen -u alice,secret ftp://127.0.0.1:%d; put -c %s -o %s" % (
        LFTP_SETTINGS, server.port, local, remote)
    result = subprocess.run(["lftp", "-d", "-c", script], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    check_equal(result.returncode, 0, "lftp exit status (stderr %r)" % result.stderr[-800:])
    return [line.split("---> ", 1)[1] for line in result.stderr.splitlines() if "---> " in line]


def curl_continue(server, local, remote):
    """curl -T local -C -; returns the FTP commands it sent."""
    if shutil.which("curl") is None:
        skip("curl is not installed")
    result = subprocess.run(["curl", "-sS", "-v", "--max-time", "30", "-T", local, "-C", "-",
                             "ftp://alice:secret@127.0.0.1:%d/%s" % (server.port, remote)],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    stderr = result.stderr.decode("utf-8", "replace")
    check_equal(result.returncode, 0, "curl exit status (stderr %r)" % stderr[-800:])
    return [line[2:] for line in stderr.splitlines() if line.startswith("> ")]


def local_copy(payload):
    path = os.path.join(temp_dir("ftpd-client-"), "local.bin")
    write_file(path, payload)
    return path


def test_cut_off_stor_keeps_what_arrived():
    server, home = alice_server("yes")
    payload = os.urandom(4 * MEBIBYTE)
    with server:
        for number, control_first in enumerate((False, True)):
            name = "new%d.bin" % number
            cut_off_upload(server, home, "STOR " + name, payload[:MEBIBYTE + number],
                           control_first=control_first)
            check_equal(size_of(os.path.join(home, name)), MEBIBYTE + number,
                        "size of %s after the cut-off STOR (control reset first: %s)"
                        % (name, control_first))
            check(read(os.path.join(home, name)) == payload[:MEBIBYTE + number],
                  "%s holds other bytes than those sent" % name)


def test_lftp_put_continue_resumes_a_cut_off_upload():
    server, home = alice_server("yes")
    payload = os.urandom(6 * MEBIBYTE)
    local = local_copy(payload)
    with server:
        cut_off_upload(server, home, "STOR big.bin", payload[:2 * MEBIBYTE + 5])
        commands = lftp_put_continue(server, local, "big.bin")
    check("REST %d" % (2 * MEBIBYTE + 5) in commands and "STOR big.bin" in commands,
          "lftp put -c did not resume with REST + STOR: %r" % commands)
    check_equal(size_of(os.path.join(home, "big.bin")), len(payload), "size after put -c")
    check(read(os.path.join(home, "big.bin")) == payload, "big.bin differs after put -c")


def test_curl_continue_resumes_a_cut_off_upload():
    server, home = alice_server("yes")
    payload = os.urandom(6 * MEBIBYTE)
    local = local_copy(payload)
    with server:
        cut_off_upload(server, home, "STOR big.bin", payload[:3 * MEBIBYTE + 7])
        commands = curl_continue(server, local, "big.bin")
    check("SIZE big.bin" in commands and "APPE big.bin" in commands,
          "curl -C - did not resume with SIZE + APPE: %r" % commands)
    check_equal(size_of(os.path.join(home, "big.bin")), len(payload), "size after curl -C -")
    check(read(os.path.join(home, "big.bin")) == payload, "big.bin differs after curl -C -")


def test_cut_off_resumes_keep_their_progress():
    """A resume that is itself cut off keeps what it added, by APPE and by REST + STOR."""
    server, home = alice_server("yes")
    payload = os.urandom(3 * MEBIBYTE)
    write_file(os.path.join(home, "grow.bin"), payload[:MEBIBYTE])
    with server:
        cut_off_upload(server, home, "APPE grow.bin", payload[MEBIBYTE:2 * MEBIBYTE])
        check(read(os.path.join(home, "grow.bin")) == payload[:2 * MEBIBYTE],
              "grow.bin after a cut-off APPE")
        cut_off_upload(server, home, "STOR grow.bin", payload[2 * MEBIBYTE:3 * MEBIBYTE - 1],
                       setup="REST %d" % (2 * MEBIBYTE))
        check(read(os.path.join(home, "grow.bin")) == payload[:3 * MEBIBYTE - 1],
              "grow.bin after a cut-off REST + STOR")


def test_cut_off_stor_never_damages_the_file_it_replaces():
    server, home = alice_server("yes")
    previous = b"the previous version\n" * 5000
    write_file(os.path.join(home, "kept.bin"), previous)
    with server:
        cut_off_upload(server, home, "STOR kept.bin", os.urandom(MEBIBYTE), kept=False)
        wait_until(lambda: not upload_leftovers(home), 10, "the temporary to go")
    check(read(os.path.join(home, "kept.bin")) == previous,
          "a cut-off STOR over an existing file changed it")
    check_equal(sorted(os.listdir(home)), ["kept.bin"], "home after the cut-off STOR")


def test_abor_keeps_what_arrived():
    server, home = alice_server("yes")
    sent = os.urandom(MEBIBYTE)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        data = open_passive(control)
        expect_preliminary(control, "STOR aborted.bin")
        data.sendall(sent)
        wait_until(lambda: size_of(os.path.join(home, "aborted.bin")) == len(sent), 10,
                   "the server to write the bytes sent")
        control.send("ABOR\r\n")
        check_equal(control.read_reply().code, 426, "first reply to ABOR during STOR")
        check_equal(control.read_reply().code, 226, "second reply to ABOR during STOR")
        data.close()
        control.expect("NOOP", 200)
        check(read(os.path.join(home, "aborted.bin")) == sent, "aborted.bin after ABOR")


def test_without_keep_partial_uploads_clients_start_over():
    """The default: a cut-off upload leaves nothing, so lftp put -c finds no
    file and sends it all, and curl -C - gets 550 for SIZE and uses STOR."""
    server, home = alice_server("no")
    payload = os.urandom(4 * MEBIBYTE)
    local = local_copy(payload)
    with server:
        cut_off_upload(server, home, "STOR big.bin", payload[:MEBIBYTE], kept=False)
        wait_until(lambda: os.listdir(home) == [], 10, "home to be empty after a cut-off STOR")
        commands = lftp_put_continue(server, local, "big.bin")
        check(not any(command.startswith("REST") for command in commands),
              "lftp put -c resumed from nothing: %r" % commands)
        check(read(os.path.join(home, "big.bin")) == payload, "big.bin after lftp put -c")

        os.unlink(os.path.join(home, "big.bin"))
        cut_off_upload(server, home, "STOR big.bin", payload[:MEBIBYTE], kept=False)
        wait_until(lambda: os.listdir(home) == [], 10,
                   "home to be empty after a second cut-off STOR")
        commands = curl_continue(server, local, "big.bin")
        check("STOR big.bin" in commands and "APPE big.bin" not in commands,
              "curl -C - without a partial file: %r" % commands)
        check(read(os.path.join(home, "big.bin")) == payload, "big.bin after curl -C -")

        # A cut-off APPE is undone too: the file is as it was before the command.
        cut_off_upload(server, home, "APPE big.bin", os.urandom(MEBIBYTE), kept=False)
        wait_until(lambda: size_of(os.path.join(home, "big.bin")) == len(payload), 10,
                   "big.bin to be cut back after a cut-off APPE")
        check(read(os.path.join(home, "big.bin")) == payload, "big.bin after a cut-off APPE")
