"""test_deploy_launchers: ftpd started the ways a system starts it: by an inetd
(socat), by systemd socket activation (the real systemd-socket-activate, with
Accept=no, Accept=yes and --inetd), and with sd_notify readiness."""

import ftplib
import os
import shutil
import signal
import socket
import subprocess
import time

from harness import (TEST_WORKERS, Launched, check, check_equal, free_port, ftpd_command,
                     ftpd_path, parent_pid, populate_tree, process_gone, process_title,
                     server_end_inode, serving_pid, skip, temp_dir, wait_for_listening,
                     wait_until, worker_pids, write_file)

SYSTEMD_SOCKET_ACTIVATE = "systemd-socket-activate"


def share():
    """An anonymous root with the usual files, and a config file that serves it."""
    root = temp_dir("ftpd-anon-")
    populate_tree(root)
    config = write_file(os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf"),
                        "anonymous = yes\nanonymous_root = %s\nbanner = launched\n" % root)
    return root, config


def ftp_session(port):
    """A logged-in ftplib client."""
    client = ftplib.FTP(timeout=10)
    greeting = client.connect("127.0.0.1", port)
    check(greeting.startswith("220 launched"), "greeting %r" % greeting)
    client.login()
    return client


def full_session(client, root):
    """PWD, LIST, RETR of a text and a binary file, QUIT."""
    check_equal(client.pwd(), "/", "PWD")
    names = []
    client.retrlines("LIST /pub", names.append)
    check(any(line.endswith(" hello.txt") for line in names), "LIST /pub: %r" % names)
    chunks = []
    client.retrbinary("RETR /pub/data.bin", chunks.append)
    with open(os.path.join(root, "pub", "data.bin"), "rb") as f:
        check(b"".join(chunks) == f.read(), "RETR /pub/data.bin: bytes differ")
    lines = []
    client.retrlines("RETR /README.txt", lines.append)
    check_equal(lines, ["read me"], "RETR /README.txt in ASCII")
    check(client.quit().startswith("221"), "QUIT reply")


def executable_of(pid):
    return os.path.realpath("/proc/%d/exe" % pid)


