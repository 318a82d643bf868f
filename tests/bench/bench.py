#!/usr/bin/env python3
"""bench: ftpd against vsftpd on loopback, both servers in the same run,
measured interleaved (ftpd, vsftpd, ftpd, vsftpd ...) so that drift of the
machine hits both alike; medians and the ratio ftpd/vsftpd are reported.

    python3 tests/bench/bench.py --ftpd build/default/ftpd [--runs N] [--quick]

Measures RETR and STOR of a large file (MB/s; server, server+client and
whole-machine CPU per GiB), the same over explicit FTPS with PROT P, LIST of
a 10,000-entry directory, 100 logins (25 in flight at a time) and the memory
of the server holding 100 idle sessions (--only picks some of these).
Needs root for vsftpd (it chroots and changes user). vsftpd is Debian's
package unpacked into build/bench/vsftpd; when it is missing it is fetched
with apt-get download and unpacked with dpkg -x, so nothing is installed on
the machine. See tests/bench/README."""

import argparse
import asyncio
import hashlib
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import warnings

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
VSFTPD_DIR = os.path.join(REPO, "build", "bench", "vsftpd")
VSFTPD_PACKAGES = ("vsftpd", "libwrap0")

MIB = 1 << 20
GIB = 1 << 30
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

USER_NAME = "bench"
USER_PASSWORD = "bench-password"
LIST_DIR = "list"
UPLOAD_DIR = "upload"
BIG_FILE = "big.bin"
SMALL_FILE = "small.bin"

START_TIMEOUT = 10.0
QUIESCE_TIMEOUT = 20.0

# What a socket with SO_RCVTIMEO/SO_SNDTIMEO raises when the time is up:
# plain sockets EAGAIN, TLS sockets OpenSSL's "want read/write".
STALLED = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
# An SSL socket cannot sendfile: uploads over TLS are read and sent in chunks.
TLS_UPLOAD_CHUNK = 4 * MIB
CERTIFICATE = "cert.pem"
PRIVATE_KEY = "key.pem"


class BenchError(Exception):
    """A server failed to start or a transfer failed; the message says which."""


# ---------------------------------------------------------------- /proc


def proc_stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, which may hold spaces."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        text = f.read().decode("ascii", "replace")
    return text[text.rindex(")") + 2:].split()


def process_cpu_seconds(pid):
    """utime + stime of the process (all its threads) plus cutime + cstime of
    the children it has reaped."""
    fields = proc_stat_fields(pid)
    # fields[0] is the state (field 3), so utime (field 14) is fields[11].
    ticks = sum(int(fields[index]) for index in (11, 12, 13, 14))
    return ticks / CLOCK_TICKS


