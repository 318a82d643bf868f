"""harness: starts the real ftpd for a test and talks to it over raw sockets.
Everything a test creates (servers, temp directories) is registered here so it
is stopped and removed at the end of the test, whatever happened."""

import hashlib
import os
import resource
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# Markers that an ASan/UBSan build writes when it finds a bug.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

# Workers each test server runs (FTPD_TEST_WORKERS; CI runs the suite with 2 and with 1).
TEST_WORKERS = os.environ.get("FTPD_TEST_WORKERS", "2")
# FTPD_TEST_SHELL=async: every server whose test does not choose its shells serves
# guests and users through the test shell that completes everything later
# (tests/contract/async_shell.c, built by make as FTPD_ASYNC_SHELL).
TEST_SHELL = os.environ.get("FTPD_TEST_SHELL", "")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
REPLY_TIMEOUT = 10.0

_servers = []
_temp_dirs = []
_password_hashes = {}
_cleanups = []


class Skip(Exception):
    """Raised by a test that cannot run here (a missing tool); the reason is shown."""


def skip(reason):
    raise Skip(reason)


def ftpd_path():
    path = os.environ.get("FTPD")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "default", "ftpd")
    return os.path.abspath(path)


def async_shell_path():
    """The test shell module that answers every operation later (make builds it)."""
    path = os.environ.get("FTPD_ASYNC_SHELL")
    if not path:
        path = os.path.join(os.path.dirname(ftpd_path()), "test-shells", "async.so")
    return os.path.abspath(path)


def temp_dir(prefix="ftpd-test-"):
    """A fresh directory, removed at the end of the test."""
    path = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.append(path)
    return path


def write_file(path, data=b""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def password_hash(password):
    """A SHA-512 crypt(3) hash made by `openssl passwd -6`, as an admin would."""
    if password not in _password_hashes:
        result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                                capture_output=True, text=True, check=True)
        _password_hashes[password] = result.stdout.strip()
    return _password_hashes[password]


def write_passwd_file(path, users):
    """users: (name, password, home or None) tuples."""
    lines = []
    for name, password, home in users:
        line = "%s:%s" % (name, password_hash(password))
        if home is not None:
            line += ":" + home
        lines.append(line + "\n")
    write_file(path, "".join(lines))
    return path


