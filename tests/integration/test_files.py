"""test_files: directory navigation, file metadata (SIZE, MDTM), and the
commands that change the tree, for a read-write user and for anonymous."""

import calendar
import os
import time

from harness import (anonymous_server, check, check_equal, pwd_path, snapshot, user_server,
                     write_file)


def test_pwd_cwd_cdup():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD at start")
        control.expect("CWD pub", 250)
        check_equal(pwd_path(control.expect("PWD", 257)), "/pub", "PWD after CWD pub")
        control.expect("CWD empty", 250)
        check_equal(pwd_path(control.expect("PWD", 257)), "/pub/empty", "PWD two deep")
        control.expect("CDUP", 250)
        check_equal(pwd_path(control.expect("PWD", 257)), "/pub", "PWD after CDUP")
        control.expect("CWD /pub/empty", 250)
        control.expect("XCUP", 250)
        check_equal(pwd_path(control.expect("XPWD", 257)), "/pub", "XPWD after XCUP")
        control.expect("XCWD /", 250)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after XCWD /")
        control.expect("CDUP", 250)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "CDUP at the root")


def test_cwd_relative_dot_segments():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("CWD pub/./empty/..", 250)
        check_equal(pwd_path(control.expect("PWD", 257)), "/pub", "PWD after dot segments")


def test_pwd_doubles_quotes():
    server, root = anonymous_server()
    os.makedirs(os.path.join(root, 'say "hi"'))
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect('CWD say "hi"', 250)
        reply = control.expect("PWD", 257)
        check(reply.lines[-1].startswith('257 "/say ""hi"""'),
              "quote not doubled in PWD: %r" % reply)
        check_equal(pwd_path(reply), '/say "hi"', "PWD path")


def test_cwd_to_file_or_missing_550():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("CWD README.txt", 550)
        control.expect("CWD no-such-dir", 550)
        control.expect("CWD pub/hello.txt", 550)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after failed CWDs")


def test_size():
    server, root = anonymous_server()
    with server, server.connect() as control:
        control.login_anonymous()
        size = os.path.getsize(os.path.join(root, "pub", "data.bin"))
        check_equal(control.expect("SIZE pub/data.bin", 213).lines, ["213 %d" % size], "SIZE")
        check_equal(control.expect("SIZE /README.txt", 213).lines, ["213 8"], "SIZE absolute")
        control.expect("CWD pub", 250)
        check_equal(control.expect("SIZE hello.txt", 213).lines, ["213 13"], "SIZE relative")
        control.expect("SIZE empty", 550)
        control.expect("SIZE missing.txt", 550)


def test_size_of_empty_file():
    server, root = anonymous_server()
    write_file(os.path.join(root, "zero"), b"")
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(control.expect("SIZE zero", 213).lines, ["213 0"], "SIZE of empty file")


def test_mdtm():
    server, root = anonymous_server()
    when = calendar.timegm((2019, 7, 4, 13, 5, 9, 0, 0, 0))
    os.utime(os.path.join(root, "pub", "hello.txt"), (when, when))
    with server, server.connect() as control:
        control.login_anonymous()
        check_equal(control.expect("MDTM pub/hello.txt", 213).lines, ["213 20190704130509"],
                    "MDTM")
        control.expect("MDTM missing.txt", 550)


def test_mdtm_matches_current_mtime():
    server, root = anonymous_server()
    path = os.path.join(root, "README.txt")
    with server, server.connect() as control:
        control.login_anonymous()
        expected = time.strftime("%Y%m%d%H%M%S", time.gmtime(int(os.stat(path).st_mtime)))
        check_equal(control.expect("MDTM README.txt", 213).lines, ["213 " + expected], "MDTM")


def test_user_mkd_rmd():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    with server, server.connect() as control:
        control.login("alice", "secret")
        reply = control.expect("MKD newdir", 257)
        check_equal(pwd_path(reply), "/newdir", "MKD reply path")
        check(os.path.isdir(os.path.join(home, "newdir")), "MKD did not create the directory")
        control.expect("CWD newdir", 250)
        reply = control.expect("XMKD inner", 257)
        check_equal(pwd_path(reply), "/newdir/inner", "XMKD reply path")
        check(os.path.isdir(os.path.join(home, "newdir", "inner")), "XMKD did not create")
        control.expect("CDUP", 250)
        control.expect("MKD newdir", 550)
        control.expect("RMD newdir", 550)
        check(os.path.isdir(os.path.join(home, "newdir")), "RMD removed a non-empty directory")
        control.expect("XRMD newdir/inner", 250)
        control.expect("RMD /newdir", 250)
        check(not os.path.exists(os.path.join(home, "newdir")), "RMD did not remove")
        control.expect("RMD newdir", 550)
        control.expect("MKD missing-parent/child", 550)


