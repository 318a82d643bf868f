"""test_smb_gateway: the smb shell module (shells/smb) in front of a real smbd.
Each test starts smbd as root on a free loopback port with a temporary
smb.conf (every directory it writes in a temporary one), a share and a Samba
user made with `smbpasswd -a -s` over a system account of its own, then ftpd
with shell = smb. Clients are ftplib and lftp; smbclient's own transfers of
the same 100 MiB file are printed beside the gateway's for comparison."""

import errno
import ftplib
import hashlib
import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

from harness import (Server, at_finish, check, check_equal, run_ftpd, shared_temp_dir, skip,
                     temp_dir, wait_for_listening, wait_until, write_file, write_passwd_file)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PASSWORD = "Smb-pass-42"
BIG = 100 * 1024 * 1024
LFTP_SETTINGS = ("set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "
                 "set xfer:clobber yes; ")
_accounts = 0


# --- smb.so ---

def smb_module_dir():
    """A shell_dir holding smb.so: the one make built beside ftpd, or one built
    here from shells/smb with cc and pkg-config."""
    ftpd = os.environ.get("FTPD") or os.path.join(SOURCE_ROOT, "build", "default", "ftpd")
    built = os.path.join(os.path.dirname(os.path.abspath(ftpd)), "shells", "smb.so")
    directory = shared_temp_dir("ftpd-smb-shells-")
    target = os.path.join(directory, "smb.so")
    if os.path.exists(built):
        shutil.copyfile(built, target)
        return directory
    if shutil.which("cc") is None or shutil.which("pkg-config") is None:
        skip("smb.so is not built and there is no cc or pkg-config to build it")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "smbclient"],
                           capture_output=True, text=True)
    if flags.returncode != 0:
        skip("libsmbclient is not installed (Debian package libsmbclient-dev)")
    sources = sorted(os.path.join(SOURCE_ROOT, "shells", "smb", name)
                     for name in os.listdir(os.path.join(SOURCE_ROOT, "shells", "smb"))
                     if name.endswith(".c"))
    result = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                             "-shared", "-fPIC", "-fvisibility=hidden",
                             "-I", os.path.join(SOURCE_ROOT, "include")] + sources +
                            ["-o", target] + flags.stdout.split() + ["-lpthread"],
                            capture_output=True, text=True, timeout=120)
    check_equal(result.returncode, 0, "cc of smb.so (stderr %r)" % result.stderr)
    return directory


# --- smbd ---

def need_samba():
    if os.geteuid() != 0:
        skip("smbd and its test account need root")
    for tool in ("smbd", "smbpasswd", "useradd", "userdel"):
        if shutil.which(tool) is None:
            skip("%s is not installed (Debian packages samba, passwd)" % tool)


