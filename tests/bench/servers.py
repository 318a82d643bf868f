"""servers: the FTP servers the table benchmark (table.py) runs beside ftpd,
and the ftpload client that drives them all.

Every class is a bench.Server: started in its own process group on a free
loopback port, probed until it greets, stopped with SIGTERM; memory and CPU
are read over the server's process and all its descendants.

  Ftpd            ftpd as bench.py starts it, plus max_prelogin_per_ip = 0,
                  and as "ftpd-nosync" with upload_sync = no
  NamespacedVsftpd, PureFtpd
                  Debian's vsftpd and pure-ftpd, unpacked under build/bench/,
                  each run in a private mount namespace whose /etc has the
                  benchmark's passwd, shadow and PAM service laid over it: an
                  "ftp" account whose home is the anonymous root and a
                  "bench" account with the benchmark's SHA-512 crypt
                  password. Nothing on the machine changes.
  Pyftpdlib, Twisted
                  Debian's python3-pyftpdlib and python3-twisted through the
                  small scripts beside this file, one Python process each, run
                  as the unprivileged account.
  SendfileServer  sendfile_server.py: only USER, PASS, TYPE, PASV, EPSV, RETR
                  and QUIT, os.sendfile for RETR; the ceiling of RETR.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402  (bench.Server, bench.Layout, bench.Vsftpd ...)

HERE = os.path.dirname(os.path.abspath(__file__))
PURE_DIR = os.path.join(bench.REPO, "build", "bench", "pure-ftpd")
PURE_PACKAGES = ("pure-ftpd", "pure-ftpd-common")
# Debian's python3-pyftpdlib and python3-twisted live in Debian's Python,
# which need not be the python3 first on PATH.
DEBIAN_PYTHON = "/usr/bin/python3"
PAM_SERVICE = "ftpd-bench-vsftpd"
# The same login for every server's password user (bench.Layout writes its
# SHA-512 crypt hash into passwd_file).
USER = bench.USER_NAME
PASSWORD = bench.USER_PASSWORD


# ---------------------------------------------------------------- ftpload


def ftpload(binary, server, scenario, arguments, timeout=900):
    """Runs one ftpload scenario against server; its JSON result as a dict.
    An exit status other than 0, or any error counted, is a BenchError."""
    argv = [binary, "--host", "127.0.0.1", "--port", str(server.port)] + arguments + [scenario]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise bench.BenchError("%s: ftpload %s took more than %d s" % (
            server.label, scenario, timeout))
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise bench.BenchError("%s: ftpload %s failed (status %d): %s%s" % (
            server.label, scenario, result.returncode, result.stdout[-600:].strip(),
            result.stderr[-900:].strip()))
    outcome = json.loads(lines[-1])
    if outcome.get("errors", 0):
        raise bench.BenchError("%s: ftpload %s had %d errors: %s" % (
            server.label, scenario, outcome["errors"], result.stderr[-900:].strip()))
    return outcome


# ---------------------------------------------------------------- ftpd


class Ftpd(bench.Ftpd):
    """ftpd as bench.py starts it, with room for login bursts (a real server
    keeps max_prelogin_per_ip for strangers) and, as "ftpd-nosync", with
    upload_sync = no: 226 once an upload is in the page cache, as the peers
    answer."""

    def __init__(self, workdir, timeout, binary, layout, tls=None, sync=True, suffix=""):
        self.sync = sync
        self.name = "ftpd" if sync else "ftpd-nosync"
        super().__init__(workdir, timeout, binary, layout, tls, suffix)

    def command_line(self):
        argv = super().command_line() + ["-o", "max_prelogin_per_ip=0"]
        if not self.sync:
            argv += ["-o", "upload_sync=no"]
        return argv

    def upload_directory(self):
        """(ftpload --path, directory on disk) of the password user's uploads."""
        return "", os.path.join(self.layout.home_root, USER)


# ---------------------------------------------------------------- namespaces


