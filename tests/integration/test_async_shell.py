"""test_async_shell: ftpd in front of a shell that answers every operation
later, as a shell in front of a network store does (tests/contract/async_shell.c:
the fs shell behind timers). Transfers both ways in both TYPEs and over TLS,
listings with symlinks, the session hooks, and clients that leave while an
answer is still on its way."""

import ftplib
import hashlib
import io
import os
import socket
import time

from harness import (async_shell_path, check, check_equal, download, open_passive,
                     populate_tree, protect_data, read_all, temp_dir, tls_control, tls_download,
                     tls_options, tls_upload, upload, user_server, write_file, Server)


def async_options(extra=None, delay_ms=None):
    options = {"shell": async_shell_path(), "anonymous_shell": async_shell_path()}
    if delay_ms is not None:
        options["shell_option"] = "delay_ms=%d" % delay_ms
    options.update(extra or {})
    return options


def alice_server(options=None, delay_ms=None):
    server, home_root = user_server(options=async_options(options, delay_ms))
    return server, os.path.join(home_root, "alice")


def guest_server(delay_ms=None):
    root = temp_dir("ftpd-anon-")
    populate_tree(root)
    options = async_options({"anonymous": "yes", "anonymous_root": root})
    args = []
    if delay_ms is not None:
        args = ["-o", "anonymous_shell_option=delay_ms=%d" % delay_ms]
    return Server(options, args=args), root


def client_of(server, user="alice", password="secret"):
    client = ftplib.FTP(timeout=20)
    client.connect("127.0.0.1", server.port)
    client.login(user, password)
    return client


def test_transfers_both_ways_and_in_both_types():
    server, home = alice_server()
    payload = os.urandom(3 * 1024 * 1024 + 17)
    text = b"".join(b"line %d\n" % i for i in range(20000))
    with server:
        client = client_of(server)
        client.storbinary("STOR big.bin", io.BytesIO(payload))
        with open(os.path.join(home, "big.bin"), "rb") as f:
            check_equal(hashlib.sha256(f.read()).hexdigest(),
                        hashlib.sha256(payload).hexdigest(), "big.bin on disk after STOR")
        data = io.BytesIO()
        client.retrbinary("RETR big.bin", data.write)
        check_equal(hashlib.sha256(data.getvalue()).hexdigest(),
                    hashlib.sha256(payload).hexdigest(), "big.bin after RETR")
        # REST: the rest of the file from an offset.
        data = io.BytesIO()
        client.retrbinary("RETR big.bin", data.write, rest=1000000)
        check_equal(data.getvalue(), payload[1000000:], "RETR big.bin from 1000000")
        # TYPE A: the server stores LF and sends CRLF.
        client.storlines("STOR notes.txt", io.BytesIO(text))
        with open(os.path.join(home, "notes.txt"), "rb") as f:
            check_equal(f.read(), text, "notes.txt stored in TYPE A")
        lines = []
        client.retrlines("RETR notes.txt", lines.append)
        check_equal(len(lines), 20000, "lines of notes.txt in TYPE A")
        client.sendcmd("TYPE A")
        check_equal(client.sendcmd("SIZE notes.txt"), "213 %d" % (len(text) + 20000),
                    "SIZE in TYPE A (read through the shell)")
        client.sendcmd("TYPE I")
        client.quit()


def test_directories_renames_and_attributes():
    server, home = alice_server()
    with server:
        client = client_of(server)
        client.mkd("sub")
        client.storbinary("STOR sub/a.txt", io.BytesIO(b"a"))
        client.rename("sub/a.txt", "sub/b.txt")
        check_equal(client.nlst("sub"), ["b.txt"], "NLST sub after the rename")
        client.sendcmd("MFMT 20200102030405 sub/b.txt")
        check_equal(client.sendcmd("MDTM sub/b.txt"), "213 20200102030405", "MDTM after MFMT")
        client.sendcmd("SITE CHMOD 600 sub/b.txt")
        check_equal(os.stat(os.path.join(home, "sub", "b.txt")).st_mode & 0o777, 0o600,
                    "mode after SITE CHMOD")
        client.delete("sub/b.txt")
        client.rmd("sub")
        check(not os.path.exists(os.path.join(home, "sub")), "sub is still there")
        try:
            client.sendcmd("RMD nothing-here")
            check(False, "RMD of a missing directory succeeded")
        except ftplib.error_perm as error:
            check(str(error).startswith("550"), "RMD nothing-here: %s" % error)
        client.quit()