def machine_busy_seconds():
    """CPU time of the whole machine, all cores, that was not idle:
    user + nice + system + irq + softirq from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def own_cpu_seconds():
    """CPU of this process, the client: user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def background_load(seconds=1.0):
    """Share of all cores busy while the benchmark itself sleeps: other work
    on the machine, which the whole-machine figures cannot tell apart."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds / len(os.sched_getaffinity(0))


def descendants(pid):
    """Pids of the live descendants of pid (vsftpd forks two per session)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            parent = int(proc_stat_fields(int(name))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
    found = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def memory_kib(pid):
    """(RSS, PSS) in KiB of one process; PSS shares common pages out fairly."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


# ---------------------------------------------------------------- FTP client


def set_kernel_timeouts(sock, seconds):
    """Blocking socket whose recv/send give up after seconds: no poll() before
    every call as with socket.settimeout, so the client stays cheap."""
    sock.settimeout(None)
    value = struct.pack("ll", int(seconds), 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class Control:
    """A raw FTP control connection; data connections are passive (PASV)."""

    def __init__(self, server, port, timeout):
        self.server = server
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        try:
            self.expect(None, (220,))
        except BaseException:
            self.close()
            raise

    def reply(self):
        """(code, text) of one reply, multi-line replies joined."""
        lines = []
        while True:
            line = self.reader.readline(8192)
            if not line:
                raise BenchError("%s closed the control connection%s" % (
                    self.server, " after: " + lines[-1] if lines else ""))
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(lines) == 1:
                if not re.match(r"^\d{3}[ -]", line):
                    raise BenchError("%s sent a malformed reply: %r" % (self.server, line))
                code = line[:3]
                if line[3] == " ":
                    break
            elif line.startswith(code + " "):
                break
        return int(code), "\n".join(lines)

    def expect(self, command, codes):
        if command is not None:
            self.sock.sendall(command.encode() + b"\r\n")
        code, text = self.reply()
        if code not in codes:
            shown = "PASS ****" if command and command.startswith("PASS ") else command
            raise BenchError("%s answered %s with: %s" % (self.server, shown or "connect", text))
        return code, text

    def login(self, user, password):
        code, _ = self.expect("USER " + user, (230, 331))
        if code == 331:
            self.expect("PASS " + password, (230,))
        self.expect("TYPE I", (200,))

    def passive(self):
        _, text = self.expect("PASV", (227,))
        match = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", text)
        if not match:
            raise BenchError("%s sent a PASV reply without an address: %s" % (self.server, text))
        numbers = [int(x) for x in match.groups()]
        host = "%d.%d.%d.%d" % tuple(numbers[:4])
        data = socket.create_connection((host, numbers[4] * 256 + numbers[5]), timeout=self.timeout)
        set_kernel_timeouts(data, self.timeout)
        return data

    def open_data(self, command):
        """PASV, connect, send command, wait for its 125/150: the data
        connection, ready to move bytes."""
        data = self.passive()
        try:
            self.expect(command, (125, 150))
            return self.secure_data(data)
        except BaseException:
            data.close()
            raise

    def secure_data(self, data):
        """Hook for FTPS: the plain client uses the socket as it is."""
        return data

    def close_data(self, data):
        data.close()

    def retrieve(self, name, buffer):
        """RETR into nothing; returns the byte count."""
        data = self.open_data("RETR " + name)
        try:
            view = memoryview(buffer)
            total = 0
            while True:
                try:
                    count = data.recv_into(view)
                except STALLED:
                    raise BenchError("%s: RETR %s stalled for %.0f s" % (self.server, name, self.timeout))
                if count == 0:
                    break
                total += count
        finally:
            self.close_data(data)
        self.expect(None, (226, 250))
        return total

    def retrieve_bytes(self, name):
        data = self.open_data("RETR " + name)
        chunks = []
        try:
            while True:
                chunk = data.recv(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            self.close_data(data)
        self.expect(None, (226, 250))
        return b"".join(chunks)

    def store(self, name, path):
        """STOR the file at path with sendfile, so the client costs little."""
        data = self.open_data("STOR " + name)
        try:
            with open(path, "rb") as source:
                size = os.fstat(source.fileno()).st_size
                self.send_file(data, source, size, name)
        finally:
            self.close_data(data)
        self.expect(None, (226, 250))
        return size

    def send_file(self, data, source, size, name):
        offset = 0
        while offset < size:
            try:
                sent = os.sendfile(data.fileno(), source.fileno(), offset,
                                   min(size - offset, 1 << 30))
            except STALLED:
                raise BenchError("%s: STOR %s stalled for %.0f s" % (self.server, name, self.timeout))
            if sent == 0:
                raise BenchError("%s: STOR %s: data connection closed early" % (self.server, name))
            offset += sent

    def list_lines(self, name):
        data = self.open_data("LIST " + name)
        chunks = []
        try:
            while True:
                try:
                    chunk = data.recv(1 << 18)
                except STALLED:
                    raise BenchError("%s: LIST %s stalled for %.0f s" % (self.server, name, self.timeout))
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            self.close_data(data)
        self.expect(None, (226, 250))
        return [line for line in b"".join(chunks).split(b"\r\n") if line]

    def quit(self):
        """QUIT, then wait for the server to close, so its session is over."""
        try:
            self.expect("QUIT", (221,))
            while self.reader.read(4096):
                pass
        finally:
            self.close()

    def close(self):
        self.reader.close()
        self.sock.close()


class TlsControl(Control):
    """Explicit FTPS (RFC 4217): AUTH TLS on the control connection, PBSZ 0
    and PROT P after login, and every data connection a TLS client that
    resumes the control connection's session, as both servers require
    (ftplib.FTP_TLS does not resume it). Data connections stay blocking
    sockets with kernel timeouts; downloads read one TLS record per call."""

    def __init__(self, server, port, timeout, context):
        super().__init__(server, port, timeout)
        self.context = context
        self.data_description = None
        try:
            self.expect("AUTH TLS", (234,))
            self.reader.close()
            self.sock = context.wrap_socket(self.sock)
            self.reader = self.sock.makefile("rb")
        except BaseException:
            self.close()
            raise

    def login(self, user, password):
        super().login(user, password)
        self.expect("PBSZ 0", (200,))
        self.expect("PROT P", (200,))

    def secure_data(self, data):
        try:
            secured = self.context.wrap_socket(data, session=self.sock.session)
        except STALLED:
            raise BenchError("%s: TLS handshake on the data connection stalled for %.0f s" % (
                self.server, self.timeout))
        if not secured.session_reused:
            secured.close()
            raise BenchError("%s: the data connection did not resume the control "
                             "connection's TLS session" % self.server)
        self.data_description = "%s %s" % (secured.version(), secured.cipher()[0])
        return secured

    def close_data(self, data):
        """close_notify, then close: the end of an upload is then certain.
        The server's close_notify, if it has not come yet, is awaited within
        the kernel timeout; a server that closes without one is let be."""
        try:
            data.unwrap()
        except (OSError, ValueError):
            pass
        data.close()

    def send_file(self, data, source, size, name):
        buffer = bytearray(TLS_UPLOAD_CHUNK)
        view = memoryview(buffer)
        offset = 0
        while offset < size:
            count = os.readv(source.fileno(), [buffer])
            if count == 0:
                raise BenchError("STOR %s: %s ended early" % (name, source.name))
            try:
                data.sendall(view[:count])
            except STALLED:
                raise BenchError("%s: STOR %s stalled for %.0f s" % (self.server, name, self.timeout))
            offset += count

    def description(self):
        return "control %s %s, data %s, session resumed" % (
            self.sock.version(), self.sock.cipher()[0], self.data_description)


def client_tls_context(certificate):
    """The client side of FTPS: the servers' self-signed certificate is the
    one trust anchor (no host name check: it is 127.0.0.1)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(certificate)
    return context


class TlsFiles:
    """The certificate and key both FTPS servers use, and the client's context."""

    def __init__(self, directory):
        self.certificate, self.key = make_certificate(directory)
        self.client_context = client_tls_context(self.certificate)


def make_certificate(directory):
    """A self-signed RSA 2048 certificate and key for both servers."""
    certificate = os.path.join(directory, CERTIFICATE)
    key = os.path.join(directory, PRIVATE_KEY)
    try:
        result = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                 "-subj", "/CN=localhost", "-days", "2",
                                 "-keyout", key, "-out", certificate],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except FileNotFoundError:
        raise BenchError("the FTPS measurements need the openssl command")
    if result.returncode != 0:
        raise BenchError("openssl req failed: %s" % result.stderr.strip())
    os.chmod(key, 0o600)
    return certificate, key


# ---------------------------------------------------------------- servers


