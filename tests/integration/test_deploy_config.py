"""test_deploy_config: what an administrator meets before the server runs: config
errors that name the file and line, `ftpd -t`, -o overrides, and `make install`."""

import os
import re
import shutil
import subprocess

from harness import (check, check_equal, ftpd_path, run_ftpd, shared_temp_dir, skip, temp_dir,
                     write_file)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# Keys this part of the server is about; -t must print them whatever else it prints.
DEPLOYMENT_KEYS = ("listen", "banner", "anonymous", "anonymous_root", "user", "chroot",
                   "log", "xferlog", "pid_file", "shutdown_grace")


def config_file(lines):
    """A config file with lines (and an anonymous_root that exists)."""
    root = temp_dir("ftpd-conf-root-")
    path = os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf")
    write_file(path, "".join(line.replace("ROOT", root) + "\n" for line in lines))
    return path


def printed_settings(text):
    """key -> list of values of the "key = value" lines of `ftpd -t` output."""
    settings = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.match(r"^([a-z_0-9]+) = (.*)$", line)
        check(match is not None, "ftpd -t printed a line that is not key = value: %r" % line)
        settings.setdefault(match.group(1), []).append(match.group(2))
    return settings


def documented_keys():
    """The keys ftpd.conf(5) documents (.It Ic NAME), or None without the page."""
    page = os.path.join(SOURCE_ROOT, "man", "ftpd.conf.5")
    if not os.path.exists(page):
        return None
    with open(page) as f:
        return set(re.findall(r"^\.It Ic ([a-z_0-9]+)", f.read(), re.M))


# (what is wrong, the file's lines, the bad line's number, words the message has)
CONFIG_ERRORS = [
    ("unknown key", ["# test config", "anonymous_root = ROOT", "", "no_such_key = 1",
                     "banner = fine"], 4, "unknown key"),
    ("bad number", ["anonymous_root = ROOT", "max_clients = lots"], 2, "max_clients"),
    ("bad boolean", ["anonymous = maybe", "anonymous_root = ROOT"], 1, "anonymous"),
    ("missing '='", ["anonymous_root = ROOT", "banner = fine", "", "idle_timeout 30"], 4,
     "missing '='"),
    ("bad listen", ["anonymous_root = ROOT", "listen = 127.0.0.1:99999"], 2, "listen"),
]


def test_config_errors_name_file_and_line():
    for what, lines, line_number, words in CONFIG_ERRORS:
        path = config_file(lines)
        result = run_ftpd(["-t", "-c", path, "-o", "user=none"])
        check_equal(result.returncode, 1, "ftpd -t exit status with a %s (stderr %r)"
                    % (what, result.stderr))
        where = "%s:%d" % (path, line_number)
        check(where in result.stderr, "%s: stderr does not name %s: %r"
              % (what, where, result.stderr))
        check(words in result.stderr, "%s: stderr does not say %r: %r"
              % (what, words, result.stderr))
        check_equal(result.stdout, "", "%s: ftpd -t stdout" % what)


def test_include_applies_other_files_and_names_their_lines():
    """include = FILE reads another file where it stands (relative to the
    including file); an error in it names that file and its line."""
    path = config_file(["anonymous_root = ROOT", "banner = from main", "include = extra.conf",
                        "idle_timeout = 77"])
    extra = os.path.join(os.path.dirname(path), "extra.conf")
    write_file(extra, "banner = from extra\nmax_clients = 9\n")
    result = run_ftpd(["-t", "-c", path])
    check_equal(result.returncode, 0, "ftpd -t with an include (stderr %r)" % result.stderr)
    settings = printed_settings(result.stdout)
    check_equal((settings["banner"], settings["max_clients"], settings["idle_timeout"]),
                (["from extra"], ["9"], ["77"]), "banner, max_clients, idle_timeout")
    write_file(extra, "# extra\nmax_clients = many\n")
    result = run_ftpd(["-t", "-c", path])
    check_equal(result.returncode, 1, "ftpd -t with an error in the included file")
    check("%s:2" % extra in result.stderr and "max_clients" in result.stderr,
          "stderr does not name %s:2: %r" % (extra, result.stderr))


def test_config_error_stops_a_real_start_too():
    """Without -t, the same error ends ftpd at once, before it listens."""
    path = config_file(["anonymous_root = ROOT", "no_such_key = 1"])
    result = run_ftpd(["-f", "-c", path, "-o", "user=none", "-o", "listen=127.0.0.1:1"])
    check_equal(result.returncode, 1, "ftpd -f exit status with an unknown key")
    check("%s:2" % path in result.stderr, "stderr does not name %s:2: %r"
          % (path, result.stderr))