class Accounts:
    """The account files a peer sees in its mount namespace: the machine's
    /etc with, laid over it (overlayfs, read-only), a passwd that has "ftp"
    (home: the anonymous root; ids: the unprivileged account's) and "bench"
    (home: HOMES/bench) put in, a shadow file that holds bench's hash only
    (nothing secret of the machine is copied), and a PAM service for vsftpd.
    An overlay on /etc rather than bind mounts on the files: a file that is
    a mount point elsewhere loses its mounts when it is replaced, as useradd
    replaces /etc/passwd, and other work on the machine may add users."""

    def __init__(self, directory, layout):
        account = pwd.getpwnam(layout.anonymous_user)
        self.etc = os.path.join(directory, "etc")
        os.makedirs(os.path.join(self.etc, "pam.d"), mode=0o755, exist_ok=True)
        os.chmod(directory, 0o755)
        os.chmod(self.etc, 0o755)
        with open("/etc/passwd") as f:
            lines = [line for line in f.read().splitlines()
                     if line.split(":")[0] not in ("ftp", USER)]
        lines.append("ftp:x:%d:%d:anonymous FTP:%s:/usr/sbin/nologin" % (
            account.pw_uid, account.pw_gid, layout.anonymous_root))
        lines.append("%s:x:%d:%d:benchmark user:%s:/bin/sh" % (
            USER, account.pw_uid, account.pw_gid, os.path.join(layout.home_root, USER)))
        passwd = os.path.join(self.etc, "passwd")
        with open(passwd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(passwd, 0o644)
        with open(layout.passwd_file) as f:
            password_hash = f.read().split(":")[1].strip()
        shadow = os.path.join(self.etc, "shadow")
        with open(shadow, "w") as f:
            f.write("%s:%s:19000:0:99999:7:::\n" % (USER, password_hash))
        os.chmod(shadow, 0o600)
        # vsftpd's password logins: PAM with pam_unix on that shadow entry,
        # the path Debian's vsftpd takes for a local user (without its
        # ftpusers and shells checks, which only read files).
        with open(os.path.join(self.etc, "pam.d", PAM_SERVICE), "w") as f:
            f.write("auth required pam_unix.so\naccount required pam_unix.so\n"
                    "session required pam_unix.so\n")

    def wrap(self, argv):
        """argv run in a private mount namespace with the overlay on /etc;
        sh execs the server, so its pid is the server's."""
        script = 'mount -t overlay overlay -o lowerdir="$1":/etc /etc && shift && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                script, "sh", self.etc] + argv


class NamespacedVsftpd(bench.Vsftpd):
    """bench.py's vsftpd, in a mount namespace with the benchmark's accounts:
    anonymous sessions as there, plus local_enable for the password user
    bench (PAM, pam_unix, $6$), whose home takes the uploads."""

    def __init__(self, workdir, timeout, binary, layout, extra_options, tls=None, suffix=""):
        label = "vsftpd" + ("-ftps" if tls is not None else "") + suffix
        self.accounts = Accounts(os.path.join(workdir, label + "-accounts"), layout)
        options = ["ftp_username=ftp", "local_enable=YES",
                   "pam_service_name=" + PAM_SERVICE] + list(extra_options)
        super().__init__(workdir, timeout, binary, layout, options, tls, suffix)

    def command_line(self):
        return self.accounts.wrap(super().command_line())

    def upload_directory(self):
        return "", os.path.join(self.layout.home_root, USER)


# ---------------------------------------------------------------- pure-ftpd


def ensure_pure_ftpd():
    """build/bench/pure-ftpd/usr/sbin/pure-ftpd, fetched and unpacked if missing."""
    binary = os.path.join(PURE_DIR, "usr", "sbin", "pure-ftpd")
    if os.access(binary, os.X_OK):
        return binary
    print("fetching Debian's pure-ftpd into %s" % PURE_DIR, flush=True)
    download = tempfile.mkdtemp(prefix="pure-ftpd-deb-")
    os.chmod(download, 0o777)
    try:
        result = subprocess.run(["apt-get", "download"] + list(PURE_PACKAGES), cwd=download,
                                capture_output=True, text=True)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
            result = subprocess.run(["apt-get", "download"] + list(PURE_PACKAGES),
                                    cwd=download, capture_output=True, text=True)
        if result.returncode != 0:
            raise bench.BenchError("apt-get download %s failed:\n%s" % (
                " ".join(PURE_PACKAGES), result.stderr))
        for name in os.listdir(download):
            if name.endswith(".deb"):
                subprocess.run(["dpkg", "-x", os.path.join(download, name), PURE_DIR],
                               check=True)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return binary


class PureFtpd(bench.Server):
    """pure-ftpd with anonymous sessions (the namespace's "ftp" account, whose
    home is the anonymous root) and one virtual user, bench, in a puredb
    whose hash is the same SHA-512 crypt hash as ftpd's passwd_file (pure-pw
    itself would write argon2id at seconds per login). bench's home is the
    anonymous root too; its uploads go to upload/. With tls: -Y 1 (TLS
    offered) and the benchmark's certificate."""
    name = "pure-ftpd"

    def __init__(self, workdir, timeout, binary, layout, tls=None, suffix=""):
        self.binary = binary
        self.layout = layout
        super().__init__(workdir, timeout, tls, suffix)
        self.accounts = Accounts(os.path.join(workdir, self.label + "-accounts"), layout)
        account = pwd.getpwnam(layout.anonymous_user)
        pure_pw = os.path.join(os.path.dirname(os.path.dirname(binary)), "bin", "pure-pw")
        self.passwd = os.path.join(workdir, self.label + ".passwd")
        self.database = os.path.join(workdir, self.label + ".pdb")
        if os.path.exists(self.passwd):
            os.unlink(self.passwd)
        subprocess.run([pure_pw, "useradd", USER, "-u", str(account.pw_uid),
                        "-g", str(account.pw_gid), "-d", layout.anonymous_root,
                        "-f", self.passwd], input="%s\n%s\n" % (PASSWORD, PASSWORD),
                       text=True, check=True, capture_output=True)
        with open(self.passwd) as f:
            fields = f.read().strip().split(":")
        with open(layout.passwd_file) as f:
            fields[1] = f.read().split(":")[1].strip()
        with open(self.passwd, "w") as f:
            f.write(":".join(fields) + "\n")
        subprocess.run([pure_pw, "mkdb", self.database, "-f", self.passwd], check=True,
                       capture_output=True)

    def command_line(self):
        argv = [self.binary, "-S", "127.0.0.1,%d" % self.port, "-l", "puredb:" + self.database,
                "-A", "-H", "-c", "50000", "-C", "50000"]
        if self.tls is not None:
            argv += ["-Y", "1", "-2", "%s,%s" % (self.tls.certificate, self.tls.key)]
        return self.accounts.wrap(argv)

    def upload_directory(self):
        return bench.UPLOAD_DIR, os.path.join(self.layout.anonymous_root, bench.UPLOAD_DIR)


# ---------------------------------------------------------------- Python servers


def debian_python(module):
    """A Python that can import module: Debian's, or this one."""
    for python in (DEBIAN_PYTHON, sys.executable):
        if os.access(python, os.X_OK) and subprocess.run(
                [python, "-c", "import " + module], capture_output=True).returncode == 0:
            return python
    raise bench.BenchError("no Python here imports %s (Debian: apt-get install python3-%s)"
                           % (module, module))


class PythonServer(bench.Server):
    """A server script beside this file, run by a Python that has its library,
    as the unprivileged account (so uploads belong to it, as with the
    others); one process."""
    script = None
    module = None

    def __init__(self, workdir, timeout, layout, suffix=""):
        self.layout = layout
        self.python = debian_python(self.module)
        super().__init__(workdir, timeout, suffix=suffix)

    def command_line(self):
        return [self.python, os.path.join(HERE, self.script), "--port", str(self.port),
                "--anonymous-root", self.layout.anonymous_root,
                "--passwd-file", self.layout.passwd_file,
                "--home-root", self.layout.home_root]

    def popen_options(self):
        account = pwd.getpwnam(self.layout.anonymous_user)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def upload_directory(self):
        return "", os.path.join(self.layout.home_root, USER)


class Pyftpdlib(PythonServer):
    name = "pyftpdlib"
    script = "pyftpdlib_server.py"
    module = "pyftpdlib"


class Twisted(PythonServer):
    name = "twisted"
    script = "twisted_server.py"
    module = "twisted"


class SendfileServer(PythonServer):
    """The trivial server: the machine's RETR ceiling on loopback."""
    name = "sendfile"
    script = "sendfile_server.py"
    module = "os"

    def command_line(self):
        return [self.python, os.path.join(HERE, self.script), "--port", str(self.port),
                "--root", self.layout.anonymous_root]
