"""test_paths: a client can never reach outside its root, neither with ".."
nor through symlinks that point out of it; symlinks that stay inside work."""

import os

from harness import (Server, check, check_equal, populate_tree, pwd_path, snapshot, temp_dir,
                     write_file, write_passwd_file)

SECRET = b"the secret that must not leak" * 37


def escape_layout():
    """base/root (the share) with escaping symlinks, and files outside it in base."""
    base = temp_dir("ftpd-escape-")
    root = os.path.join(base, "root")
    populate_tree(root)
    write_file(os.path.join(base, "outside-secret"), SECRET)
    write_file(os.path.join(base, "outside-dir", "victim.txt"), b"victim")
    os.makedirs(os.path.join(base, "outside-dir", "empty-sub"))
    os.symlink("/etc", os.path.join(root, "etc-link"))
    os.symlink("../outside-secret", os.path.join(root, "secret-link"))
    os.symlink("../outside-dir", os.path.join(root, "outdir-link"))
    os.symlink("/", os.path.join(root, "pub", "slash-link"))
    os.symlink("hello.txt", os.path.join(root, "pub", "inside-link"))
    os.symlink("../README.txt", os.path.join(root, "pub", "readme-link"))
    os.symlink("pub", os.path.join(root, "pub-link"))
    return base, root


def test_dotdot_stays_at_root():
    _base, root = escape_layout()
    with Server({"anonymous_root": root}) as server, server.connect() as control:
        control.login_anonymous()
        reply = control.command("CWD ../../..")
        check(reply.code in (250, 550), "CWD ../../..: %r" % reply)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after CWD ../../..")
        reply = control.command("CWD /../..")
        check(reply.code in (250, 550), "CWD /../..: %r" % reply)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after CWD /../..")
        control.expect("SIZE ../../etc/passwd", 550)
        control.expect("SIZE ../outside-secret", 550)
        control.expect("SIZE /../outside-secret", 550)
        control.expect("CWD pub", 250)
        control.expect("SIZE ../../outside-secret", 550)
        control.expect("MDTM ../../outside-secret", 550)
        control.expect("CWD ../../../pub", 250)
        check(pwd_path(control.expect("PWD", 257)) in ("/pub",),
              "PWD after climbing out and back in")


def test_symlinks_out_of_root_refused_anonymous():
    _base, root = escape_layout()
    with Server({"anonymous_root": root}) as server, server.connect() as control:
        control.login_anonymous()
        for line in ("CWD etc-link", "CWD outdir-link", "CWD pub/slash-link",
                     "CWD pub/slash-link/etc"):
            control.expect(line, 550)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD after refused CWDs")
        for line in ("SIZE secret-link", "SIZE etc-link/passwd", "SIZE outdir-link/victim.txt",
                     "SIZE pub/slash-link/etc/passwd", "MDTM secret-link",
                     "MDTM etc-link/passwd"):
            reply = control.expect(line, 550)
            check(str(len(SECRET)) not in reply.lines[-1], "secret size leaked: %r" % reply)


def test_symlinks_inside_root_work():
    _base, root = escape_layout()
    with Server({"anonymous_root": root}) as server, server.connect() as control:
        control.login_anonymous()
        check_equal(control.expect("SIZE pub/inside-link", 213).lines, ["213 13"],
                    "SIZE through a symlink to a file beside it")
        check_equal(control.expect("SIZE pub/readme-link", 213).lines, ["213 8"],
                    "SIZE through a symlink to a file one level up")
        control.expect("CWD pub-link", 250)
        check_equal(control.expect("SIZE hello.txt", 213).lines, ["213 13"],
                    "SIZE in a directory reached through a symlink")


def test_symlinks_out_of_root_refused_for_writers():
    # Writes go only through the link to a scratch directory: the tests may run as root.
    base, root = escape_layout()
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("dave", "date", root)])
    outside = os.path.join(base, "outside-dir")
    outside_before = snapshot(outside)
    with Server({"anonymous": "no", "passwd_file": passwd}) as server, \
            server.connect() as control:
        control.login("dave", "date")
        control.expect("MKD outdir-link/created", 550)
        control.expect("DELE outdir-link/victim.txt", 550)
        control.expect("RMD outdir-link/empty-sub", 550)
        # A file moved out through the link.
        reply = control.command("RNFR README.txt")
        check_equal(reply.code, 350, "RNFR README.txt")
        control.expect("RNTO outdir-link/stolen.txt", 550)
        control.expect("NOOP", 200)
        # A file moved in from outside through the link.
        reply = control.command("RNFR outdir-link/victim.txt")
        if reply.code == 350:
            control.expect("RNTO fetched.txt", 550)
        else:
            check_equal(reply.code, 550, "RNFR outdir-link/victim.txt")
        reply = control.command("RNFR secret-link")
        if reply.code == 350:
            reply = control.command("RNTO ../moved-link")
            check(reply.code in (250, 550), "RNTO ../moved-link: %r" % reply)
        control.expect("SIZE secret-link", 550)
        control.expect("NOOP", 200)
    check_equal(snapshot(outside), outside_before, "directory outside the root")
    check(os.path.isfile(os.path.join(root, "README.txt")), "README.txt moved away")
    check(not os.path.exists(os.path.join(root, "fetched.txt")), "file fetched from outside")
    check_equal(sorted(os.listdir(base)), ["outside-dir", "outside-secret", "passwd", "root"],
                "names beside the root")
    with open(os.path.join(base, "outside-secret"), "rb") as f:
        check_equal(f.read(), SECRET, "outside secret contents")


def test_overlong_paths_refused():
    _base, root = escape_layout()
    with Server({"anonymous_root": root}) as server, server.connect() as control:
        control.login_anonymous()
        # Lines stay under the line limit: these are path errors, not framing errors.
        for line in ("SIZE " + "a" * 300, "CWD " + "/".join(["d"] * 1000),
                     "SIZE " + "/".join(["pub"] * 1000) + "/hello.txt"):
            reply = control.command(line)
            check(reply.code in (550, 553, 501), "%s...: %r" % (line[:20], reply))
        control.expect("NOOP", 200)
        check_equal(pwd_path(control.expect("PWD", 257)), "/", "PWD")
