"""test_tls_data: PROT P data connections: TLS in every data mode, resumption of
the control connection's session (required or not, TLS 1.2 and 1.3),
close_notify at the end of downloads, uploads that end cleanly, without
close_notify, by a bare close() or truncated inside a TLS record, bad data
clients, ABOR, back-pressure, parallel sessions, protocol and cipher limits."""

import glob
import os
import socket
import ssl
import struct
import time

from harness import (DATA_TIMEOUT, check, check_equal, client_context, close_tls_upload,
                     extended_passive_port, open_data, protect_data, read_all_tls, start_tls,
                     tls_control, tls_download, tls_server, tls_upload, wrap_data, write_file)

ALICE = (("alice", "secret", None),)
MODES = ("passive", "epsv", "active", "eprt")
VERSIONS = ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3"))


def alice_session(server, context=None):
    control = tls_control(server, context)
    control.login("alice", "secret")
    protect_data(control)
    return control


def read(path):
    with open(path, "rb") as f:
        return f.read()


def upload_leftovers(directory):
    return glob.glob(os.path.join(directory, ".ftpd-upload.*"))


def start_transfer(control, line, mode="passive"):
    """Sends line with a data connection ready; returns (raw data socket, first reply)."""
    connected = open_data(control, mode)
    control.send(line + "\r\n")
    sock = connected()
    return sock, control.read_reply()


def download_resumed(control, line, mode="passive"):
    """A download whose data connection must have resumed the control session."""
    sock, first = start_transfer(control, line, mode)
    check(first.code in (125, 150), "%s: expected 150, got %r" % (line, first))
    tls = wrap_data(control, sock)
    check(tls.session_reused, "%s: the data connection did not resume the control session "
          "(%s)" % (line, tls.version()))
    data = read_all_tls(tls)
    check_equal(control.read_reply().code, 226, "end of %s" % line)
    return data


def refused_transfer(control, line, session=None, payload=None):
    """Runs line with a data connection whose TLS session is not the control
    connection's (a fresh one, or session). Returns (first reply, final reply,
    bytes received)."""
    sock, first = start_transfer(control, line)
    received = b""
    if first.code not in (125, 150):
        sock.close()
        return first, first, received
    try:
        tls = control.tls_context.wrap_socket(sock, server_hostname="localhost",
                                              session=session, suppress_ragged_eofs=False)
        tls.settimeout(5)
        try:
            if payload is not None:
                tls.sendall(payload)
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                received += chunk
        except (ssl.SSLError, OSError):
            pass
        tls.close()
    except (ssl.SSLError, OSError):
        sock.close()
    return first, control.read_reply(), received


def check_refused(first, final, received, what):
    check(final.code in (425, 522),
          "%s: expected 425 or 522, got %r then %r" % (what, first, final))
    check_equal(received, b"", "%s: data sent over the refused connection" % what)


def test_prot_p_in_every_data_mode():
    server, home_root = tls_server(users=ALICE)
    home = os.path.join(home_root, "alice")
    body = os.urandom(300000)
    with server, alice_session(server) as control:
        control.expect("TYPE I", 200)
        for mode in MODES:
            tls_upload(control, "STOR %s.bin" % mode, body, mode)
            check_equal(read(os.path.join(home, "%s.bin" % mode)) == body, True,
                        "upload over PROT P (%s) stored intact" % mode)
            check(tls_download(control, "RETR %s.bin" % mode, mode) == body,
                  "download over PROT P (%s) differs" % mode)
            listing = tls_download(control, "MLSD", mode).decode()
            check("%s.bin" % mode in listing, "MLSD over PROT P (%s): %r" % (mode, listing))
        control.expect("QUIT", 221)


def test_prot_c_in_explicit_mode_is_plaintext():
    server, _root = tls_server()
    with server, tls_control(server) as control:
        control.login_anonymous()
        control.expect("PBSZ 0", 200)
        control.expect("PROT C", 200)
        sock, first = start_transfer(control, "RETR README.txt")
        check(first.code in (125, 150), "RETR with PROT C: %r" % first)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        check_equal(data, b"read me\n", "plaintext data with PROT C over a TLS control")
        check_equal(control.read_reply().code, 226, "end of RETR")


