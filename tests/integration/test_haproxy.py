"""test_haproxy: two ftpd instances behind a real HAProxy over one shared
tree (balancer.Site: who is where on loopback, and how HAProxy is set up).
Clients connect from 127.0.0.10-59, each its own "real" address."""

import ftplib
import hashlib
import io
import os
import random
import re
import socket
import threading

from balancer import BALANCER_SOURCE, FRONT, PASSWORD, Site
from harness import check, check_equal, read_all, wait_until
from postgresql_cluster import Cluster


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
    to two instances whose users are in one PostgreSQL database: login, LIST,
    STOR, RETR; every log names the real client."""
    cluster = Cluster()
    for number in range(8):
        cluster.add_user("user%d" % number, PASSWORD)
    site = Site("send-proxy-v2", users=8, options={"passwd_db": cluster.uri()})
    run_clients(site, 50)
    check(cluster.ftpd_connections() >= 2, "the instances did not look users up in PostgreSQL")
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