def snapshot(root):
    """Names, types, sizes and mtimes of everything under root (symlinks not followed)."""
    entries = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            entries[os.path.relpath(path, root)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return entries


class Server:
    """One ftpd process in the foreground on a free loopback port."""

    def __init__(self, options=None, args=(), start=True, fd_limit=None):
        self.port = free_port()
        self.fd_limit = fd_limit
        self.options = dict(options or {})
        self.options.setdefault("log", "stderr")
        self.options.setdefault("login_failure_delay", "0")
        # Tests run as whatever user CI is; never drop to the default "ftpd".
        self.options.setdefault("user", "none")
        self.options.setdefault("workers", TEST_WORKERS)
        if TEST_SHELL == "async" and "shell_dir" not in self.options:
            self.options.setdefault("shell", async_shell_path())
            self.options.setdefault("anonymous_shell", async_shell_path())
        self.options["listen"] = "127.0.0.1:%d" % self.port
        base = temp_dir("ftpd-server-")
        self.config_file = write_file(os.path.join(base, "empty.conf"), "")
        self.stderr_path = os.path.join(base, "ftpd-stderr.log")
        self.args = list(args)
        self.process = None
        self.stopped = False
        self._port_retries = 0
        _servers.append(self)
        if start:
            self.start()

    def command_line(self):
        argv = [ftpd_path(), "-c", self.config_file]
        for key, value in self.options.items():
            argv += ["-o", "%s=%s" % (key, value)]
        return argv + self.args + ["-f"]

    def start(self):
        self._stderr_file = open(self.stderr_path, "wb")
        limit = self.fd_limit

        def limit_descriptors():
            # fd_limit: one number for both limits, or (soft, hard).
            if isinstance(limit, tuple):
                resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            elif limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self.process = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL,
                                        stdout=self._stderr_file, stderr=self._stderr_file,
                                        preexec_fn=limit_descriptors)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                if self._port_was_taken():
                    return self.start()
                raise AssertionError("ftpd exited with status %d before accepting connections"
                                     % self.process.returncode)
            # The monitor's socket takes connections before the workers run: with
            # the log on stderr, wait for "ready", logged once every worker accepts.
            # No probe then: a probe's connection counts against max_clients_per_ip
            # until the server has seen it close, which a loaded machine delays.
            if self.options.get("log") == "stderr":
                if " ready (" in self.stderr_text():
                    break
            else:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError("ftpd did not accept connections within %.0f s"
                                     % START_TIMEOUT)
            time.sleep(0.05)

    def _port_was_taken(self):
        """free_port() races with everything else on the machine: when the
        port it found was taken before ftpd bound it, take another (a few
        times), as long as the test did not choose the listeners itself."""
        self._stderr_file.close()
        if (self._port_retries >= 5 or "Address already in use" not in self.stderr_text()
                or self.options.get("listen") != "127.0.0.1:%d" % self.port):
            return False
        self._port_retries += 1
        self.port = free_port()
        self.options["listen"] = "127.0.0.1:%d" % self.port
        return True

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, lines=30):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def stop(self):
        """SIGTERM; the server must exit 0 in time with no sanitizer report."""
        if self.stopped or self.process is None:
            return
        self.stopped = True
        problems = []
        if self.process.poll() is not None:
            problems.append("ftpd had already exited with status %d" % self.process.returncode)
        else:
            self.process.send_signal(signal.SIGTERM)
            try:
                status = self.process.wait(STOP_TIMEOUT)
                if status != 0:
                    problems.append("ftpd exited with status %d after SIGTERM" % status)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                problems.append("ftpd did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
        self._stderr_file.close()
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                problems.append("ftpd stderr contains %r" % marker)
        if problems:
            raise AssertionError("; ".join(problems))

    def connect(self, greet=True):
        return Control(self.port, greet=greet)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        # When the test already failed, that failure is the one to report.
        if kind is None:
            self.stop()
        else:
            try:
                self.stop()
            except AssertionError:
                pass
        return False


def anonymous_server(options=None, populate=True, fd_limit=None):
    """A server sharing a fresh anonymous root with a few files; returns (server, root)."""
    root = temp_dir("ftpd-anon-")
    if populate:
        populate_tree(root)
    opts = {"anonymous": "yes", "anonymous_root": root}
    opts.update(options or {})
    return Server(opts, fd_limit=fd_limit), root


def populate_tree(root):
    write_file(os.path.join(root, "README.txt"), b"read me\n")
    write_file(os.path.join(root, "pub", "hello.txt"), b"hello, world\n")
    write_file(os.path.join(root, "pub", "data.bin"), bytes(range(256)) * 40)
    os.makedirs(os.path.join(root, "pub", "empty"))


def user_server(users=(("alice", "secret", None),), options=None):
    """A server with a passwd file and anonymous off; returns (server, home_root)."""
    base = temp_dir("ftpd-users-")
    home_root = os.path.join(base, "homes")
    os.makedirs(home_root)
    for name, _password, home in users:
        os.makedirs(home or os.path.join(home_root, name), exist_ok=True)
    passwd = write_passwd_file(os.path.join(base, "passwd"), users)
    opts = {"anonymous": "no", "passwd_file": passwd, "home_root": home_root}
    opts.update(options or {})
    return Server(opts), home_root


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines

    @property
    def text(self):
        """The text of the last line, after the code."""
        return self.lines[-1][4:]

    def __repr__(self):
        return repr("\n".join(self.lines))


class Control:
    """A raw control connection: sends exact bytes and parses replies strictly."""

    def __init__(self, port, greet=True, timeout=REPLY_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.greeting = self.read_reply() if greet else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection (pending %r)" % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_reply(self):
        first = self._read_line()
        match = re.match(r"^(\d{3})([ -])", first)
        if not match:
            raise AssertionError("malformed reply line %r" % first)
        lines = [first]
        if match.group(2) == "-":
            end = match.group(1) + " "
            while True:
                line = self._read_line()
                lines.append(line)
                if line.startswith(end):
                    break
        return Reply(int(match.group(1)), lines)

    def command(self, line):
        self.send(line + "\r\n")
        return self.read_reply()

    def expect(self, line, code, text=None):
        """Sends line and checks the reply code (and that the text contains text)."""
        reply = self.command(line)
        if reply.code != code or (text is not None and text not in reply.lines[-1]):
            raise AssertionError("%s: expected %d%s, got %r" % (
                line, code, " ...%s..." % text if text else "", reply))
        return reply

    def login_anonymous(self, user="anonymous"):
        self.expect("USER " + user, 331)
        self.expect("PASS guest@example.org", 230)

    def login(self, user, password):
        self.expect("USER " + user, 331)
        self.expect("PASS " + password, 230)

    def is_closed(self, timeout=5.0):
        """True if the server closes the connection within timeout (no more data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(REPLY_TIMEOUT)


def pwd_path(reply):
    """The path quoted in a 257 reply, with doubled quotes undone."""
    match = re.match(r'^257 "((?:[^"]|"")*)"', reply.lines[-1])
    if not match:
        raise AssertionError("no quoted path in %r" % reply)
    return match.group(1).replace('""', '"')


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_equal(got, expected, what):
    if got != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, got))


def finish():
    """Stops every server and removes every temp directory; returns the stop errors."""
    errors = []
    while _servers:
        server = _servers.pop(0)
        try:
            server.stop()
        except AssertionError as error:
            errors.append(str(error))
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception:  # a cleanup must not hide the test's outcome
            pass
    while _temp_dirs:
        shutil.rmtree(_temp_dirs.pop(), ignore_errors=True)
    return errors


def servers():
    return list(_servers)


# --- The data channel: passive and active connections, whole transfers. ---

DATA_TIMEOUT = 30.0


def passive_address(reply):
    """(host, port) from a 227 reply."""
    match = re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", reply.lines[-1])
    if reply.code != 227 or not match:
        raise AssertionError("not a 227 reply with an address: %r" % reply)
    numbers = [int(group) for group in match.groups()]
    return "%d.%d.%d.%d" % tuple(numbers[:4]), numbers[4] * 256 + numbers[5]


def extended_passive_port(reply):
    """The port from a 229 reply."""
    match = re.search(r"\(\|\|\|(\d+)\|\)", reply.lines[-1])
    if reply.code != 229 or not match:
        raise AssertionError("not a 229 reply with a port: %r" % reply)
    return int(match.group(1))


def open_passive(control, command="PASV", source=None, receive_buffer=None):
    """Sends PASV (or EPSV) and connects to the port it names, from source if given.
    Returns the connected data socket."""
    reply = control.command(command)
    if command.upper().startswith("EPSV"):
        port = extended_passive_port(reply)
    else:
        _host, port = passive_address(reply)
    host = control.sock.getpeername()[0]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(DATA_TIMEOUT)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    if source is not None:
        sock.bind((source, 0))
    sock.connect((host, port))
    return sock


class ActiveListener:
    """The client side of PORT/EPRT: a listening socket the server connects to."""

    def __init__(self, control, command="PORT"):
        host = control.sock.getsockname()[0]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(1)
        self.listener.settimeout(DATA_TIMEOUT)
        port = self.listener.getsockname()[1]
        if command.upper() == "EPRT":
            line = "EPRT |%d|%s|%d|" % (2 if family == socket.AF_INET6 else 1, host, port)
        else:
            line = "PORT %s,%d,%d" % (host.replace(".", ","), port // 256, port % 256)
        control.expect(line, 200)

    def accept(self):
        sock, _address = self.listener.accept()
        sock.settimeout(DATA_TIMEOUT)
        self.listener.close()
        return sock

    def close(self):
        self.listener.close()


def open_data(control, mode="passive"):
    """mode: "passive" (PASV), "epsv", "active" (PORT) or "eprt". Returns a
    function that yields the connected data socket once the transfer command is sent."""
    if mode in ("passive", "epsv"):
        sock = open_passive(control, "PASV" if mode == "passive" else "EPSV")
        return lambda: sock
    listener = ActiveListener(control, "PORT" if mode == "active" else "EPRT")
    return listener.accept


def read_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def expect_preliminary(control, line):
    """Sends a transfer command and checks it answers 150 (or 125)."""
    reply = control.command(line)
    if reply.code not in (125, 150):
        raise AssertionError("%s: expected 150, got %r" % (line, reply))
    return reply


def expect_complete(control, line):
    reply = control.read_reply()
    if reply.code != 226:
        raise AssertionError("%s: expected 226 at the end, got %r" % (line, reply))
    return reply


def download(control, line, mode="passive"):
    """Runs a command that sends data to the client (RETR, LIST, NLST, MLSD):
    150, the data, 226. Returns the bytes received."""
    connected = open_data(control, mode)
    control.send(line + "\r\n")
    sock = connected()
    data = read_all(sock)
    reply = control.read_reply()
    if reply.code not in (125, 150):
        raise AssertionError("%s: expected 150, got %r" % (line, reply))
    expect_complete(control, line)
    return data


def upload(control, line, data, mode="passive"):
    """Runs a command that takes data from the client (STOR, APPE, STOU):
    150, the data, 226 once stored. Returns the 150 reply."""
    connected = open_data(control, mode)
    control.send(line + "\r\n")
    sock = connected()
    first = control.read_reply()
    if first.code not in (125, 150):
        sock.close()
        raise AssertionError("%s: expected 150, got %r" % (line, first))
    sock.sendall(data)
    sock.close()
    expect_complete(control, line)
    return first


def listing_lines(control, line, mode="passive"):
    """The lines a LIST/NLST/MLSD sends, CRLF-terminated each, as text."""
    data = download(control, line, mode).decode("utf-8")
    check(data == "" or data.endswith("\r\n"), "%s: listing does not end with CRLF: %r"
          % (line, data[-80:]))
    lines = data.split("\r\n")[:-1]
    check(all("\n" not in item for item in lines), "%s: bare LF in listing %r" % (line, data))
    return lines


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- FTPS (RFC 4217): certificates, TLS servers, protected control and data. ---

def make_certificate(directory, common_name="localhost"):
    """A fresh self-signed P-256 certificate and its key; returns (cert, key) paths."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=" + common_name, "-days", "2",
                    "-keyout", key, "-out", cert],
                   stdin=subprocess.DEVNULL, capture_output=True, check=True)
    return cert, key