def create_account():
    """A system account for the Samba user: (name, pwd entry). Removed at the end."""
    global _accounts
    _accounts += 1
    name = "ftpsmb%d%d" % (os.getpid() % 100000, _accounts)
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                             "--shell", "/usr/sbin/nologin", name],
                            capture_output=True, text=True)
    if result.returncode != 0:
        skip("useradd failed: %s" % result.stderr.strip())
    at_finish(lambda: subprocess.run(["userdel", name], capture_output=True))
    return name, pwd.getpwnam(name)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Samba:
    """smbd on 127.0.0.1:port serving share "data" (the directory share) to
    one user, with everything it writes under a temporary directory."""

    def __init__(self, account=None):
        need_samba()
        self.user, self.entry = account or create_account()
        self.base = shared_temp_dir("ftpd-smbd-")
        self.share = os.path.join(self.base, "share")
        os.makedirs(self.share)
        os.chown(self.share, self.entry.pw_uid, self.entry.pw_gid)
        for name in ("private", "lock", "state", "cache", "pid", "ncalrpc", "log", "binddns"):
            os.makedirs(os.path.join(self.base, name))
        self.port = free_port()
        self.config = os.path.join(self.base, "smb.conf")
        self.write_config()
        result = subprocess.run(["smbpasswd", "-c", self.config, "-a", "-s", self.user],
                                input="%s\n%s\n" % (PASSWORD, PASSWORD), text=True,
                                capture_output=True, timeout=30)
        check_equal(result.returncode, 0, "smbpasswd -a (stderr %r)" % result.stderr)
        self.process = None
        self.log = None
        self.start()
        at_finish(self.stop)

    def write_config(self):
        directory = lambda name: os.path.join(self.base, name)
        write_file(self.config, "".join(line + "\n" for line in [
            "[global]",
            "server role = standalone server",
            "smb ports = %d" % self.port,
            "interfaces = 127.0.0.1",
            "bind interfaces only = yes",
            "disable netbios = yes",
            "private dir = " + directory("private"),
            "lock directory = " + directory("lock"),
            "state directory = " + directory("state"),
            "cache directory = " + directory("cache"),
            "pid directory = " + directory("pid"),
            "ncalrpc dir = " + directory("ncalrpc"),
            "binddns dir = " + directory("binddns"),
            "log file = " + os.path.join(directory("log"), "log.%m"),
            "passdb backend = tdbsam:" + os.path.join(directory("private"), "passdb.tdb"),
            "map to guest = never",
            "load printers = no",
            "printing = bsd",
            "printcap name = /dev/null",
            "disable spoolss = yes",
            "usershare path =",
            "[data]",
            "path = " + self.share,
            "read only = no",
            "valid users = " + self.user,
        ]))

    def start(self):
        self.log = open(os.path.join(self.base, "log", "smbd.out"), "ab")
        # A session of its own: stop() ends smbd and every child it forked.
        self.process = subprocess.Popen(["smbd", "--foreground", "--no-process-group",
                                         "--configfile=" + self.config],
                                        stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=self.log, start_new_session=True)
        wait_for_listening(self.port, self.process)

    def stop(self):
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Children serving connections go with the group; make sure.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process = None
        self.log.close()

    def url(self, subdir=""):
        return "smb://127.0.0.1:%d/data%s" % (self.port, subdir)

    def put_file(self, relative, data):
        """A file in the share, owned by the Samba user as if it had written it."""
        path = write_file(os.path.join(self.share, relative), data)
        directory = os.path.dirname(path)
        while directory.startswith(self.share):
            os.chown(directory, self.entry.pw_uid, self.entry.pw_gid)
            directory = os.path.dirname(directory)
        os.chown(path, self.entry.pw_uid, self.entry.pw_gid)
        return path

    def smbclient(self, command, directory):
        if shutil.which("smbclient") is None:
            return None
        started = time.monotonic()
        result = subprocess.run(["smbclient", "-p", str(self.port), "//127.0.0.1/data",
                                 "-U", "%s%%%s" % (self.user, PASSWORD), "-c", command],
                                cwd=directory, capture_output=True, text=True, timeout=120)
        check_equal(result.returncode, 0, "smbclient %r (stderr %r)" % (command, result.stderr))
        return time.monotonic() - started


# --- ftpd ---

_login_shell = None


def login_shell_supported():
    """Whether this ftpd knows "login = shell" (the module checks passwords)."""
    global _login_shell
    if _login_shell is None:
        result = run_ftpd(["-t", "-c", "/dev/null", "-o", "login=shell",
                           "-o", "anonymous_root=" + temp_dir("ftpd-root-")])
        _login_shell = "unknown key" not in result.stderr
    return _login_shell


def suppress_libsmbclient_leak():
    """libsmbclient allocates its log file's name once per process (with talloc,
    from smbc_new_context) and never frees it: in sanitizer builds the workers'
    leak check would count it. Only libsmbclient uses talloc in ftpd."""
    path = os.path.join(temp_dir("ftpd-lsan-"), "libsmbclient.supp")
    write_file(path, "leak:libtalloc.so\n")
    existing = os.environ.get("LSAN_OPTIONS")
    os.environ["LSAN_OPTIONS"] = (existing + ":" if existing else "") + "suppressions=" + path


