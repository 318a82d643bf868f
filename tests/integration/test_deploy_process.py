"""test_deploy_process: ftpd as a long-running service: daemon mode and its pid
file, graceful stop on SIGTERM, the privilege drop, and reloading on SIGHUP."""

import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import time

from harness import (TEST_WORKERS, Control, Server, anonymous_server, at_finish, check,
                     check_equal, download, expect_preliminary, free_port, ftpd_command,
                     ftpd_path, open_passive, populate_tree, process_status, read_all,
                     reap, run_ftpd, shared_temp_dir, skip, system_user, temp_dir, upload,
                     wait_until, worker_pids, write_file, write_passwd_file)

MEGABYTE = 1 << 20
TEST_USER = "ftpdtest"


def become_subreaper():
    """Makes this process the parent of orphans below it, so a daemon that ftpd
    forks off is reparented here and its exit status can be read."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        skip("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" % ctypes.get_errno())


def wait_for_exit(pid, timeout):
    """The exit status of child pid, or None if it is still running after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def kill_at_finish(pid):
    def kill():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    at_finish(kill)


def start_daemon(options):
    """Runs ftpd without -f; returns (pid from the pid file, pid file, whether the
    pid file was there when the command returned)."""
    become_subreaper()
    root = temp_dir("ftpd-anon-")
    populate_tree(root)
    pid_file = os.path.join(temp_dir("ftpd-run-"), "ftpd.pid")
    config = write_file(os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf"),
                        "anonymous_root = %s\n" % root)
    opts = {"log": "syslog", "pid_file": pid_file}
    opts.update(options)
    started = time.monotonic()
    result = subprocess.run(ftpd_command(config, opts), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=10)
    elapsed = time.monotonic() - started
    there_at_once = os.path.exists(pid_file)
    check_equal(result.returncode, 0, "exit status of ftpd without -f (stderr %r)"
                % result.stderr)
    check(elapsed < 5, "ftpd without -f took %.1f s to return" % elapsed)
    wait_until(lambda: os.path.exists(pid_file) and os.path.getsize(pid_file) > 0, 5,
               "pid file %s written" % pid_file)
    with open(pid_file) as f:
        text = f.read()
    check(text.strip().isdigit() and text.endswith("\n"), "pid file holds %r" % text)
    pid = int(text)
    kill_at_finish(pid)
    return pid, pid_file, there_at_once


def test_daemon_mode_detaches_and_serves():
    port = free_port()
    pid, pid_file, _there = start_daemon({"listen": "127.0.0.1:%d" % port})
    check_equal(os.path.realpath("/proc/%d/exe" % pid), ftpd_path(),
                "program of the pid file's pid")
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    check_equal(int(fields[3]), pid, "session id of the daemon (setsid)")
    for fd in (0, 1, 2):
        check_equal(os.readlink("/proc/%d/fd/%d" % (pid, fd)), "/dev/null",
                    "fd %d of the daemon" % fd)
    with Control(port) as control:
        control.login_anonymous()
        check_equal(download(control, "RETR pub/hello.txt"), b"hello, world\n", "RETR")
        control.expect("QUIT", 221)
    os.kill(pid, signal.SIGTERM)
    status = wait_for_exit(pid, 10)
    check(status is not None, "the daemon did not exit within 10 s of SIGTERM")
    check_equal(status, 0, "exit status of the daemon after SIGTERM")
    check(not os.path.exists(pid_file), "pid file %s left behind" % pid_file)


def test_daemon_mode_password_login():
    """Logins that need crypt(3) (run on worker threads) work in the detached daemon."""
    port = free_port()
    base = temp_dir("ftpd-users-")
    os.makedirs(os.path.join(base, "homes", "alice"))
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("alice", "secret", None)])
    pid, _pid_file, _there = start_daemon({
        "listen": "127.0.0.1:%d" % port, "anonymous": "no", "passwd_file": passwd,
        "home_root": os.path.join(base, "homes")})
    with Control(port, timeout=5) as control:
        control.expect("USER alice", 331)
        try:
            reply = control.command("PASS secret")
        except socket.timeout:
            raise AssertionError("PASS got no reply within 5 s in daemon mode")
        check_equal(reply.code, 230, "PASS in daemon mode")
    os.kill(pid, signal.SIGTERM)
    check_equal(wait_for_exit(pid, 10), 0, "exit status of the daemon after SIGTERM")