class Server:
    """One server under test, started in its own process group. With tls
    (TlsFiles) it is the FTPS instance: explicit TLS, and every session the
    benchmark opens on it is FTPS with PROT P. Its label (ftpd-ftps, plus
    a suffix that tells apart instances of one server) names its files and
    failures; its name (ftpd) keys the figures."""

    name = "?"

    def __init__(self, workdir, timeout, tls=None, suffix=""):
        self.workdir = workdir
        self.timeout = timeout
        self.tls = tls
        self.label = self.name + ("-ftps" if tls is not None else "") + suffix
        self.port = free_port()
        self.process = None
        self.log_path = os.path.join(workdir, self.label + ".log")
        self.failure = None

    def command_line(self):
        raise NotImplementedError

    def environment(self):
        return None

    def popen_options(self):
        """More keyword arguments for Popen (e.g. user and group)."""
        return {}

    def start(self):
        log = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, env=self.environment(),
                                            start_new_session=True, **self.popen_options())
        except OSError as error:
            raise BenchError("%s did not start: %s" % (self.label, error))
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise BenchError("%s exited with status %d at start-up:\n%s" % (
                    self.label, self.process.returncode, self.log_tail()))
            try:
                probe = Control(self.label, self.port, self.timeout)
                probe.quit()
                break
            except (OSError, BenchError) as error:
                if time.monotonic() > deadline:
                    raise BenchError("%s did not greet within %.0f s (%s):\n%s" % (
                        self.label, START_TIMEOUT, error, self.log_tail()))
                time.sleep(0.05)
        self.wait_quiescent()

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join("    " + line for line in text.splitlines()[-lines:])

    def check_alive(self):
        if self.process.poll() is not None:
            raise BenchError("%s died with status %d:\n%s" % (
                self.label, self.process.returncode, self.log_tail()))

    def session_processes(self):
        """The processes that exist only while sessions do."""
        return descendants(self.process.pid)

    def wait_quiescent(self):
        """Wait until the server has no session process left, so a CPU reading
        starts clean and sessions do not overlap."""
        deadline = time.monotonic() + QUIESCE_TIMEOUT
        while self.session_processes():
            self.check_alive()
            if time.monotonic() > deadline:
                raise BenchError("%s still has session processes %.0f s after the "
                                 "clients left" % (self.label, QUIESCE_TIMEOUT))
            time.sleep(0.002)

    def cpu_seconds(self):
        """CPU of the server and of every live process it forked. Read once
        with no session processes and once while the session's processes
        still live, the difference is all the session cost. (A vsftpd
        session's two processes do not always reap one another, so their
        times do not reliably reach the listener's cutime: they are read
        while the processes live, before QUIT.)"""
        total = 0.0
        for pid in [self.process.pid] + descendants(self.process.pid):
            try:
                total += process_cpu_seconds(pid)
            except (OSError, ValueError, IndexError):
                pass
        return total

    def memory_kib(self):
        """(RSS, PSS) summed over the server's processes."""
        rss = pss = 0
        for pid in [self.process.pid] + descendants(self.process.pid):
            process_rss, process_pss = memory_kib(pid)
            rss += process_rss
            pss += process_pss
        return rss, pss

    def connect(self):
        if self.tls is not None:
            return TlsControl(self.label, self.port, self.timeout, self.tls.client_context)
        return Control(self.label, self.port, self.timeout)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Ftpd(Server):
    name = "ftpd"

    def session_processes(self):
        """ftpd's workers live as long as the server; only user processes come and go."""
        found = []
        for pid in descendants(self.process.pid):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    title = f.read()
            except OSError:
                continue
            if not title.startswith(b"ftpd: worker"):
                found.append(pid)
        return found

    def __init__(self, workdir, timeout, binary, layout, tls=None, suffix=""):
        self.binary = binary
        self.layout = layout
        super().__init__(workdir, timeout, tls, suffix)

    def command_line(self):
        layout = self.layout
        options = {
            "listen": "127.0.0.1:%d" % self.port,
            "anonymous": "yes",
            "anonymous_root": layout.anonymous_root,
            "passwd_file": layout.passwd_file,
            "home_root": layout.home_root,
            "log": "stderr",
            "max_clients": "0",
            "max_clients_per_ip": "0",
        }
        if layout.anonymous_user is not None:
            # Started as root, ftpd switches to this unprivileged account
            # after binding, as vsftpd's sessions do.
            options["user"] = layout.anonymous_user
        if self.tls is not None:
            # tls_require_reuse stays at its default, yes.
            options.update({"tls": "explicit", "tls_cert": self.tls.certificate,
                            "tls_key": self.tls.key})
        argv = [self.binary, "-f", "-c", layout.empty_config]
        for key, value in options.items():
            argv += ["-o", "%s=%s" % (key, value)]
        return argv

    def upload_session(self):
        """A session logged in where uploads go: the user's read-write home."""
        control = self.connect()
        control.login(USER_NAME, USER_PASSWORD)
        return control, "", os.path.join(self.layout.home_root, USER_NAME)