def test_symlinks_are_listed_as_links():
    server, home = alice_server()
    write_file(os.path.join(home, "v2", "data.txt"), b"data\n")
    with server:
        client = client_of(server)
        client.sendcmd("SITE SYMLINK v2/data.txt current")
        check_equal(os.readlink(os.path.join(home, "current")), "v2/data.txt",
                    "the link SITE SYMLINK made (relative, inside the home)")
        client.sendcmd("SITE SYMLINK / v2/up")
        check_equal(os.readlink(os.path.join(home, "v2", "up")), "..", "a link to the root")
        lines = []
        client.retrlines("LIST", lines.append)
        link = [line for line in lines if line.endswith("current -> v2/data.txt")]
        check(len(link) == 1 and link[0].startswith("l"), "LIST shows the link: %r" % lines)
        lines = []
        client.retrlines("LIST current", lines.append)
        check(len(lines) == 1 and lines[0].endswith(" current -> v2/data.txt"),
              "LIST of the link itself: %r" % lines)
        facts = dict(client.mlsd("", ["type"]))
        check_equal(facts["current"]["type"], "OS.unix=slink", "MLSD type of the link")
        # The link is followed for a download, inside the home.
        data = io.BytesIO()
        client.retrbinary("RETR current", data.write)
        check_equal(data.getvalue(), b"data\n", "RETR through the link")
        client.quit()


def test_tls_transfers():
    options = tls_options(options=async_options())
    options.pop("anonymous", None)
    server, home = alice_server(options)
    payload = os.urandom(1024 * 1024 + 5)
    with server, tls_control(server) as control:
        control.login("alice", "secret")
        protect_data(control)
        control.expect("TYPE I", 200)
        tls_upload(control, "STOR secret.bin", payload)
        with open(os.path.join(home, "secret.bin"), "rb") as f:
            check_equal(f.read(), payload, "secret.bin stored over TLS")
        check_equal(tls_download(control, "RETR secret.bin"), payload, "RETR over TLS")


def test_session_start_can_refuse_a_login():
    server, _home = alice_server({"shell_option": "refuse_user=alice"})
    with server, server.connect() as control:
        control.expect("USER alice", 331)
        control.expect("PASS secret", 530)
        # The session goes on: another USER is answered.
        control.expect("USER alice", 331)


def test_session_end_is_told_the_bytes():
    server, _home = alice_server()
    with server:
        client = client_of(server)
        client.storbinary("STOR five.txt", io.BytesIO(b"12345"))
        client.quit()
        deadline = time.monotonic() + 5
        while "async shell: session of alice" not in server.stderr_text():
            check(time.monotonic() < deadline, "no session_end log line: %s"
                  % server.stderr_tail())
            time.sleep(0.05)
        check("5 bytes in, 0 out" in server.stderr_text(),
              "session_end's counts: %s" % server.stderr_tail())


def test_clients_that_leave_before_the_answer():
    """Every kind of operation is left waiting for a slow answer (300 ms) by a
    client that closes its connection: the server frees everything (ASan
    checks at the stop) and serves the next client."""
    server, home = alice_server(delay_ms=300)
    write_file(os.path.join(home, "file.bin"), os.urandom(256 * 1024))
    with server:
        # Left in the middle of a download being read later.
        with server.connect() as control:
            control.login("alice", "secret")
            control.expect("TYPE I", 200)
            data = open_passive(control)
            control.expect("RETR file.bin", 150)
            data.recv(1000)
        for command in ("LIST", "NLST", "MLSD", "RETR file.bin", "STOR new.bin", "SIZE file.bin",
                        "CWD /", "MKD made", "MFMT 20200101000000 file.bin", "DELE file.bin"):
            with server.connect() as control:
                control.login("alice", "secret")
                if command.split()[0] in ("LIST", "NLST", "MLSD", "RETR", "STOR"):
                    data = open_passive(control)
                    control.send(command + "\r\n")
                    if command.startswith("STOR"):
                        try:
                            data.sendall(os.urandom(64 * 1024))
                        except OSError:
                            pass
                    data.close()
                else:
                    control.send(command + "\r\n")
            # Closed with the command unanswered.
        time.sleep(0.8)
        # DELE went on without its client: the file is gone, as the shell was told.
        check(not os.path.exists(os.path.join(home, "file.bin")), "DELE did not complete")
        write_file(os.path.join(home, "file.bin"), os.urandom(256 * 1024))
        client = client_of(server)
        data = io.BytesIO()
        client.retrbinary("RETR file.bin", data.write)
        check_equal(len(data.getvalue()), 256 * 1024, "RETR after the others left")
        client.quit()
        leftovers = [name for name in os.listdir(home) if name.startswith(".ftpd-upload.")]
        check_equal(leftovers, [], "upload temporaries left behind")