def test_daemon_pid_file_exists_when_command_returns():
    """An init script reads the pid file as soon as `ftpd` returns: the parent
    must not exit before the daemon wrote it. (A race: tried ten times.)"""
    for attempt in range(10):
        port = free_port()
        pid, _pid_file, there = start_daemon({"listen": "127.0.0.1:%d" % port})
        check(there, "start %d: pid file missing when ftpd returned" % (attempt + 1))
        os.kill(pid, signal.SIGKILL)
        wait_for_exit(pid, 5)



def wait_for_drop(pid, uid):
    """The monitor (pid) binds the ports and stays root; its workers let go of
    root a moment after they start: wait for every one of them to switch rather
    than race it. Returns the workers' pids."""
    workers = worker_pids(pid, int(TEST_WORKERS))
    for worker in workers:
        wait_until(lambda: ids(process_status(worker), "Uid") == [uid] * 4, 5,
                   "ftpd worker %d switching to uid %d" % (worker, uid))
    check_equal(ids(process_status(pid), "Uid"), [os.geteuid()] * 4,
                "Uid of the monitor (stays as started)")
    return workers


def test_pid_file_removed_after_privilege_drop():
    """The pid file lives where only root may write (as /run does); ftpd writes it
    before dropping root and must not leave a stale process id in it."""
    uid, _gid = system_user(TEST_USER)
    run_directory = shared_temp_dir("ftpd-run-")
    pid_file = os.path.join(run_directory, "ftpd.pid")
    root = shared_temp_dir("ftpd-anon-")
    server = Server({"anonymous": "yes", "anonymous_root": root, "user": TEST_USER,
                     "pid_file": pid_file})
    with open(pid_file) as f:
        check_equal(f.read(), "%d\n" % server.process.pid, "pid file of ftpd -f")
    wait_for_drop(server.process.pid, uid)
    server.process.send_signal(signal.SIGTERM)
    check_equal(reap(server, 10), 0, "exit status after SIGTERM")
    # The directory is root's: the unprivileged process cannot remove the file,
    # so it empties it; no stale process id may stay behind.
    check(not os.path.exists(pid_file) or os.path.getsize(pid_file) == 0,
          "pid file %s still names a process after a privilege drop" % pid_file)

# --- Graceful stop ---