def test_check_prints_every_key_and_exits_0():
    path = config_file(["anonymous_root = ROOT", "banner = Hello there", "max_clients = 7"])
    result = run_ftpd(["-t", "-c", path])
    check_equal(result.returncode, 0, "ftpd -t exit status (stderr %r)" % result.stderr)
    settings = printed_settings(result.stdout)
    for key in DEPLOYMENT_KEYS:
        check(key in settings, "ftpd -t does not print %s: %r" % (key, result.stdout))
    check_equal(settings["banner"], ["Hello there"], "banner printed by -t")
    check_equal(settings["max_clients"], ["7"], "max_clients printed by -t")
    documented = documented_keys()
    if documented is not None:
        check_equal(sorted(set(settings) - documented), [], "keys -t prints that ftpd.conf(5) "
                    "does not document")
        check_equal(sorted(documented - set(settings)), [], "keys ftpd.conf(5) documents that "
                    "-t does not print")


def test_check_output_reads_back_as_the_same_config():
    """What -t prints is a config file that means the same thing."""
    path = config_file(["anonymous_root = ROOT", "banner = \"  spaced  \"",
                        "listen = 127.0.0.1:2121", "listen = [::1]:2121",
                        "pasv_ports = 40000-40100", "xferlog = /var/log/xferlog"])
    first = run_ftpd(["-t", "-c", path])
    check_equal(first.returncode, 0, "ftpd -t exit status (stderr %r)" % first.stderr)
    printed = write_file(os.path.join(temp_dir(), "printed.conf"), first.stdout)
    second = run_ftpd(["-t", "-c", printed])
    check_equal(second.returncode, 0, "ftpd -t of its own output (stderr %r)" % second.stderr)
    check_equal(second.stdout, first.stdout, "ftpd -t output read back and printed again")
    settings = printed_settings(first.stdout)
    check_equal(settings["listen"], ["127.0.0.1:2121", "[::1]:2121"], "listen printed by -t")
    check_equal(settings["banner"], ['"  spaced  "'], "banner with blanks at its ends")


def test_override_beats_file():
    path = config_file(["anonymous_root = ROOT", "banner = from the file", "max_clients = 7",
                        "idle_timeout = 99"])
    result = run_ftpd(["-t", "-c", path, "-o", "banner=from -o", "-o", "idle_timeout=5",
                       "-o", "listen=127.0.0.1:2999"])
    check_equal(result.returncode, 0, "ftpd -t exit status (stderr %r)" % result.stderr)
    settings = printed_settings(result.stdout)
    check_equal(settings["banner"], ["from -o"], "banner set in the file and by -o")
    check_equal(settings["idle_timeout"], ["5"], "idle_timeout set in the file and by -o")
    check_equal(settings["max_clients"], ["7"], "max_clients set only in the file")
    check_equal(settings["listen"], ["127.0.0.1:2999"], "listen set by -o")


def test_bad_override_names_the_option():
    path = config_file(["anonymous_root = ROOT"])
    result = run_ftpd(["-t", "-c", path, "-o", "idle_timeout=never"])
    check_equal(result.returncode, 1, "ftpd -t exit status with a bad -o")
    check("idle_timeout" in result.stderr and "-o" in result.stderr,
          "stderr does not name the -o option: %r" % result.stderr)


def test_missing_anonymous_root_is_an_error():
    missing = os.path.join(temp_dir(), "no-such-directory")
    path = config_file(["anonymous = yes", "anonymous_root = %s" % missing])
    for arguments in (["-t"], ["-f", "-o", "listen=127.0.0.1:1"]):
        result = run_ftpd(arguments + ["-c", path, "-o", "user=none"])
        check_equal(result.returncode, 1, "ftpd %s exit status without anonymous_root (stderr %r)"
                    % (arguments[0], result.stderr))
        check("anonymous_root" in result.stderr and missing in result.stderr,
              "stderr does not name anonymous_root %s: %r" % (missing, result.stderr))


def test_missing_config_file_is_an_error():
    missing = os.path.join(temp_dir(), "absent.conf")
    result = run_ftpd(["-t", "-c", missing])
    check_equal(result.returncode, 1, "ftpd -t exit status with a missing -c file")
    check(missing in result.stderr, "stderr does not name %s: %r" % (missing, result.stderr))


def make_install(destination):
    """make install DESTDIR=destination prefix=/usr with the ftpd under test, which
    make is told not to rebuild (other work may be in progress in the tree)."""
    if shutil.which("make") is None:
        skip("make is not installed")
    if not os.path.exists(os.path.join(SOURCE_ROOT, "config.mk")):
        skip("the source tree is not configured (no config.mk)")
    binary = ftpd_path()
    result = subprocess.run(["make", "-C", SOURCE_ROOT, "--no-print-directory", "install",
                             "DESTDIR=" + destination, "prefix=/usr", "FTPD=" + binary,
                             "-o", binary], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=120)
    check_equal(result.returncode, 0, "make install exit status (stderr %r)"
                % result.stderr[-2000:])


def installed_files(destination):
    found = set()
    for directory, _dirs, files in os.walk(destination):
        for name in files:
            found.add(os.path.relpath(os.path.join(directory, name), destination))
    return found


