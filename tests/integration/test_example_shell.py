"""test_example_shell: the tutorial shell in shells/example, built as a shell
author would build it: out of the tree, with only the header and the
ftpd-shell.pc that `make install` put in place, then installed into the
shelldir the .pc names and loaded by name, for guests and for password users.
Browsed and downloaded with ftplib and curl; the contract suite runs on it.
The complete module printed in ftpd-shell(3) is built from the installed page
and served the same way."""

import ftplib
import io
import os
import re
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


def installed_ftpd():
    """Installs ftpd into a scratch DESTDIR; returns the DESTDIR, the shelldir
    the installed ftpd-shell.pc names (under DESTDIR) and pkg-config's
    --cflags for it."""
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
    return destination, shelldir, pkg_config("--cflags").split()


def build_module(source, output, cflags):
    """cc exactly as ftpd-shell(3) says, with warnings as errors."""
    result = subprocess.run(["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror"] +
                            cflags + [source, "-o", output],
                            capture_output=True, text=True, timeout=60)
    check_equal(result.returncode, 0, "cc of %s (stderr %r)"
                % (os.path.basename(source), result.stderr))
    return output


def installed_example():
    """Installs ftpd into a scratch DESTDIR and builds example.c from a copy
    outside the tree with pkg-config's flags; returns the shell directory."""
    _destination, shelldir, cflags = installed_ftpd()
    source = shutil.copy(os.path.join(SOURCE_ROOT, "shells", "example", "example.c"),
                         temp_dir("ftpd-example-src-"))
    build_module(source, os.path.join(shelldir, "example.so"), cflags)
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


def manual_module(page):
    """The C source of the complete module in EXAMPLES of ftpd-shell(3),
    between its "tiny.c begins" and "tiny.c ends" comments, as a reader sees it."""
    with open(page) as f:
        text = f.read()
    check('.\\" tiny.c begins' in text and '.\\" tiny.c ends' in text,
          "%s has no module marked tiny.c" % page)
    lines = text.split('.\\" tiny.c begins', 1)[1].split('.\\" tiny.c ends', 1)[0]
    lines = lines.splitlines()[1:]
    check(lines[0].startswith(".Bd -literal") and lines[-1] == ".Ed",
          "the tiny.c block is not one literal display: %r" % lines[:1])
    block = "\n".join(lines[1:-1]) + "\n"
    escapes = set(re.findall(r"\\(.)", block))
    check(escapes <= {"e", "&"}, "tiny.c in the page uses roff escapes %r" % escapes)
    return block.replace("\\e", "\\").replace("\\&", "")


def test_the_manual_page_module_builds_and_serves():
    """A newcomer with only the installed ftpd-shell(3) can write a shell: the
    module printed in its EXAMPLES builds as printed, ftpd -t takes it, and it
    serves guests."""
    destination, shelldir, cflags = installed_ftpd()
    page = os.path.join(destination, "usr", "share", "man", "man3", "ftpd-shell.3")
    check(os.path.exists(page), "make install did not install ftpd-shell.3")
    source = os.path.join(temp_dir("ftpd-tiny-src-"), "tiny.c")
    with open(source, "w") as f:
        f.write(manual_module(page))
    build_module(source, os.path.join(shelldir, "tiny.so"), cflags)

    config = os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf")
    with open(config, "w") as f:
        f.write("anonymous_root = /\nshell_dir = %s\nanonymous_shell = tiny\n" % shelldir)
    result = run_ftpd(["-t", "-c", config])
    check_equal(result.returncode, 0, "ftpd -t with tiny (stderr %r)" % result.stderr)
    # The page says so: it takes no options.
    with open(config, "a") as f:
        f.write("anonymous_shell_option = greeting=hi\n")
    result = run_ftpd(["-t", "-c", config])
    check_equal(result.returncode, 1, "ftpd -t with an option for tiny")
    check("%s:3" % config in result.stderr and "Invalid argument" in result.stderr,
          "ftpd -t's error for tiny's option: %r" % result.stderr)

    with Server({"anonymous": "yes", "anonymous_root": temp_dir("ftpd-root-"),
                 "shell_dir": shelldir, "anonymous_shell": "tiny"}) as server:
        client = client_of(server)
        check_equal(client.nlst(), ["hello.txt"], "NLST of tiny's root")
        # SIZE counts what RETR would send in the current TYPE: binary here.
        client.voidcmd("TYPE I")
        check_equal(client.size("hello.txt"), 13, "SIZE hello.txt")
        check_equal(retrieve(client, "hello.txt"), b"hello, world\n", "hello.txt")
        check_equal(retrieve(client, "hello.txt", rest=7), b"world\n", "REST 7 hello.txt")
        check_equal(dict(client.mlsd("", ["perm"]))["hello.txt"]["perm"], "r",
                    "perm of hello.txt")
        refused(lambda: client.cwd("hello.txt"), "CWD to a file")
        refused(lambda: client.storbinary("STOR new.txt", io.BytesIO(b"x")), "STOR")
        refused(lambda: client.mkd("made"), "MKD")
        refused(lambda: client.delete("hello.txt"), "DELE")
        client.quit()
    output = run_contract(os.path.join(shelldir, "tiny.so"), tree=False)
    check("shell tiny" in output, "the suite did not run tiny: %s" % output)