def tls_options(mode="explicit", options=None):
    """The options of a server with TLS in mode and a fresh certificate. With
    mode implicit (or when options ask for it) listen_implicit gets a free port."""
    cert, key = make_certificate(temp_dir("ftpd-cert-"))
    opts = {"tls": mode, "tls_cert": cert, "tls_key": key}
    if mode == "implicit":
        opts["listen_implicit"] = "127.0.0.1:%d" % free_port()
    opts.update(options or {})
    return opts


def tls_server(mode="explicit", options=None, users=None, populate=True):
    """An anonymous server (users None) or a passwd-user server (users given, as
    user_server takes them) with TLS in mode. Returns (server, root); root is the
    anonymous root or the home root. server.implicit_port is the port of
    listen_implicit, or None."""
    opts = tls_options(mode, options)
    if users is None:
        server, root = anonymous_server(opts, populate=populate)
    else:
        server, root = user_server(users, opts)
    implicit = opts.get("listen_implicit")
    server.implicit_port = int(implicit.rsplit(":", 1)[1]) if implicit else None
    return server, root


def client_context(maximum_version=None, minimum_version=None):
    """A client context that accepts the self-signed test certificate."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum_version is not None:
        context.maximum_version = maximum_version
    if minimum_version is not None:
        context.minimum_version = minimum_version
    return context


def start_tls(control, context=None, strict_eof=False):
    """Runs the TLS handshake on a control connection whose 234 was just read.
    Nothing may follow the 234 in plaintext. strict_eof: an end of the
    connection without close_notify raises ssl.SSLEOFError."""
    if control.buffer:
        raise AssertionError("plaintext after the 234 reply: %r" % control.buffer)
    context = context or client_context()
    control.sock = context.wrap_socket(control.sock, server_hostname="localhost",
                                       suppress_ragged_eofs=not strict_eof)
    control.tls_context = context
    return control


def auth_tls(control, context=None, line="AUTH TLS"):
    """AUTH TLS (234) and the handshake."""
    control.expect(line, 234)
    return start_tls(control, context)


def protect_data(control):
    """PBSZ 0 and PROT P."""
    control.expect("PBSZ 0", 200)
    control.expect("PROT P", 200)


def tls_control(server, context=None):
    """A control connection to server, protected by AUTH TLS, not logged in."""
    return auth_tls(server.connect(), context)


class ImplicitControl(Control):
    """A control connection to an implicit FTPS port: TLS from the first byte."""

    def __init__(self, port, context=None, greet=True, timeout=REPLY_TIMEOUT):
        context = context or client_context()
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.tls_context = context
        self.buffer = b""
        self.greeting = self.read_reply() if greet else None


def wrap_data(control, sock, reuse=True):
    """The client side of a PROT P data connection: a TLS client that resumes the
    control connection's session (reuse) or starts a fresh one. Ragged EOFs are
    errors, so a missing close_notify shows."""
    session = control.sock.session if reuse else None
    return control.tls_context.wrap_socket(sock, server_hostname="localhost", session=session,
                                           suppress_ragged_eofs=False)


def read_all_tls(sock):
    """Reads a TLS data connection to its end, which must be a close_notify."""
    import ssl

    chunks = []
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except ssl.SSLEOFError as error:
        raise AssertionError("data connection ended without close_notify after %d bytes: %s"
                             % (sum(map(len, chunks)), error))
    finally:
        sock.close()
    return b"".join(chunks)


def close_tls_upload(sock, close_notify=True):
    """Ends the client side of an upload: close_notify (or not), then FIN, then
    waits for the server to close, so no unread TLS 1.3 ticket turns the close
    into a reset that could drop data in flight."""
    import ssl

    raw = sock
    if close_notify:
        try:
            raw = sock.unwrap()
        except (ssl.SSLError, OSError):
            raw = sock
    try:
        raw.shutdown(socket.SHUT_WR)
        raw.settimeout(DATA_TIMEOUT)
        while raw.recv(65536):
            pass
    except (ssl.SSLError, OSError):
        pass
    finally:
        raw.close()
        sock.close()


def tls_download(control, line, mode="passive", reuse=True):
    """150, the data over TLS (ending in close_notify), 226. Returns the bytes."""
    connected = open_data(control, mode)
    control.send(line + "\r\n")
    sock = connected()
    reply = control.read_reply()
    if reply.code not in (125, 150):
        sock.close()
        raise AssertionError("%s: expected 150, got %r" % (line, reply))
    data = read_all_tls(wrap_data(control, sock, reuse))
    expect_complete(control, line)
    return data


def tls_upload(control, line, data, mode="passive", reuse=True, close_notify=True):
    """150, the data over TLS, 226. Returns the 150 reply."""
    connected = open_data(control, mode)
    control.send(line + "\r\n")
    sock = connected()
    first = control.read_reply()
    if first.code not in (125, 150):
        sock.close()
        raise AssertionError("%s: expected 150, got %r" % (line, first))
    tls = wrap_data(control, sock, reuse)
    tls.sendall(data)
    close_tls_upload(tls, close_notify)
    expect_complete(control, line)
    return first


# --- Deployment: ftpd under launchers, as a daemon, and what the OS sees of it. ---

def at_finish(function):
    """Calls function() at the end of the test, after the servers are stopped
    (for things no Server owns, such as a detached daemon)."""
    _cleanups.append(function)


def shared_temp_dir(prefix="ftpd-shared-"):
    """A fresh directory that every user can traverse (mode 0755), for servers that
    drop root: TMPDIR of a test lies in a directory only root can enter."""
    parent = os.environ.get("FTPD_TEST_SHARED_TMP", "/tmp")
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(path, 0o755)
    _temp_dirs.append(path)
    return path


def ftpd_command(config_file, options=None, args=()):
    """An ftpd command line: -c config_file, then -o KEY=VALUE for each option
    (user=none and log=stderr unless options say otherwise), then args."""
    opts = {"user": "none", "log": "stderr", "login_failure_delay": "0",
            "workers": TEST_WORKERS}
    opts.update(options or {})
    argv = [ftpd_path(), "-c", config_file]
    for key, value in opts.items():
        argv += ["-o", "%s=%s" % (key, value)]
    return argv + list(args)


def run_ftpd(arguments, timeout=10, **popen_arguments):
    """Runs ftpd with arguments (a list after the program) to its end; returns the
    CompletedProcess with text stdout and stderr. Like Server, it never asks for
    the default user "ftpd" (which need not exist here) unless told a user."""
    arguments = list(arguments)
    if not any(str(argument).startswith("user=") for argument in arguments):
        arguments += ["-o", "user=none"]
    return subprocess.run([ftpd_path()] + arguments, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, **popen_arguments)


def _tcp_table():
    """(local, remote, state, inode) of every IPv4 TCP socket, addresses as (host, port)."""
    def address(text):
        host, port = text.split(":")
        packed = bytes.fromhex(host)[::-1]
        return socket.inet_ntoa(packed), int(port, 16)

    rows = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            rows.append((address(fields[1]), address(fields[2]), fields[3], int(fields[9])))
    return rows


def is_listening(port, host="127.0.0.1"):
    """True if some socket listens on host:port (seen in /proc, without connecting,
    so a launcher that starts a process per connection starts none)."""
    return any(local == (host, port) and state == "0A"
               for local, _remote, state, _inode in _tcp_table())


def wait_for_listening(port, process=None, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not is_listening(port):
        if process is not None and process.poll() is not None:
            raise AssertionError("%s exited with status %d before listening on port %d"
                                 % (os.path.basename(process.args[0]), process.returncode, port))
        if time.monotonic() > deadline:
            raise AssertionError("nothing listens on port %d after %.0f s" % (port, timeout))
        time.sleep(0.02)


def processes_holding_socket(inode):
    """pids with a descriptor on the socket with this inode."""
    target = "socket:[%d]" % inode
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        directory = "/proc/%s/fd" % name
        try:
            for fd in os.listdir(directory):
                if os.readlink(os.path.join(directory, fd)) == target:
                    found.add(int(name))
                    break
        except OSError:
            continue
    return found


def server_end_inode(client_sock):
    """The inode of the server's end of a loopback TCP connection, from the client's socket."""
    here = client_sock.getsockname()[:2]
    there = client_sock.getpeername()[:2]
    for local, remote, _state, inode in _tcp_table():
        if local == there and remote == here and inode != 0:
            return inode
    raise AssertionError("no server end of the connection %s -> %s in /proc/net/tcp"
                         % (here, there))


def serving_pid(client_sock, timeout=5.0):
    """The one process holding the server end of client_sock's connection (a
    launcher that fork()s may hold it for a moment: wait until one is left)."""
    inode = server_end_inode(client_sock)
    deadline = time.monotonic() + timeout
    while True:
        pids = processes_holding_socket(inode)
        if len(pids) == 1:
            return pids.pop()
        if time.monotonic() > deadline:
            raise AssertionError("the server end of the connection is held by %r" % sorted(pids))
        time.sleep(0.02)


def reap(server, timeout):
    """Waits for a server that should exit on its own; returns its exit status or
    None. The server counts as stopped (and is checked for sanitizer reports)."""
    try:
        status = server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    server.stopped = True
    server._stderr_file.close()
    text = server.stderr_text()
    for marker in SANITIZER_MARKERS:
        check(marker not in text, "ftpd stderr contains %r" % marker)
    return status


def process_status(pid):
    """/proc/PID/status as a dict of field -> text."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _sep, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def process_title(pid):
    """What ps shows for pid: its command line as ftpd rewrote it ("ftpd: worker 1")."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode("utf-8", "replace")


def parent_pid(pid):
    return int(process_status(pid)["PPid"])


def children_of(pid):
    """The live processes whose parent is pid."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = process_status(int(name))
        except OSError:
            continue
        if status.get("PPid") == str(pid) and not status.get("State", "").startswith(("Z", "X")):
            found.append(int(name))
    return sorted(found)


