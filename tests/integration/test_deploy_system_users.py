"""test_deploy_system_users: system_users = yes. Real accounts made with useradd
and chpasswd, authenticated through PAM (service "ftpd"); each logged-in session
runs in a process of its own with the account's uid and groups, so the kernel,
not ftpd, decides what the user may touch."""

import ftplib
import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

from harness import (Launched, Server, at_finish, check, check_equal, client_context, download,
                     free_port, ftpd_command, open_passive, populate_tree, process_gone,
                     process_status, protect_data, reap, run_ftpd, serving_pid, shared_temp_dir,
                     skip, temp_dir, tls_control, tls_download, tls_options, tls_upload, upload,
                     wait_for_listening, wait_until, worker_pids, write_file, process_title)

PAM_SERVICE = "/etc/pam.d/ftpd"
PASSWORD = "Sys-pass-42"
_accounts = 0


def repository_file(*parts):
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", *parts)


def need_root_tools():
    if os.geteuid() != 0:
        skip("system accounts can only be created as root")
    for tool in ("useradd", "usermod", "userdel", "chpasswd"):
        if shutil.which(tool) is None:
            skip("%s is not installed (Debian package passwd)" % tool)


def install_pam_service():
    """ftpd's PAM service file, as `make install` leaves it, unless one is there."""
    if os.path.exists(PAM_SERVICE):
        return
    shutil.copyfile(repository_file("conf", "pam.d", "ftpd"), PAM_SERVICE)
    at_finish(lambda: os.path.exists(PAM_SERVICE) and os.unlink(PAM_SERVICE))


def create_account(shell="/bin/sh", password=PASSWORD):
    """A real account with a home under a world-traversable temp directory:
    (name, pwd entry, home). Removed at the end of the test."""
    global _accounts
    need_root_tools()
    install_pam_service()
    _accounts += 1
    name = "ftpds%d%d" % (os.getpid() % 100000, _accounts)
    home = os.path.join(shared_temp_dir("ftpd-homes-"), name)
    result = subprocess.run(["useradd", "--create-home", "--home-dir", home, "--shell", shell,
                             "--user-group", name], capture_output=True, text=True)
    if result.returncode != 0:
        skip("useradd failed: %s" % result.stderr.strip())
    at_finish(lambda: subprocess.run(["userdel", "--remove", name], capture_output=True))
    subprocess.run(["chpasswd"], input="%s:%s\n" % (name, password), text=True, check=True,
                   capture_output=True)
    return name, pwd.getpwnam(name), home


def system_server(options=None, anonymous=False):
    opts = {"system_users": "yes", "anonymous": "no"}
    if anonymous:
        root = shared_temp_dir("ftpd-anon-")
        populate_tree(root)
        opts.update({"anonymous": "yes", "anonymous_root": root, "user": "nobody"})
    opts.update(options or {})
    return Server(opts)


def ids(status, field):
    return [int(value) for value in status[field].split()]


def session_process(control_sock):
    """The pid serving a connection, which must not be the listening process."""
    return serving_pid(control_sock)


def test_system_user_session_runs_as_the_account():
    name, account, home = create_account()
    write_file(os.path.join(home, "notes.txt"), "mine\n")
    os.chown(os.path.join(home, "notes.txt"), account.pw_uid, account.pw_gid)
    xferlog = os.path.join(temp_dir("ftpd-xferlog-"), "xferlog")
    with system_server({"xferlog": xferlog}) as server:
        with server.connect() as control:
            control.login(name, PASSWORD)
            pid = session_process(control.sock)
            check(pid != server.process.pid, "the listening process serves the logged-in user")
            status = process_status(pid)
            check_equal(ids(status, "Uid"), [account.pw_uid] * 4,
                        "Uid of the session process (real, effective, saved, fs)")
            check_equal(ids(status, "Gid"), [account.pw_gid] * 4, "Gid of the session process")
            groups = [int(group) for group in status.get("Groups", "").split()]
            check(account.pw_gid in groups and 0 not in groups,
                  "supplementary groups of the session process: %r" % groups)
            # Forked by the monitor, never by a worker that has read client bytes.
            check_equal(int(status["PPid"]), server.process.pid, "parent of the session process")
            check_equal(process_title(pid), "ftpd: user %s 127.0.0.1" % name,
                        "title of the session process")
            check_equal(ids(process_status(server.process.pid), "Uid"), [0] * 4,
                        "Uid of the monitor")
            check_equal(download(control, "RETR notes.txt"), b"mine\n", "RETR from the home")
            upload(control, "STOR upload.bin", b"\x00\x01" * 5000)
            info = os.stat(os.path.join(home, "upload.bin"))
            check_equal((info.st_uid, info.st_gid), (account.pw_uid, account.pw_gid),
                        "owner of the uploaded file")
            check_equal(info.st_size, 10000, "size of the uploaded file")
            control.expect("MKD sub", 257)
            check_equal(os.stat(os.path.join(home, "sub")).st_uid, account.pw_uid,
                        "owner of the new directory")
            control.expect("QUIT", 221)
        wait_until(lambda: process_gone(pid), 5, "session process %d exits after QUIT" % pid)
    # The session process, no longer root, still writes the transfer log root opened.
    with open(xferlog) as f:
        lines = f.read().splitlines()
    check_equal([(line.split()[-10], line.split()[-7], line.split()[-6]) for line in lines],
                [("/notes.txt", "o", "r"), ("/upload.bin", "i", "r")],
                "file, direction and access mode of the xferlog lines")
    check(all(line.split()[-5] == name for line in lines), "user of the xferlog lines: %r"
          % lines)
    text = server.stderr_text()
    check("login ok: %s" % name in text, "no login line for %s: %r" % (name, server.stderr_tail()))
    check(PASSWORD not in text, "the password reached the log")


