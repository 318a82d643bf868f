"""test_haproxy: two ftpd instances behind a real HAProxy (Debian's haproxy),
over one shared tree, the way conf/haproxy/ftpd.cfg sets them up.

Addresses on loopback keep every party apart: clients connect to HAProxy
on 127.0.0.1 from 127.0.0.10-59 (each its own "real" address), HAProxy
connects to the instances from 127.0.0.3 (their proxy_trusted), instance A
listens on 127.0.0.2 and B on 127.0.0.4. Each instance owns a range of
passive ports that HAProxy forwards to it with a PROXY header of its own
(send-proxy-v2), so a passive connection is checked against the real client
too."""

import ftplib
import hashlib
import io
import os
import random
import re
import shutil
import socket
import subprocess
import threading
import time

from harness import (Server, at_finish, check, check_equal, read_all, skip, temp_dir,
                     wait_until, write_file, write_passwd_file)

BALANCER_SOURCE = "127.0.0.3"
FRONT = "127.0.0.1"
INSTANCES = (("a", "127.0.0.2"), ("b", "127.0.0.4"))
PASV_PORTS_PER_INSTANCE = 40
PASSWORD = "Proxied-pass-7"


def haproxy_binary():
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy")
                                       else None)
    if path is None:
        skip("haproxy is not installed (Debian package haproxy)")
    return path


def port_free(host, port):
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port_range(count, hosts):
    """A range of count ports free on every host, below the ephemeral range."""
    rng = random.Random()
    for _attempt in range(200):
        first = rng.randrange(20000, 32000 - count)
        if all(port_free(host, port) for host in hosts for port in range(first, first + count)):
            return first
    raise AssertionError("no free range of %d ports" % count)