def test_session_reuse_on_tls12_and_tls13():
    for version, name in VERSIONS:
        server, home_root = tls_server(users=ALICE)
        home = os.path.join(home_root, "alice")
        write_file(os.path.join(home, "f.txt"), b"file\n")
        with server, alice_session(server, client_context(maximum_version=version)) as control:
            check_equal(control.sock.version(), name, "control connection version")
            # Several transfers: every one resumes the same control session.
            for number in range(4):
                check_equal(download_resumed(control, "RETR f.txt"), b"file\n",
                            "RETR number %d on %s" % (number + 1, name))
            check("f.txt" in download_resumed(control, "NLST", "epsv").decode(),
                  "NLST on %s" % name)
            sock, first = start_transfer(control, "STOR up.txt")
            check(first.code in (125, 150), "STOR on %s: %r" % (name, first))
            tls = wrap_data(control, sock)
            check(tls.session_reused, "STOR on %s did not resume" % name)
            tls.sendall(b"uploaded on " + name.encode())
            close_tls_upload(tls)
            check_equal(control.read_reply().code, 226, "end of STOR on %s" % name)
        check_equal(read(os.path.join(home, "up.txt")), b"uploaded on " + name.encode(),
                    "upload on %s" % name)


def test_fresh_data_session_refused_when_reuse_required():
    for version, name in VERSIONS:
        server, home_root = tls_server(users=ALICE)
        home = os.path.join(home_root, "alice")
        write_file(os.path.join(home, "f.txt"), b"original\n")
        with server, alice_session(server, client_context(maximum_version=version)) as control:
            first, final, received = refused_transfer(control, "RETR f.txt")
            check_refused(first, final, received, "RETR with a fresh session on %s" % name)
            first, final, received = refused_transfer(control, "STOR f.txt",
                                                      payload=b"overwritten\n")
            check_refused(first, final, received, "STOR with a fresh session on %s" % name)
            first, final, received = refused_transfer(control, "LIST")
            check_refused(first, final, received, "LIST with a fresh session on %s" % name)
            # The session is still usable, and a resumed connection works.
            control.expect("NOOP", 200)
            check_equal(download_resumed(control, "RETR f.txt"), b"original\n",
                        "RETR with the control session after the refusals on %s" % name)
        check_equal(read(os.path.join(home, "f.txt")), b"original\n",
                    "file after a refused STOR on %s" % name)


def test_session_of_another_control_connection_refused():
    server, _root = tls_server(users=ALICE)
    context = client_context()
    with server, alice_session(server, context) as victim, \
            alice_session(server, context) as other:
        other.expect("NOOP", 200)
        first, final, received = refused_transfer(victim, "LIST", session=other.sock.session)
        check_refused(first, final, received,
                      "LIST whose data connection resumes another control connection's session")
        download_resumed(victim, "LIST")
        download_resumed(other, "LIST")


def test_fresh_data_session_accepted_without_reuse_requirement():
    for version, name in VERSIONS:
        server, home_root = tls_server(users=ALICE, options={"tls_require_reuse": "no"})
        home = os.path.join(home_root, "alice")
        write_file(os.path.join(home, "f.txt"), b"file\n")
        with server, alice_session(server, client_context(maximum_version=version)) as control:
            check_equal(tls_download(control, "RETR f.txt", reuse=False), b"file\n",
                        "RETR with a fresh session on %s" % name)
            tls_upload(control, "STOR g.txt", b"fresh\n", reuse=False)
            check_equal(tls_download(control, "RETR g.txt", reuse=True), b"fresh\n",
                        "RETR with the control session on %s" % name)
        check_equal(read(os.path.join(home, "g.txt")), b"fresh\n", "upload on %s" % name)


def test_download_ends_with_close_notify():
    server, root = tls_server()
    write_file(os.path.join(root, "empty.bin"), b"")
    big = os.urandom(1 << 20)
    write_file(os.path.join(root, "big.bin"), big)
    with server, tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        control.expect("TYPE I", 200)
        # read_all_tls fails on an EOF that is not a close_notify.
        for mode in ("passive", "active"):
            check(tls_download(control, "RETR big.bin", mode) == big, "RETR big.bin (%s)" % mode)
            check_equal(tls_download(control, "RETR empty.bin", mode), b"", "empty file")
            check(tls_download(control, "LIST", mode), "LIST (%s) sent nothing" % mode)
        # And the client's own close_notify answer is accepted: unwrap succeeds.
        sock, first = start_transfer(control, "RETR README.txt")
        check(first.code in (125, 150), "RETR: %r" % first)
        tls = wrap_data(control, sock)
        data = b""
        while len(data) < 8:
            chunk = tls.recv(65536)
            check(chunk, "data connection ended early")
            data += chunk
        try:
            tls.unwrap().close()
        except ssl.SSLEOFError as error:
            raise AssertionError("unwrap after a download: no close_notify (%s)" % error)
        except OSError:
            # The server may close its socket after its close_notify; that is fine.
            tls.close()
        check_equal(data, b"read me\n", "RETR data")
        check_equal(control.read_reply().code, 226, "end of RETR")