def test_quota_and_rate_apply_in_the_session_process():
    """The session process of a system account counts its home and paces its
    transfers as a worker does (the skeleton files useradd copied count too)."""
    name, account, home = create_account()
    skeleton = sum(os.lstat(os.path.join(directory, entry)).st_size
                   for directory, _dirs, files in os.walk(home) for entry in files)
    with system_server({"quota_bytes": "1M", "max_rate_down": "1M"}) as server:
        with server.connect() as control:
            control.login(name, PASSWORD)
            control.expect("TYPE I", 200)
            data = open_passive(control)
            control.expect("STOR big.bin", 150)
            try:
                data.sendall(bytes(2 << 20))
            except OSError:
                pass
            data.close()
            check_equal(control.read_reply().code, 552, "STOR of 2 MiB under quota_bytes = 1M")
            check(not os.path.exists(os.path.join(home, "big.bin")), "big.bin was kept")
            payload = os.urandom((1 << 20) - skeleton)
            upload(control, "STOR fits.bin", payload)
            started = time.monotonic()
            check(download(control, "RETR fits.bin") == payload, "RETR of fits.bin")
            seconds = time.monotonic() - started
            check(0.7 <= seconds <= 2.5, "RETR of about 1 MiB at 1M took %.2f s" % seconds)


def test_kernel_decides_what_the_user_may_touch():
    """Files the account may not read or write stay closed although the
    listening process is root: the session process is not."""
    name, account, home = create_account()
    write_file(os.path.join(home, "secret.txt"), "root only\n")
    os.chmod(os.path.join(home, "secret.txt"), 0o600)
    os.makedirs(os.path.join(home, "locked"))
    write_file(os.path.join(home, "locked", "kept.txt"), "kept\n")
    os.chmod(os.path.join(home, "locked"), 0o755)
    with system_server() as server, server.connect() as control:
        control.login(name, PASSWORD)
        data = open_passive(control)
        reply = control.command("RETR secret.txt")
        data.close()
        check_equal(reply.code, 550, "RETR of a root-only file (%s)" % reply.text)
        data = open_passive(control)
        reply = control.command("STOR locked/x.txt")
        data.close()
        check_equal(reply.code, 550, "STOR into a root-owned directory (%s)" % reply.text)
        check(not os.path.exists(os.path.join(home, "locked", "x.txt")),
              "a file was written into a root-owned directory")
        control.expect("DELE locked/kept.txt", 550)
        check(os.path.exists(os.path.join(home, "locked", "kept.txt")),
              "a file in a root-owned directory was deleted")
        # The home is the account's own: what lies in it directly may go (as with rm).
        control.expect("DELE secret.txt", 250)