def test_guests_through_the_async_shell():
    server, root = guest_server()
    with server:
        client = client_of(server, "anonymous", "guest")
        data = io.BytesIO()
        client.retrbinary("RETR pub/data.bin", data.write)
        with open(os.path.join(root, "pub", "data.bin"), "rb") as f:
            check_equal(data.getvalue(), f.read(), "pub/data.bin")
        facts = dict(client.mlsd("pub", ["perm"]))
        check_equal(facts["hello.txt"]["perm"], "r", "a guest's perm on a file")
        check_equal(facts["empty"]["perm"], "el", "a guest's perm on a directory")
        try:
            client.storbinary("STOR pub/new.txt", io.BytesIO(b"x"))
            check(False, "a guest stored a file")
        except ftplib.error_perm as error:
            check(str(error)[:3] in ("550", "553"), "STOR by a guest: %s" % error)
        client.quit()


def shell_login_server(delay_ms=0, extra_options=()):
    """login = shell: the async shell's authenticate takes the password "sesame"
    for anyone, answering later, and its create checks the login it gave."""
    base = temp_dir("ftpd-shell-login-")
    home_root = os.path.join(base, "homes")
    for user in ("carol", "dave"):
        os.makedirs(os.path.join(home_root, user))
    options = async_options({"anonymous": "no", "home_root": home_root, "login": "shell"})
    args = ["-o", "shell_option=password=sesame", "-o", "shell_option=delay_ms=%d" % delay_ms]
    for option in extra_options:
        args += ["-o", "shell_option=" + option]
    return Server(options, args=args), home_root


def test_login_by_the_shell():
    server, home_root = shell_login_server()
    with server:
        client = client_of(server, "carol", "sesame")
        client.storbinary("STOR mine.txt", io.BytesIO(b"carol's"))
        check(os.path.exists(os.path.join(home_root, "carol", "mine.txt")),
              "carol's upload is not in her home")
        client.quit()
        try:
            client_of(server, "dave", "not-sesame")
            check(False, "a wrong password was let in")
        except ftplib.error_perm as error:
            check(str(error).startswith("530"), "wrong password: %s" % error)
        check("sesame" not in server.stderr_text(), "the log shows a password")


def test_clients_that_leave_while_the_shell_checks_the_password():
    """authenticate answers after 300 ms; the client is gone by then: the
    login the shell gave is released (ASan's leak check runs at the stop)."""
    server, _home_root = shell_login_server(delay_ms=300)
    with server:
        for _ in range(3):
            with server.connect() as control:
                control.expect("USER carol", 331)
                control.send("PASS sesame\r\n")
        time.sleep(0.6)
        client = client_of(server, "carol", "sesame")
        client.quit()


def test_a_store_that_cannot_be_reached_at_login():
    """authenticate answers that the store is gone: 421, and the session ends."""
    server, _home_root = shell_login_server(extra_options=["store_down=1"])
    with server, server.connect() as control:
        control.expect("USER carol", 331)
        control.expect("PASS sesame", 421)
        check(control.is_closed(), "the session stayed open after 421")


def test_check_wants_a_shell_that_checks_passwords():
    from harness import run_ftpd
    result = run_ftpd(["-t", "-c", "/dev/null", "-o", "anonymous=no", "-o", "login=shell",
                       "-o", "home_root=" + temp_dir("ftpd-homes-")])
    check(result.returncode == 1 and "no authenticate" in result.stderr,
          "ftpd -t with login = shell and the fs shell: %r" % result.stderr)
    result = run_ftpd(["-t", "-c", "/dev/null", "-o", "anonymous=no", "-o", "login=shell",
                       "-o", "shell=" + async_shell_path(), "-o", "shell_option=password=x",
                       "-o", "home_root=" + temp_dir("ftpd-homes-")])
    check(result.returncode == 0 and "login = shell" in result.stdout,
          "ftpd -t with login = shell and a shell that checks: %r %r"
          % (result.stdout[-300:], result.stderr))


def test_failures_the_shell_finds_count_for_bans():
    """login = shell: a password the module refuses counts for
    ban_after_failures like one the monitor checks, across connections; the
    failure that reaches the limit is answered 421 and the address banned."""
    base = temp_dir("ftpd-shell-ban-")
    home_root = os.path.join(base, "homes")
    os.makedirs(os.path.join(home_root, "carol"))
    options = async_options({"anonymous": "no", "home_root": home_root, "login": "shell",
                             "ban_after_failures": "3", "ban_time": "60",
                             "login_failure_delay": "0"})
    server = Server(options, args=["-o", "shell_option=password=sesame"])
    with server:
        replies = []
        for attempt in range(3):
            with server.connect() as control:
                control.expect("USER carol", 331)
                replies.append(control.command("PASS wrong-%d" % attempt).code)
        check(replies == [530, 530, 421], "replies to three wrong passwords: %r" % replies)
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        greeting = sock.recv(200).decode()
        sock.close()
        check(greeting.startswith("421") and "ban_after_failures" in greeting,
              "a new connection from the banned address: %r" % greeting)
    check("banned for 60 s after 3 failed logins" in server.stderr_text(),
          "no ban in the log:\n" + server.stderr_tail())
