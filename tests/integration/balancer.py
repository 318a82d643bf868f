"""balancer: ftpd instances behind a real HAProxy (Debian's haproxy), over
one shared tree, the way conf/haproxy/ftpd.cfg sets them up; used by
test_haproxy and by the benchmark tests/bench/haproxy.py.

Addresses on loopback keep every party apart: clients connect to HAProxy
on 127.0.0.1 (the tests from 127.0.0.10-59, each its own "real" address),
HAProxy connects to the instances from 127.0.0.3 (their proxy_trusted),
instance a listens on 127.0.0.2, b on 127.0.0.4. Each instance owns a range
of passive ports that HAProxy forwards to it with a PROXY header of its own
(send-proxy-v2), so a passive connection is checked against the real
client too."""

import ftplib
import os
import random
import shutil
import socket
import subprocess

from harness import Server, at_finish, check, skip, temp_dir, wait_until, write_file, \
    write_passwd_file

BALANCER_SOURCE = "127.0.0.3"
FRONT = "127.0.0.1"
# Instance hosts, in order: a, b, c...
INSTANCE_HOSTS = ("127.0.0.2", "127.0.0.4", "127.0.0.5", "127.0.0.6")
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

    def __init__(self, send_proxy="send-proxy-v2", users=8, instances=2, pasv_ports=40,
                 options=None, big_size=3 * 1024 * 1024 + 17):
        self.haproxy = haproxy_binary()
        self.pasv_ports = pasv_ports
        base = temp_dir("ftpd-haproxy-")
        self.base = base
        self.anonymous_root = os.path.join(base, "anonymous")
        self.home_root = os.path.join(base, "homes")
        write_file(os.path.join(self.anonymous_root, "pub", "hello.txt"), b"hello, world\n")
        self.big = os.urandom(big_size)
        write_file(os.path.join(self.anonymous_root, "pub", "big.bin"), self.big)
        self.users = ["user%d" % i for i in range(users)]
        for name in self.users:
            os.makedirs(os.path.join(self.home_root, name))
        passwd = write_passwd_file(os.path.join(base, "passwd"),
                                   [(name, PASSWORD, None) for name in self.users])
        self.instances = {}
        for index in range(instances):
            name, host = chr(ord("a") + index), INSTANCE_HOSTS[index]
            first = free_port_range(pasv_ports, [host, FRONT])
            server_options = {"anonymous": "yes", "anonymous_root": self.anonymous_root,
                              "passwd_file": passwd, "home_root": self.home_root,
                              "proxy_trusted": BALANCER_SOURCE, "log_level": "debug",
                              "max_prelogin_per_ip": "0",
                              "pasv_ports": "%d-%d" % (first, first + pasv_ports - 1)}
            server_options.update(options or {})
            if "passwd_db" in server_options:   # the same users, from PostgreSQL
                del server_options["passwd_file"]
            server = Server(server_options, start=False)
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
                "    bind %s:%d-%d" % (FRONT, first, first + self.pasv_ports - 1),
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
