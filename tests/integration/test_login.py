"""test_login: anonymous and password-file logins, homes, and the login half
of the state machine (Twisted's UNAUTH -> INAUTH -> AUTHED rules)."""

import ftplib
import os

from harness import (Server, anonymous_server, check, check_equal, pwd_path, temp_dir,
                     user_server, write_file, write_passwd_file)


def test_anonymous_login():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("USER anonymous", 331)
        control.expect("PASS whatever", 230)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after login")


def test_anonymous_login_as_ftp():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("USER ftp", 331)
        control.expect("PASS ftp@", 230)
        control.expect("SIZE README.txt", 213)


def test_anonymous_login_empty_password():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("USER anonymous", 331)
        control.expect("PASS", 230)


def test_anonymous_login_ftplib():
    server, _root = anonymous_server()
    with server:
        client = ftplib.FTP()
        client.connect("127.0.0.1", server.port, timeout=10)
        check(client.login().startswith("230"), "ftplib login did not get 230")
        client.quit()


def test_anonymous_disabled():
    server, _root = anonymous_server({"anonymous": "no"})
    with server, server.connect() as control:
        control.expect("USER anonymous", 331)
        control.expect("PASS x@example.org", 530)
        control.expect("PWD", 530)
        control.expect("USER ftp", 331)
        control.expect("PASS x", 530)


def test_passwd_user_right_password():
    server, home_root = user_server()
    write_file(os.path.join(home_root, "alice", "mine.txt"), b"12345")
    with server, server.connect() as control:
        control.expect("USER alice", 331)
        control.expect("PASS secret", 230)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD")
        check_equal(control.expect("SIZE mine.txt", 213).lines, ["213 5"], "SIZE in home")


def test_passwd_user_wrong_password():
    server, _home_root = user_server()
    with server, server.connect() as control:
        control.expect("USER alice", 331)
        control.expect("PASS wrong", 530)
        # The failure returned the session to UNAUTH: a PASS now is out of sequence.
        control.expect("PASS secret", 503)
        control.expect("PWD", 530)
        control.login("alice", "secret")


def test_passwd_unknown_user():
    server, _home_root = user_server()
    with server, server.connect() as control:
        control.expect("USER mallory", 331)
        control.expect("PASS secret", 530)
        control.expect("PWD", 530)


def test_passwd_user_anonymous_still_refused():
    server, _home_root = user_server()
    with server, server.connect() as control:
        control.expect("USER anonymous", 331)
        control.expect("PASS x", 530)


def test_home_from_passwd_line_and_home_root():
    base = temp_dir()
    own_home = os.path.join(base, "elsewhere", "bob-files")
    server, home_root = user_server(users=(("alice", "apple", None), ("bob", "banana", own_home)))
    write_file(os.path.join(home_root, "alice", "alice.txt"), b"a" * 7)
    write_file(os.path.join(own_home, "bob.txt"), b"b" * 11)
    with server:
        with server.connect() as control:
            control.login("alice", "apple")
            check_equal(control.expect("SIZE alice.txt", 213).lines, ["213 7"], "alice's file")
            control.expect("SIZE bob.txt", 550)
        with server.connect() as control:
            control.login("bob", "banana")
            check_equal(control.expect("SIZE bob.txt", 213).lines, ["213 11"], "bob's file")
            control.expect("SIZE alice.txt", 550)


def test_anonymous_and_users_together():
    base = temp_dir()
    anonymous_root = os.path.join(base, "anon")
    home_root = os.path.join(base, "homes")
    write_file(os.path.join(anonymous_root, "public.txt"), b"p")
    write_file(os.path.join(home_root, "carol", "private.txt"), b"pp")
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("carol", "cherry", None)])
    with Server({"anonymous": "yes", "anonymous_root": anonymous_root,
                 "passwd_file": passwd, "home_root": home_root}) as server:
        with server.connect() as control:
            control.login_anonymous()
            control.expect("SIZE public.txt", 213)
            control.expect("SIZE private.txt", 550)
        with server.connect() as control:
            control.login("carol", "cherry")
            control.expect("SIZE private.txt", 213)
            control.expect("SIZE public.txt", 550)


def test_pass_before_user():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("PASS x", 503)
        control.login_anonymous()


def test_after_user_only_pass():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.expect("USER anonymous", 331)
        for line in ("PWD", "CWD pub", "USER anonymous", "SIZE README.txt", "MKD x"):
            control.expect(line, 503)
        # Public commands stay allowed in the middle of a login.
        control.expect("NOOP", 200)
        control.expect("PASS x", 230)


def test_commands_before_login_530():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        for line in ("PWD", "CWD pub", "MKD x", "SIZE README.txt", "STAT", "CDUP", "TYPE I"):
            control.expect(line, 530)
        control.login_anonymous()
        control.expect("PWD", 257)


def test_user_again_after_login():
    server, home_root = user_server(users=(("alice", "apple", None), ("bob", "banana", None)))
    write_file(os.path.join(home_root, "bob", "bob.txt"), b"b")
    with server, server.connect() as control:
        control.login("alice", "apple")
        control.expect("SIZE bob.txt", 550)
        # USER after login starts a new login (Twisted allows it in AUTHED).
        control.expect("USER bob", 331)
        control.expect("PASS banana", 230)
        control.expect("SIZE bob.txt", 213)


def test_stat_after_login():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        reply = control.expect("STAT", 211)
        check(len(reply.lines) >= 2 and reply.lines[0].startswith("211-"),
              "STAT is not multi-line: %r" % reply)