def test_make_install_layout():
    destination = temp_dir("ftpd-install-")
    make_install(destination)
    files = installed_files(destination)
    expected = ["usr/sbin/ftpd", "usr/include/ftpd/shell.h",
                "usr/lib/systemd/system/ftpd.service", "usr/lib/systemd/system/ftpd.socket",
                "etc/pam.d/ftpd", "etc/logrotate.d/ftpd"]
    pages = sorted(name for name in os.listdir(os.path.join(SOURCE_ROOT, "man"))
                   if re.search(r"\.[1-9]$", name)) if os.path.isdir(
                       os.path.join(SOURCE_ROOT, "man")) else []
    check(pages, "no man pages in man/")
    # The gateway's page comes with the gateway, where libsmbclient let it be built.
    expected += ["usr/share/man/man%s/%s" % (page[-1], page) for page in pages
                 if page != "ftpd-smb.8"]
    for path in expected:
        check(path in files, "make install did not install %s (installed: %s)"
              % (path, sorted(files)))
    check_equal("usr/share/man/man8/ftpd-smb.8" in files,
                "usr/lib/ftpd/shells/smb.so" in files, "ftpd-smb.8 installed with smb.so")
    examples = [path for path in files if path.endswith("etc/ftpd.conf.example")]
    check_equal(len(examples), 1, "installed ftpd.conf.example files")
    sbin = os.path.join(destination, "usr", "sbin", "ftpd")
    check(os.access(sbin, os.X_OK), "installed ftpd is not executable")
    with open(sbin, "rb") as installed, open(ftpd_path(), "rb") as built:
        check(installed.read() == built.read(), "installed ftpd differs from %s" % ftpd_path())
    version = subprocess.run([sbin, "-V"], capture_output=True, text=True, timeout=10)
    check(version.returncode == 0 and version.stdout.startswith("ftpd "),
          "installed ftpd -V: %r" % version.stdout)

    # Installed files name the installed paths, not the /usr/local defaults.
    service = open(os.path.join(destination, "usr/lib/systemd/system/ftpd.service")).read()
    check("ExecStart=/usr/sbin/ftpd " in service, "ftpd.service ExecStart: %r"
          % [line for line in service.splitlines() if "ExecStart" in line])
    for path in documents(files):
        with open(os.path.join(destination, path), errors="replace") as f:
            text = f.read()
        for default in ("/usr/local/sbin", "/usr/local/etc"):
            check(default not in text, "installed %s still names %s" % (path, default))

    # The example config is one `ftpd -t` accepts (with a root that exists here and
    # that its workers, running as nobody, can read).
    example = os.path.join(destination, examples[0])
    share = shared_temp_dir("ftpd-share-")
    result = subprocess.run([sbin, "-t", "-c", example, "-o", "anonymous_root=" + share,
                             "-o", "user=nobody"],
                            capture_output=True, text=True, timeout=10)
    check_equal(result.returncode, 0, "ftpd -t of the installed example (stderr %r)"
                % result.stderr)


def documents(files):
    """The installed files that name paths: man pages, units, the example config."""
    return sorted(path for path in files if path.startswith("usr/share/man/") or
                  path.endswith((".service", ".socket", ".example")))


def test_installed_pages_name_the_installed_include_dir():
    """ftpd-shell(3) tells module authors where shell.h is: it must be where make
    install put it (-I/usr/include with prefix=/usr)."""
    destination = temp_dir("ftpd-install-")
    make_install(destination)
    check(os.path.exists(os.path.join(destination, "usr/include/ftpd/shell.h")),
          "shell.h is not in usr/include/ftpd")
    for path in documents(installed_files(destination)):
        with open(os.path.join(destination, path), errors="replace") as f:
            lines = [line for line in f.read().splitlines() if "/usr/local/include" in line]
        check_equal(lines, [], "lines of installed %s naming /usr/local/include" % path)


def test_man_pages_lint_clean():
    """mandoc -T lint: no warnings or errors. Style notes are left out: whether
    ftpd(8) and the others are "referenced manual not found" depends on the
    host's man database, not on the pages."""
    man = os.path.join(SOURCE_ROOT, "man")
    pages = sorted(os.path.join(man, name) for name in os.listdir(man)
                   if re.search(r"\.[1-9]$", name)) if os.path.isdir(man) else []
    if not pages:
        skip("no man pages in man/ yet")
    if shutil.which("mandoc") is None:
        installed = subprocess.run(["apt-get", "install", "-y", "mandoc"], capture_output=True,
                                   timeout=300) if shutil.which("apt-get") else None
        if installed is None or installed.returncode != 0 or shutil.which("mandoc") is None:
            skip("mandoc is not installed and cannot be installed")
    destination = temp_dir("ftpd-install-")
    make_install(destination)
    installed = [os.path.join(destination, "usr/share/man/man%s" % page[-1],
                              os.path.basename(page)) for page in pages]
    for group in (pages, installed):
        result = subprocess.run(["mandoc", "-T", "lint", "-W", "warning"] + group,
                                capture_output=True, text=True, timeout=30)
        # mandoc also complains about the host's own outdated mandoc.db on stderr.
        findings = [line for line in (result.stdout + result.stderr).splitlines()
                    if "mandoc.db" not in line and line.strip()]
        check_equal(findings, [], "mandoc -T lint -W warning of %s" % " ".join(group))