def free_port_on(host):
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Site:
    """The shared tree, its users, two instances and the HAProxy in front."""

    def __init__(self, send_proxy="send-proxy-v2", users=8):
        self.haproxy = haproxy_binary()
        base = temp_dir("ftpd-haproxy-")
        self.base = base
        self.anonymous_root = os.path.join(base, "anonymous")
        self.home_root = os.path.join(base, "homes")
        write_file(os.path.join(self.anonymous_root, "pub", "hello.txt"), b"hello, world\n")
        self.big = os.urandom(3 * 1024 * 1024 + 17)
        write_file(os.path.join(self.anonymous_root, "pub", "big.bin"), self.big)
        self.users = ["user%d" % i for i in range(users)]
        for name in self.users:
            os.makedirs(os.path.join(self.home_root, name))
        passwd = write_passwd_file(os.path.join(base, "passwd"),
                                   [(name, PASSWORD, None) for name in self.users])
        self.instances = {}
        for name, host in INSTANCES:
            first = free_port_range(PASV_PORTS_PER_INSTANCE, [host, FRONT])
            server = Server({"anonymous": "yes", "anonymous_root": self.anonymous_root,
                             "passwd_file": passwd, "home_root": self.home_root,
                             "proxy_trusted": BALANCER_SOURCE, "log_level": "debug",
                             "max_prelogin_per_ip": "0",
                             "pasv_ports": "%d-%d" % (first, first + PASV_PORTS_PER_INSTANCE - 1)},
                            start=False)
            server.options["listen"] = "%s:%d proxy" % (host, server.port)
            server.start()
            self.instances[name] = (server, host, first)
        self.port = free_port_on(FRONT)
        self.config = os.path.join(base, "haproxy.cfg")
        write_file(self.config, self.haproxy_config(send_proxy).encode())
        self.log_path = os.path.join(base, "haproxy.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([self.haproxy, "-f", self.config, "-db"],
                                        stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        at_finish(self.stop)
        wait_until(lambda: self.process.poll() is not None or self.listening(), 10,
                   "haproxy listening")
        check(self.process.poll() is None, "haproxy runs: %s" % self.haproxy_log())

    def haproxy_config(self, send_proxy):
        lines = [
            "global",
            "    maxconn 4096",
            "defaults",
            "    mode tcp",
            "    timeout connect 5s",
            "    timeout client 60s",
            "    timeout server 60s",
            "frontend ftp",
            "    bind %s:%d" % (FRONT, self.port),
            "    default_backend ftp",
            "backend ftp",
            "    balance roundrobin",
            "    source %s" % BALANCER_SOURCE,
        ]
        for name, (server, host, _first) in self.instances.items():
            lines.append("    server %s %s:%d %s check check-send-proxy inter 500ms"
                         % (name, host, server.port, send_proxy))
        for name, (_server, host, first) in self.instances.items():
            lines += [
                "frontend pasv_%s" % name,
                "    bind %s:%d-%d" % (FRONT, first, first + PASV_PORTS_PER_INSTANCE - 1),
                "    default_backend pasv_%s" % name,
                "backend pasv_%s" % name,
                "    source %s" % BALANCER_SOURCE,
                # No port: the one the client connected to.
                "    server %s %s %s" % (name, host, send_proxy),
            ]
        return "\n".join(lines) + "\n"

    def listening(self):
        """Without connecting: a probe would be a client the instances log."""
        return not port_free(FRONT, self.port)

    def haproxy_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        for server, _host, _first in self.instances.values():
            server.stop()

    def client(self, source):
        ftp = ftplib.FTP(timeout=30, source_address=(source, 0))
        ftp.connect(FRONT, self.port)
        return ftp

    def logs(self):
        return {name: server.stderr_text() for name, (server, _h, _f) in self.instances.items()}


def client_address(number):
    return "127.0.0.%d" % (10 + number % 50)


def session_work(site, number, results):
    """login, LIST, RETR, STOR and RETR back, as one client from its own address."""
    source = client_address(number)
    try:
        ftp = site.client(source)
        user = site.users[number % len(site.users)]
        ftp.login(user, PASSWORD)
        ftp.set_pasv(number % 4 != 0)
        listing = []
        ftp.retrlines("LIST", listing.append)
        data = os.urandom(random.randrange(1, 300000))
        name = "upload-%d.bin" % number
        ftp.storbinary("STOR " + name, io.BytesIO(data))
        back = []
        ftp.retrbinary("RETR " + name, back.append)
        check(b"".join(back) == data, "RETR of what was stored")
        ftp.quit()
        guest = site.client(source)
        guest.login("anonymous", "guest@")
        chunks = []
        guest.retrbinary("RETR pub/big.bin", chunks.append)
        check(hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(site.big).digest(),
              "the big file through the balancer")
        guest.quit()
        results[number] = None
    except Exception as error:  # noqa: BLE001 - reported with the client's number
        results[number] = "%s: %s: %s" % (source, type(error).__name__, error)


def run_clients(site, count):
    results = {}
    threads = [threading.Thread(target=session_work, args=(site, i, results)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    failures = [results.get(i, "client %d did not finish" % i) for i in range(count)
                if results.get(i, "x") is not None]
    check(not failures, "%d of %d clients failed: %s" % (len(failures), count, failures[:5]))


def check_logs_name_clients(site, count):
    wait_until(lambda: all("health check" in text for text in site.logs().values()), 10,
               "a health check on each instance")
    logs = site.logs()
    for name, text in logs.items():
        check("%s: connected" % BALANCER_SOURCE not in text,
              "instance %s counted the balancer as a client" % name)
        check("refused" not in text, "instance %s refused something: %s" % (
            name, "\n".join(line for line in text.splitlines() if "refused" in line)[:1500]))
        check("health check" in text, "instance %s saw HAProxy's health checks" % name)
    seen = set()
    for text in logs.values():
        seen.update(re.findall(r"(127\.0\.0\.\d+): connected \(through a balancer\)", text))
    expected = {client_address(i) for i in range(count)}
    check_equal(seen, expected, "the client addresses the instances logged")
    for name, text in logs.items():
        check(text.count("login ok") > 0, "instance %s served logins (round robin)" % name)


def test_fifty_clients_through_haproxy_v2():
    """50 clients, each from its own address, through HAProxy with send-proxy-v2
    to two instances: login, LIST, STOR, RETR; every log names the real client."""
    site = Site("send-proxy-v2")
    run_clients(site, 50)
    check_logs_name_clients(site, 50)
    site.stop()


def test_clients_through_haproxy_v1():
    """The same with PROXY v1 (send-proxy) on control and data connections."""
    site = Site("send-proxy")
    run_clients(site, 12)
    check_logs_name_clients(site, 12)
    site.stop()


def test_forged_header_straight_to_an_instance_is_refused():
    """Anyone but the balancer who connects to an instance with a header of his own is refused."""
    site = Site("send-proxy-v2", users=1)
    server, host, _first = site.instances["a"]
    with socket.create_connection((host, server.port), timeout=10) as sock:
        sock.sendall(b"PROXY TCP4 203.0.113.5 127.0.0.1 1234 21\r\n")
        reply = sock.recv(200)
    check(reply.startswith(b"421 "), "a forged header gets 421: %r" % reply)
    text = site.logs()["a"]
    check("127.0.0.1: refused: not in proxy_trusted" in text, "the forgery logged")
    check("203.0.113.5" not in text, "the forged address is never used")
    site.stop()


def test_theft_and_bounce_checks_hold_behind_haproxy():
    """A passive port reached through HAProxy by another address is refused, the
    client's own connection then works; PORT to anyone else is refused."""
    site = Site("send-proxy-v2", users=1)
    victim = site.client("127.0.0.10")
    victim.login("anonymous", "guest@")
    reply = victim.sendcmd("PASV")
    numbers = [int(n) for n in re.search(r"\((\d+(?:,\d+){5})\)", reply).group(1).split(",")]
    host, port = "%d.%d.%d.%d" % tuple(numbers[:4]), numbers[4] * 256 + numbers[5]
    check_equal(host, FRONT, "PASV announces the balancer's address")
    victim.sock.sendall(b"RETR pub/hello.txt\r\n")
    thief = socket.socket()
    thief.bind(("127.0.0.66", 0))
    thief.settimeout(10)
    thief.connect((host, port))
    try:
        stolen = thief.recv(100)
    except ConnectionResetError:
        stolen = b""
    thief.close()
    check_equal(stolen, b"", "the thief gets nothing")
    data = socket.socket()
    data.bind(("127.0.0.10", 0))
    data.settimeout(10)
    data.connect((host, port))
    check_equal(victim.getresp()[:3], "150", "the client's own connection starts the transfer")
    check_equal(read_all(data), b"hello, world\n", "the client's transfer")
    check_equal(victim.getresp()[:3], "226", "RETR end")
    try:
        victim.sendcmd("PORT 127,0,0,3,100,100")
        bounced = False
    except ftplib.error_perm:
        bounced = True
    check(bounced, "PORT to the balancer is refused")
    victim.quit()
    logs = "\n".join(site.logs().values())
    check("refused a passive data connection from 127.0.0.66 (through a balancer)" in logs,
          "the theft logged")
    check("refused PORT/EPRT to another host" in logs, "the bounce logged")
    site.stop()


def test_concurrent_uploads_of_one_name_on_two_instances():
    """Two instances over one tree: uploads of one name at the same moment
    leave one whole upload, never a mix, and a reader on either instance
    sees a whole file (or none yet), never a partial one."""
    site = Site("send-proxy-v2", users=1)
    user = site.users[0]
    target = os.path.join(site.home_root, user, "shared.bin")
    contents = [bytes([i]) * (1024 * 1024 + i) for i in range(1, 3)]
    digests = {hashlib.sha256(data).hexdigest() for data in contents}
    problems = []

    def upload(number, data, barrier):
        try:
            ftp = site.client(client_address(number))
            ftp.login(user, PASSWORD)
            barrier.wait(10)
            ftp.storbinary("STOR shared.bin", io.BytesIO(data), blocksize=65536)
            ftp.quit()
        except Exception as error:  # noqa: BLE001 - reported below
            problems.append("upload %d: %s: %s" % (number, type(error).__name__, error))

    def read_while(stop):
        ftp = site.client(client_address(40))
        ftp.login(user, PASSWORD)
        while not stop.is_set():
            chunks = []
            try:
                ftp.retrbinary("RETR shared.bin", chunks.append)
            except ftplib.error_perm:
                continue  # not there yet
            digest = hashlib.sha256(b"".join(chunks)).hexdigest()
            if digest not in digests:
                problems.append("a reader saw %d bytes that are no whole upload"
                                % len(b"".join(chunks)))
        ftp.quit()

    stop = threading.Event()
    reader = threading.Thread(target=read_while, args=(stop,))
    reader.start()
    for round_number in range(15):
        barrier = threading.Barrier(2)
        uploaders = [threading.Thread(target=upload, args=(round_number * 2 + i, contents[i],
                                                           barrier)) for i in range(2)]
        for thread in uploaders:
            thread.start()
        for thread in uploaders:
            thread.join(60)
        with open(target, "rb") as f:
            final = hashlib.sha256(f.read()).hexdigest()
        check(final in digests, "round %d: the file is one whole upload" % round_number)
    stop.set()
    reader.join(60)
    check(not problems, "; ".join(problems[:5]))
    logs = site.logs()
    for name, text in logs.items():
        check("STOR shared.bin" in text, "instance %s took uploads" % name)
    leftovers = [name for name in os.listdir(os.path.dirname(target)) if name != "shared.bin"]
    check_equal(leftovers, [], "no temporary files left beside the upload")
    site.stop()