def big_file_server(size, options=None):
    server, root = anonymous_server(options)
    block = os.urandom(MEGABYTE)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for _ in range(size // MEGABYTE):
            f.write(block)
    return server, root


def connection_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_lets_a_download_finish():
    size = 24 * MEGABYTE
    server, root = big_file_server(size)
    downloader = server.connect()
    downloader.login_anonymous()
    downloader.expect("TYPE I", 200)
    data = open_passive(downloader, receive_buffer=16384)
    expect_preliminary(downloader, "RETR big.bin")
    first = data.recv(65536)
    idle = server.connect()
    idle.login_anonymous()
    server.process.send_signal(signal.SIGTERM)

    reply = idle.read_reply()
    check_equal(reply.code, 421, "reply to an idle session at SIGTERM")
    check(idle.is_closed(), "idle session still open after its 421")
    wait_until(lambda: connection_refused(server.port), 5, "new connections refused")
    check_equal(server.process.poll(), None, "ftpd still running while the download runs")

    received = first + read_all(data)
    check_equal(len(received), size, "bytes of the download across SIGTERM")
    with open(os.path.join(root, "big.bin"), "rb") as f:
        check(hashlib.sha256(received).digest() == hashlib.sha256(f.read()).digest(),
              "downloaded bytes differ from big.bin")
    check_equal(downloader.read_reply().code, 226, "end of the download across SIGTERM")
    downloader.sock.settimeout(5)
    try:
        while True:
            after = downloader.read_reply()
            check(after.code in (221, 421), "reply after the 226 at shutdown: %r" % after)
    except (ConnectionError, OSError):
        pass
    check_equal(reap(server, 10), 0, "exit status after the last session ended")


def test_shutdown_grace_ends_a_stalled_download():
    server, _root = big_file_server(24 * MEGABYTE, {"shutdown_grace": "1"})
    control = server.connect()
    control.login_anonymous()
    control.expect("TYPE I", 200)
    data = open_passive(control, receive_buffer=16384)
    expect_preliminary(control, "RETR big.bin")
    data.recv(4096)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    status = reap(server, 10)
    elapsed = time.monotonic() - started
    check(status is not None, "ftpd still running 10 s after SIGTERM with shutdown_grace=1")
    check_equal(status, 0, "exit status after the grace period")
    check(0.8 <= elapsed <= 4, "ftpd exited %.2f s after SIGTERM with shutdown_grace=1"
          % elapsed)
    check(control.is_closed(), "control connection open after ftpd exited")
    data.close()


def test_second_sigterm_stops_at_once():
    server, _root = big_file_server(24 * MEGABYTE, {"shutdown_grace": "60"})
    control = server.connect()
    control.login_anonymous()
    data = open_passive(control, receive_buffer=16384)
    expect_preliminary(control, "RETR big.bin")
    data.recv(4096)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    check_equal(server.process.poll(), None, "ftpd exited at the first SIGTERM mid-download")
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    status = reap(server, 5)
    check(status is not None, "ftpd still running 5 s after a second SIGTERM")
    check_equal(status, 0, "exit status after a second SIGTERM")
    check(time.monotonic() - started < 3, "second SIGTERM took %.2f s"
          % (time.monotonic() - started))
    data.close()
    control.close()


def test_sigterm_with_no_sessions_exits_at_once():
    server, _root = anonymous_server({"shutdown_grace": "60"})
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    check_equal(reap(server, 5), 0, "exit status after SIGTERM with no sessions")
    check(time.monotonic() - started < 2, "exit took %.2f s" % (time.monotonic() - started))


# --- Privilege drop ---

def ids(status, field):
    return [int(value) for value in status[field].split()]


def test_privileges_dropped_to_nobody():
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        skip("no user nobody")
    root = shared_temp_dir("ftpd-anon-")
    populate_tree(root)
    with Server({"anonymous": "yes", "anonymous_root": root, "user": "nobody"}) as server:
        for worker in wait_for_drop(server.process.pid, nobody.pw_uid):
            status = process_status(worker)
            check_equal(ids(status, "Uid"), [nobody.pw_uid] * 4, "Uid of a worker (real, "
                        "effective, saved, file system)")
            check_equal(ids(status, "Gid"), [nobody.pw_gid] * 4, "Gid of a worker")
            groups = [int(group) for group in status.get("Groups", "").split()]
            check(0 not in groups, "a worker kept supplementary group 0: %r" % groups)
        check("running as nobody" in server.stderr_text(), "no 'running as nobody' log line: %r"
              % server.stderr_tail())
        with server.connect() as control:
            control.login_anonymous()
            check_equal(download(control, "RETR pub/hello.txt"), b"hello, world\n", "RETR")


def test_privileges_dropped_upload_owned_by_user():
    uid, gid = system_user(TEST_USER)
    base = shared_temp_dir("ftpd-users-")
    homes = os.path.join(base, "homes")
    home = os.path.join(homes, "alice")
    os.makedirs(os.path.join(home, "rootonly"))
    os.chmod(homes, 0o755)
    os.chown(home, uid, gid)
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("alice", "secret", None)])
    os.chmod(passwd, 0o644)
    options = {"anonymous": "no", "passwd_file": passwd, "home_root": homes, "user": TEST_USER}
    with Server(options) as server:
        for worker in wait_for_drop(server.process.pid, uid):
            status = process_status(worker)
            check_equal(ids(status, "Uid"), [uid] * 4, "Uid of a worker")
            check_equal(ids(status, "Gid"), [gid] * 4, "Gid of a worker")
        with server.connect() as control:
            control.login("alice", "secret")
            upload(control, "STOR new.txt", b"uploaded\n")
            info = os.stat(os.path.join(home, "new.txt"))
            check_equal((info.st_uid, info.st_gid), (uid, gid), "owner of the uploaded file")
            # A directory only root may write to stays closed to the unprivileged server.
            data = open_passive(control)
            reply = control.command("STOR rootonly/x.txt")
            data.close()
            check_equal(reply.code, 550, "STOR into a directory owned by root")
            check(not os.path.exists(os.path.join(home, "rootonly", "x.txt")),
                  "the unprivileged server wrote into a root-owned directory")