def test_upload_without_close_notify_completes():
    server, home_root = tls_server(users=ALICE)
    home = os.path.join(home_root, "alice")
    body = os.urandom(200000)
    with server, alice_session(server) as control:
        tls_upload(control, "STOR plain-close.bin", body, close_notify=False)
        tls_upload(control, "STOR notify-close.bin", body, close_notify=True)
        tls_upload(control, "STOR empty.bin", b"", close_notify=False)
        control.expect("NOOP", 200)
    check(read(os.path.join(home, "plain-close.bin")) == body,
          "upload ended by FIN without close_notify is incomplete")
    check(read(os.path.join(home, "notify-close.bin")) == body,
          "upload ended by close_notify is incomplete")
    check_equal(read(os.path.join(home, "empty.bin")), b"", "empty upload")
    check_equal(upload_leftovers(home), [], "temporary upload files")


def test_upload_ended_by_plain_close_completes():
    """The common client: send everything, then close() the socket: no
    close_notify, no shutdown, nothing read. If the server sent anything the
    client left unread (a TLS 1.3 NewSessionTicket on the data connection), the
    kernel turns that close into a reset that can drop the last bytes in flight."""
    body = os.urandom(600000)
    for version, name in VERSIONS:
        server, home_root = tls_server(users=ALICE)
        home = os.path.join(home_root, "alice")
        with server, alice_session(server, client_context(maximum_version=version)) as control:
            control.expect("TYPE I", 200)
            for number in range(5):
                sock, first = start_transfer(control, "STOR closed-%d.bin" % number)
                check(first.code in (125, 150), "STOR: %r" % first)
                tls = wrap_data(control, sock)
                tls.sendall(body)
                tls.close()
                reply = control.read_reply()
                check(reply.code == 226,
                      "STOR number %d on %s ended by a plain close(): expected 226, got %r"
                      % (number + 1, name, reply))
                check(read(os.path.join(home, "closed-%d.bin" % number)) == body,
                      "STOR number %d on %s: stored file differs" % (number + 1, name))


