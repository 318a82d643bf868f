"""scenarios: what one soak client does, one scenario at a time: logins right
and wrong, listings, transfers both ways (plain and TLS, passive and active),
and the rude ones (ABOR, resets, slow readers, clients that vanish).

Each scenario checks every reply it gets; a reply or behaviour a correct
server would not give raises Unexpected (or an error from harness/ftplib,
counted the same way). Expected refusals (530 for a wrong password) are not
errors."""

import ftplib
import hashlib
import io
import socket
import ssl
import struct
import time

import harness
from harness import Control, client_context, read_all, wrap_data

# Seconds a client waits for any one reply or data read before it counts an error.
CLIENT_TIMEOUT = 30.0


class Unexpected(Exception):
    """The server answered something a correct server would not."""


class Site:
    """What the clients know of the server: its port, the anonymous files
    (path -> contents) and the passwd users (name, password)."""

    def __init__(self, port, files, users, wrong_password):
        self.port = port
        self.files = files
        self.small_files = sorted(path for path, data in files.items()
                                  if len(data) < (64 << 10) and path.endswith(".bin"))
        self.big_files = sorted(path for path, data in files.items() if len(data) >= (1 << 20))
        self.users = users
        self.wrong_password = wrong_password


class Client:
    """One soak client's state: who it is, its random source, its file names."""

    def __init__(self, number, site, rng):
        self.number = number
        self.site = site
        self.rng = rng
        self.serial = 0

    def unique_name(self, suffix=".bin"):
        self.serial += 1
        return "c%03d-%d%s" % (self.number, self.serial, suffix)

    def user(self):
        return self.rng.choice(self.site.users)

    def payload(self):
        """Bytes to upload: mostly small, now and then 1-4 MiB."""
        if self.rng.random() < 0.2:
            size = self.rng.randint(1 << 20, 4 << 20)
        else:
            size = self.rng.randint(0, 256 << 10)
        return self.rng.randbytes(size)

    def data_mode(self):
        return self.rng.choice(("passive", "epsv", "active", "eprt"))


def digest(data):
    return hashlib.sha256(data).hexdigest()


# --- Raw control connections (harness.Control), plain or TLS. ---

def connect(client):
    control = Control(client.site.port, timeout=CLIENT_TIMEOUT)
    if control.greeting.code != 220:
        raise Unexpected("greeting: %r" % control.greeting)
    return control


def expect(control, line, *codes):
    reply = control.command(line)
    if reply.code not in codes:
        raise Unexpected("%s: expected %s, got %r" % (
            line.split(" ")[0] if line.startswith("PASS") else line,
            "/".join(map(str, codes)), reply))
    return reply


def read_expect(control, what, *codes):
    reply = control.read_reply()
    if reply.code not in codes:
        raise Unexpected("%s: expected %s, got %r" % (what, "/".join(map(str, codes)), reply))
    return reply


def login(client, control, anonymous=None):
    """Logs in as a guest or a passwd user (chosen at random unless told);
    returns True for a passwd user."""
    if anonymous is None:
        anonymous = client.rng.random() < 0.5
    if anonymous:
        expect(control, "USER " + client.rng.choice(("anonymous", "ftp")), 331)
        expect(control, "PASS soak@example.org", 230)
        return False
    name, password = client.user()
    expect(control, "USER " + name, 331)
    expect(control, "PASS " + password, 230)
    return True


def start_tls(control):
    expect(control, "AUTH TLS", 234)
    harness.start_tls(control, client_context())
    expect(control, "PBSZ 0", 200)
    expect(control, "PROT P", 200)


def is_tls(control):
    return isinstance(control.sock, ssl.SSLSocket)