class Vsftpd(Server):
    name = "vsftpd"

    def __init__(self, workdir, timeout, binary, layout, extra_options, tls=None, suffix=""):
        self.binary = binary
        self.layout = layout
        self.extra_options = extra_options
        super().__init__(workdir, timeout, tls, suffix)
        self.config_path = os.path.join(workdir, self.label + ".conf")
        self.write_config()

    def write_config(self):
        layout = self.layout
        options = [
            ("listen", "YES"),
            ("listen_ipv6", "NO"),
            ("listen_address", "127.0.0.1"),
            ("listen_port", str(self.port)),
            ("background", "NO"),
            ("anonymous_enable", "YES"),
            ("no_anon_password", "YES"),
            ("anon_root", layout.anonymous_root),
            ("ftp_username", layout.anonymous_user),
            ("nopriv_user", layout.anonymous_user),
            # Uploads: anonymous, into a subdirectory the anonymous user owns
            # (vsftpd refuses a writable anonymous root), so no system user
            # has to be created for the benchmark.
            ("write_enable", "YES"),
            ("anon_upload_enable", "YES"),
            ("local_enable", "NO"),
            ("pasv_enable", "YES"),
            ("connect_from_port_20", "NO"),
            ("secure_chroot_dir", layout.empty_dir),
            ("xferlog_enable", "NO"),
            ("syslog_enable", "NO"),
            ("max_clients", "0"),
            ("max_per_ip", "0"),
            ("use_sendfile", "YES"),
        ]
        if self.tls is not None:
            # Like ftpd's tls=explicit: TLS offered, the client always uses
            # it (PROT P), data connections must resume the control session.
            options += [
                ("ssl_enable", "YES"),
                ("allow_anon_ssl", "YES"),
                ("rsa_cert_file", self.tls.certificate),
                ("rsa_private_key_file", self.tls.key),
                ("require_ssl_reuse", "YES"),
                ("ssl_ciphers", "HIGH"),
            ]
        for item in self.extra_options:
            key, _, value = item.partition("=")
            options = [(k, v) for k, v in options if k != key] + [(key, value)]
        with open(self.config_path, "w") as f:
            f.write("".join("%s=%s\n" % pair for pair in options))
        os.chmod(self.config_path, 0o600)

    def command_line(self):
        return [self.binary, self.config_path]

    def environment(self):
        # Libraries unpacked beside the binary (libwrap0) come first.
        environment = dict(os.environ)
        library_dirs = vsftpd_library_dirs(os.path.dirname(os.path.dirname(os.path.dirname(self.binary))))
        if library_dirs:
            old = environment.get("LD_LIBRARY_PATH")
            environment["LD_LIBRARY_PATH"] = ":".join(library_dirs + ([old] if old else []))
        return environment

    def upload_session(self):
        control = self.connect()
        control.login("anonymous", "bench@")
        return control, UPLOAD_DIR + "/", os.path.join(self.layout.anonymous_root, UPLOAD_DIR)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- vsftpd binary


def vsftpd_library_dirs(root):
    found = []
    for parent in ("usr/lib", "lib"):
        base = os.path.join(root, parent)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            path = os.path.join(base, name)
            if os.path.isdir(path) and any(entry.startswith("lib") and ".so" in entry
                                           for entry in os.listdir(path)):
                found.append(path)
    return found


def ensure_vsftpd(binary):
    """The vsftpd binary, fetched and unpacked under build/bench when missing.
    apt-get download + dpkg -x leave the machine's package state untouched."""
    if os.access(binary, os.X_OK):
        return binary
    if binary != os.path.join(VSFTPD_DIR, "usr", "sbin", "vsftpd"):
        raise BenchError("vsftpd binary %s does not exist" % binary)
    download_dir = os.path.dirname(VSFTPD_DIR)
    commands = [
        "mkdir -p %s" % download_dir,
        "cd %s && apt-get download %s" % (download_dir, " ".join(VSFTPD_PACKAGES)),
    ] + ["cd %s && dpkg -x %s_*.deb vsftpd" % (download_dir, package) for package in VSFTPD_PACKAGES]
    if os.geteuid() != 0:
        raise BenchError("vsftpd is missing; as root, run:\n" +
                         "".join("    %s\n" % command for command in commands))
    print("bench: fetching Debian's vsftpd into %s" % VSFTPD_DIR, flush=True)
    os.makedirs(download_dir, exist_ok=True)

    def download():
        return subprocess.run(["apt-get", "download"] + list(VSFTPD_PACKAGES), cwd=download_dir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    result = download()
    if result.returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
        result = download()
    if result.returncode != 0:
        raise BenchError("apt-get download %s failed:\n%s" % (" ".join(VSFTPD_PACKAGES), result.stderr))
    for package in VSFTPD_PACKAGES:
        debs = sorted(name for name in os.listdir(download_dir)
                      if name.startswith(package + "_") and name.endswith(".deb"))
        if not debs:
            raise BenchError("apt-get download left no %s package in %s" % (package, download_dir))
        subprocess.run(["dpkg", "-x", os.path.join(download_dir, debs[-1]), VSFTPD_DIR], check=True)
    if not os.access(binary, os.X_OK):
        raise BenchError("the vsftpd package holds no %s" % binary)
    return binary


# ---------------------------------------------------------------- test files


class Layout:
    """The directories and files both servers serve, in one temporary tree:
    the same big file and the same listing directory for both."""

    def __init__(self, base, size, list_entries, anonymous_user):
        self.base = base
        self.size = size
        self.anonymous_user = anonymous_user
        self.anonymous_root = os.path.join(base, "anonymous")
        self.home_root = os.path.join(base, "homes")
        self.empty_dir = os.path.join(base, "empty")
        self.empty_config = os.path.join(base, "empty.conf")
        self.passwd_file = os.path.join(base, "passwd")
        self.big_file = os.path.join(self.anonymous_root, BIG_FILE)
        self.small_file = os.path.join(self.anonymous_root, SMALL_FILE)
        self.list_entries = list_entries

        os.chmod(base, 0o755)
        for path in (self.anonymous_root, self.home_root, self.empty_dir,
                     os.path.join(self.home_root, USER_NAME)):
            os.makedirs(path, mode=0o755, exist_ok=True)
            os.chmod(path, 0o755)
        upload = os.path.join(self.anonymous_root, UPLOAD_DIR)
        os.makedirs(upload, mode=0o755)
        if anonymous_user is not None:
            # The unprivileged account both servers run their sessions as
            # writes the uploads: vsftpd's anonymous upload/, ftpd's user home.
            account = pwd.getpwnam(anonymous_user)
            for path in (upload, os.path.join(self.home_root, USER_NAME)):
                os.chown(path, account.pw_uid, account.pw_gid)
        with open(self.empty_config, "w"):
            pass
        with open(self.passwd_file, "w") as f:
            f.write("%s:%s\n" % (USER_NAME, password_hash(USER_PASSWORD)))

        listing = os.path.join(self.anonymous_root, LIST_DIR)
        os.makedirs(listing, mode=0o755)
        for index in range(list_entries):
            fd = os.open(os.path.join(listing, "entry-%05d.txt" % index),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)

        self.small_data = os.urandom(MIB + 12345)
        write_file(self.small_file, [self.small_data])
        write_file(self.big_file, random_chunks(size))

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


def random_chunks(size):
    remaining = size
    while remaining > 0:
        chunk = os.urandom(min(remaining, 16 * MIB))
        remaining -= len(chunk)
        yield chunk


def write_file(path, chunks):
    """Written and synced once: no write-back of it runs during a measurement,
    and the pages stay cached for every RETR."""
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(path, 0o644)


def password_hash(password):
    """A SHA-512 crypt(3) hash, as `openssl passwd -6` makes for an admin;
    Python's crypt module where the openssl command is missing."""
    try:
        result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                                capture_output=True, text=True)
    except FileNotFoundError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    if result.returncode != 0 or not result.stdout.startswith("$6$"):
        raise BenchError("openssl passwd -6 failed: %s" % result.stderr.strip())
    return result.stdout.strip()