def worker_pids(monitor_pid, count=None, timeout=5.0):
    """The worker processes of the ftpd monitor monitor_pid (waiting until there
    are count of them, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = []
        for pid in children_of(monitor_pid):
            try:
                if process_title(pid).startswith("ftpd: worker"):
                    workers.append(pid)
            except OSError:
                pass
        if count is None or len(workers) == count:
            return workers
        if time.monotonic() > deadline:
            raise AssertionError("ftpd %d has workers %r, expected %d" % (monitor_pid, workers,
                                                                          count))
        time.sleep(0.02)


def process_environment(pid):
    """The environment pid was started with (/proc/PID/environ)."""
    with open("/proc/%d/environ" % pid, "rb") as f:
        entries = f.read().split(b"\0")
    return dict(entry.decode("utf-8", "replace").partition("=")[::2] for entry in entries if entry)


def process_gone(pid):
    """True if pid has exited (gone, or a zombie nobody reaped yet)."""
    try:
        return process_status(pid).get("State", "").startswith(("Z", "X"))
    except OSError:
        return True


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(0.02)


def system_user(name):
    """(uid, gid) of a local system account, created with useradd if missing."""
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if os.geteuid() != 0 or shutil.which("useradd") is None:
            skip("user %s does not exist and cannot be created here" % name)
        result = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                                 "--shell", "/usr/sbin/nologin", name],
                                capture_output=True, text=True)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            skip("cannot create user %s: %s" % (name, result.stderr.strip()))
    return entry.pw_uid, entry.pw_gid


class Launched:
    """A command run for a test (a launcher such as socat or systemd-socket-activate,
    or ftpd itself), its stdout and stderr in a log file, stopped at the end of the
    test. Launchers have exit statuses of their own, so stop() checks only that no
    sanitizer report reached the log; ftpd children of a launcher inherit it."""

    def __init__(self, argv, env=None, pass_fds=()):
        self.argv = [str(item) for item in argv]
        base = temp_dir("ftpd-launched-")
        self.stderr_path = os.path.join(base, "ftpd-stderr.log")
        self._log = open(self.stderr_path, "wb")
        self.stopped = False
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=self._log, env=env, pass_fds=pass_fds)
        self.pid = self.process.pid
        _servers.append(self)

    def command_line(self):
        return self.argv

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, lines=30):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def wait(self, timeout=STOP_TIMEOUT):
        return self.process.wait(timeout)

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError("%s: log contains %r" % (self.argv[0], marker))