def test_refused_accounts():
    """A wrong password, a nologin shell, a locked account, root, and an
    unknown name: all 530, none gets a session process."""
    name, _account, _home = create_account()
    nologin, _a, _h = create_account(shell="/usr/sbin/nologin")
    locked, _a, _h = create_account()
    subprocess.run(["usermod", "--lock", locked], check=True, capture_output=True)
    with system_server() as server:
        for user, password, what in ((name, "wrong", "a wrong password"),
                                     (nologin, PASSWORD, "a nologin shell"),
                                     (locked, PASSWORD, "a locked account"),
                                     ("root", PASSWORD, "root"),
                                     ("nosuchuser4711", PASSWORD, "an unknown user")):
            with server.connect() as control:
                control.expect("USER %s" % user, 331)
                reply = control.command("PASS %s" % password)
                check_equal(reply.code, 530, "PASS for %s" % what)
                check(serving_pid(control.sock) in worker_pids(server.process.pid),
                      "process serving the refused login of %s is not a worker" % what)
        with server.connect() as control:
            control.login(name, PASSWORD)
    check(PASSWORD not in server.stderr_text(), "a password reached the log")


def test_session_process_keeps_its_identity():
    """USER again in a session process cannot become someone else."""
    name, _account, _home = create_account()
    with system_server(anonymous=True) as server, server.connect() as control:
        control.login(name, PASSWORD)
        control.expect("USER anonymous", 530)
        control.expect("PWD", 257)


def test_pipelined_commands_after_pass_move_along():
    """Commands sent with PASS in one packet are answered by the session process."""
    name, _account, home = create_account()
    write_file(os.path.join(home, "a.txt"), "a\n")
    with system_server() as server, server.connect() as control:
        control.send("USER %s\r\nPASS %s\r\nPWD\r\nTYPE I\r\nSIZE a.txt\r\n" % (name, PASSWORD))
        codes = [control.read_reply().code for _ in range(5)]
        check_equal(codes, [331, 230, 257, 200, 213], "replies to the pipelined commands")


def test_guest_session_runs_as_configured_user():
    nobody = pwd.getpwnam("nobody")
    need_root_tools()
    install_pam_service()
    with system_server(anonymous=True) as server, server.connect() as control:
        control.login_anonymous()
        pid = session_process(control.sock)
        check(pid != server.process.pid, "the listening process serves the guest")
        check_equal(ids(process_status(pid), "Uid"), [nobody.pw_uid] * 4,
                    "Uid of the guest's session process")
        check_equal(download(control, "RETR pub/hello.txt"), b"hello, world\n", "RETR")


def test_missing_home_is_refused():
    name, _account, home = create_account()
    shutil.rmtree(home)
    with system_server() as server, server.connect() as control:
        control.expect("USER %s" % name, 331)
        reply = control.command("PASS %s" % PASSWORD)
        check_equal(reply.code, 530, "PASS for an account without its home")
        check(control.is_closed(), "the connection stays open after the home was missing")


def test_system_user_over_tls():
    """An FTPS session moves to its process mid-TLS: the control connection
    goes on, and data connections still resume the control session (TLS 1.3
    tickets, and TLS 1.2 session ids from the server's cache)."""
    import ssl

    name, account, home = create_account()
    options = tls_options("explicit", {"system_users": "yes", "anonymous": "no"})
    with Server(options) as server:
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            control = tls_control(server, client_context(maximum_version=version))
            control.login(name, PASSWORD)
            protect_data(control)
            pid = session_process(control.sock)
            check(pid != server.process.pid, "the listening process serves the TLS session")
            payload = os.urandom(300000)
            tls_upload(control, "STOR secure.bin", payload)
            info = os.stat(os.path.join(home, "secure.bin"))
            check_equal(info.st_uid, account.pw_uid, "owner of the file uploaded over %s"
                        % version.name)
            check_equal(tls_download(control, "RETR secure.bin"), payload,
                        "RETR over %s" % version.name)
            control.expect("QUIT", 221)
            control.close()


def test_lftp_and_curl_as_system_user():
    name, account, home = create_account()
    write_file(os.path.join(home, "fetch.txt"), "fetched\n")
    os.chown(os.path.join(home, "fetch.txt"), account.pw_uid, account.pw_gid)
    source = write_file(os.path.join(temp_dir(), "put.txt"), "put by curl\n")
    with system_server() as server:
        if shutil.which("curl") is None:
            skip("curl is not installed")
        result = subprocess.run(["curl", "-sS", "-T", source, "--user", "%s:%s" % (name, PASSWORD),
                                 "ftp://127.0.0.1:%d/put.txt" % server.port],
                                capture_output=True, text=True, timeout=30)
        check_equal(result.returncode, 0, "curl upload (%s)" % result.stderr)
        check_equal(os.stat(os.path.join(home, "put.txt")).st_uid, account.pw_uid,
                    "owner of curl's upload")
        if shutil.which("lftp") is None:
            skip("lftp is not installed")
        script = "set cmd:fail-exit yes; cat fetch.txt"
        result = subprocess.run(["lftp", "-u", "%s,%s" % (name, PASSWORD), "-p", str(server.port),
                                 "-e", script + "; quit", "127.0.0.1"],
                                capture_output=True, text=True, timeout=30)
        check_equal((result.returncode, result.stdout), (0, "fetched\n"),
                    "lftp cat (%s)" % result.stderr)