def anonymous_account():
    """An unprivileged account for vsftpd's anonymous sessions. vsftpd changes
    into the account's home before it chroots, so the home must exist."""
    preferred = ["ftp", "daemon", "nobody", "bin"]
    accounts = {entry.pw_name: entry for entry in pwd.getpwall()}
    candidates = [accounts[name] for name in preferred if name in accounts]
    candidates += sorted((entry for entry in accounts.values() if entry.pw_name not in preferred),
                         key=lambda entry: entry.pw_uid)
    for entry in candidates:
        if entry.pw_uid != 0 and os.path.isdir(entry.pw_dir):
            return entry.pw_name
    raise BenchError("no unprivileged account with an existing home directory for vsftpd's "
                     "anonymous sessions")


# ---------------------------------------------------------------- measurements


class Sample:
    """One transfer: its rate and the CPU it cost."""

    def __init__(self, size, seconds, server_cpu, client_cpu, machine_cpu):
        self.size = size
        self.seconds = seconds
        self.server_cpu = server_cpu
        self.client_cpu = client_cpu
        self.machine_cpu = machine_cpu

    @property
    def megabytes_per_second(self):
        return self.size / self.seconds / 1e6

    @property
    def server_cpu_per_gib(self):
        return self.server_cpu / (self.size / GIB)

    @property
    def both_ends_cpu_per_gib(self):
        return (self.server_cpu + self.client_cpu) / (self.size / GIB)

    @property
    def machine_cpu_per_gib(self):
        return self.machine_cpu / (self.size / GIB)


def measure_session(server, work):
    """Runs work(server, transferred) -> (size, seconds); work calls
    transferred() right after the transfer's final reply, before QUIT. The
    server's and the machine's CPU are read when the server has no session
    (before) and then (after), while the session's processes still live;
    the client's CPU is this process's."""
    server.wait_quiescent()
    before = (server.cpu_seconds(), own_cpu_seconds(), machine_busy_seconds())
    after = []

    def transferred():
        after.extend((server.cpu_seconds(), own_cpu_seconds(), machine_busy_seconds()))

    size, seconds = work(server, transferred)
    server.wait_quiescent()
    server.check_alive()
    if not after:
        raise BenchError("%s: the transfer ended without a CPU reading" % server.label)
    return Sample(size, seconds, *(a - b for a, b in zip(after, before)))


def retr_big(layout, buffer):
    def work(server, transferred):
        control = server.connect()
        control.login("anonymous", "bench@")
        started = time.monotonic()
        received = control.retrieve(BIG_FILE, buffer)
        seconds = time.monotonic() - started
        transferred()
        control.quit()
        if received != layout.size:
            raise BenchError("%s: RETR %s delivered %d bytes, expected %d" % (
                server.label, BIG_FILE, received, layout.size))
        return received, seconds
    return work


def stor_big(layout, run):
    def work(server, transferred):
        control, prefix, directory = server.upload_session()
        name = "stor-%d.bin" % run
        stored = os.path.join(directory, name)
        try:
            started = time.monotonic()
            control.store(prefix + name, layout.big_file)
            seconds = time.monotonic() - started
            transferred()
            control.quit()
            check_same_content(server, layout.big_file, stored, layout.size)
        finally:
            # Removed before write-back starts, so no later run pays for it.
            if os.path.exists(stored):
                os.unlink(stored)
        return layout.size, seconds
    return work


