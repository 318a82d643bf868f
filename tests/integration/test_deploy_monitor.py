"""test_deploy_monitor: the privileged monitor and its unprivileged workers. The
monitor stays root, binds, holds the TLS key and the password file and counts the
limits; the workers serve every client as `user`. Checks that root-only files
still work after the split, that no root process touches a client connection
(system accounts' sessions included), that a killed worker is replaced, that
SIGHUP renews every worker, that the limits count across workers, that the key
is reloaded, the process titles, that malformed requests cost only the worker,
that workers share the passive ports and end with the monitor, and ftpd -t."""

import hashlib
import os
import pwd
import signal
import socket
import ssl
import subprocess
import time

from harness import (TEST_WORKERS, Server, anonymous_server, at_finish, check, check_equal, children_of,
                     download, expect_complete, make_certificate, open_passive, populate_tree,
                     process_gone, process_status, process_title, protect_data, read_all_tls,
                     reap, run_ftpd, serving_pid, shared_temp_dir, skip, system_user, temp_dir,
                     tls_control, tls_download, upload, wait_until, worker_pids, wrap_data,
                     write_file, write_passwd_file)

MEGABYTE = 1 << 20
PASSWORD = "s3cret-pass"


# --- Helpers: ids, processes, sockets ---

def wait_for(condition, timeout, describe):
    """wait_until with a message made when the wait fails (describe() shows the
    state at the deadline, not at the start)."""
    try:
        wait_until(condition, timeout, "condition")
    except AssertionError:
        raise AssertionError("%s: not within %.1f s" % (describe(), timeout))


def need_root():
    if os.geteuid() != 0:
        skip("the monitor/worker privilege split needs ftpd started as root")


def ids(pid, field="Uid"):
    """[real, effective, saved, file system] ids of pid."""
    return [int(value) for value in process_status(pid)[field].split()]


def nobody():
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        skip("there is no user nobody here")
    return entry.pw_uid, entry.pw_gid


def wait_for_workers_as(monitor, uid, count=None):
    """The workers of monitor (count of them: by default as many as the test
    servers run) once each has switched to uid (they do so a moment after they
    are forked). Returns their pids."""
    workers = worker_pids(monitor, count if count is not None else int(TEST_WORKERS))
    check(workers, "ftpd %d has no workers" % monitor)
    for worker in workers:
        wait_for(lambda: ids(worker) == [uid] * 4, 5,
                 lambda: "worker %d switching to uid %d (has %r)" % (worker, uid, ids(worker)))
    return workers


def open_as(path, uid, gid):
    """Tries to open path for reading in a child process running as uid/gid with no
    supplementary groups. Returns "opened", "denied" or a description of what else
    happened (the child reports through its exit status)."""
    pid = os.fork()
    if pid == 0:
        code = 4
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            code = 3
            with open(path, "rb"):
                code = 0
        except PermissionError:
            code = 1 if code == 3 else 4
        except OSError:
            code = 2 if code == 3 else 4
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return {0: "opened", 1: "denied", 2: "another error than EACCES",
            4: "the child could not switch to uid %d" % uid}.get(code, "exit status %d" % code)


def ftpd_processes(monitor):
    """The monitor and everything below it."""
    found = [monitor]
    index = 0
    while index < len(found):
        found += [pid for pid in children_of(found[index]) if pid not in found]
        index += 1
    return found


def _unhex_address(text):
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return socket.inet_ntoa(raw[::-1]), int(port, 16)
    # tcp6: four 32-bit words, each in host (little-endian) order.
    packed = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    if packed.startswith(b"\0" * 10 + b"\xff\xff"):
        return socket.inet_ntoa(packed[12:]), int(port, 16)
    return socket.inet_ntop(socket.AF_INET6, packed), int(port, 16)


def tcp_sockets():
    """{inode: (local, remote)} of every TCP socket, IPv4 and IPv6 (v4-mapped
    addresses written as IPv4)."""
    table = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    inode = int(fields[9])
                    if inode:
                        table[inode] = (_unhex_address(fields[1]), _unhex_address(fields[2]))
        except FileNotFoundError:
            continue
    return table