def greeted_session(server, timeout=5):
    """A connection the server greeted 220, retried while it answers 421."""
    deadline = time.monotonic() + timeout
    while True:
        control = server.connect(greet=False)
        reply = control.read_reply()
        if reply.code == 220:
            return control
        control.close()
        check(time.monotonic() < deadline, "no connection admitted within %d s: %r"
              % (timeout, reply))
        time.sleep(0.05)


def test_session_processes_count_against_limits():
    name, _account, _home = create_account()
    with system_server({"max_clients_per_ip": "1"}) as server:
        first = greeted_session(server)
        first.login(name, PASSWORD)
        session_process(first.sock)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as second:
            greeting = second.recv(200)
            check(greeting.startswith(b"421"), "second connection while one user is in its "
                  "session process: %r" % greeting)
        first.expect("QUIT", 221)
        first.close()

        def admitted():
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as again:
                return again.recv(200).startswith(b"220")
        wait_until(admitted, 5, "a new connection admitted after the session process ended")


def test_sigterm_ends_session_processes():
    """SIGTERM to the listening process reaches the session processes: the
    client is told (421), and everything exits 0 within the grace period."""
    name, _account, _home = create_account()
    server = system_server({"shutdown_grace": "5"})
    control = server.connect()
    control.login(name, PASSWORD)
    pid = session_process(control.sock)
    server.process.send_signal(signal.SIGTERM)
    reply = control.read_reply()
    check_equal(reply.code, 421, "reply after SIGTERM")
    check_equal(reap(server, 10), 0, "exit status of the listening process")
    wait_until(lambda: process_gone(pid), 5, "session process %d exits" % pid)
    control.close()


def test_inetd_mode_waits_for_the_session_process():
    """Under an inetd (socat) the process it started must last as long as the
    session, although the session moved to a child."""
    name, account, home = create_account()
    if shutil.which("socat") is None:
        skip("socat is not installed")
    config = write_file(os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf"),
                        "system_users = yes\nanonymous = no\n")
    port = free_port()
    command = " ".join(ftpd_command(config, args=["-i"]))
    launcher = Launched(["socat", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port,
                         "EXEC:%s,nofork" % command])
    wait_for_listening(port, launcher.process)
    client = ftplib.FTP(timeout=10)
    client.connect("127.0.0.1", port)
    client.login(name, PASSWORD)
    pid = serving_pid(client.sock)
    check_equal(ids(process_status(pid), "Uid"), [account.pw_uid] * 4, "Uid of the session")
    parent = int(process_status(pid)["PPid"])
    time.sleep(0.3)
    check(not process_gone(parent), "ftpd -i exited while its session process serves")
    client.storbinary("STOR inetd.txt", io.BytesIO(b"through inetd\n"))
    check_equal(os.stat(os.path.join(home, "inetd.txt")).st_uid, account.pw_uid,
                "owner of the upload through inetd")
    client.quit()
    wait_until(lambda: process_gone(parent), 5, "ftpd -i exits after its session process")


def test_config_errors():
    passwd = write_file(os.path.join(temp_dir(), "passwd"), "")
    for options, words in (({"anonymous": "no", "passwd_file": passwd}, "exclude each other"),
                           ({"anonymous": "no", "chroot": "/srv"}, "chroot"),
                           ({"anonymous": "yes", "anonymous_root": "/", "user": "none"},
                            "needs user")):
        argv = [ "-t", "-o", "system_users=yes"]
        for key, value in options.items():
            argv += ["-o", "%s=%s" % (key, value)]
        result = run_ftpd(argv)
        check_equal(result.returncode, 1, "ftpd -t with system_users and %r" % options)
        check(words in result.stderr, "ftpd -t message for %r: %r" % (options, result.stderr))