def need_socat():
    if shutil.which("socat") is None and shutil.which("apt-get") is not None:
        subprocess.run(["apt-get", "install", "-y", "socat"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=300)
    if shutil.which("socat") is None:
        skip("socat is not installed and cannot be installed")


def need_openbsd_inetd():
    """The inetd binary of Debian's openbsd-inetd. Unless one is installed, the
    package is unpacked (not installed: no daemon starts, /etc is not touched)
    under build/test-tools, once."""
    installed = "/usr/sbin/inetd"
    if os.path.exists(installed) and os.path.exists("/usr/share/doc/openbsd-inetd"):
        return installed
    here = os.path.dirname(os.path.abspath(__file__))
    unpacked = os.path.join(here, "..", "..", "build", "test-tools", "openbsd-inetd")
    binary = os.path.join(unpacked, "usr", "sbin", "inetd")
    if not os.path.exists(binary):
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            skip("openbsd-inetd is not installed and cannot be fetched here")
        download = temp_dir("ftpd-inetd-deb-")
        result = subprocess.run(["apt-get", "download", "openbsd-inetd"], cwd=download,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=300)
        packages = [name for name in os.listdir(download) if name.endswith(".deb")]
        if result.returncode != 0 or not packages:
            skip("apt-get download openbsd-inetd failed: %s" % result.stderr.strip()[-200:])
        os.makedirs(unpacked, exist_ok=True)
        subprocess.run(["dpkg", "-x", os.path.join(download, packages[0]), unpacked], check=True)
    libraries = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    if "not found" in libraries:
        # Its libraries are plain libraries: installing them starts nothing.
        subprocess.run(["apt-get", "install", "-y", "libwrap0", "libbsd0"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        if "not found" in subprocess.run(["ldd", binary], capture_output=True,
                                         text=True).stdout:
            skip("openbsd-inetd's libraries are missing: %s" % libraries)
    return binary


def need_socket_activate():
    if shutil.which(SYSTEMD_SOCKET_ACTIVATE) is None:
        skip("systemd-socket-activate (Debian package systemd) is not installed")


def launch_socket_activate(port, config, launcher_options=(), ftpd_args=("-f",)):
    """systemd-socket-activate listening on port, running ftpd with config."""
    need_socket_activate()
    argv = ([SYSTEMD_SOCKET_ACTIVATE, "-l", "127.0.0.1:%d" % port] + list(launcher_options) +
            ftpd_command(config, args=ftpd_args))
    launcher = Launched(argv)
    wait_for_listening(port, launcher.process)
    return launcher


def test_inetd_mode_under_socat():
    """socat is the inetd: a process per connection with the socket as stdin/stdout."""
    need_socat()
    root, config = share()
    port = free_port()
    # socat splits EXEC's command at blanks; the temp paths have none.
    command = " ".join(ftpd_command(config, args=["-i"]))
    launcher = Launched(["socat", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port,
                         "EXEC:%s,nofork" % command])
    wait_for_listening(port, launcher.process)
    seen = []
    for _ in range(2):
        client = ftp_session(port)
        pid = serving_pid(client.sock)
        check_equal(executable_of(pid), ftpd_path(), "program serving the session")
        check(pid != launcher.pid, "socat itself serves the session")
        seen.append(pid)
        full_session(client, root)
        client.close()
        wait_until(lambda: process_gone(pid), 5, "ftpd -i process %d exits after QUIT" % pid)
    check(seen[0] != seen[1], "both sessions were served by process %d" % seen[0])
    check_equal(launcher.process.poll(), None, "socat still running")


def test_inetd_mode_under_openbsd_inetd():
    """The real inetd (Debian's openbsd-inetd, in the foreground with -d) runs
    the conf/inetd.conf line's command for each connection. It also hands the
    connection over as stderr: log = stderr must not send log lines to the
    client."""
    inetd = need_openbsd_inetd()
    root, config = share()
    port = free_port()
    command = " ".join(ftpd_command(config, {"log": "stderr"}, args=["-i"])[1:])
    inetd_conf = write_file(os.path.join(temp_dir("ftpd-inetd-"), "inetd.conf"),
                            "127.0.0.1:%d stream tcp nowait root %s ftpd %s\n"
                            % (port, ftpd_path(), command))
    launcher = Launched([inetd, "-d", inetd_conf])
    wait_for_listening(port, launcher.process)
    seen = []
    for _ in range(2):
        client = ftp_session(port)
        pid = serving_pid(client.sock)
        check(pid != launcher.pid, "inetd itself serves the session")
        check_equal(executable_of(pid), ftpd_path(), "program serving the session")
        inode = server_inode(client)
        for fd in (0, 1, 2):
            check_equal(os.readlink("/proc/%d/fd/%d" % (pid, fd)), "socket:[%d]" % inode,
                        "fd %d of ftpd -i under inetd" % fd)
        full_session(client, root)
        client.close()
        wait_until(lambda: process_gone(pid), 5, "ftpd -i %d exits after its session" % pid)
        seen.append(pid)
    check(seen[0] != seen[1], "both sessions were served by process %d" % seen[0])


def test_inetd_mode_two_sessions_at_once():
    need_socat()
    root, config = share()
    port = free_port()
    command = " ".join(ftpd_command(config, args=["-i"]))
    launcher = Launched(["socat", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port,
                         "EXEC:%s,nofork" % command])
    wait_for_listening(port, launcher.process)
    first, second = ftp_session(port), ftp_session(port)
    check(serving_pid(first.sock) != serving_pid(second.sock), "one process serves two sessions")
    full_session(second, root)
    full_session(first, root)


def test_socket_activation_accept_no():
    """Accept=no: ftpd gets the listening socket as fd 3; its workers accept
    every connection on that socket."""
    root, config = share()
    port = free_port()
    launcher = launch_socket_activate(port, config)
    first, second = ftp_session(port), ftp_session(port)
    workers = worker_pids(launcher.pid, int(TEST_WORKERS))
    for client in (first, second):
        pid = serving_pid(client.sock)
        check(pid in workers, "process %d serving a session is not a worker of the ftpd that "
              "systemd-socket-activate exec'd (%d: %r)" % (pid, launcher.pid, workers))
        check_equal(executable_of(pid), ftpd_path(), "program serving the sessions")
    for pid in [launcher.pid] + workers:
        check(os.readlink("/proc/%d/fd/3" % pid).startswith("socket:"),
              "fd 3 of ftpd %d is not the inherited socket: %s"
              % (pid, os.readlink("/proc/%d/fd/3" % pid)))
    full_session(first, root)
    full_session(second, root)
    third = ftp_session(port)
    full_session(third, root)
    # The service manager's stop: SIGTERM, and a clean exit.
    launcher.process.send_signal(signal.SIGTERM)
    check_equal(launcher.wait(10), 0, "ftpd exit status after SIGTERM")
    check("accepting on socket 3" in launcher.stderr_text(),
          "ftpd did not log that it took socket 3: %r" % launcher.stderr_tail())


def test_socket_activation_accept_yes():
    """Accept=yes: each connection is a new ftpd with the connection as fd 3 and
    LISTEN_FDS=1; it serves that one session and exits."""
    root, config = share()
    port = free_port()
    launcher = launch_socket_activate(port, config, ["--accept"])
    seen = []
    for _ in range(2):
        client = ftp_session(port)
        pid = serving_pid(client.sock)
        monitor = parent_pid(pid)
        check(monitor != launcher.pid, "the launcher itself serves the connection")
        check_equal(parent_pid(monitor), launcher.pid, "parent of the session's ftpd")
        check_equal(executable_of(pid), ftpd_path(), "program serving the session")
        check_equal(process_title(monitor), "ftpd: monitor", "title of the session's ftpd")
        check_equal(process_title(pid), "ftpd: worker 1", "title of its worker")
        check_equal(os.readlink("/proc/%d/fd/3" % pid), "socket:[%d]" % server_inode(client),
                    "fd 3 of the session's worker")
        full_session(client, root)
        client.close()
        wait_until(lambda: process_gone(pid) and process_gone(monitor), 5,
                   "ftpd %d and its worker %d exit after the session" % (monitor, pid))
        seen.append(pid)
    check(seen[0] != seen[1], "both connections were served by process %d" % seen[0])


def server_inode(client):
    return server_end_inode(client.sock)


def test_socket_activation_inetd_protocol():
    """--inetd: the connection is stdin and stdout of `ftpd -i`."""
    root, config = share()
    port = free_port()
    launcher = launch_socket_activate(port, config, ["--accept", "--inetd"], ftpd_args=["-i"])
    for _ in range(2):
        client = ftp_session(port)
        pid = serving_pid(client.sock)
        check(pid != launcher.pid, "the launcher itself serves the connection")
        check_equal(executable_of(pid), ftpd_path(), "program serving the session")
        inode = server_inode(client)
        for fd in (0, 1):
            check_equal(os.readlink("/proc/%d/fd/%d" % (pid, fd)), "socket:[%d]" % inode,
                        "fd %d of ftpd -i" % fd)
        full_session(client, root)
        client.close()
        wait_until(lambda: process_gone(pid), 5, "ftpd -i %d exits after its session" % pid)


def notify_socket(abstract):
    """A bound unix datagram socket and the NOTIFY_SOCKET value naming it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "ftpd-test-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
        sock.bind("\0" + name)
        value = "@" + name
    else:
        value = os.path.join(temp_dir("ftpd-notify-"), "notify")
        sock.bind(value)
    sock.settimeout(10)
    return sock, value


def test_readiness_notification():
    """READY=1 once connections are accepted, STOPPING=1 on SIGTERM (sd_notify(3)),
    to a socket path and to an abstract socket."""
    for abstract in (False, True):
        sock, value = notify_socket(abstract)
        root, config = share()
        port = free_port()
        environment = dict(os.environ, NOTIFY_SOCKET=value)
        server = Launched(ftpd_command(config, {"listen": "127.0.0.1:%d" % port}, ["-f"]),
                          env=environment)
        try:
            message = sock.recv(4096)
        except socket.timeout:
            raise AssertionError("no notification to %s within 10 s (log %r)"
                                 % (value, server.stderr_tail()))
        check_equal(message, b"READY=1", "first notification to %s" % value)
        # Ready means ready: the first connection attempt must be served.
        client = ftp_session(port)
        full_session(client, root)
        server.process.send_signal(signal.SIGTERM)
        try:
            message = sock.recv(4096)
        except socket.timeout:
            raise AssertionError("no notification after SIGTERM to %s" % value)
        check_equal(message, b"STOPPING=1", "notification after SIGTERM to %s" % value)
        check_equal(server.wait(10), 0, "ftpd exit status after SIGTERM")
        sock.close()


def test_readiness_notification_under_socket_activation():
    """Type=notify with ftpd.socket: READY=1 comes from the activated ftpd."""
    need_socket_activate()
    sock, value = notify_socket(False)
    root, config = share()
    port = free_port()
    argv = ([SYSTEMD_SOCKET_ACTIVATE, "-l", "127.0.0.1:%d" % port, "-E", "NOTIFY_SOCKET=" + value]
            + ftpd_command(config, args=["-f"]))
    launcher = Launched(argv)
    wait_for_listening(port, launcher.process)
    # systemd-socket-activate starts ftpd at the first connection.
    client = ftp_session(port)
    check_equal(sock.recv(4096), b"READY=1", "notification from the activated ftpd")
    full_session(client, root)


def test_socket_activation_takes_the_flags_of_matching_listen_lines():
    """Sockets systemd passes take the flags of the listen line with their
    address: one behind a balancer expects a PROXY header, the
    listen_implicit one speaks TLS at once."""
    from harness import client_context, tls_options

    need_socket_activate()
    root, _config = share()
    plain, implicit = free_port(), free_port()
    options = tls_options("implicit", {"listen_implicit": "127.0.0.1:%d" % implicit})
    lines = ["anonymous = yes", "anonymous_root = " + root, "banner = launched",
             "listen = 127.0.0.1:%d proxy" % plain, "proxy_trusted = 127.0.0.1"]
    lines += ["%s = %s" % item for item in options.items()]
    config = write_file(os.path.join(temp_dir("ftpd-conf-"), "ftpd.conf"),
                        "\n".join(lines) + "\n")
    argv = ([SYSTEMD_SOCKET_ACTIVATE, "-l", "127.0.0.1:%d" % plain,
             "-l", "127.0.0.1:%d" % implicit] + ftpd_command(config, args=("-f",)))
    launcher = Launched(argv)
    try:
        wait_for_listening(plain, launcher.process)
        with socket.create_connection(("127.0.0.1", plain), timeout=10) as sock:
            sock.sendall(b"PROXY TCP4 198.51.100.7 127.0.0.9 40123 21\r\n")
            greeting = sock.recv(200)
        check(greeting.startswith(b"220 launched"), "greeting after a PROXY header: %r"
              % greeting)
        with socket.create_connection(("127.0.0.1", implicit), timeout=10) as raw:
            with client_context().wrap_socket(raw) as sock:
                greeting = sock.recv(200)
                check(greeting.startswith(b"220 launched"), "implicit TLS greeting: %r"
                      % greeting)
                check(sock.version() is not None and sock.version().startswith("TLS"),
                      "the implicit socket speaks %r" % sock.version())
        wait_until(lambda: "198.51.100.7: connected (through a balancer)" in
                   launcher.stderr_text(), 5, "the header's client in the log")
        text = launcher.stderr_text()
        check("accepting on socket 3 from the service manager (127.0.0.1:%d) (PROXY protocol)"
              % plain in text, "socket 3 not described: %r" % launcher.stderr_tail())
        check("accepting on socket 4 from the service manager (127.0.0.1:%d) (implicit TLS)"
              % implicit in text, "socket 4 not described: %r" % launcher.stderr_tail())
    finally:
        launcher.process.send_signal(signal.SIGTERM)
        launcher.wait(10)