def reset(sock):
    """Closes with an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def start_transfer(client, control, line, receive_buffer=None):
    """Prepares a data connection (passive or active, at random), sends line
    and reads its 150; returns the data socket (wrapped in TLS when the control
    connection is)."""
    mode = client.data_mode()
    listener = sock = None
    if mode in ("passive", "epsv"):
        sock = harness.open_passive(control, "PASV" if mode == "passive" else "EPSV",
                                    receive_buffer=receive_buffer)
    else:
        listener = harness.ActiveListener(control, "PORT" if mode == "active" else "EPRT")
    try:
        control.send(line + "\r\n")
        read_expect(control, line, 125, 150)
        if listener is not None:
            sock = listener.accept()
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    except BaseException:
        for item in (sock, listener):
            if item is not None:
                item.close()
        raise
    sock.settimeout(CLIENT_TIMEOUT)
    if is_tls(control):
        sock = wrap_data(control, sock)
    return sock


def receive_all(control, sock):
    if is_tls(control):
        return harness.read_all_tls(sock)
    return read_all(sock)


def download(client, control, line):
    sock = start_transfer(client, control, line)
    data = receive_all(control, sock)
    read_expect(control, line + " (end)", 226)
    return data


def upload(client, control, line, data):
    sock = start_transfer(client, control, line)
    if is_tls(control):
        sock.sendall(data)
        harness.close_tls_upload(sock)
    else:
        sock.sendall(data)
        sock.close()
    read_expect(control, line + " (end)", 226)


def retrieve_checked(client, control, path):
    data = download(client, control, "RETR " + path)
    if data != client.site.files[path]:
        raise Unexpected("RETR %s: %d bytes differ from the %d of the file"
                         % (path, len(data), len(client.site.files[path])))


def receive_some(sock, at_least):
    """Reads until at least this many bytes came (or the end); returns the count."""
    got = 0
    while got < at_least:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    return got


def abor(control, urgent=False):
    """ABOR during a transfer, and the replies a correct server may give
    (426 then 226 if it stopped the transfer; 226 then 225 if the transfer
    had just finished), then NOOP to see the session is sound."""
    if urgent and not is_tls(control):
        control.sock.send(b"\xff\xf4\xff", 0)
        control.sock.send(b"\xf2", socket.MSG_OOB)
    control.send("ABOR\r\nNOOP\r\n")
    codes = []
    while True:
        reply = control.read_reply()
        codes.append(reply.code)
        if reply.code == 200 or len(codes) > 3:
            break
    if codes not in ([426, 226, 200], [226, 200], [226, 225, 200], [226, 226, 200],
                     [225, 200]):
        raise Unexpected("replies to ABOR and NOOP during a transfer: %r" % codes)


def quit_session(control):
    expect(control, "QUIT", 221)
    control.close()


# --- The scenarios. Each takes a Client and returns normally when all went right. ---

def browse(client):
    """A guest or user looks around (PWD, CWD, listings, facts, errors) over a
    plain or protected connection; a user stores, reads back and deletes a file."""
    with connect(client) as control:
        if client.rng.random() < 0.25:
            start_tls(control)
        user = login(client, control)
        expect(control, "PWD", 257)
        expect(control, "TYPE I", 200)
        if not user:
            expect(control, "CWD pub", 250)
            names = download(client, control, "NLST").decode().split("\r\n")
            if "hello.txt" not in names:
                raise Unexpected("NLST of pub lacks hello.txt: %r" % names[:10])
            path = client.rng.choice(client.site.small_files)
            name = path.split("/")[-1]
            reply = expect(control, "SIZE " + name, 213)
            if reply.text.strip() != str(len(client.site.files[path])):
                raise Unexpected("SIZE %s: %r" % (name, reply))
            expect(control, "MDTM " + name, 213)
            expect(control, "MLST " + name, 250)
            expect(control, "CWD many", 250)
            expect(control, "CDUP", 200, 250)
            expect(control, "CWD /", 250)
        else:
            target = client.unique_name()
            data = client.rng.randbytes(client.rng.randint(0, 100000))
            upload(client, control, "STOR " + target, data)
            if download(client, control, "RETR " + target) != data:
                raise Unexpected("RETR of the %d bytes just stored differs" % len(data))
            expect(control, "DELE " + target, 250)
        for line in client.rng.sample(["LIST", "LIST -la", "MLSD", "NLST", "LIST pub/many",
                                       "MLSD pub/many"], 3):
            if not (user and line.endswith("pub/many")):
                download(client, control, line)
        expect(control, "CWD no-such-directory", 550)
        expect(control, "SIZE no-such-file", 550)
        expect(control, "NOOP", 200)
        expect(control, client.rng.choice(("SYST", "FEAT", "HELP", "STAT")), 211, 214, 215)
        quit_session(control)


def guest_download(client):
    """ftplib (plain), passive or active: whole files, and one from an offset."""
    ftp = ftplib.FTP(timeout=CLIENT_TIMEOUT)
    ftp.connect("127.0.0.1", client.site.port)
    try:
        ftp.login()
        ftp.set_pasv(client.rng.random() < 0.7)
        for _ in range(client.rng.randint(1, 3)):
            files = client.site.big_files if client.rng.random() < 0.4 else client.site.small_files
            path = client.rng.choice(files)
            contents = client.site.files[path]
            rest = client.rng.randint(0, len(contents)) if client.rng.random() < 0.3 else None
            chunks = []
            ftp.retrbinary("RETR " + path, chunks.append, rest=rest)
            data = b"".join(chunks)
            if data != contents[rest or 0:]:
                raise Unexpected("RETR %s (REST %s): %d bytes differ from the file's %d"
                                 % (path, rest, len(data), len(contents[rest or 0:])))
        if client.rng.random() < 0.5:
            lines = []
            ftp.retrlines("RETR pub/text.txt", lines.append)
            if len(lines) != 200:
                raise Unexpected("RETR pub/text.txt in TYPE A: %d lines" % len(lines))
        ftp.quit()
    finally:
        ftp.close()


def user_files(client):
    """A passwd user (ftplib, plain) stores, reads back, renames, makes and
    removes directories, deletes."""
    ftp = ftplib.FTP(timeout=CLIENT_TIMEOUT)
    ftp.connect("127.0.0.1", client.site.port)
    try:
        name, password = client.user()
        ftp.login(name, password)
        ftp.set_pasv(client.rng.random() < 0.7)
        data = client.payload()
        target = client.unique_name()
        ftp.storbinary("STOR " + target, io.BytesIO(data))
        if ftp.size(target) != len(data):
            raise Unexpected("SIZE after STOR of %d bytes: %r" % (len(data), ftp.size(target)))
        if client.rng.random() < 0.3:
            extra = client.rng.randbytes(client.rng.randint(1, 50000))
            ftp.storbinary("APPE " + target, io.BytesIO(extra))
            data += extra
        chunks = []
        ftp.retrbinary("RETR " + target, chunks.append)
        if digest(b"".join(chunks)) != digest(data):
            raise Unexpected("RETR of a stored file: %d bytes, stored %d"
                             % (len(b"".join(chunks)), len(data)))
        directory = client.unique_name("")
        ftp.mkd(directory)
        renamed = directory + "/" + target
        ftp.rename(target, renamed)
        ftp.cwd(directory)
        names = ftp.nlst()
        if names != [target]:
            raise Unexpected("NLST of a fresh directory: %r" % names)
        if client.rng.random() < 0.3:
            ftp.retrlines("LIST", lambda line: None)
        ftp.delete(target)
        ftp.cwd("..")
        ftp.rmd(directory)
        ftp.quit()
    finally:
        ftp.close()


def wrong_password(client):
    """530 for a wrong password, then a right one, or giving up."""
    with connect(client) as control:
        name, password = client.user()
        expect(control, "USER " + name, 331)
        expect(control, "PASS " + client.site.wrong_password, 530)
        choice = client.rng.random()
        if choice < 0.5:
            expect(control, "USER " + name, 331)
            expect(control, "PASS " + password, 230)
            expect(control, "PWD", 257)
            quit_session(control)
        elif choice < 0.8:
            quit_session(control)


def abort_download(client):
    """RETR of a big file, ABOR part-way (sometimes with the telnet urgent
    sequence), then another RETR in the same session."""
    with connect(client) as control:
        if client.rng.random() < 0.3:
            start_tls(control)
        login(client, control, anonymous=True)
        expect(control, "TYPE I", 200)
        sock = start_transfer(client, control, "RETR " + client.rng.choice(client.site.big_files),
                              receive_buffer=16384)
        try:
            receive_some(sock, client.rng.randint(1, 256 << 10))
            abor(control, urgent=client.rng.random() < 0.5)
        finally:
            sock.close()
        retrieve_checked(client, control, client.rng.choice(client.site.small_files))
        quit_session(control)


def abort_upload(client):
    """STOR part-way, ABOR: 426 and 226, and no file left behind."""
    with connect(client) as control:
        if client.rng.random() < 0.3:
            start_tls(control)
        login(client, control, anonymous=False)
        expect(control, "TYPE I", 200)
        target = client.unique_name()
        sock = start_transfer(client, control, "STOR " + target)
        try:
            sock.sendall(client.rng.randbytes(client.rng.randint(1, 512 << 10)))
            control.send("ABOR\r\n")
            read_expect(control, "first reply to ABOR during STOR", 426)
            read_expect(control, "second reply to ABOR during STOR", 226)
        finally:
            sock.close()
        expect(control, "NOOP", 200)
        expect(control, "SIZE " + target, 550)
        quit_session(control)


def reset_data(client):
    """The data connection of a RETR or STOR ends in an RST part-way; the
    session answers and goes on."""
    with connect(client) as control:
        tls = client.rng.random() < 0.3
        if tls:
            start_tls(control)
        storing = client.rng.random() < 0.5
        login(client, control, anonymous=not storing)
        expect(control, "TYPE I", 200)
        if storing:
            target = client.unique_name()
            sock = start_transfer(client, control, "STOR " + target)
            sock.sendall(client.rng.randbytes(client.rng.randint(1, 512 << 10)))
            reset(sock)
            # The reset may come before the server has seen the connection
            # open (its accept, connect or TLS handshake): then 425.
            codes = (425, 426, 451)
            read_expect(control, "STOR whose data connection was reset%s" % (
                " (TLS)" if tls else ""), *codes)
            expect(control, "SIZE " + target, 550)
        else:
            sock = start_transfer(client, control,
                                  "RETR " + client.rng.choice(client.site.big_files),
                                  receive_buffer=32768)
            receive_some(sock, client.rng.randint(1, 256 << 10))
            reset(sock)
            read_expect(control, "RETR whose data connection was reset%s" % (
                " (TLS)" if tls else ""), 226, 426, 451)
        expect(control, "NOOP", 200)
        quit_session(control)


def reset_everything(client):
    """A transfer part-way, then both connections end in an RST: the client is gone."""
    control = connect(client)
    try:
        if client.rng.random() < 0.3:
            start_tls(control)
        storing = client.rng.random() < 0.5
        login(client, control, anonymous=not storing)
        expect(control, "TYPE I", 200)
        if storing:
            sock = start_transfer(client, control, "STOR " + client.unique_name())
            sock.sendall(client.rng.randbytes(client.rng.randint(1, 256 << 10)))
        else:
            sock = start_transfer(client, control,
                                  "RETR " + client.rng.choice(client.site.big_files),
                                  receive_buffer=32768)
            receive_some(sock, client.rng.randint(1, 128 << 10))
        first, second = (sock, control.sock) if client.rng.random() < 0.5 else (control.sock, sock)
        reset(first)
        reset(second)
    finally:
        control.close()


def slow_reader(client):
    """RETR read slowly through a small window for a while, then dropped:
    the data connection closes, and the client quits or just vanishes."""
    control = connect(client)
    try:
        if client.rng.random() < 0.3:
            start_tls(control)
        login(client, control, anonymous=True)
        expect(control, "TYPE I", 200)
        sock = start_transfer(client, control, "RETR " + client.rng.choice(client.site.big_files),
                              receive_buffer=4096)
        until = time.monotonic() + client.rng.uniform(0.5, 4.0)
        while time.monotonic() < until:
            if not sock.recv(4096):
                break
            time.sleep(client.rng.uniform(0.02, 0.2))
        sock.close()
        if client.rng.random() < 0.5:
            read_expect(control, "RETR whose reader went away", 226, 426, 451)
            quit_session(control)
    finally:
        control.close()


def vanish(client):
    """Clients that connect and never finish: silent, half a line, idle after
    login, AUTH TLS without a handshake; closed with a FIN or an RST."""
    kind = client.rng.randrange(5)
    if kind in (0, 1):
        sock = socket.create_connection(("127.0.0.1", client.site.port), timeout=CLIENT_TIMEOUT)
        if kind == 1:
            time.sleep(client.rng.uniform(0.1, 2.0))
    else:
        control = connect(client)
        sock = control.sock
        if kind == 2:
            sock.sendall(client.rng.choice((b"USER anonym", b"PASS", b"RETR pub/hello", b"\xff")))
        elif kind == 3:
            login(client, control)
        else:
            expect(control, "AUTH TLS", 234)
            # Part of a TLS record header, or nothing at all.
            if client.rng.random() < 0.5:
                sock.sendall(b"\x16\x03\x01\x02")
        time.sleep(client.rng.uniform(0.2, 3.0))
    if client.rng.random() < 0.5:
        reset(sock)
    else:
        sock.close()


class ResumingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS resumes the control connection's TLS session on data connections
    (what ftpd requires by default; see the README's FTPS section)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def tls_session(client):
    """ftplib.FTP_TLS: AUTH TLS, PROT P, listings and transfers (uploads as a
    passwd user), now and then PROT C transfers on the protected control."""
    ftp = ResumingFTP_TLS(context=client_context(), timeout=CLIENT_TIMEOUT)
    ftp.connect("127.0.0.1", client.site.port)
    try:
        ftp.auth()
        user = client.rng.random() < 0.5
        if user:
            ftp.login(*client.user())
        else:
            ftp.login()
        if client.rng.random() < 0.8:
            ftp.prot_p()
        ftp.set_pasv(client.rng.random() < 0.7)
        if user:
            data = client.payload()
            target = client.unique_name()
            ftp.storbinary("STOR " + target, io.BytesIO(data))
            chunks = []
            ftp.retrbinary("RETR " + target, chunks.append)
            if digest(b"".join(chunks)) != digest(data):
                raise Unexpected("TLS RETR of a stored file differs (%d bytes, stored %d)"
                                 % (len(b"".join(chunks)), len(data)))
            if target not in ftp.nlst():
                raise Unexpected("NLST lacks the file just stored")
            ftp.delete(target)
        else:
            list(ftp.mlsd("pub"))
            path = client.rng.choice(client.site.big_files + client.site.small_files)
            chunks = []
            ftp.retrbinary("RETR " + path, chunks.append)
            if b"".join(chunks) != client.site.files[path]:
                raise Unexpected("TLS RETR %s differs" % path)
        ftp.quit()
    finally:
        ftp.close()


# name -> (function, weight)
SCENARIOS = {
    "browse": (browse, 3),
    "guest_download": (guest_download, 3),
    "user_files": (user_files, 3),
    "tls_session": (tls_session, 3),
    "wrong_password": (wrong_password, 1),
    "abort_download": (abort_download, 1),
    "abort_upload": (abort_upload, 1),
    "reset_data": (reset_data, 1),
    "reset_everything": (reset_everything, 1),
    "slow_reader": (slow_reader, 1),
    "vanish": (vanish, 1),
}