def socket_inodes(pid):
    inodes = set()
    directory = "/proc/%d/fd" % pid
    for fd in os.listdir(directory):
        try:
            target = os.readlink(os.path.join(directory, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def check_no_root_holds(monitor, client_socks, what):
    """No ftpd process with uid 0 (real, effective or saved) holds a TCP socket
    connected to one of client_socks; the process serving the first one is not
    uid 0 and does hold it."""
    clients = {sock.getsockname()[:2] for sock in client_socks}
    table = tcp_sockets()
    root_processes = []
    for pid in ftpd_processes(monitor):
        try:
            uids = ids(pid)
            inodes = socket_inodes(pid)
        except OSError:
            continue  # gone meanwhile
        if 0 not in uids[:3]:
            continue
        root_processes.append(pid)
        for inode in inodes:
            if inode in table and table[inode][1] in clients:
                raise AssertionError("%s: process %d (%r, uids %r) holds the server end of the "
                                     "client connection %s -> %s" % (
                                         what, pid, process_title(pid), uids,
                                         table[inode][1], table[inode][0]))
    check(monitor in root_processes, "%s: the monitor %d is not root (uids %r): the test would "
          "prove nothing" % (what, monitor, ids(monitor)))
    server_pid = serving_pid(client_socks[0])
    check(server_pid != monitor, "%s: the monitor serves the client" % what)
    check(0 not in ids(server_pid)[:3], "%s: process %d (%r) serving the client has uids %r"
          % (what, server_pid, process_title(server_pid), ids(server_pid)))
    return server_pid


def write_big_file(path, size):
    block = os.urandom(MEGABYTE)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size // MEGABYTE):
            f.write(block)
            digest.update(block)
    os.chmod(path, 0o644)
    return digest.hexdigest()


def root_only(path):
    os.chown(path, 0, 0)
    os.chmod(path, 0o600)
    return path


def root_only_certificate(directory, common_name):
    """A certificate (0644) and its key (0600, root:root) in directory."""
    cert, key = make_certificate(directory, common_name)
    os.chmod(cert, 0o644)
    root_only(key)
    return cert, key


def certificate_der(cert):
    with open(cert) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def presented_certificate(server):
    """The DER certificate a new connection's AUTH TLS handshake presents."""
    with tls_control(server) as control:
        return control.sock.getpeercert(binary_form=True)


def sessions_on_each_worker(server, workers, limit=20):
    """Opens anonymous sessions until every worker in workers serves at least one
    (at most limit). Returns {worker pid: [controls]}."""
    by_worker = {}
    opened = 0
    while len(by_worker) < len(workers):
        check(opened < limit, "%d connections all went to workers %r of %r" % (
            opened, sorted(by_worker), workers))
        control = server.connect()
        opened += 1
        control.login_anonymous()
        pid = serving_pid(control.sock)
        check(pid in workers, "connection served by %d, which is not a worker of %r"
              % (pid, workers))
        by_worker.setdefault(pid, []).append(control)
    return by_worker


# --- Root-only password file ---

def root_only_passwd_file_case(user):
    """ftpd as root, switching workers to user; the passwd file is 0600 root:root."""
    need_root()
    if user == "nobody":
        uid, gid = nobody()
    else:
        uid, gid = system_user(user)
    base = shared_temp_dir("ftpd-users-")
    homes = os.path.join(base, "homes")
    home = os.path.join(homes, "alice")
    os.makedirs(home)
    os.chmod(homes, 0o755)
    write_file(os.path.join(home, "hello.txt"), b"hello from alice\n")
    os.chmod(os.path.join(home, "hello.txt"), 0o644)
    os.chown(home, uid, gid)
    passwd = root_only(write_passwd_file(os.path.join(base, "passwd"),
                                         [("alice", PASSWORD, None)]))
    check_equal(open_as(passwd, uid, gid), "denied",
                "opening the 0600 root passwd file as uid %d" % uid)
    check_equal(open_as(os.path.join(home, "hello.txt"), uid, gid), "opened",
                "opening a 0644 file as uid %d (the check itself works)" % uid)
    options = {"anonymous": "no", "passwd_file": passwd, "home_root": homes, "user": user}
    with Server(options) as server:
        monitor = server.process.pid
        workers = wait_for_workers_as(monitor, uid)
        for worker in workers:
            check_equal(ids(worker), [uid] * 4, "Uid of worker %d" % worker)
            check_equal(ids(worker, "Gid"), [gid] * 4, "Gid of worker %d" % worker)
        check_equal(ids(monitor)[:3], [0, 0, 0], "Uid of the monitor")
        with server.connect() as control:
            control.expect("USER alice", 331)
            reply = control.command("PASS " + PASSWORD)
            check_equal(reply.code, 230, "PASS with the right password (reply %r; log %r)"
                        % (reply, server.stderr_tail(5)))
            server_pid = serving_pid(control.sock)
            check(server_pid in workers, "the login is served by %d, not a worker of %r"
                  % (server_pid, workers))
            check_equal(download(control, "RETR hello.txt"), b"hello from alice\n", "RETR")
            upload(control, "STOR up.txt", b"uploaded\n")
            info = os.stat(os.path.join(home, "up.txt"))
            check_equal((info.st_uid, info.st_gid), (uid, gid), "owner of the uploaded file")
            control.expect("QUIT", 221)
        with server.connect() as control:
            control.expect("USER alice", 331)
            control.expect("PASS wrong-" + PASSWORD, 530)
        for worker in worker_pids(monitor):
            check_equal(ids(worker), [uid] * 4, "Uid of worker %d after the logins" % worker)
    # The unprivileged user still cannot read the hashes, so the monitor read them.
    check_equal(open_as(passwd, uid, gid), "denied",
                "opening the passwd file as uid %d after the test" % uid)


def test_root_only_passwd_file_with_user_nobody():
    """A passwd_file that only root may read (0600 root:root) still serves password
    logins when the workers run as nobody: the monitor checks the passwords."""
    root_only_passwd_file_case("nobody")


def test_root_only_passwd_file_with_default_user():
    """The same with the account named by the built-in default of `user`, "ftpd"
    (created with useradd if missing). The harness always passes user=, so this
    test passes user=ftpd explicitly rather than leaving the key out."""
    need_root()
    try:
        pwd.getpwnam("ftpd")
        created = False
    except KeyError:
        created = True
    system_user("ftpd")
    if created:
        at_finish(lambda: subprocess.run(["userdel", "ftpd"], capture_output=True))
    root_only_passwd_file_case("ftpd")


# --- No root process near a client ---

def test_no_root_process_holds_a_client_socket():
    """With user=nobody and TLS, during an anonymous login, a TLS password login and
    a running download, no ftpd process with uid 0 holds the server end of a client
    connection (control or data), and the process serving it is not root, while
    the monitor is root."""
    need_root()
    uid, gid = nobody()
    base = shared_temp_dir("ftpd-split-")
    anonymous_root = os.path.join(base, "anon")
    os.makedirs(anonymous_root)
    populate_tree(anonymous_root)
    size = 32 * MEGABYTE
    digest = write_big_file(os.path.join(anonymous_root, "big.bin"), size)
    homes = os.path.join(base, "homes")
    os.makedirs(os.path.join(homes, "alice"))
    write_file(os.path.join(homes, "alice", "mine.txt"), b"mine\n")
    os.chmod(os.path.join(homes, "alice", "mine.txt"), 0o644)
    os.chown(os.path.join(homes, "alice"), uid, gid)
    passwd = root_only(write_passwd_file(os.path.join(base, "passwd"),
                                         [("alice", PASSWORD, None)]))
    cert_dir = os.path.join(base, "tls")
    os.makedirs(cert_dir)
    cert, key = root_only_certificate(cert_dir, "localhost")
    check_equal(open_as(key, uid, gid), "denied", "opening the TLS key as nobody")
    options = {"anonymous": "yes", "anonymous_root": anonymous_root, "passwd_file": passwd,
               "home_root": homes, "user": "nobody", "tls": "explicit", "tls_cert": cert,
               "tls_key": key}
    with Server(options) as server:
        monitor = server.process.pid
        wait_for_workers_as(monitor, uid)

        # (a) a plain anonymous login
        with server.connect() as plain:
            check_no_root_holds(monitor, [plain.sock], "plain connection before login")
            plain.login_anonymous()
            check_no_root_holds(monitor, [plain.sock], "plain anonymous session")
            check_equal(download(plain, "RETR README.txt"), b"read me\n", "plain RETR")
            plain.expect("QUIT", 221)

        # (b) a TLS password login
        with tls_control(server) as secure:
            check_no_root_holds(monitor, [secure.sock], "TLS connection before login")
            secure.expect("USER alice", 331)
            check_no_root_holds(monitor, [secure.sock], "TLS connection after USER")
            secure.expect("PASS " + PASSWORD, 230)
            check_no_root_holds(monitor, [secure.sock], "TLS password session")
            protect_data(secure)
            check_equal(tls_download(secure, "RETR mine.txt"), b"mine\n", "protected RETR")
            secure.expect("QUIT", 221)

        # (c) a download in flight
        with server.connect() as control:
            control.login_anonymous()
            control.expect("TYPE I", 200)
            data = open_passive(control, receive_buffer=16384)
            reply = control.command("RETR big.bin")
            check(reply.code in (125, 150), "RETR big.bin: %r" % reply)
            received = [data.recv(65536)]
            check_no_root_holds(monitor, [control.sock, data], "control of a running download")
            check_no_root_holds(monitor, [data, control.sock], "data of a running download")
            while True:
                chunk = data.recv(1 << 20)
                if not chunk:
                    break
                received.append(chunk)
            data.close()
            body = b"".join(received)
            check_equal(len(body), size, "bytes downloaded")
            check_equal(hashlib.sha256(body).hexdigest(), digest, "sha256 of the download")
            expect_complete(control, "RETR big.bin")
            control.expect("QUIT", 221)


# --- A killed worker ---

def test_killed_worker_is_restarted():
    """SIGKILL to one of two workers: the monitor logs it and starts another in its
    place; the other worker's sessions go on, the killed worker's are gone, and
    new connections are served (also by the new worker)."""
    server, _root = anonymous_server({"workers": "2"})
    with server:
        monitor = server.process.pid
        workers = worker_pids(monitor, 2)
        by_worker = sessions_on_each_worker(server, workers)
        victim, survivor = workers
        title = process_title(victim)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: process_gone(victim), 5, "worker %d gone after SIGKILL" % victim)

        def replaced():
            current = worker_pids(monitor)
            return len(current) == 2 and victim not in current
        wait_for(replaced, max(0.5, 5 - (time.monotonic() - killed_at)),
                 lambda: "two workers again within 5 s of SIGKILL (have %r)"
                 % worker_pids(monitor))
        current = worker_pids(monitor, 2)
        check(survivor in current, "the surviving worker %d is gone: workers %r"
              % (survivor, current))
        (replacement,) = [pid for pid in current if pid != survivor]
        check(replacement != victim, "the new worker has the killed worker's pid")
        wait_for(lambda: process_title(replacement) == title, 5,
                 lambda: "title of the new worker %d is %r, expected %r"
                 % (replacement, process_title(replacement), title))

        for number, control in enumerate(by_worker[survivor]):
            check_equal(control.command("PWD").code, 257, "PWD in surviving session %d" % number)
        check_equal(download(by_worker[survivor][0], "RETR pub/hello.txt"), b"hello, world\n",
                    "RETR in a surviving session")
        for number, control in enumerate(by_worker[victim]):
            check(control.is_closed(5), "session %d of the killed worker still open" % number)

        served_by_new = False
        for attempt in range(20):
            with server.connect() as control:
                check_equal(control.greeting.code, 220, "greeting of new connection %d" % attempt)
                control.login_anonymous()
                control.expect("PWD", 257)
                pid = serving_pid(control.sock)
                check(pid in (survivor, replacement), "new connection served by %d" % pid)
                if pid == replacement:
                    check_equal(download(control, "RETR pub/hello.txt"), b"hello, world\n",
                                "RETR on the new worker")
                    served_by_new = True
                control.expect("QUIT", 221)
            if served_by_new and attempt >= 3:
                break
        check(served_by_new, "20 new connections, none served by the new worker %d"
              % replacement)
        for control in by_worker[survivor]:
            control.expect("QUIT", 221)
        lines = [line for line in server.stderr_text().splitlines()
                 if "process %d)" % victim in line and "killed by signal 9" in line]
        check(lines, "no log line says worker process %d was killed by signal 9: %r"
              % (victim, server.stderr_tail(15)))


# --- SIGHUP ---

def greeting_of(server):
    with server.connect() as control:
        return control.greeting.lines


def test_sighup_reaches_every_worker():
    """SIGHUP with two workers that each hold a session: both are replaced by new
    workers with the new config file (banner, anonymous_root); the held sessions
    keep the old config, even for a new login, and the old workers exit when
    their sessions end."""
    old_root = temp_dir("ftpd-old-root-")
    write_file(os.path.join(old_root, "old.txt"), b"old root\n")
    new_root = temp_dir("ftpd-new-root-")
    write_file(os.path.join(new_root, "new.txt"), b"new root\n")
    server = Server({"anonymous": "yes", "workers": "2"}, start=False)
    write_file(server.config_file, "banner = before reload\nanonymous_root = %s\n" % old_root)
    with server:
        server.start()
        monitor = server.process.pid
        old_workers = worker_pids(monitor, 2)
        check_equal(greeting_of(server), ["220 before reload"], "greeting before SIGHUP")
        by_worker = sessions_on_each_worker(server, old_workers)
        held = {}
        for worker, controls in by_worker.items():
            held[worker] = controls[0]
            for extra in controls[1:]:
                extra.expect("QUIT", 221)
                extra.close()
        titles = {worker: process_title(worker) for worker in old_workers}
        check_equal(sorted(titles.values()), ["ftpd: worker 1", "ftpd: worker 2"],
                    "titles of the first workers")

        write_file(server.config_file, "banner = after reload\nanonymous_root = %s\n" % new_root)
        server.process.send_signal(signal.SIGHUP)

        def new_workers():
            return [pid for pid in worker_pids(monitor) if pid not in old_workers]
        wait_for(lambda: len(new_workers()) == 2, 10,
                 lambda: "two new workers after SIGHUP (workers %r, old %r)"
                 % (worker_pids(monitor), old_workers))
        fresh = new_workers()
        wait_for(lambda: sorted(process_title(pid) for pid in fresh)
                 == ["ftpd: worker 1", "ftpd: worker 2"], 5,
                 lambda: "titles of the new workers %r" % [process_title(pid) for pid in fresh])
        wait_for(lambda: greeting_of(server) == ["220 after reload"], 10,
                 lambda: "new sessions greet '220 after reload' (got %r)" % greeting_of(server))

        with server.connect() as control:
            control.login_anonymous()
            check(serving_pid(control.sock) in fresh, "a new session is served by an old worker")
            check_equal(download(control, "RETR new.txt"), b"new root\n",
                        "RETR in a new session (new anonymous_root)")
            check_equal(control.command("SIZE old.txt").code, 550,
                        "SIZE of the old root's file in a new session")
            control.expect("QUIT", 221)

        for worker, control in held.items():
            check(not process_gone(worker), "old worker %d exited while it holds a session"
                  % worker)
            check_equal(control.command("PWD").code, 257, "PWD in the held session on %d" % worker)
            check_equal(download(control, "RETR old.txt"), b"old root\n",
                        "RETR in the held session on %d" % worker)
            # A new login on the old connection still uses the old configuration.
            control.login_anonymous()
            check_equal(download(control, "RETR old.txt"), b"old root\n",
                        "RETR after a new login in the held session on %d" % worker)
        for worker, control in held.items():
            control.expect("QUIT", 221)
            check(control.is_closed(5), "held session on %d not closed after QUIT" % worker)
            control.close()
        for worker in old_workers:
            wait_until(lambda: process_gone(worker), 10,
                       "old worker %d exits after its last session" % worker)
        check_equal(sorted(worker_pids(monitor)), sorted(fresh),
                    "workers after the old ones exited")


# --- Limits across workers ---

def greet_from(port, source):
    """Connects from source; returns (socket, first reply line)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return sock, data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def code_of(line):
    return int(line[:3]) if line[:3].isdigit() else None


def closes(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def open_greeted(server, sources):
    """Connects once from each source in turn, reading each greeting before the
    next connection. Returns [(socket, code, source)]; 421s must be closed."""
    result = []
    for source in sources:
        sock, line = greet_from(server.port, source)
        code = code_of(line)
        if code == 421:
            check(closes(sock), "a 421 connection from %s stays open" % source)
            sock.close()
        result.append((sock, code, source))
    return result


def quit_and_close(sock):
    sock.sendall(b"QUIT\r\n")
    closes(sock)
    sock.close()


def admitted_again(server, source, timeout=5):
    """A connection from source that is greeted 220, retrying while it gets 421
    (the monitor hears of a closed session a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        sock, line = greet_from(server.port, source)
        if code_of(line) == 220:
            return sock
        sock.close()
        check(time.monotonic() < deadline, "no connection from %s admitted after a slot was "
              "freed (last reply %r)" % (source, line))
        time.sleep(0.05)


def test_limits_hold_across_workers():
    """With two workers the limits are counted by the monitor for all of them:
    max_clients_per_ip=3 admits exactly 3 of 6 connections from one address, and
    max_clients=4 exactly 4 of 8 from two addresses; closing admitted sessions
    frees their places."""
    server, _root = anonymous_server({"workers": "2", "max_clients_per_ip": "3",
                                      "max_clients": "0"})
    with server:
        workers = worker_pids(server.process.pid, 2)
        opened = open_greeted(server, ["127.0.0.1"] * 6)
        codes = [code for _sock, code, _source in opened]
        greeted = [sock for sock, code, _source in opened if code == 220]
        spread = sorted(serving_pid(sock) for sock in greeted)
        check_equal(codes, [220] * 3 + [421] * 3, "replies to 6 connections from 127.0.0.1 "
                    "with max_clients_per_ip=3 (admitted ones served by %r of workers %r)"
                    % (spread, workers))
        if len(set(spread)) < 2:
            print("note: the kernel gave all admitted connections to worker %d" % spread[0])
        # Another address is not limited by 127.0.0.1's count.
        other, line = greet_from(server.port, "127.0.0.2")
        check_equal(code_of(line), 220, "a connection from 127.0.0.2 (reply %r)" % line)
        quit_and_close(other)
        quit_and_close(greeted.pop(0))
        greeted.append(admitted_again(server, "127.0.0.1"))
        sock, line = greet_from(server.port, "127.0.0.1")
        check_equal(code_of(line), 421, "a fourth connection from 127.0.0.1 after the refill")
        sock.close()
        for sock in greeted:
            quit_and_close(sock)

    server, _root = anonymous_server({"workers": "2", "max_clients": "4",
                                      "max_clients_per_ip": "0"})
    with server:
        workers = worker_pids(server.process.pid, 2)
        opened = open_greeted(server, ["127.0.0.1", "127.0.0.2"] * 4)
        codes = [code for _sock, code, _source in opened]
        greeted = [(sock, source) for sock, code, source in opened if code == 220]
        spread = sorted(serving_pid(sock) for sock, _source in greeted)
        check_equal(codes, [220] * 4 + [421] * 4, "replies to 8 connections from two "
                    "addresses with max_clients=4 (admitted ones served by %r of workers %r)"
                    % (spread, workers))
        for _ in range(2):
            sock, _source = greeted.pop(0)
            quit_and_close(sock)
        greeted.append((admitted_again(server, "127.0.0.2"), "127.0.0.2"))
        greeted.append((admitted_again(server, "127.0.0.1"), "127.0.0.1"))
        sock, line = greet_from(server.port, "127.0.0.2")
        check_equal(code_of(line), 421, "a fifth connection after the two freed places were "
                    "taken again")
        sock.close()
        for sock, _source in greeted:
            quit_and_close(sock)


# --- TLS key reload ---

def test_root_only_tls_key_and_certificate_reload():
    """The TLS key is 0600 root and the workers run as nobody: FTPS works, and after
    the certificate and key files are replaced and the monitor gets SIGHUP, new
    connections present the new certificate while a protected download that was
    running finishes intact."""
    need_root()
    uid, gid = nobody()
    base = shared_temp_dir("ftpd-tls-reload-")
    root = os.path.join(base, "anon")
    os.makedirs(root)
    populate_tree(root)
    size = 32 * MEGABYTE
    digest = write_big_file(os.path.join(root, "big.bin"), size)
    cert_dir = os.path.join(base, "tls")
    os.makedirs(cert_dir)
    os.chmod(cert_dir, 0o755)
    cert, key = root_only_certificate(cert_dir, "first.example")
    check_equal(open_as(key, uid, gid), "denied", "opening the TLS key as nobody")
    old_der = certificate_der(cert)
    options = {"anonymous": "yes", "anonymous_root": root, "user": "nobody",
               "tls": "explicit", "tls_cert": cert, "tls_key": key}
    with Server(options) as server:
        monitor = server.process.pid
        old_workers = wait_for_workers_as(monitor, uid)
        check_equal(presented_certificate(server), old_der, "certificate before the reload")
        with tls_control(server) as control:
            control.login_anonymous()
            protect_data(control)
            check_equal(tls_download(control, "RETR pub/hello.txt"), b"hello, world\n",
                        "protected RETR")
            control.expect("QUIT", 221)

        running = tls_control(server)
        running.login_anonymous()
        protect_data(running)
        running.expect("TYPE I", 200)
        raw = open_passive(running, receive_buffer=16384)
        reply = running.command("RETR big.bin")
        check(reply.code in (125, 150), "RETR big.bin: %r" % reply)
        data = wrap_data(running, raw)
        received = []
        while sum(map(len, received)) < MEGABYTE:
            chunk = data.recv(65536)
            check(chunk, "the download ended after %d bytes" % sum(map(len, received)))
            received.append(chunk)

        old_server = serving_pid(running.sock)
        check(old_server in old_workers, "the download is served by %d, not a worker of %r"
              % (old_server, old_workers))

        new_dir = temp_dir("ftpd-new-cert-")
        new_cert, new_key = make_certificate(new_dir, "second.example")
        new_der = certificate_der(new_cert)
        check(new_der != old_der, "the new certificate equals the old one")
        for source, target, mode in ((new_key, key, 0o600), (new_cert, cert, 0o644)):
            staging = target + ".new"
            with open(source, "rb") as f:
                write_file(staging, f.read())
            os.chown(staging, 0, 0)
            os.chmod(staging, mode)
            os.replace(staging, target)
        check_equal(open_as(key, uid, gid), "denied", "opening the new TLS key as nobody")
        server.process.send_signal(signal.SIGHUP)

        def renewed():
            current = [pid for pid in worker_pids(monitor) if pid not in old_workers]
            return len(current) == len(old_workers)
        wait_for(renewed, 10, lambda: "new workers after SIGHUP (workers %r, old %r)"
                 % (worker_pids(monitor), old_workers))
        wait_until(lambda: presented_certificate(server) == new_der, 10,
                   "a new connection presents the new certificate")
        with tls_control(server) as control:
            check_equal(control.sock.getpeercert(binary_form=True), new_der,
                        "certificate of a new connection")
            control.login_anonymous()
            protect_data(control)
            check_equal(tls_download(control, "RETR pub/hello.txt"), b"hello, world\n",
                        "protected RETR with the new key")
            control.expect("QUIT", 221)

        check(not process_gone(old_server), "the worker %d running the download exited"
              % old_server)
        body = b"".join(received) + read_all_tls(data)
        check_equal(len(body), size, "bytes of the download across the reload")
        check_equal(hashlib.sha256(body).hexdigest(), digest,
                    "sha256 of the download across the reload")
        expect_complete(running, "RETR big.bin")
        check_equal(running.sock.getpeercert(binary_form=True), old_der,
                    "certificate of the connection from before the reload")
        running.expect("NOOP", 200)
        running.expect("QUIT", 221)
        running.close()


# --- Process titles ---

def test_process_titles():
    """With workers=3, ps shows "ftpd: monitor" and its children "ftpd: worker 1",
    "ftpd: worker 2" and "ftpd: worker 3", nothing else."""
    server, _root = anonymous_server({"workers": "3"})
    with server:
        monitor = server.process.pid
        check_equal(process_title(monitor), "ftpd: monitor", "title of the monitor")

        def titles():
            found = []
            for pid in children_of(monitor):
                try:
                    found.append(process_title(pid))
                except OSError:
                    pass
            return sorted(found)
        expected = ["ftpd: worker 1", "ftpd: worker 2", "ftpd: worker 3"]
        wait_for(lambda: titles() == expected, 5,
                 lambda: "titles of the monitor's children are %r" % titles())
        check_equal(len(worker_pids(monitor, 3)), 3, "workers of the monitor")


# --- System accounts: their processes come from the monitor, never from a worker ---

def test_system_user_sessions_never_meet_root():
    """system_users with user=nobody and TLS: a plain and a TLS login of a real
    account, each with a download. No root process holds a client connection at
    any point; the account's session runs in a process the monitor forked, as the
    account; with TLS the worker keeps (relays) the control connection and the
    account's process has the protected data connection, which resumes the
    control session."""
    from test_deploy_system_users import PASSWORD as ACCOUNT_PASSWORD, create_account

    need_root()
    name, account, home = create_account()
    write_file(os.path.join(home, "notes.txt"), b"mine\n" * 1000)
    os.chown(os.path.join(home, "notes.txt"), account.pw_uid, account.pw_gid)
    cert_dir = shared_temp_dir("ftpd-tls-")
    cert, key = root_only_certificate(cert_dir, "localhost")
    options = {"system_users": "yes", "anonymous": "no", "user": "nobody", "tls": "explicit",
               "tls_cert": cert, "tls_key": key}
    uid, _gid = nobody()
    with Server(options) as server:
        monitor = server.process.pid
        wait_for_workers_as(monitor, uid)

        with server.connect() as plain:
            check_no_root_holds(monitor, [plain.sock], "plain connection before login")
            plain.login(name, ACCOUNT_PASSWORD)
            session = check_no_root_holds(monitor, [plain.sock], "plain account session")
            check_equal(ids(session), [account.pw_uid] * 4, "uids of the account's process")
            check_equal(int(process_status(session)["PPid"]), monitor,
                        "parent of the account's process")
            check_equal(download(plain, "RETR notes.txt"), b"mine\n" * 1000, "plain RETR")
            plain.expect("QUIT", 221)

        with tls_control(server) as secure:
            secure.expect("USER " + name, 331)
            secure.expect("PASS " + ACCOUNT_PASSWORD, 230)
            relay = check_no_root_holds(monitor, [secure.sock], "TLS account session")
            check(process_title(relay).startswith("ftpd: worker "),
                  "the TLS control connection is held by %r, not a worker" % process_title(relay))
            protect_data(secure)
            check_equal(tls_download(secure, "RETR notes.txt"), b"mine\n" * 1000,
                        "protected RETR through the relay")
            upload_name = "up.bin"
            data = open_passive(secure)
            reply = secure.command("STOR " + upload_name)
            check(reply.code in (125, 150), "STOR: %r" % reply)
            wrapped = wrap_data(secure, data)
            user_process = check_no_root_holds(monitor, [wrapped, secure.sock],
                                               "protected upload in flight")
            check_equal(process_title(user_process), "ftpd: user %s 127.0.0.1" % name,
                        "process holding the data connection")
            wrapped.sendall(b"x" * 100000)
            wrapped.unwrap().close()
            expect_complete(secure, "STOR " + upload_name)
            info = os.stat(os.path.join(home, upload_name))
            check_equal((info.st_uid, info.st_size), (account.pw_uid, 100000),
                        "owner and size of the upload")
            secure.expect("QUIT", 221)


# --- A worker that breaks the protocol (test-only hooks) ---

def hooks_binary():
    path = os.environ.get("FTPD_HOOKS")
    if not path or not os.path.exists(path):
        skip("no ftpd-test-hooks build (make check builds it and sets FTPD_HOOKS)")
    return os.path.abspath(path)


def test_malformed_requests_cost_the_worker_not_the_monitor():
    """A worker sends the monitor an unknown request, an oversized one, one with a
    field out of range, the end of a session it never had, and a hand-off of a
    login nobody checked (the ftpd-test-hooks build does it on demand, once).
    Each time the monitor logs it, kills that worker and starts another, and
    keeps serving: a new connection logs in."""
    binary = hooks_binary()
    for kind, reason in (("unknown-type", "unknown request type"),
                         ("oversized", "request of the wrong length"),
                         ("bad-field", "field out of range"),
                         ("foreign-session", "a session it never had"),
                         ("foreign-login", "logged in a session it never had"),
                         ("forged-hand-off", "nobody logged in")):
        trigger = os.path.join(temp_dir("ftpd-hook-"), "once")
        write_file(trigger, b"")
        os.environ["FTPD_TEST_HOOK"] = "%s:%s" % (kind, trigger)
        os.environ["FTPD"] = binary
        try:
            server, _root = anonymous_server({"workers": "2"})
        finally:
            del os.environ["FTPD_TEST_HOOK"]
            os.environ["FTPD"] = ftpd_default
        with server:
            monitor = server.process.pid
            wait_for(lambda: reason in server.stderr_text() and
                     "killed by signal 9" in server.stderr_text(), 5,
                     lambda: "%s: no protocol error and kill logged: %r"
                     % (kind, server.stderr_tail()))
            check(not os.path.exists(trigger), "%s: the hook did not run" % kind)
            check(not process_gone(monitor), "%s: the monitor died" % kind)
            worker_pids(monitor, 2)
            for _ in range(4):
                with server.connect() as control:
                    control.login_anonymous()
                    control.expect("PWD", 257)
            check("broke the protocol" in server.stderr_text(),
                  "%s: no 'broke the protocol' line: %r" % (kind, server.stderr_tail()))


ftpd_default = os.environ.get("FTPD", "")


# --- Passive ports shared by workers, and the end of the monitor ---

def test_workers_share_the_passive_port_range():
    """Passive data sockets are never SO_REUSEPORT: workers share pasv_ports by
    moving on to the next port when one is taken, by this worker or another.
    With a range of 4 ports and sessions on both workers, 4 PASVs get 4
    different ports, and a fifth is refused 425 until one is freed."""
    # Below the ephemeral range (32768+), where client sockets could take one.
    port_low = 20000 + os.getpid() % 5000
    server, _root = anonymous_server({"workers": "2", "pasv_ports": "%d-%d"
                                      % (port_low, port_low + 3)})
    with server:
        monitor = server.process.pid
        by_worker = sessions_on_each_worker(server, worker_pids(monitor, 2))
        # One on each worker first, then the rest in any order.
        sessions = [controls[0] for controls in by_worker.values()]
        sessions += [control for controls in by_worker.values() for control in controls[1:]]
        while len(sessions) < 5:
            control = server.connect()
            control.login_anonymous()
            sessions.append(control)
        ports = []
        for control in sessions[:4]:
            reply = control.command("PASV")
            check_equal(reply.code, 227, "PASV: %r" % reply)
            numbers = reply.text.split("(")[1].split(")")[0].split(",")
            ports.append(int(numbers[4]) * 256 + int(numbers[5]))
        check_equal(sorted(ports), list(range(port_low, port_low + 4)),
                    "ports of four passive listeners on two workers")
        check_equal(sessions[4].command("PASV").code, 425, "a fifth PASV with the range taken")
        sessions[0].expect("QUIT", 221)
        # The session closes its passive port as it ends, just after the 221.
        deadline = time.monotonic() + 5
        while True:
            code = sessions[4].command("PASV").code
            if code == 227 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check_equal(code, 227, "PASV once a port is free again")
        for control in sessions[1:]:
            control.close()


def test_workers_end_with_the_monitor():
    """SIGKILL to the monitor: the kernel sends every worker SIGTERM
    (PR_SET_PDEATHSIG), so none serves on without the process that checks
    passwords and counts the limits; a held session is told 421 or closed."""
    server, _root = anonymous_server({"workers": "2"})
    monitor = server.process.pid
    workers = worker_pids(monitor, 2)
    control = server.connect()
    control.login_anonymous()
    os.kill(monitor, signal.SIGKILL)
    check_equal(reap(server, 5), -signal.SIGKILL, "exit of the killed monitor")
    wait_for(lambda: all(process_gone(pid) for pid in workers), 10,
             lambda: "workers %r still running after the monitor died"
             % [pid for pid in workers if not process_gone(pid)])
    control.sock.settimeout(5)
    try:
        rest = control.sock.recv(200)
    except OSError:
        rest = b""
    check(rest == b"" or rest.startswith(b"421"),
          "the held session got %r, not 421 or the end of the connection" % rest)


def test_check_reports_processes_and_unusable_roots():
    """ftpd -t says what each process will run as, and refuses a share the
    workers' user could not read (tried as that user, not guessed)."""
    need_root()
    share = shared_temp_dir("ftpd-share-")
    populate_tree(share)
    result = run_ftpd(["-t", "-o", "anonymous_root=" + share, "-o", "user=nobody",
                       "-o", "workers=3"])
    check_equal(result.returncode, 0, "ftpd -t exit status (stderr %r)" % result.stderr)
    check("# processes: monitor as root; 3 workers as nobody" in result.stdout,
          "ftpd -t does not say who runs what: %r" % result.stdout[:300])
    closed = shared_temp_dir("ftpd-closed-")
    os.chmod(closed, 0o700)
    result = run_ftpd(["-t", "-o", "anonymous_root=" + closed, "-o", "user=nobody"])
    check_equal(result.returncode, 1, "ftpd -t with a share nobody cannot read")
    check("anonymous_root %s" % closed in result.stderr and "nobody" in result.stderr and
          "Permission denied" in result.stderr,
          "ftpd -t does not say why: %r" % result.stderr)