def check_same_content(server, original, stored, size):
    """Size, and three sampled MiB, of the stored file against the original."""
    try:
        stored_size = os.path.getsize(stored)
    except OSError as error:
        raise BenchError("%s: STOR reported success but %s is missing: %s" % (server.label, stored, error))
    if stored_size != size:
        raise BenchError("%s: STOR stored %d bytes, expected %d" % (server.label, stored_size, size))
    with open(original, "rb") as a, open(stored, "rb") as b:
        for offset in (0, max(0, size // 2 - MIB // 2), max(0, size - MIB)):
            a.seek(offset)
            b.seek(offset)
            if a.read(MIB) != b.read(MIB):
                raise BenchError("%s: STOR stored different bytes at offset %d" % (server.label, offset))


def list_times(server, entries, repeats):
    """Seconds per LIST of the big directory (median of repeats), one session."""
    control = server.connect()
    control.login("anonymous", "bench@")
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        lines = control.list_lines(LIST_DIR)
        times.append(time.monotonic() - started)
        if len(lines) != entries:
            raise BenchError("%s: LIST %s gave %d lines, expected %d" % (
                server.label, LIST_DIR, len(lines), entries))
        bad = [line for line in lines if not re.search(rb"entry-\d{5}\.txt$", line)]
        if bad:
            raise BenchError("%s: LIST line without an entry name: %r" % (server.label, bad[0]))
    control.quit()
    return statistics.median(times)


async def open_session(port, timeout):
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)

    async def reply():
        first = line = await asyncio.wait_for(reader.readline(), timeout)
        while line and not (line[:3] == first[:3] and line[3:4] == b" "):
            line = await asyncio.wait_for(reader.readline(), timeout)
        if not line or not first[:3].isdigit():
            raise BenchError("connection closed or malformed reply: %r" % first)
        return int(first[:3]), first.decode("utf-8", "replace").strip()

    try:
        code, text = await reply()
        if code != 220:
            raise BenchError("greeting: " + text)
        writer.write(b"USER anonymous\r\n")
        code, text = await reply()
        if code == 331:
            writer.write(b"PASS bench@\r\n")
            code, text = await reply()
        if code != 230:
            raise BenchError("login: " + text)
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def close_sessions(sessions):
    for _, writer in sessions:
        writer.write(b"QUIT\r\n")
    for reader, writer in sessions:
        try:
            await asyncio.wait_for(reader.read(), 10)
        except (asyncio.TimeoutError, OSError):
            pass
        writer.close()


async def login_burst(server, count, in_flight, timeout):
    """(seconds for count concurrent logins, (RSS, PSS) KiB with them idle).
    At most in_flight logins are between connect and 230 at once: a burst
    beyond the server's listen backlog (vsftpd's is a fixed 32) overflows the
    accept queue, and the time then measures TCP's SYN retransmission timers
    (1, 3, 7 s ...) rather than the server."""
    gate = asyncio.Semaphore(in_flight)

    async def gated():
        async with gate:
            return await open_session(server.port, timeout)

    started = time.monotonic()
    results = await asyncio.gather(*(gated() for _ in range(count)), return_exceptions=True)
    seconds = time.monotonic() - started
    sessions = [result for result in results if not isinstance(result, BaseException)]
    failures = [result for result in results if isinstance(result, BaseException)]
    try:
        if failures:
            raise BenchError("%s: %d of %d concurrent logins failed, first: %s: %s" % (
                server.label, len(failures), count, type(failures[0]).__name__, failures[0]))
        # Let the server settle (vsftpd's session processes finish starting).
        await asyncio.sleep(0.5)
        memory = server.memory_kib()
    finally:
        await close_sessions(sessions)
    return seconds, memory


def logins(server, count, in_flight, timeout):
    server.wait_quiescent()
    idle = server.memory_kib()
    seconds, busy = asyncio.run(login_burst(server, count, in_flight, timeout))
    server.wait_quiescent()
    server.check_alive()
    return seconds, idle, busy


def smoke_test(server, layout):
    """A small RETR and STOR checked byte for byte, so a server that cannot
    transfer fails in a second with a clear message. Returns what TLS the
    FTPS instance negotiated (None for plain FTP)."""
    control = server.connect()
    control.login("anonymous", "bench@")
    data = control.retrieve_bytes(SMALL_FILE)
    if data != layout.small_data:
        raise BenchError("%s: RETR %s delivered %d bytes that differ from the file (%d bytes)" % (
            server.label, SMALL_FILE, len(data), len(layout.small_data)))
    description = control.description() if isinstance(control, TlsControl) else None
    control.quit()
    control, prefix, directory = server.upload_session()
    control.store(prefix + "smoke.bin", layout.small_file)
    control.quit()
    stored = os.path.join(directory, "smoke.bin")
    with open(stored, "rb") as f:
        if hashlib.sha256(f.read()).digest() != hashlib.sha256(layout.small_data).digest():
            raise BenchError("%s: STOR of %s stored different bytes" % (server.label, SMALL_FILE))
    os.unlink(stored)
    server.wait_quiescent()
    return description


# ---------------------------------------------------------------- report


class Metric:
    def __init__(self, title, unit, better, digits):
        self.title = title
        self.unit = unit
        self.better = better
        self.digits = digits
        self.values = {}

    def add(self, server, value):
        self.values.setdefault(server, []).append(value)

    def median(self, server):
        values = self.values.get(server)
        return statistics.median(values) if values else None

    def format(self, value):
        return "-" if value is None else "%.*f" % (self.digits, value)

    def table(self, servers):
        runs = max((len(v) for v in self.values.values()), default=0)
        lines = ["%s (%s, %s is better)" % (self.title, self.unit, self.better)]
        header = "  %-8s" % "" + "".join("%10s" % ("run %d" % (i + 1)) for i in range(runs))
        lines.append(header + "%10s" % "median")
        for server in servers:
            values = self.values.get(server, [])
            cells = [self.format(v) for v in values] + ["-"] * (runs - len(values))
            lines.append("  %-8s" % server + "".join("%10s" % c for c in cells)
                         + "%10s" % self.format(self.median(server)))
        lines.append(self.ratio_line())
        return "\n".join(lines)

    def ratio_line(self):
        ftpd, vsftpd = self.median("ftpd"), self.median("vsftpd")
        ratio = "n/a"
        if ftpd is not None and vsftpd:
            ratio = "%.*f" % (2 if ftpd / vsftpd >= 0.1 else 3, ftpd / vsftpd)
        return "%-34s ftpd %s %s  vsftpd %s %s  ratio %s" % (
            self.title, self.format(ftpd), self.unit, self.format(vsftpd), self.unit, ratio)


def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo") as f:
            memory = "%.1f GiB" % (int(f.readline().split()[1]) / (1 << 20))
    except (OSError, ValueError, IndexError):
        pass
    return ("machine: nproc %d, %s, memory %s, kernel %s %s, python %s"
            % (len(os.sched_getaffinity(0)), model, memory, platform.system(), platform.release(),
               platform.python_version()))


def size_label(size):
    return "%d GiB" % (size // GIB) if size % GIB == 0 else "%d MiB" % (size // MIB)


# ---------------------------------------------------------------- main


MEASUREMENTS = ("retr", "stor", "list", "logins", "tls-retr", "tls-stor")
MEASUREMENT_GROUPS = {"all": MEASUREMENTS, "plain": ("retr", "stor"), "tls": ("tls-retr", "tls-stor")}


def parse_arguments():
    parser = argparse.ArgumentParser(description="Benchmark ftpd against vsftpd on loopback.")
    parser.add_argument("--ftpd", default=os.path.join(REPO, "build", "default", "ftpd"),
                        help="ftpd binary (default: build/default/ftpd)")
    parser.add_argument("--vsftpd", default=os.path.join(VSFTPD_DIR, "usr", "sbin", "vsftpd"),
                        help="vsftpd binary (default: Debian's, unpacked into build/bench/vsftpd)")
    parser.add_argument("--servers", default="ftpd,vsftpd",
                        help="comma-separated servers to run (default: ftpd,vsftpd)")
    parser.add_argument("--only", default="all", metavar="LIST",
                        help="comma-separated measurements: retr, stor, list, logins, tls-retr, "
                             "tls-stor, or the groups plain (retr,stor), tls (tls-retr,tls-stor), "
                             "all (default)")
    parser.add_argument("--runs", type=int, help="runs of each measurement per server (default 5, --quick 3)")
    parser.add_argument("--size-mib", type=int,
                        help="size of the RETR/STOR file, plain and FTPS (default 1024, --quick 256)")
    parser.add_argument("--quick", action="store_true", help="a smaller run: 256 MiB, 3 runs")
    parser.add_argument("--list-entries", type=int, default=10000, help="entries of the LIST directory")
    parser.add_argument("--list-repeats", type=int, default=5, help="LISTs per run (their median counts)")
    parser.add_argument("--logins", type=int, default=100, help="concurrent logins (0: skip)")
    parser.add_argument("--logins-in-flight", type=int, default=25,
                        help="most logins between connect and 230 at once (default 25, below "
                             "vsftpd's listen backlog of 32)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds any step may stall")
    parser.add_argument("--vsftpd-option", action="append", default=[], metavar="KEY=VALUE",
                        help="extra vsftpd.conf line, e.g. seccomp_sandbox=NO (repeatable; "
                             "both the plain and the FTPS instance)")
    parser.add_argument("--tmpdir", default=None, help="where the test files go (default: $TMPDIR or /tmp)")
    arguments = parser.parse_args()
    if arguments.runs is None:
        arguments.runs = 3 if arguments.quick else 5
    if arguments.size_mib is None:
        arguments.size_mib = 256 if arguments.quick else 1024
    arguments.servers = [name.strip() for name in arguments.servers.split(",") if name.strip()]
    unknown = set(arguments.servers) - {"ftpd", "vsftpd"}
    if unknown or not arguments.servers:
        parser.error("--servers takes ftpd and/or vsftpd")
    only = set()
    for name in (name.strip() for name in arguments.only.split(",")):
        if name in MEASUREMENT_GROUPS:
            only.update(MEASUREMENT_GROUPS[name])
        elif name in MEASUREMENTS:
            only.add(name)
        elif name:
            parser.error("--only takes %s" % ", ".join(MEASUREMENTS + tuple(MEASUREMENT_GROUPS)))
    if arguments.logins <= 0:
        only.discard("logins")
    if not only:
        parser.error("--only selects nothing to measure")
    arguments.only = only
    if (arguments.runs < 1 or arguments.size_mib < 2 or arguments.list_entries < 1
            or arguments.list_repeats < 1 or arguments.logins_in_flight < 1):
        parser.error("--runs, --size-mib (at least 2), --list-entries, --list-repeats and "
                     "--logins-in-flight must be positive")
    return arguments


def add_transfer_metrics(metrics, key, command, label):
    metrics[key] = Metric("%s %s" % (command, label), "MB/s", "higher", 0)
    metrics[key + "_server"] = Metric("%s server CPU" % command, "s/GiB", "lower", 3)
    metrics[key + "_both"] = Metric("%s server+client CPU" % command, "s/GiB", "lower", 3)
    metrics[key + "_machine"] = Metric("%s machine CPU" % command, "s/GiB", "lower", 3)


def record_transfer(metrics, key, server, sample):
    metrics[key].add(server.name, sample.megabytes_per_second)
    metrics[key + "_server"].add(server.name, sample.server_cpu_per_gib)
    metrics[key + "_both"].add(server.name, sample.both_ends_cpu_per_gib)
    metrics[key + "_machine"].add(server.name, sample.machine_cpu_per_gib)


def failure_line(label, message):
    if message.startswith(label + " ") or message.startswith(label + ":"):
        return "FAILED " + message
    return "FAILED %s: %s" % (label, message)


def run(arguments):
    failures = {}
    running = []
    layout = None
    loads = []
    size = arguments.size_mib * MIB
    label = size_label(size)
    metrics = {}
    add_transfer_metrics(metrics, "retr", "RETR", label)
    add_transfer_metrics(metrics, "stor", "STOR", label)
    add_transfer_metrics(metrics, "tls_retr", "FTPS RETR", label)
    add_transfer_metrics(metrics, "tls_stor", "FTPS STOR", label)
    metrics.update({
        "list": Metric("LIST %d entries" % arguments.list_entries, "s", "lower", 4),
        "logins": Metric("%d logins, %d in flight" % (
                             arguments.logins, min(arguments.logins, arguments.logins_in_flight)),
                         "s", "lower", 3),
        "rss_idle": Metric("RSS, no session", "MiB", "lower", 1),
        "rss": Metric("RSS, %d idle sessions" % arguments.logins, "MiB", "lower", 1),
        "pss": Metric("PSS, %d idle sessions" % arguments.logins, "MiB", "lower", 1),
    })
    plain_steps = [name for name in ("retr", "stor", "list", "logins") if name in arguments.only]
    tls_steps = [name for name in ("tls-retr", "tls-stor") if name in arguments.only]

    print(machine_info())
    print("file %s, %d runs each, interleaved; LIST of %d entries x %d per run; "
          "MB = 10^6 bytes; CPU in seconds per GiB moved" % (
              label, arguments.runs, arguments.list_entries, arguments.list_repeats))
    print("measuring: %s" % ", ".join(plain_steps + tls_steps))
    if tls_steps:
        print("FTPS: explicit (AUTH TLS), PROT P, passive; data connections resume the control "
              "connection's TLS session; one self-signed RSA 2048 certificate for both servers")
    sys.stdout.flush()

    binaries = {}
    if "ftpd" in arguments.servers:
        binaries["ftpd"] = os.path.abspath(arguments.ftpd)
        if not os.access(binaries["ftpd"], os.X_OK):
            raise BenchError("ftpd binary %s does not exist: run make first" % binaries["ftpd"])
    if "vsftpd" in arguments.servers:
        binaries["vsftpd"] = ensure_vsftpd(os.path.abspath(arguments.vsftpd))
        if os.geteuid() != 0:
            raise BenchError("vsftpd must run as root (it chroots and changes user): "
                             "run the benchmark as root, or with --servers ftpd")
    for name, path in binaries.items():
        print("%s: %s" % (name, path))

    base = tempfile.mkdtemp(prefix="ftpd-bench-", dir=arguments.tmpdir)
    try:
        started = time.monotonic()
        transfers = {"retr", "stor", "tls-retr", "tls-stor"} & arguments.only
        layout = Layout(base, size if transfers else 0, arguments.list_entries,
                        anonymous_account() if os.geteuid() == 0 else None)
        tls = TlsFiles(base) if tls_steps else None
        print("test files ready in %.1f s (%s)" % (time.monotonic() - started, base), flush=True)
        loads.append(background_load())

        def start_servers(tls_files):
            """Starts every server, plain or FTPS, and checks it can transfer."""
            servers = []
            for name in arguments.servers:
                if name == "ftpd":
                    server = Ftpd(base, arguments.timeout, binaries["ftpd"], layout, tls_files)
                else:
                    server = Vsftpd(base, arguments.timeout, binaries["vsftpd"], layout,
                                    arguments.vsftpd_option, tls_files)
                servers.append(server)
                running.append(server)
                try:
                    server.start()
                    description = smoke_test(server, layout)
                    if description is not None:
                        print("%s: %s" % (server.label, description), flush=True)
                except (BenchError, OSError) as error:
                    failures[server.label] = str(error)
                    print(failure_line(server.label, str(error)), flush=True)
            return servers

        def measure(servers, step_name, step):
            """step(server, run) for every run, servers interleaved; a server
            that fails is reported and left out of the rest."""
            print("%s ..." % step_name, flush=True)
            for run_index in range(arguments.runs):
                for server in servers:
                    if server.label in failures:
                        continue
                    try:
                        step(server, run_index)
                    except (BenchError, OSError) as error:
                        message = "%s (%s, run %d): %s" % (server.label, step_name, run_index + 1, error)
                        failures[server.label] = message
                        print("FAILED " + message, flush=True)

        buffer = bytearray(4 * MIB)

        def retr_step(key):
            def step(server, run_index):
                record_transfer(metrics, key, server, measure_session(server, retr_big(layout, buffer)))
            return step

        def stor_step(key):
            def step(server, run_index):
                record_transfer(metrics, key, server, measure_session(server, stor_big(layout, run_index)))
            return step

        def list_step(server, run_index):
            metrics["list"].add(server.name, list_times(server, arguments.list_entries,
                                                        arguments.list_repeats))

        def login_step(server, run_index):
            seconds, idle, busy = logins(server, arguments.logins, arguments.logins_in_flight,
                                         arguments.timeout)
            metrics["logins"].add(server.name, seconds)
            metrics["rss_idle"].add(server.name, idle[0] / 1024)
            metrics["rss"].add(server.name, busy[0] / 1024)
            metrics["pss"].add(server.name, busy[1] / 1024)

        steps = {
            "retr": ("RETR", retr_step("retr")),
            "stor": ("STOR", stor_step("stor")),
            "list": ("LIST", list_step),
            "logins": ("logins", login_step),
            "tls-retr": ("FTPS RETR", retr_step("tls_retr")),
            "tls-stor": ("FTPS STOR", stor_step("tls_stor")),
        }
        # Plain FTP first with servers as configured for it, then the FTPS
        # instances (vsftpd with ssl_enable loads OpenSSL into every session,
        # which the plain login and memory figures should not carry).
        for tls_files, names in ((None, plain_steps), (tls, tls_steps)):
            if not names:
                continue
            servers = start_servers(tls_files)
            for name in names:
                measure(servers, *steps[name])
            for server in servers:
                server.stop()
                running.remove(server)
        loads.append(background_load())
    finally:
        for server in running:
            server.stop()
        if layout is not None:
            layout.close()
        else:
            shutil.rmtree(base, ignore_errors=True)

    names = arguments.servers
    groups = [("retr", "retr_server", "retr_both", "retr_machine"),
              ("stor", "stor_server", "stor_both", "stor_machine"),
              ("tls_retr", "tls_retr_server", "tls_retr_both", "tls_retr_machine"),
              ("tls_stor", "tls_stor_server", "tls_stor_both", "tls_stor_machine"),
              ("list",), ("logins", "rss_idle", "rss", "pss")]
    print()
    for group in groups:
        for key in group:
            if metrics[key].values:
                print(metrics[key].table(names))
                print()
    load_text = " / ".join("%.0f%%" % (100 * load) for load in loads)
    print("other load on the machine before / after the measurements: %s of all cores" % load_text)
    if any(load > 0.05 for load in loads):
        print("  (machine CPU figures include other load; server and server+client figures do not)")
    print("summary (ratio = ftpd / vsftpd, medians of %d runs)" % arguments.runs)
    for group in groups:
        for key in group:
            if metrics[key].values:
                print("  " + metrics[key].ratio_line())
    if failures:
        print()
        for name, message in failures.items():
            print(failure_line(name, message))
        return 1
    return 0


def main():
    arguments = parse_arguments()
    try:
        return run(arguments)
    except BenchError as error:
        print("bench: %s" % error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