def gateway(samba, options=None, args=(), fixed=False):
    """ftpd serving samba's share through smb.so: with login = shell when
    ftpd has it and fixed is false, else with fixed credentials for a
    passwd_file user of the same name and password."""
    opts = {"anonymous": "no", "shell_dir": smb_module_dir(), "shell": "smb"}
    arguments = ["-o", "shell_option=url=" + samba.url(), "-o", "shell_option=timeout=5"]
    if login_shell_supported() and not fixed:
        opts["login"] = "shell"
    else:
        base = shared_temp_dir("ftpd-users-")
        os.makedirs(os.path.join(base, "homes", samba.user))
        opts["passwd_file"] = write_passwd_file(os.path.join(base, "passwd"),
                                                [(samba.user, PASSWORD, None)])
        opts["home_root"] = os.path.join(base, "homes")
        arguments += ["-o", "shell_option=user=" + samba.user,
                      "-o", "shell_option=password=" + PASSWORD]
    opts.update(options or {})
    suppress_libsmbclient_leak()
    return Server(opts, args=arguments + list(args))


def client(server, user, password=PASSWORD):
    ftp = ftplib.FTP(timeout=30)
    ftp.connect("127.0.0.1", server.port)
    ftp.login(user, password)
    ftp.voidcmd("TYPE I")	# SIZE in ASCII mode counts line ends twice
    return ftp