def test_unknown_user_is_an_error():
    root = temp_dir("ftpd-anon-")
    config = write_file(os.path.join(temp_dir(), "ftpd.conf"), "anonymous_root = %s\n" % root)
    if os.geteuid() != 0:
        skip("ftpd only switches user when started as root")
    name = "no-such-user-ftpd"
    result = run_ftpd(["-f", "-c", config, "-o", "log=stderr", "-o", "user=" + name,
                       "-o", "listen=127.0.0.1:%d" % free_port()])
    check_equal(result.returncode, 1, "exit status with user=%s (stderr %r)"
                % (name, result.stderr))
    check(name in result.stderr and "no such user" in result.stderr,
          "stderr does not say user %s does not exist: %r" % (name, result.stderr))


def test_user_none_stays_root():
    if os.geteuid() != 0:
        skip("not started as root")
    with Server({"anonymous": "yes", "anonymous_root": temp_dir(), "user": "none"}) as server:
        status = process_status(server.process.pid)
        check_equal(ids(status, "Uid"), [0] * 4, "Uid of ftpd with user=none")


# --- SIGHUP ---

def greeting_of(server):
    with server.connect() as control:
        return control.greeting.lines


def test_sighup_reloads_config_for_new_sessions():
    root = temp_dir("ftpd-anon-")
    populate_tree(root)
    server = Server({"anonymous": "yes", "anonymous_root": root}, start=False)
    write_file(server.config_file, "banner = one\n")
    with server:
        server.start()
        first = server.connect()
        check_equal(first.greeting.lines, ["220 one"], "greeting before SIGHUP")
        first.login_anonymous()

        write_file(server.config_file, "banner = two\n")
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: server.process.poll() is not None or
                   greeting_of(server) == ["220 two"], 5, "new sessions greet '220 two'")
        check_equal(server.process.poll(), None, "ftpd running after SIGHUP")
        # The session from before the reload goes on; -o overrides still hold.
        check_equal(download(first, "RETR README.txt"), b"read me\n", "RETR in the old session")
        second = server.connect()
        second.login_anonymous()
        check_equal(download(second, "RETR pub/hello.txt"), b"hello, world\n",
                    "RETR in a new session (anonymous_root from -o after the reload)")

        write_file(server.config_file, "banner = three\nthis is not a setting\n")
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: server.process.poll() is not None or
                   "%s:2" % server.config_file in server.stderr_text(), 5,
                   "the bad config (%s:2) is logged" % server.config_file)
        check_equal(server.process.poll(), None, "ftpd running after SIGHUP with a bad config")
        check_equal(greeting_of(server), ["220 two"], "greeting after a failed reload")
        first.expect("NOOP", 200)
        second.expect("PWD", 257)
        check_equal(download(first, "RETR README.txt"), b"read me\n",
                    "RETR in the first session after a failed reload")
        first.expect("QUIT", 221)
        second.expect("QUIT", 221)



def test_sighup_after_privilege_drop():
    """Reloading works in the unprivileged server, for a config file it can read."""
    system_user(TEST_USER)
    root = shared_temp_dir("ftpd-anon-")
    populate_tree(root)
    server = Server({"anonymous": "yes", "anonymous_root": root, "user": TEST_USER},
                    start=False)
    server.config_file = write_file(os.path.join(shared_temp_dir("ftpd-conf-"), "ftpd.conf"),
                                    "banner = before\n")
    os.chmod(server.config_file, 0o644)
    with server:
        server.start()
        check_equal(greeting_of(server), ["220 before"], "greeting before SIGHUP")
        write_file(server.config_file, "banner = after\n")
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: server.process.poll() is not None or
                   greeting_of(server) == ["220 after"], 5, "new sessions greet '220 after'")
        with server.connect() as control:
            control.login_anonymous()
            check_equal(download(control, "RETR README.txt"), b"read me\n", "RETR after reload")


def test_a_second_ftpd_on_the_same_address_is_refused():
    """Workers share an address through SO_REUSEPORT, which any process of
    the same user could join: a second ftpd started on it (an old one still
    running) must fail with "Address already in use", not split the
    connections with the first."""
    server, root = anonymous_server({"workers": "2"})
    with server:
        for workers in ("1", "2"):
            result = run_ftpd(["-f", "-c", "/dev/null", "-o", "workers=" + workers,
                               "-o", "anonymous_root=" + root, "-o", "log=stderr",
                               "-o", "listen=127.0.0.1:%d" % server.port])
            check(result.returncode == 1 and "Address already in use" in result.stderr,
                  "a second ftpd (workers = %s) on a used address: %d %r"
                  % (workers, result.returncode, result.stderr[-300:]))
        with server.connect() as control:
            control.login_anonymous()