def test_user_dele():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "victim.txt"), b"bye")
    os.makedirs(os.path.join(home, "adir"))
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("DELE victim.txt", 250)
        check(not os.path.exists(os.path.join(home, "victim.txt")), "DELE did not remove")
        control.expect("DELE victim.txt", 550)
        control.expect("DELE adir", 550)
        check(os.path.isdir(os.path.join(home, "adir")), "DELE removed a directory")


def test_user_rename():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "old.txt"), b"contents")
    os.makedirs(os.path.join(home, "sub"))
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("RNFR old.txt", 350)
        control.expect("RNTO new.txt", 250)
        check(not os.path.exists(os.path.join(home, "old.txt")), "old name still there")
        with open(os.path.join(home, "new.txt"), "rb") as f:
            check_equal(f.read(), b"contents", "renamed file contents")
        control.expect("RNFR new.txt", 350)
        control.expect("RNTO sub/moved.txt", 250)
        check(os.path.isfile(os.path.join(home, "sub", "moved.txt")), "move into sub failed")
        control.expect("RNFR sub", 350)
        control.expect("RNTO renamed-sub", 250)
        check(os.path.isfile(os.path.join(home, "renamed-sub", "moved.txt")), "dir rename failed")


def test_rnfr_missing_550():
    server, _home_root = user_server()
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("RNFR nothing-here", 550)
        control.expect("RNTO something", 503)


def test_rnfr_then_other_command_forgets_rename():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "keep.txt"), b"k")
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("RNTO x", 503)
        control.expect("RNFR keep.txt", 350)
        control.expect("PWD", 503)
        control.expect("RNTO moved.txt", 503)
        check(os.path.exists(os.path.join(home, "keep.txt")), "rename happened anyway")
        check(not os.path.exists(os.path.join(home, "moved.txt")), "rename happened anyway")
        control.expect("PWD", 257)


def test_anonymous_is_read_only():
    server, root = anonymous_server()
    before = snapshot(root)
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("MKD newdir", "XMKD pub/newdir", "RMD pub/empty", "XRMD pub/empty",
                     "DELE README.txt", "DELE pub/hello.txt"):
            control.expect(line, 550)
        reply = control.command("RNFR README.txt")
        if reply.code == 350:
            control.expect("RNTO renamed.txt", 550)
        else:
            check_equal(reply.code, 550, "RNFR as anonymous")
        control.expect("RNFR pub", 350 if reply.code == 350 else 550)
        if reply.code == 350:
            control.expect("RNTO pub2", 550)
        control.expect("NOOP", 200)
    check_equal(snapshot(root), before, "anonymous root after write attempts")


def test_read_only_share_refuses_before_asking_for_data():
    """A write on a read-only share is refused from the command table: 550 at
    once, without a data connection prepared first, and for SITE CHMOD too."""
    server, root = anonymous_server()
    before = snapshot(root)
    with server, server.connect() as control:
        control.login_anonymous()
        for line in ("STOR new.txt", "APPE README.txt", "STOU", "MFMT 20200101000000 README.txt"):
            reply = control.expect(line, 550)
            check("read-only" in reply.lines[-1], "%s refusal does not say why: %r" % (line, reply))
        reply = control.expect("SITE CHMOD 777 README.txt", 550)
        check(reply.lines[-1].startswith("550 SITE CHMOD:"), "SITE CHMOD refusal: %r" % reply)
        control.expect("SITE CHMOD", 501)
        # Reads are not writes: still 425 without a data connection.
        control.expect("RETR README.txt", 425)
        control.expect("NOOP", 200)
    check_equal(snapshot(root), before, "anonymous root after write attempts")


def test_site_and_opts_help_come_from_their_tables():
    server, _root = anonymous_server()
    with server, server.connect() as control:
        syntax = control.expect("HELP SITE", 214).lines[-1]
        check("SITE CHMOD" in syntax and "SITE HELP" in syntax, "HELP SITE: %r" % syntax)
        syntax = control.expect("HELP OPTS", 214).lines[-1]
        check("OPTS UTF8" in syntax and "OPTS MLST" in syntax, "HELP OPTS: %r" % syntax)
        control.login_anonymous()
        reply = control.expect("SITE HELP", 214)
        check_equal(reply.lines[0], "214-SITE commands:", "SITE HELP first line")
        check(any(line.strip().startswith("CHMOD") for line in reply.lines[1:-1]),
              "SITE HELP lacks CHMOD: %r" % reply)
        control.expect("SITE NOSUCH", 500)
        control.expect("OPTS NOSUCH", 502)
