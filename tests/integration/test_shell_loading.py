"""test_shell_loading: custom shell modules, built here with the system cc from
tests/integration/shell_modules/: found by name in shell_dir or by path, checked
by `ftpd -t` (loaded and created as the workers would), serving guests through
anonymous_shell and password users through shell with their shell_option
lines, and built against the header `make install` puts beside ftpd-shell.pc."""

import errno
import ftplib
import io
import os
import shutil
import subprocess

from harness import (Server, check, check_equal, run_ftpd, skip, temp_dir, write_file,
                     write_passwd_file)
from test_deploy_config import make_install

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MODULE_SOURCES = os.path.join(HERE, "shell_modules")
MODULES = ("hello", "failing", "wrong_abi", "no_symbol", "incomplete")


def compile_module(source, output, cflags):
    if shutil.which("cc") is None:
        skip("no cc to build shell modules with")
    result = subprocess.run(["cc", "-shared", "-fPIC", "-Wall", "-Werror"] + cflags +
                            [source, "-o", output], capture_output=True, text=True,
                            timeout=60)
    check_equal(result.returncode, 0, "cc of %s (stderr %r)" % (source, result.stderr))
    return output


def shell_dir():
    """A directory with NAME.so for each module, built against the source tree's header."""
    directory = temp_dir("ftpd-shells-")
    for name in MODULES:
        compile_module(os.path.join(MODULE_SOURCES, name + ".c"),
                       os.path.join(directory, name + ".so"),
                       ["-I", os.path.join(SOURCE_ROOT, "include")])
    return directory


def config_file(lines):
    """A config file of lines; returns its path."""
    path = os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf")
    write_file(path, "".join(line + "\n" for line in lines))
    return path


def check_refused(arguments, place, words, what):
    """ftpd -t exits 1 with one message on stderr that starts with place and has words."""
    result = run_ftpd(["-t"] + arguments)
    check_equal(result.returncode, 1, "ftpd -t exit status with %s (stderr %r)"
                % (what, result.stderr))
    check_equal(result.stdout, "", "ftpd -t stdout with %s" % what)
    check(("ftpd: %s: " % place) in result.stderr, "ftpd -t with %s does not name %s: %r"
          % (what, place, result.stderr))
    for word in words:
        check(word in result.stderr, "ftpd -t with %s does not say %r: %r"
              % (what, word, result.stderr))
    return result


def test_check_refuses_each_bad_module():
    """Every way a module can be wrong stops -t, naming the line that chose it."""
    shells = shell_dir()
    root = temp_dir("ftpd-root-")
    cases = [
        ("failing", ["cannot create a shell on anonymous_root", root,
                     os.strerror(errno.ENETUNREACH),
                     "failing: no storage behind " + root]),
        ("wrong_abi", ["ABI version 100", "needs 2", "rebuild it"]),
        ("incomplete", ["without every required operation"]),
        ("no_symbol", ["does not export the symbol ftpd_shell_module"]),
        ("bogus", ["unknown shell \"bogus\"", os.path.join(shells, "bogus.so")]),
        (os.path.join(shells, "missing.so"), ["cannot load shell module", "missing.so"]),
        (".hidden", ["bad value for anonymous_shell"]),
    ]
    for name, words in cases:
        path = config_file(["# guests through a module", "anonymous_root = " + root,
                            "shell_dir = " + shells, "", "anonymous_shell = " + name])
        check_refused(["-c", path], "%s:5" % path, words, "anonymous_shell = " + name)


def test_check_refuses_a_bad_shell_for_password_users():
    """shell is loaded even without password logins, as every worker loads it; a
    passwd_file makes -t create it on home_root too."""
    shells = shell_dir()
    root = temp_dir("ftpd-root-")
    path = config_file(["anonymous_root = " + root, "shell_dir = " + shells,
                        "shell = bogus"])
    check_refused(["-c", path], "%s:3" % path, ["unknown shell \"bogus\""], "shell = bogus")
    home_root = temp_dir("ftpd-homes-")
    passwd = write_passwd_file(os.path.join(temp_dir("ftpd-passwd-"), "passwd"),
                               [("alice", "secret", None)])
    path = config_file(["anonymous_root = " + root, "shell_dir = " + shells,
                        "passwd_file = " + passwd, "home_root = " + home_root,
                        "shell = failing", "shell_option = region=nowhere"])
    check_refused(["-c", path], "%s:5" % path, ["cannot create a shell on home_root",
                                                 home_root], "shell = failing")
    # An override is named as the place the shell was chosen.
    check_refused(["-c", path, "-o", "shell=wrong_abi"], "-o shell=wrong_abi",
                  ["ABI version"], "-o shell=wrong_abi")