def test_unknown_names_cost_what_real_ones_do():
    """pam_unix refuses an unknown name at once but hashes for a real one;
    ftpd spends as long on an unknown name, so the time of a 530 does not
    tell which names are accounts. Medians of alternating attempts, with a
    generous margin: this is about a 20x difference, not about speed."""
    import statistics

    name, _account, _home = create_account()
    # Many failures from one address on purpose: no ban in the way.
    with system_server({"max_login_failures": "100", "ban_after_failures": "0"}) as server, \
            server.connect() as control:
        def refusal_time(user):
            control.expect("USER %s" % user, 331)
            started = time.monotonic()
            check_equal(control.command("PASS wrong").code, 530, "PASS wrong for %s" % user)
            return time.monotonic() - started
        refusal_time(name)  # teaches ftpd how long PAM takes for a real account
        known, unknown = [], []
        for _ in range(9):
            known.append(refusal_time(name))
            unknown.append(refusal_time("nosuch%d" % os.getpid()))
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    if known_median < 0.005:
        skip("password hashing here takes %.1f ms: too fast to compare" % (known_median * 1000))
    check(unknown_median >= 0.6 * known_median,
          "a 530 for an unknown name took %.1f ms, for a real account %.1f ms"
          % (unknown_median * 1000, known_median * 1000))


def test_check_warns_without_the_pam_service():
    """ftpd -t accepts system_users, but says when PAM would fall back to its
    "other" service because /etc/pam.d/ftpd is missing."""
    need_root_tools()
    argv = ["-t", "-c", "/dev/null", "-o", "system_users=yes", "-o", "anonymous=no"]
    if not os.path.exists(PAM_SERVICE):
        result = run_ftpd(argv)
        check_equal(result.returncode, 0, "ftpd -t without %s (stderr %r)"
                    % (PAM_SERVICE, result.stderr))
        check("no PAM service ftpd" in result.stderr, "no warning about the missing PAM "
              "service: %r" % result.stderr)
    install_pam_service()
    result = run_ftpd(argv)
    check_equal((result.returncode, result.stderr), (0, ""), "ftpd -t with %s" % PAM_SERVICE)


def test_max_sessions_per_user_counts_user_processes():
    """A system user's sessions run in processes the monitor forks; they
    count for max_sessions_per_user until those processes exit."""
    name, _account, _home = create_account()
    with system_server({"max_sessions_per_user": "1"}) as server:
        with server.connect() as first:
            first.login(name, PASSWORD)
            with server.connect() as second:
                second.expect("USER %s" % name, 331)
                reply = second.command("PASS %s" % PASSWORD)
                check_equal(reply.code, 421, "a second session of %s" % name)
                check("max_sessions_per_user" in reply.text, "421 names the key: %r" % reply)
            first.expect("QUIT", 221)
        deadline = time.monotonic() + 5
        while True:
            with server.connect() as again:
                again.expect("USER %s" % name, 331)
                reply = again.command("PASS %s" % PASSWORD)
                if reply.code == 230 or time.monotonic() > deadline:
                    break
            time.sleep(0.1)
        check_equal(reply.code, 230, "%s once the first session process exited" % name)


def test_behind_a_balancer_the_session_process_announces_the_front():
    """A PROXY listener: the session process a login moves to keeps the
    client's address and the balancer's front, so PASV still announces the
    balancer, and a passive connection forwarded with a header reaches it."""
    from test_proxy import (BALANCER, CLIENT, FRONT, LISTEN_HOST, ProxiedControl,
                            balancer_data_connection, pasv, v2_header)
    name, account, home = create_account()
    write_file(os.path.join(home, "notes.txt"), "mine\n")
    os.chown(os.path.join(home, "notes.txt"), account.pw_uid, account.pw_gid)
    server = Server({"system_users": "yes", "anonymous": "no", "proxy_trusted": BALANCER},
                    start=False)
    server.options["listen"] = "%s:%d proxy" % (LISTEN_HOST, server.port)
    server.start()
    with server:
        with ProxiedControl(server, v2_header(source=CLIENT)) as control:
            check_equal(control.greeting.code, 220, "greeting through the balancer")
            control.login(name, PASSWORD)
            check(serving_pid(control.sock) != server.process.pid,
                  "the listening process serves the logged-in user")
            control.expect("TYPE I", 200)
            host, port = pasv(control)
            check_equal(host, FRONT, "PASV of the session process announces the front")
            data = balancer_data_connection(port, v2_header(source=CLIENT))
            control.expect("RETR notes.txt", 150)
            check_equal(data.recv(100), b"mine\n", "RETR through the balancer")
            data.close()
            check_equal(control.read_reply().code, 226, "end of the RETR")
            control.expect("QUIT", 221)
    check("%s: login ok: %s" % (CLIENT, name) in server.stderr_text(),
          "the login is not logged for the client:\n" + server.stderr_tail())