def memory_tls(control, sock):
    """A TLS client on memory buffers over sock, handshaken, resuming the control
    session: it produces the exact record bytes, to send any part of them."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = control.tls_context.wrap_bio(incoming, outgoing, server_hostname="localhost",
                                       session=control.sock.session)
    sock.settimeout(DATA_TIMEOUT)
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pending = outgoing.read()
            if pending:
                sock.sendall(pending)
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the data connection in the handshake")
            incoming.write(chunk)
    pending = outgoing.read()
    if pending:
        sock.sendall(pending)
    return tls, outgoing


def drain_and_close(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(DATA_TIMEOUT)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


def test_upload_truncated_inside_a_record_fails():
    for version, name in VERSIONS:
        server, home_root = tls_server(users=ALICE)
        home = os.path.join(home_root, "alice")
        original = b"the previous version\n" * 50
        write_file(os.path.join(home, "target.bin"), original)
        with server, alice_session(server, client_context(maximum_version=version)) as control:
            control.expect("TYPE I", 200)
            for cut in (5, 100):
                sock, first = start_transfer(control, "STOR target.bin")
                check(first.code in (125, 150), "STOR: %r" % first)
                tls, outgoing = memory_tls(control, sock)
                tls.write(os.urandom(100000))
                records = outgoing.read()
                check(len(records) > 100000, "records of %d bytes" % len(records))
                sock.sendall(records[:-cut])
                drain_and_close(sock)
                reply = control.read_reply()
                check(reply.code in (426, 451),
                      "STOR cut %d bytes before the end of a TLS record on %s: expected 426 "
                      "or 451, got %r" % (cut, name, reply))
                control.expect("NOOP", 200)
        check(read(os.path.join(home, "target.bin")) == original,
              "a truncated upload on %s replaced the previous file" % name)
        check_equal(upload_leftovers(home), [], "temporary upload files")


def test_upload_of_whole_records_without_close_notify_completes():
    server, home_root = tls_server(users=ALICE)
    home = os.path.join(home_root, "alice")
    body = os.urandom(100000)
    with server, alice_session(server) as control:
        sock, first = start_transfer(control, "STOR whole.bin")
        check(first.code in (125, 150), "STOR: %r" % first)
        tls, outgoing = memory_tls(control, sock)
        tls.write(body)
        sock.sendall(outgoing.read())
        drain_and_close(sock)
        check_equal(control.read_reply().code, 226, "STOR ended by FIN after whole records")
    check(read(os.path.join(home, "whole.bin")) == body, "stored file differs")


def test_upload_ended_by_reset_fails():
    """A connection reset is an abort, not an end of file, even at a record
    boundary and even when every byte sent so far has arrived: 426 or 451, and
    the previous file stays."""
    for version, name in VERSIONS:
        server, home_root = tls_server(users=ALICE)
        home = os.path.join(home_root, "alice")
        original = b"the previous version\n" * 50
        write_file(os.path.join(home, "target.bin"), original)
        with server, alice_session(server, client_context(maximum_version=version)) as control:
            control.expect("TYPE I", 200)
            sock, first = start_transfer(control, "STOR target.bin")
            check(first.code in (125, 150), "STOR: %r" % first)
            tls, outgoing = memory_tls(control, sock)
            tls.write(os.urandom(100000))
            sock.sendall(outgoing.read())
            time.sleep(0.3)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            reply = control.read_reply()
            check(reply.code in (426, 451),
                  "STOR whose data connection was reset after whole TLS records on %s: "
                  "expected 426 or 451, got %r" % (name, reply))
            control.expect("NOOP", 200)
        check(read(os.path.join(home, "target.bin")) == original,
              "an upload ended by a reset on %s replaced the previous file" % name)
        check_equal(upload_leftovers(home), [], "temporary upload files")


def test_control_session_survives_bad_data_connections():
    server, _root = tls_server()
    with server, tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        # Garbage instead of a ClientHello.
        sock, first = start_transfer(control, "RETR README.txt")
        try:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)) * 4)
        except OSError:
            pass
        reply = control.read_reply() if first.code in (125, 150) else first
        check(reply.code in (425, 426), "garbage on the data connection: %r then %r"
              % (first, reply))
        sock.close()
        control.expect("NOOP", 200)
        # Half a ClientHello, then the client goes away.
        sock, first = start_transfer(control, "LIST")
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        half = control.tls_context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        try:
            half.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = outgoing.read()
        sock.sendall(hello[:len(hello) // 2])
        sock.close()
        reply = control.read_reply() if first.code in (125, 150) else first
        check(reply.code in (425, 426), "data client dropped mid-handshake: %r then %r"
              % (first, reply))
        # A client that connects and closes without a byte.
        sock, first = start_transfer(control, "RETR README.txt")
        sock.close()
        reply = control.read_reply() if first.code in (125, 150) else first
        check(reply.code in (425, 426), "data client closed before the handshake: %r then %r"
              % (first, reply))
        control.expect("NOOP", 200)
        check_equal(tls_download(control, "RETR README.txt"), b"read me\n",
                    "RETR after the bad data connections")


def test_tls_min_protocol_and_ciphers():
    server, _root = tls_server(options={"tls_min_protocol": "TLSv1.3"})
    with server:
        control = server.connect()
        control.expect("AUTH TLS", 234)
        context = client_context(maximum_version=ssl.TLSVersion.TLSv1_2)
        try:
            context.wrap_socket(control.sock, server_hostname="localhost")
            raise AssertionError("a TLS 1.2 client completed a handshake with "
                                 "tls_min_protocol = TLSv1.3")
        except (ssl.SSLError, OSError):
            pass
        control.close()
        with tls_control(server) as control:
            check_equal(control.sock.version(), "TLSv1.3", "negotiated version")
            control.login_anonymous()
            protect_data(control)
            check_equal(tls_download(control, "RETR README.txt"), b"read me\n", "RETR on 1.3")
    cipher = "ECDHE-ECDSA-CHACHA20-POLY1305"
    server, _root = tls_server(options={"tls_ciphers": cipher})
    with server:
        with tls_control(server, client_context(maximum_version=ssl.TLSVersion.TLSv1_2)) \
                as control:
            check_equal(control.sock.cipher()[0], cipher, "TLS 1.2 cipher with tls_ciphers")
            control.login_anonymous()
            protect_data(control)
            check_equal(tls_download(control, "RETR README.txt"), b"read me\n", "RETR")
        context = client_context(maximum_version=ssl.TLSVersion.TLSv1_2)
        context.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
        control = server.connect()
        control.expect("AUTH TLS", 234)
        try:
            context.wrap_socket(control.sock, server_hostname="localhost")
            raise AssertionError("handshake with a cipher outside tls_ciphers succeeded")
        except (ssl.SSLError, OSError):
            pass
        control.close()


def test_passive_data_port_needs_prot_p_tls_not_plaintext():
    """With PROT P a plaintext data client gets no file bytes in the clear."""
    server, root = tls_server()
    secret = b"confidential contents\n" * 10
    write_file(os.path.join(root, "secret.txt"), secret)
    with server, tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        sock, first = start_transfer(control, "RETR secret.txt")
        sock.settimeout(2)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if b"confidential" in received:
                    break
        except (socket.timeout, OSError):
            pass
        sock.close()
        check(b"confidential" not in received, "PROT P sent the file in plaintext")
        reply = control.read_reply() if first.code in (125, 150) else first
        check(reply.code in (425, 426), "plaintext data client under PROT P: %r" % reply)
        control.expect("NOOP", 200)



def test_abor_during_protected_download():
    server, root = tls_server()
    write_file(os.path.join(root, "big.bin"), os.urandom(8 << 20))
    with server, tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        control.expect("TYPE I", 200)
        sock, first = start_transfer(control, "RETR big.bin")
        check(first.code in (125, 150), "RETR: %r" % first)
        tls = wrap_data(control, sock)
        check(len(tls.recv(65536)) > 0, "no data before ABOR")
        control.send("ABOR\r\n")
        codes = [control.read_reply().code]
        if codes[0] == 426:
            codes.append(control.read_reply().code)
        check(codes in ([426, 226], [226], [225]), "replies to ABOR over TLS: %r" % codes)
        tls.close()
        control.expect("NOOP", 200)
        check_equal(tls_download(control, "RETR README.txt"), b"read me\n", "RETR after ABOR")


def test_slow_reader_gets_every_byte():
    """Back-pressure through TLS: a reader with a tiny receive buffer that reads
    in small pieces still gets the whole file, intact."""
    server, root = tls_server()
    body = os.urandom(4 << 20)
    write_file(os.path.join(root, "big.bin"), body)
    with server, tls_control(server) as control:
        control.login_anonymous()
        protect_data(control)
        control.expect("TYPE I", 200)
        port = extended_passive_port(control.command("EPSV"))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(DATA_TIMEOUT)
        sock.connect(("127.0.0.1", port))
        control.send("RETR big.bin\r\n")
        first = control.read_reply()
        check(first.code in (125, 150), "RETR: %r" % first)
        tls = wrap_data(control, sock)
        chunks = []
        while True:
            chunk = tls.recv(1000)
            if not chunk:
                break
            chunks.append(chunk)
        tls.close()
        check(b"".join(chunks) == body, "slow reader got %d bytes, different from the file"
              % sum(map(len, chunks)))
        check_equal(control.read_reply().code, 226, "end of RETR")


def test_parallel_protected_sessions():
    import threading

    server, root = tls_server()
    body = os.urandom(1 << 20)
    write_file(os.path.join(root, "shared.bin"), body)
    errors = []

    def session(number):
        try:
            version = VERSIONS[number % 2][0]
            with tls_control(server, client_context(maximum_version=version)) as control:
                control.login_anonymous()
                protect_data(control)
                control.expect("TYPE I", 200)
                for _ in range(3):
                    if download_resumed(control, "RETR shared.bin", "epsv") != body:
                        errors.append("session %d: RETR differs" % number)
                control.expect("QUIT", 221)
        except Exception as error:  # reported below, with the session's number
            errors.append("session %d: %s: %s" % (number, type(error).__name__, error))

    with server:
        threads = [threading.Thread(target=session, args=(number,)) for number in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        check_equal(errors, [], "errors in 16 parallel TLS sessions")
        still = tls_control(server)
        still.expect("NOOP", 200)
        still.close()


def test_quit_over_tls_ends_with_close_notify():
    server, _root = tls_server()
    with server, server.connect() as control:
        control.expect("AUTH TLS", 234)
        start_tls(control, strict_eof=True)
        control.login_anonymous()
        control.expect("QUIT", 221)
        try:
            rest = control.sock.recv(100)
        except ssl.SSLEOFError as error:
            raise AssertionError("control connection closed after QUIT without close_notify: %s"
                                 % error)
        check_equal(rest, b"", "data after 221")