def test_check_refuses_the_retired_shell_options():
    path = config_file(["shell_options = a=1"])
    check_refused(["-c", path], "%s:1" % path, ["shell_options", "shell_option = KEY=VALUE"],
                  "shell_options")


def test_check_accepts_a_good_module():
    shells = shell_dir()
    root = temp_dir("ftpd-root-")
    home_root = temp_dir("ftpd-homes-")
    passwd = write_passwd_file(os.path.join(temp_dir("ftpd-passwd-"), "passwd"),
                               [("alice", "secret", None)])
    path = config_file(["anonymous_root = " + root, "shell_dir = " + shells,
                        "anonymous_shell = hello", "anonymous_shell_option = greeting=hi",
                        "passwd_file = " + passwd, "home_root = " + home_root,
                        "shell = " + os.path.join(shells, "hello.so"),
                        "shell_option = greeting=hello", "shell_option = colour = blue"])
    result = run_ftpd(["-t", "-c", path])
    check_equal(result.returncode, 0, "ftpd -t with good modules (stderr %r)" % result.stderr)
    for line in ("anonymous_shell = hello", "anonymous_shell_option = greeting=hi",
                 "shell_option = greeting=hello", "shell_option = colour=blue",
                 "shell_dir = " + shells):
        check(line in result.stdout.splitlines(), "ftpd -t does not print %r: %r"
              % (line, result.stdout))
    # Without password logins the shell is loaded, not created, and -t says so.
    path = config_file(["anonymous_root = " + root, "shell_dir = " + shells,
                        "shell = hello"])
    result = run_ftpd(["-t", "-c", path])
    check_equal(result.returncode, 0, "ftpd -t with shell = hello (stderr %r)" % result.stderr)
    check("# shell hello: loaded; not created" in result.stdout,
          "ftpd -t does not say the shell was not created: %r" % result.stdout)


def ftp_client(server, user="anonymous", password="guest"):
    client = ftplib.FTP(timeout=10)
    client.connect("127.0.0.1", server.port)
    client.login(user, password)
    return client


def retrieve(client, name):
    data = io.BytesIO()
    client.retrbinary("RETR " + name, data.write)
    return data.getvalue()