def retrieve(ftp, name, rest=None):
    data = io.BytesIO()
    ftp.retrbinary("RETR " + name, data.write, rest=rest)
    return data.getvalue()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_path(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expect_error(function, code, what):
    try:
        function()
    except ftplib.Error as error:
        check(str(error).startswith(code), "%s: %s, expected %s" % (what, error, code))
        return str(error)
    check(False, "%s succeeded, expected %s" % (what, code))


# --- Tests ---

def test_check_validates_options_without_connecting():
    """ftpd -t loads smb.so and creates a shell with host NULL: options are
    checked, nothing connects (the url names a port nothing listens on)."""
    shells = smb_module_dir()
    root = temp_dir("ftpd-root-")
    base = ["-t", "-c", "/dev/null", "-o", "anonymous_root=" + root, "-o", "shell_dir=" + shells,
            "-o", "anonymous_shell=smb"]
    nobody = "smb://127.0.0.1:%d/data" % free_port()
    result = run_ftpd(base + ["-o", "anonymous_shell_option=url=" + nobody,
                              "-o", "anonymous_shell_option=user=guest"])
    check_equal(result.returncode, 0, "ftpd -t with a good url (stderr %r)" % result.stderr)
    for bad in (["url=ftp://host/share"], ["url=smb://host"], ["url=smb://host/share", "colour=1"],
                ["url=smb://host/share", "password=x"], ["url=smb://host:0/share"],
                ["user=a"]):
        arguments = []
        for option in bad:
            arguments += ["-o", "anonymous_shell_option=" + option]
        result = run_ftpd(base + arguments)
        check_equal(result.returncode, 1, "ftpd -t with options %r (stderr %r)"
                    % (bad, result.stderr))
    if login_shell_supported():
        # smb.so has authenticate: -t takes it for login = shell.
        result = run_ftpd(["-t", "-c", "/dev/null", "-o", "anonymous=no", "-o", "login=shell",
                           "-o", "shell_dir=" + shells, "-o", "shell=smb",
                           "-o", "shell_option=url=" + nobody])
        check_equal(result.returncode, 0, "ftpd -t with login = shell (stderr %r)"
                    % result.stderr)


def test_contract_suite_against_smbd():
    """The shell contract suite (tests/contract), built beside ftpd, drives
    smb.so through the ABI alone, with the share's directory as its tree."""
    ftpd = os.environ.get("FTPD") or os.path.join(SOURCE_ROOT, "build", "default", "ftpd")
    runner = os.environ.get("FTPD_CONTRACT_TESTS") or os.path.join(
        os.path.dirname(os.path.abspath(ftpd)), "contract-tests")
    if not os.access(runner, os.X_OK):
        skip("%s is not built" % runner)
    module = os.path.join(smb_module_dir(), "smb.so")
    samba = Samba()
    # In sanitizer builds LeakSanitizer's tracer crashes at the runner's exit,
    # reading a bogus dynamic TLS range of a worker thread once libsmbclient's
    # libraries are loaded (seen with GCC 12 and glibc 2.36). ftpd's workers,
    # which check for leaks before _exit, are checked by the other tests.
    environment = dict(os.environ, LSAN_OPTIONS="detect_leaks=0")
    result = subprocess.run([runner, "-t", samba.share, "-o", "url=" + samba.url(),
                             "-o", "user=" + samba.user, "-o", "password=" + PASSWORD, module],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=100, env=environment)
    check_equal(result.returncode, 0, "contract-tests on smb.so (stdout %r, stderr %r)"
                % (result.stdout[-2000:], result.stderr[-2000:]))
    check("Failures: 0, Errors: 0" in result.stdout, "contract-tests: %r" % result.stdout)


def test_list_retr_stor_and_sha256_both_ways():
    samba = Samba()
    small = os.urandom(300000)
    samba.put_file("hello.txt", b"hello over smb\n")
    samba.put_file("pub/data.bin", small)
    os.makedirs(os.path.join(samba.share, "pub", "empty"))
    with gateway(samba) as server:
        ftp = client(server, samba.user)
        names = sorted(ftp.nlst())
        check_equal(names, ["hello.txt", "pub"], "NLST of the share's root")
        lines = []
        ftp.retrlines("LIST pub", lines.append)
        by_name = {line.split()[-1]: line for line in lines}
        check_equal(sorted(by_name), ["data.bin", "empty"], "LIST pub (%r)" % lines)
        check(by_name["data.bin"].startswith("-rw-r--r--") and
              " 300000 " in by_name["data.bin"], "LIST line of a file: %r" % by_name["data.bin"])
        check(by_name["empty"].startswith("drwxr-xr-x"), "LIST line of a directory: %r"
              % by_name["empty"])
        facts = {name: f for name, f in ftp.mlsd("pub", ["type", "size", "perm"])}
        check_equal(facts["data.bin"].get("size"), "300000", "MLSD size")
        check_equal(facts["empty"].get("type"), "dir", "MLSD type of a directory")
        ftp.voidcmd("TYPE I")
        check_equal(ftp.size("pub/data.bin"), 300000, "SIZE")
        check_equal(sha256(retrieve(ftp, "pub/data.bin")), sha256(small), "sha256 of RETR")
        upload = os.urandom(2 * 1024 * 1024 + 4321)
        ftp.storbinary("STOR pub/up.bin", io.BytesIO(upload))
        check_equal(sha256_path(os.path.join(samba.share, "pub", "up.bin")), sha256(upload),
                    "sha256 on the SMB server's disk after STOR")
        check_equal(sha256(retrieve(ftp, "pub/up.bin")), sha256(upload),
                    "sha256 of the uploaded file read back")
        # No temporary upload is left behind.
        check_equal(sorted(os.listdir(os.path.join(samba.share, "pub"))),
                    ["data.bin", "empty", "up.bin"], "files in pub after STOR")
        # The DOS read-only attribute, set through smbclient: no write bits, and
        # MLSD promises reading only.
        if samba.smbclient("setmode pub/data.bin +r", temp_dir("ftpd-smbclient-")) is not None:
            lines = []
            ftp.retrlines("LIST pub", lines.append)
            line = [line for line in lines if line.endswith(" data.bin")][0]
            check(line.startswith("-r--r--r--"), "LIST of a read-only file: %r" % line)
            facts = {name: f for name, f in ftp.mlsd("pub", ["perm"])}
            check_equal(facts["data.bin"].get("perm"), "r", "MLSD perm of a read-only file")
            check("w" in facts["up.bin"].get("perm", ""), "MLSD perm of a writable file: %r"
                  % facts["up.bin"])
            expect_error(lambda: ftp.delete("pub/data.bin"), "550", "DELE of a read-only file")
            for command in ("STOR", "APPE"):
                expect_error(lambda: ftp.storbinary(command + " pub/data.bin", io.BytesIO(b"x")),
                             "550", command + " over a read-only file")
            check_equal(sha256(retrieve(ftp, "pub/data.bin")), sha256(small),
                        "the read-only file after the refusals")
        ftp.quit()


def test_100_mib_both_ways_and_throughput():
    """RETR and STOR of 100 MiB through the gateway, checked by sha256; the
    times are printed next to smbclient's own get and put of the same file."""
    samba = Samba()
    data = os.urandom(BIG)
    digest = sha256(data)
    samba.put_file("big.bin", data)
    figures = {}
    with gateway(samba) as server:
        ftp = client(server, samba.user)
        received = hashlib.sha256()
        count = [0]

        def sink(block):
            received.update(block)
            count[0] += len(block)

        started = time.monotonic()
        ftp.retrbinary("RETR big.bin", sink, blocksize=1 << 20)
        figures["gateway RETR"] = time.monotonic() - started
        check_equal(count[0], BIG, "bytes of RETR big.bin")
        check_equal(received.hexdigest(), digest, "sha256 of RETR big.bin")
        started = time.monotonic()
        ftp.storbinary("STOR big-up.bin", io.BytesIO(data), blocksize=1 << 20)
        figures["gateway STOR"] = time.monotonic() - started
        check_equal(sha256_path(os.path.join(samba.share, "big-up.bin")), digest,
                    "sha256 of STOR big-up.bin on the server's disk")
        ftp.quit()
    local = temp_dir("ftpd-smbclient-")
    elapsed = samba.smbclient("get big.bin", local)
    if elapsed is not None:
        figures["smbclient get"] = elapsed
        check_equal(sha256_path(os.path.join(local, "big.bin")), digest, "smbclient get")
        figures["smbclient put"] = samba.smbclient("put big.bin big-put.bin", local)
    print("\n    100 MiB over loopback: " + ", ".join(
        "%s %.2f s (%.0f MiB/s)" % (name, seconds, BIG / (1 << 20) / seconds)
        for name, seconds in figures.items()))


def test_rest_and_file_operations():
    samba = Samba()
    data = os.urandom(3 * 1024 * 1024 + 17)
    samba.put_file("file.bin", data)
    # A directory the Samba user may not write in: root's, mode 0755.
    locked = os.path.join(samba.share, "locked")
    os.makedirs(locked)
    write_file(os.path.join(locked, "root.txt"), b"root's\n")
    with gateway(samba) as server:
        ftp = client(server, samba.user)
        check_equal(retrieve(ftp, "file.bin", rest=1234567), data[1234567:], "RETR after REST")
        check_equal(retrieve(ftp, "file.bin", rest=len(data)), b"", "RETR after REST at the end")
        # REST + STOR writes in place from the offset; APPE appends.
        ftp.storbinary("STOR file.bin", io.BytesIO(b"PATCH"), rest=10)
        ftp.storbinary("APPE file.bin", io.BytesIO(b"TAIL"))
        expected = data[:10] + b"PATCH" + data[15:] + b"TAIL"
        with open(os.path.join(samba.share, "file.bin"), "rb") as f:
            check(f.read() == expected, "file.bin after REST+STOR and APPE")
        check(ftp.mkd("new dir").endswith("new dir"), "MKD")
        check(os.path.isdir(os.path.join(samba.share, "new dir")), "MKD made no directory")
        ftp.storbinary("STOR new dir/a%b.txt", io.BytesIO(b"percent"))
        check_equal([name.split("/")[-1] for name in ftp.nlst("new dir")], ["a%b.txt"],
                    "NLST of the new directory")
        ftp.rename("new dir/a%b.txt", "renamed.txt")
        check(os.path.exists(os.path.join(samba.share, "renamed.txt")), "RNFR/RNTO")
        expect_error(lambda: ftp.rmd("nothere"), "550", "RMD of a missing directory")
        ftp.rmd("new dir")
        check(not os.path.exists(os.path.join(samba.share, "new dir")), "RMD")
        expect_error(lambda: ftp.delete("locked"), "550", "DELE of a directory")
        ftp.delete("renamed.txt")
        check(not os.path.exists(os.path.join(samba.share, "renamed.txt")), "DELE")
        expect_error(lambda: ftp.delete("renamed.txt"), "550", "DELE of a missing file")
        expect_error(lambda: retrieve(ftp, "missing.bin"), "550", "RETR of a missing file")
        # The SMB server refuses: 550, and nothing changes.
        expect_error(lambda: ftp.storbinary("STOR locked/new.txt", io.BytesIO(b"x")), "550",
                     "STOR into a directory the SMB user may not write")
        expect_error(lambda: ftp.delete("locked/root.txt"), "550",
                     "DELE of a file the SMB user may not delete")
        expect_error(lambda: ftp.mkd("locked/sub"), "550", "MKD where the SMB user may not")
        check_equal(sorted(os.listdir(locked)), ["root.txt"], "locked/ after the refusals")
        # ABOR of a download closes the file with a read in flight; the session goes on.
        connection = ftp.transfercmd("RETR file.bin")
        check(len(connection.recv(4096)) > 0, "no data before ABOR")
        abort_reply = ftp.abort()
        connection.close()
        if abort_reply.startswith("426"):
            abort_reply = ftp.getresp()	# then the ABOR itself is answered
        check(abort_reply[:3] in ("225", "226"), "ABOR of RETR: %r" % abort_reply)
        check_equal(retrieve(ftp, "file.bin"), expected, "RETR after an aborted RETR")
        # ABOR of an upload over file.bin: the old file stays, no temporary is left.
        connection = ftp.transfercmd("STOR file.bin")
        connection.sendall(os.urandom(2 * 1024 * 1024))
        if ftp.abort().startswith("426"):
            ftp.getresp()
        connection.close()
        with open(os.path.join(samba.share, "file.bin"), "rb") as f:
            check(f.read() == expected, "file.bin changed by an aborted STOR")
        # abort() returns at once; the temporary goes a moment later, on a worker.
        wait_until(lambda: not [name for name in os.listdir(samba.share)
                                if name.startswith(".ftpd-upload")],
                   5, "the aborted upload's temporary file removed")
        # MFMT through utimes.
        reply = ftp.sendcmd("MFMT 20200102030405 file.bin")
        check(reply.startswith("213"), "MFMT: %r" % reply)
        check_equal(int(os.stat(os.path.join(samba.share, "file.bin")).st_mtime), 1577934245,
                    "mtime after MFMT")
        ftp.quit()


def test_unprivileged_workers_with_unwritable_home():
    """Workers running as nobody, with a HOME they cannot write (or read) and
    a TMPDIR of their own: libsmbclient's private smb.conf and directories go
    to TMPDIR/ftpd-smb-UID, mode 0700."""
    samba = Samba()
    samba.put_file("hello.txt", b"hello, nobody\n")
    tmp = shared_temp_dir("ftpd-worker-tmp-")
    os.chmod(tmp, 0o1777)
    os.environ["TMPDIR"] = tmp
    os.environ["HOME"] = "/nonexistent"
    nobody = pwd.getpwnam("nobody")
    with gateway(samba, {"user": "nobody"}) as server:
        ftp = client(server, samba.user)
        check_equal(retrieve(ftp, "hello.txt"), b"hello, nobody\n", "RETR as nobody")
        ftp.storbinary("STOR back.txt", io.BytesIO(b"from nobody\n"))
        ftp.quit()
    private = os.path.join(tmp, "ftpd-smb-%d" % nobody.pw_uid)
    info = os.lstat(private)
    check(info.st_uid == nobody.pw_uid and (info.st_mode & 0o777) == 0o700,
          "%s: owner %d, mode %o" % (private, info.st_uid, info.st_mode & 0o777))
    with open(os.path.join(private, "smb.conf")) as f:
        check("lock directory = " + private in f.read(), "the private smb.conf")
    with open(os.path.join(samba.share, "back.txt"), "rb") as f:
        check_equal(f.read(), b"from nobody\n", "STOR as nobody")


def test_concurrent_sessions_in_one_worker():
    """Six sessions in one worker process download and upload at once: their
    contexts share libsmbclient (entered by one thread at a time) and the
    worker threads; every byte arrives."""
    import threading

    samba = Samba()
    files = {"f%d.bin" % i: os.urandom(8 * 1024 * 1024 + i) for i in range(6)}
    for name, data in files.items():
        samba.put_file(name, data)
    errors = []

    def session(name, data):
        try:
            ftp = client(server, samba.user)
            for _round in range(2):
                check_equal(sha256(retrieve(ftp, name)), sha256(data), "RETR " + name)
                ftp.storbinary("STOR up-" + name, io.BytesIO(data))
            ftp.quit()
        except BaseException as error:  # reported below, in the test's thread
            errors.append("%s: %r" % (name, error))

    with gateway(samba, {"workers": "1"}) as server:
        threads = [threading.Thread(target=session, args=item) for item in files.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        check_equal(errors, [], "errors of the concurrent sessions")
    for name, data in files.items():
        check_equal(sha256_path(os.path.join(samba.share, "up-" + name)), sha256(data),
                    "sha256 of up-" + name)


def test_logins_checked_by_the_smb_server():
    """With login = shell the SMB server checks the password: a wrong one or
    an unknown user is 530, and the password never reaches the log; with
    smbd gone the login is 421. With fixed credentials ftpd checks its own
    passwd_file and the share is reached as the fixed user."""
    samba = Samba()
    samba.put_file("hello.txt", b"hi\n")
    if login_shell_supported():
        with gateway(samba) as server:
            check_equal(server.options.get("login"), "shell", "the server's login key")
            ftp = ftplib.FTP(timeout=30)
            ftp.connect("127.0.0.1", server.port)
            expect_error(lambda: ftp.login(samba.user, "not-" + PASSWORD), "530",
                         "wrong password")
            ftp.close()
            expect_error(lambda: client(server, "nosuchuser"), "530", "unknown user")
            ftp = client(server, samba.user)
            check_equal(ftp.nlst(), ["hello.txt"], "NLST after a login the SMB server checked")
            ftp.quit()
            samba.stop()
            # Not a wrong password: the store is gone (421), and the log says why.
            expect_error(lambda: client(server, samba.user), "421", "login with smbd gone")
            check("cannot check the password: " + os.strerror(errno.ECONNRESET)
                  in server.stderr_text(), "the log does not tell smbd was unreachable")
            samba.start()
            client(server, samba.user).quit()
            log = server.stderr_text()
            check(PASSWORD not in log, "the password is in ftpd's log")
        # A fixed user with login = shell: the FTP password would prove nothing.
        with gateway(samba, {"login": "shell"},
                     ["-o", "shell_option=user=" + samba.user]) as server:
            expect_error(lambda: client(server, samba.user), ("421", "530"),
                         "login = shell with a fixed user=")
            check("needs the url= option and no fixed user=" in server.stderr_text(),
                  "the log does not tell why login = shell refused everybody")
    else:
        print("login = shell is not in this ftpd: fixed credentials only")
    with gateway(samba, fixed=True) as server:
        ftp = ftplib.FTP(timeout=30)
        ftp.connect("127.0.0.1", server.port)
        expect_error(lambda: ftp.login(samba.user, "not-" + PASSWORD), "530",
                     "wrong password (passwd_file)")
        ftp.close()
        ftp = client(server, samba.user)
        check_equal(retrieve(ftp, "hello.txt"), b"hi\n", "RETR as the fixed user")
        ftp.quit()


def test_server_gone_ends_only_that_session():
    """Password users reach smbd A, guests smbd B, through one ftpd worker.
    A is stopped in the middle of a download: that session gets 421 and is
    closed; the guest session on B goes on; after A is back a new session works."""
    samba_a = Samba()
    samba_b = Samba()
    data = os.urandom(64 * 1024 * 1024)
    samba_a.put_file("big.bin", data)
    samba_b.put_file("guest.txt", b"for guests\n")
    options = {"workers": "1", "anonymous": "yes", "anonymous_shell": "smb",
               "anonymous_root": temp_dir("ftpd-anon-")}
    guest_options = ["-o", "anonymous_shell_option=url=" + samba_b.url(),
                     "-o", "anonymous_shell_option=user=" + samba_b.user,
                     "-o", "anonymous_shell_option=password=" + PASSWORD]
    with gateway(samba_a, options, guest_options) as server:
        guest = client(server, "anonymous", "guest@")
        check_equal(retrieve(guest, "guest.txt"), b"for guests\n", "guest RETR before")
        user = client(server, samba_a.user)
        user.voidcmd("TYPE I")
        connection = user.transfercmd("RETR big.bin")
        connection.settimeout(30)
        check(len(connection.recv(65536)) > 0, "no data before smbd A was stopped")
        samba_a.stop()
        # Drain what was read ahead; the transfer then fails.
        while True:
            try:
                if not connection.recv(1 << 20):
                    break
            except OSError:
                break
        connection.close()
        replies = []
        try:
            replies.append(user.getresp())
            replies.append(user.sendcmd("SIZE big.bin"))
        except ftplib.Error as error:
            replies.append(str(error))
        except (EOFError, OSError) as error:
            replies.append("closed: %r" % error)
        print("replies after smbd A stopped: %r" % replies)
        check(any(reply.startswith("421") for reply in replies),
              "replies to the session whose smbd went away: %r" % replies)
        try:
            user.sendcmd("NOOP")
            closed = False
        except (EOFError, OSError, ftplib.Error):
            closed = True
        check(closed, "the session stayed open after 421")
        user.close()
        # The guest session, on smbd B, is unaffected.
        check_equal(retrieve(guest, "guest.txt"), b"for guests\n", "guest RETR after")
        check_equal(guest.nlst(), ["guest.txt"], "guest NLST after")
        guest.quit()
        # smbd A back on its port: a new session works.
        samba_a.start()
        fresh = client(server, samba_a.user)
        check_equal(fresh.size("big.bin"), len(data), "SIZE in a fresh session")
        fresh.quit()


def lftp(script):
    if shutil.which("lftp") is None:
        skip("lftp is not installed")
    result = subprocess.run(["lftp", "-c", LFTP_SETTINGS + script], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=90)
    check_equal(result.returncode, 0, "lftp exit status (stdout %r, stderr %r)"
                % (result.stdout[-500:], result.stderr[-500:]))


def tree_of(root):
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def test_lftp_mirror_both_ways():
    samba = Samba()
    expected = {"top.txt": b"top\n", "a/one.bin": os.urandom(1500000),
                "a/b/two.txt": b"two\n" * 1000, "c/empty.txt": b""}
    for path, contents in expected.items():
        samba.put_file(path, contents)
    with gateway(samba) as server:
        url = "ftp://127.0.0.1:%d" % server.port
        target = os.path.join(temp_dir("ftpd-mirror-"), "copy")
        lftp("open -u %s,%s %s; mirror / %s" % (samba.user, PASSWORD, url, target))
        check_equal(tree_of(target), expected, "tree lftp mirrored from the share")
        source = temp_dir("ftpd-mirror-up-")
        uploaded = {"x.txt": b"x\n", "d/y.bin": os.urandom(2500000), "d/e/z.txt": b"z" * 10}
        for path, contents in uploaded.items():
            write_file(os.path.join(source, path), contents)
        lftp("open -u %s,%s %s; mirror -R %s /uploaded"
             % (samba.user, PASSWORD, url, source))
        check_equal(tree_of(os.path.join(samba.share, "uploaded")), uploaded,
                    "tree lftp mirror -R put on the share")


if __name__ == "__main__":
    # The runner shows a test's output only when it fails: run this file
    # directly (as root, FTPD set as for the runner) for the throughput figures.
    import sys

    import harness

    sys.dont_write_bytecode = True
    try:
        test_100_mib_both_ways_and_throughput()
    finally:
        for problem in harness.finish():
            print("cleanup: %s" % problem)
