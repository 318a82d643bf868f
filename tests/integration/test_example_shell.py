"""test_example_shell: the tutorial shell in shells/example, built as a shell
author would build it: out of the tree, with only the header and the
ftpd-shell.pc that `make install` put in place, then installed into the
shelldir the .pc names and loaded by name, for guests and for password users.
Browsed and downloaded with ftplib and curl; the contract suite runs on it."""

import ftplib
import io
import os
import shutil
import subprocess

from harness import (Server, check, check_equal, run_ftpd, skip, temp_dir,
                     write_passwd_file)
from test_contract import run_contract
from test_deploy_config import make_install
from test_shell_loading import SOURCE_ROOT

README = (b"This tree is computed in memory by the example shell module.\n"
          b"numbers/ holds one small file per number; pattern.bin is a pattern\n"
          b"of bytes as long as the size= option says.\n")


def pattern(start, end):
    return bytes(((i * 31 + i // 256) & 0xFF) for i in range(start, end))


def installed_example():
    """Installs ftpd into a scratch DESTDIR and builds example.c from a copy
    outside the tree with pkg-config's flags; returns the shell directory."""
    for tool in ("cc", "pkg-config"):
        if shutil.which(tool) is None:
            skip("%s is not installed" % tool)
    destination = temp_dir("ftpd-install-")
    make_install(destination)
    pkgconfig = os.path.join(destination, "usr", "lib", "pkgconfig")
    environment = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=destination,
                       PKG_CONFIG_LIBDIR=pkgconfig, PKG_CONFIG_PATH=pkgconfig,
                       PKG_CONFIG_ALLOW_SYSTEM_CFLAGS="1")

    def pkg_config(*arguments):
        result = subprocess.run(["pkg-config"] + list(arguments) + ["ftpd-shell"],
                                capture_output=True, text=True, env=environment, timeout=30)
        check_equal(result.returncode, 0, "pkg-config %s (stderr %r)"
                    % (" ".join(arguments), result.stderr))
        return result.stdout.strip()

    shelldir = pkg_config("--variable=shelldir")
    if not shelldir.startswith(destination):
        shelldir = destination + shelldir
    os.makedirs(shelldir, exist_ok=True)
    source = shutil.copy(os.path.join(SOURCE_ROOT, "shells", "example", "example.c"),
                         temp_dir("ftpd-example-src-"))
    # Exactly the line ftpd-shell(3) gives, with warnings as errors.
    result = subprocess.run(["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror"] +
                            pkg_config("--cflags").split() +
                            [source, "-o", os.path.join(shelldir, "example.so")],
                            capture_output=True, text=True, timeout=60)
    check_equal(result.returncode, 0, "cc of example.c (stderr %r)" % result.stderr)
    return shelldir


def client_of(server, user="anonymous", password="guest"):
    client = ftplib.FTP(timeout=10)
    client.connect("127.0.0.1", server.port)
    client.login(user, password)
    return client


def retrieve(client, name, rest=None):
    data = io.BytesIO()
    client.retrbinary("RETR " + name, data.write, rest=rest)
    return data.getvalue()


def refused(action, what):
    try:
        action()
    except ftplib.error_perm as error:
        check(str(error)[:3] in ("550", "553"), "%s: %s" % (what, error))
        return
    check(False, "%s succeeded on a read-only shell" % what)


def test_guests_browse_and_download():
    shelldir = installed_example()
    with Server({"anonymous": "yes", "anonymous_root": temp_dir("ftpd-root-"),
                 "shell_dir": shelldir, "anonymous_shell": "example"},
                args=["-o", "anonymous_shell_option=count=25",
                      "-o", "anonymous_shell_option=size=300000"]) as server:
        client = client_of(server)
        listing = []
        client.retrlines("LIST", listing.append)
        check_equal(sorted(line.split()[-1] for line in listing),
                    ["README.txt", "numbers", "pattern.bin"], "LIST of the root")
        check(listing[1].startswith("d"), "numbers is not a directory in LIST: %r" % listing)
        check_equal(retrieve(client, "README.txt"), README, "README.txt")
        names = client.nlst("numbers")
        check_equal(len(names), 25, "NLST numbers")
        client.cwd("numbers")
        check_equal(client.pwd(), "/numbers", "PWD after CWD numbers")
        check_equal(retrieve(client, "7.txt"), b"7 squared is 49\n", "numbers/7.txt")
        refused(lambda: retrieve(client, "26.txt"), "RETR of a number past count")
        client.cwd("/")
        check_equal(client.size("pattern.bin"), 300000, "SIZE pattern.bin")
        check_equal(retrieve(client, "pattern.bin"), pattern(0, 300000), "pattern.bin")
        check_equal(retrieve(client, "pattern.bin", rest=123457), pattern(123457, 300000),
                    "pattern.bin from REST 123457")
        # A read-only tree promises no change in its perm facts, and makes none.
        for name, facts in client.mlsd("", ["type", "perm"]):
            check(not set(facts["perm"]) & set("acdfmpw"),
                  "MLSD perm of %s promises a change: %r" % (name, facts))
        refused(lambda: client.storbinary("STOR new.txt", io.BytesIO(b"x")), "STOR")
        refused(lambda: client.mkd("made"), "MKD")
        refused(lambda: client.delete("README.txt"), "DELE")
        refused(lambda: client.rename("README.txt", "other.txt"), "RNFR/RNTO")
        client.quit()


def test_curl_lists_and_downloads():
    if shutil.which("curl") is None:
        skip("curl is not installed")
    shelldir = installed_example()
    with Server({"anonymous": "yes", "anonymous_root": temp_dir("ftpd-root-"),
                 "shell_dir": shelldir,
                 "anonymous_shell": "example"}) as server:
        url = "ftp://127.0.0.1:%d" % server.port
        result = subprocess.run(["curl", "-s", "-S", url + "/numbers/"], capture_output=True,
                                timeout=30)
        check_equal(result.returncode, 0, "curl listing (stderr %r)" % result.stderr)
        names = [line.split()[-1] for line in result.stdout.decode().splitlines()]
        check_equal(names, ["%d.txt" % n for n in range(1, 11)], "curl's listing of numbers/")
        result = subprocess.run(["curl", "-s", "-S", url + "/pattern.bin"], capture_output=True,
                                timeout=30)
        check_equal(result.returncode, 0, "curl download (stderr %r)" % result.stderr)
        check(result.stdout == pattern(0, 1024 * 1024),
              "curl's pattern.bin differs (%d bytes)" % len(result.stdout))
        result = subprocess.run(["curl", "-s", "-S", "-C", "1000000", url + "/pattern.bin"],
                                capture_output=True, timeout=30)
        check(result.returncode == 0 and result.stdout == pattern(1000000, 1024 * 1024),
              "curl -C 1000000 (status %d, %d bytes)" % (result.returncode, len(result.stdout)))


def test_password_users_get_the_example():
    shelldir = installed_example()
    base = temp_dir("ftpd-users-")
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("alice", "secret", None)])
    os.makedirs(os.path.join(base, "homes", "alice"))
    with Server({"anonymous": "no", "passwd_file": passwd,
                 "home_root": os.path.join(base, "homes"), "shell_dir": shelldir,
                 "shell": "example"}, args=["-o", "shell_option=count=3"]) as server:
        client = client_of(server, "alice", "secret")
        check_equal(client.nlst("numbers"), ["1.txt", "2.txt", "3.txt"], "NLST numbers")
        check_equal(retrieve(client, "numbers/3.txt"), b"3 squared is 9\n", "numbers/3.txt")
        # Not a guest, but the shell refuses every change: MLSD says so.
        facts = dict(client.mlsd("", ["perm"]))
        check_equal(facts["README.txt"]["perm"], "r", "perm of README.txt for alice")
        check_equal(facts["numbers"]["perm"], "el", "perm of numbers for alice")
        refused(lambda: client.storbinary("STOR new.txt", io.BytesIO(b"x")), "STOR by alice")
        # No chattr in this shell: MFMT is not implemented for it.
        try:
            client.sendcmd("MFMT 20200101000000 README.txt")
            check(False, "MFMT succeeded on a shell without chattr")
        except ftplib.error_perm as error:
            check(str(error).startswith("502"), "MFMT without chattr: %s" % error)
        client.quit()


def test_check_accepts_it_and_names_a_bad_option():
    shelldir = installed_example()
    config = os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf")
    with open(config, "w") as f:
        f.write("anonymous_root = /\nshell_dir = %s\nanonymous_shell = example\n"
                "anonymous_shell_option = count=5\n" % shelldir)
    result = run_ftpd(["-t", "-c", config])
    check_equal(result.returncode, 0, "ftpd -t with the example (stderr %r)" % result.stderr)
    with open(config, "a") as f:
        f.write("anonymous_shell_option = colour=blue\n")
    result = run_ftpd(["-t", "-c", config])
    check_equal(result.returncode, 1, "ftpd -t with an option the example does not know")
    check("%s:3" % config in result.stderr and "Invalid argument" in result.stderr,
          "ftpd -t's error: %r" % result.stderr)


def test_contract_suite():
    shelldir = installed_example()
    output = run_contract(os.path.join(shelldir, "example.so"), ["-o", "count=4"],
                          tree=False)
    check("shell example" in output, "the suite did not run the example: %s" % output)