def mapped_files(pid):
    """The files mapped into process pid (its shared objects among them)."""
    with open("/proc/%d/maps" % pid) as f:
        return {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    # The command name, in parentheses, may hold blanks: split after it.
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def test_guests_are_served_by_anonymous_shell():
    shells = shell_dir()
    root = temp_dir("ftpd-root-")
    write_file(os.path.join(root, "on-disk.txt"), "not served\n")
    with Server({"anonymous": "yes", "anonymous_root": root, "shell_dir": shells,
                 "anonymous_shell": "hello"},
                args=["-o", "anonymous_shell_option=greeting=Welcome, guest"]) as server:
        client = ftp_client(server)
        listing = []
        client.retrlines("LIST", listing.append)
        check_equal([line.split()[-1] for line in listing], ["hello.txt", "options.txt"],
                    "names LIST shows (%r)" % listing)
        check_equal(retrieve(client, "hello.txt"), b"Welcome, guest\n", "hello.txt")
        # The workers loaded the module; the monitor, which keeps root, never does.
        module = os.path.join(shells, "hello.so")
        check(module not in mapped_files(server.process.pid),
              "the monitor has %s mapped" % module)
        workers = children(server.process.pid)
        check(workers and all(module in mapped_files(pid) for pid in workers),
              "workers %r do not all have %s mapped" % (workers, module))
        check_equal(retrieve(client, "options.txt"), b"greeting=Welcome, guest",
                    "the options the module was given")
        try:
            client.storbinary("STOR new.txt", io.BytesIO(b"upload"))
            check(False, "STOR by a guest succeeded")
        except ftplib.error_perm as error:
            check(str(error)[:3] in ("550", "553"), "STOR by a guest: %s" % error)
        try:
            retrieve(client, "on-disk.txt")
            check(False, "the guest got a file from anonymous_root's disk")
        except ftplib.error_perm as error:
            check(str(error).startswith("550"), "RETR on-disk.txt: %s" % error)
        client.quit()


def test_password_users_get_shell_with_its_options():
    shells = shell_dir()
    home_root = temp_dir("ftpd-homes-")
    os.makedirs(os.path.join(home_root, "alice"))
    passwd = write_passwd_file(os.path.join(temp_dir("ftpd-passwd-"), "passwd"),
                               [("alice", "secret", None)])
    options = {"anonymous": "no", "passwd_file": passwd, "home_root": home_root,
               "shell_dir": shells, "shell": "hello"}
    # shell_option is repeatable: the dict of options cannot hold both lines.
    with Server(options, args=["-o", "shell_option=greeting=Hi alice",
                               "-o", "shell_option=colour = blue"]) as server:
        client = ftp_client(server, "alice", "secret")
        check_equal(retrieve(client, "hello.txt"), b"Hi alice\n", "hello.txt")
        check_equal(retrieve(client, "options.txt"), b"greeting=Hi alice\ncolour=blue",
                    "the shell_option lines as the module got them")
        # A password user could write, but this shell refuses every change:
        # MLSD promises only what the shell answered (perm facts of its own).
        facts = dict((name, entry["perm"]) for name, entry in client.mlsd("", ["perm"]))
        check_equal(facts, {"hello.txt": "r", "options.txt": "r"}, "MLSD perm facts")
        mlst = client.sendcmd("MLST /").splitlines()[1]
        check("perm=el;" in mlst, "MLST / of the read-only shell: %r" % mlst)
        try:
            client.storbinary("STOR new.txt", io.BytesIO(b"upload"))
            check(False, "STOR into the read-only module succeeded")
        except ftplib.error_perm as error:
            check(str(error)[:3] in ("550", "553"), "STOR: %s" % error)
        client.quit()


def test_installed_pkg_config_builds_a_module():
    """`make install` puts ftpd-shell.pc beside shell.h: pkg-config's flags alone
    build a module that the installed ftpd loads."""
    if shutil.which("pkg-config") is None:
        skip("pkg-config is not installed")
    destination = temp_dir("ftpd-install-")
    make_install(destination)
    pkgconfig = os.path.join(destination, "usr", "lib", "pkgconfig")
    check(os.path.exists(os.path.join(pkgconfig, "ftpd-shell.pc")),
          "make install did not install usr/lib/pkgconfig/ftpd-shell.pc")
    environment = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=destination,
                       PKG_CONFIG_LIBDIR=pkgconfig, PKG_CONFIG_PATH=pkgconfig,
                       # The header is in (DESTDIR's) /usr/include: keep that -I too.
                       PKG_CONFIG_ALLOW_SYSTEM_CFLAGS="1")

    def pkg_config(*arguments):
        result = subprocess.run(["pkg-config"] + list(arguments) + ["ftpd-shell"],
                                capture_output=True, text=True, env=environment, timeout=30)
        check_equal(result.returncode, 0, "pkg-config %s (stderr %r)"
                    % (" ".join(arguments), result.stderr))
        return result.stdout.strip()

    cflags = pkg_config("--cflags").split()
    check_equal(cflags, ["-I" + os.path.join(destination, "usr", "include")],
                "pkg-config --cflags ftpd-shell")
    check(pkg_config("--variable=shelldir").endswith("/usr/lib/ftpd/shells"),
          "shelldir of ftpd-shell.pc: %r" % pkg_config("--variable=shelldir"))
    version = subprocess.run([ftpd_binary(destination), "-V"], capture_output=True,
                             text=True, timeout=10).stdout.split()
    check_equal(pkg_config("--modversion"), version[-1], "ftpd-shell.pc's Version")
    # Only the installed header: a copy of the source outside the tree.
    source = shutil.copy(os.path.join(MODULE_SOURCES, "hello.c"), temp_dir("ftpd-module-"))
    module = compile_module(source, os.path.join(os.path.dirname(source), "hello.so"), cflags)
    root = temp_dir("ftpd-root-")
    result = run_ftpd(["-t", "-c", "/dev/null", "-o", "anonymous_root=" + root,
                       "-o", "anonymous_shell=" + module])
    check_equal(result.returncode, 0, "ftpd -t with the module built through pkg-config "
                "(stderr %r)" % result.stderr)

    uninstall = subprocess.run(["make", "-C", SOURCE_ROOT, "--no-print-directory", "uninstall",
                                "DESTDIR=" + destination, "prefix=/usr"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=120)
    check_equal(uninstall.returncode, 0, "make uninstall (stderr %r)" % uninstall.stderr)
    check(not os.path.exists(os.path.join(pkgconfig, "ftpd-shell.pc")),
          "make uninstall left ftpd-shell.pc")


def ftpd_binary(destination):
    return os.path.join(destination, "usr", "sbin", "ftpd")
