"""shared_state = redis://...: instances behind one balancer share per-address
session counts, login failures and bans through a real redis-server that each
test starts on a loopback port; when Redis goes away, every instance keeps
serving on its own limits and says so in its log."""

import os
import shutil
import signal
import socket
import subprocess
import time

from harness import (Server, at_finish, check, free_port, run_ftpd, skip, temp_dir, wait_until,
                     worker_pids, write_file, write_passwd_file)


def redis_server_path():
    path = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(path):
        skip("redis-server is not installed (apt-get install redis-server)")
    return path


class Redis:
    """A throwaway redis-server on a loopback port, nothing saved to disk."""

    def __init__(self):
        self.port = free_port()
        self.directory = temp_dir("ftpd-redis-")
        self.process = None
        self.start()
        at_finish(self.stop)

    def start(self):
        self.process = subprocess.Popen(
            [redis_server_path(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.directory,
             "--protected-mode", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, 10, "redis-server answering PING")

    def answers(self):
        try:
            return self.command("PING") == "PONG"
        except OSError:
            return False

    def command(self, *words):
        """One command in RESP: an integer, a string, or None for a nil."""
        request = "*%d\r\n" % len(words) + "".join(
            "$%d\r\n%s\r\n" % (len(word.encode()), word) for word in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(request.encode())
            answer = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("redis closed the connection: %r" % answer)
                answer += chunk
                head, _, rest = answer.partition(b"\r\n")
                if not _:
                    continue
                kind, value = head[:1], head[1:].decode()
                if kind == b"+":
                    return value
                if kind == b"-":
                    raise AssertionError("redis: " + value)
                if kind == b":":
                    return int(value)
                if kind == b"$":
                    if int(value) < 0:
                        return None
                    if len(rest) >= int(value) + 2:
                        return rest[:int(value)].decode()
                    continue
                raise AssertionError("unexpected redis answer %r" % answer)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def uri(self):
        return "redis://127.0.0.1:%d" % self.port


def instance(redis, options):
    opts = {"shared_state": redis.uri(), "anonymous": "yes",
            "anonymous_root": anonymous_root()}
    opts.update(options)
    server = Server(opts)
    wait_until(lambda: "shared_state: connected to redis" in server.stderr_text(), 5,
               "instance connected to redis")
    return server


_anonymous_root = []


def anonymous_root():
    if not _anonymous_root:
        root = temp_dir("ftpd-anon-")
        write_file(os.path.join(root, "README.txt"), b"read me\n")
        _anonymous_root.append(root)
    return _anonymous_root[0]


def greeting(server):
    """Connects and returns (socket, first line) - 220 or the 421 of a refusal."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(200)
        if not chunk:
            break
        data += chunk
    return sock, data.decode("utf-8", "replace").split("\r\n")[0]


def admitted(server):
    """A session that got 220 (the socket), or None after a 421."""
    sock, line = greeting(server)
    if line.startswith("220"):
        return sock
    check(line.startswith("421"), "neither 220 nor 421: %r" % line)
    sock.close()
    return None


def test_per_address_limit_holds_across_instances():
    redis = Redis()
    first = instance(redis, {"max_clients_per_ip": "2"})
    second = instance(redis, {"max_clients_per_ip": "2"})
    with first, second:
        one = admitted(first)
        two = admitted(second)
        check(one is not None and two is not None, "two sessions were refused")
        for server in (first, second):
            sock, line = greeting(server)
            sock.close()
            check(line.startswith("421") and "max_clients_per_ip" in line,
                  "a third session from the address was not refused: %r" % line)
        one.close()
        # The count comes back when the instance has seen the close.
        wait_until(lambda: _admitted_then_closed(second), 5,
                   "a session admitted again once one closed")
        two.close()


def _admitted_then_closed(server):
    sock = admitted(server)
    if sock is None:
        return False
    sock.close()
    return True


def users_instance(redis, passwd, home_root, options):
    opts = {"anonymous": "no", "passwd_file": passwd, "home_root": home_root,
            "ban_after_failures": "3", "ban_time": "60", "max_login_failures": "10"}
    opts.update(options)
    return instance(redis, opts)


def test_failures_on_both_instances_ban_the_address_on_both():
    redis = Redis()
    base = temp_dir("ftpd-users-")
    home_root = os.path.join(base, "homes")
    os.makedirs(os.path.join(home_root, "alice"))
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("alice", "secret", None)])
    first = users_instance(redis, passwd, home_root, {})
    second = users_instance(redis, passwd, home_root, {})
    with first, second:
        # Two failures through the first instance, the third through the second:
        # neither saw three, together they did.
        with first.connect() as control:
            for _ in range(2):
                control.expect("USER alice", 331)
                control.expect("PASS wrong", 530)
        with second.connect() as control:
            control.expect("USER alice", 331)
            control.expect("PASS wrong", 530)
        for server in (first, second):
            sock, line = greeting(server)
            sock.close()
            check(line.startswith("421"), "the banned address was admitted: %r" % line)
        wait_until(lambda: "(shared_state)" in first.stderr_text(), 5,
                   "the first instance logging the ban it learnt from redis")
        check(redis.command("EXISTS", "ftpd:ban:127.0.0.1") == 1,
              "no ban key in redis")


def test_max_sessions_per_user_holds_across_instances():
    """max_sessions_per_user counts a user's sessions on every instance
    together: alice logged in through A may not log in again through B;
    her session ending there lets her in; a logout counts too."""
    redis = Redis()
    base = temp_dir("ftpd-users-")
    home_root = os.path.join(base, "homes")
    for user in ("alice", "bob"):
        os.makedirs(os.path.join(home_root, user))
    passwd = write_passwd_file(os.path.join(base, "passwd"), [("alice", "secret", None),
                                                              ("bob", "secret", None)])
    options = {"max_sessions_per_user": "1"}
    first = users_instance(redis, passwd, home_root, options)
    second = users_instance(redis, passwd, home_root, options)
    with first, second:
        held = first.connect()
        held.login("alice", "secret")
        check(redis.command("HGET", "ftpd:users:" + _instance_of(first), "alice") == "1",
              "alice's session not counted in redis")
        with second.connect() as control:
            control.expect("USER alice", 331)
            reply = control.command("PASS secret")
            check(reply.code == 421 and "max_sessions_per_user" in reply.text,
                  "a second session of alice through the other instance: %r" % reply)
        # Another user is not held back by alice's count.
        with second.connect() as control:
            control.login("bob", "secret")
            control.expect("PWD", 257)
        held.expect("QUIT", 221)
        held.close()
        wait_until(lambda: redis.command("HGET", "ftpd:users:" + _instance_of(first),
                                         "alice") is None, 5,
                   "alice's ended session given back in redis")
        with second.connect() as control:
            control.login("alice", "secret")
            # USER again logs her out: another instance may let her in meanwhile.
            control.expect("USER bob", 331)
            with first.connect() as other:
                wait_until(lambda: redis.command("HGET", "ftpd:users:" +
                                                 _instance_of(second), "alice") is None,
                           5, "alice's logout given back in redis")
                other.login("alice", "secret")


def test_redis_stopped_mid_run_falls_back_to_local_limits_and_recovers():
    redis = Redis()
    first = instance(redis, {"max_clients_per_ip": "2", "shared_state_ttl": "3"})
    second = instance(redis, {"max_clients_per_ip": "2", "shared_state_ttl": "3"})
    with first, second:
        held = [admitted(first)]
        redis.stop()
        for server in (first, second):
            wait_until(lambda: "unreachable" in server.stderr_text(), 5,
                       "the log saying redis is unreachable")
        # Logins go on, and each instance counts its own sessions: two each.
        control = first.connect()
        control.login_anonymous()
        control.expect("PWD", 257)
        held.append(admitted(second))
        held.append(admitted(second))
        check(all(sock is not None for sock in held),
              "sessions within the local limits were refused without redis")
        sock, line = greeting(first)
        sock.close()
        check(line.startswith("421"), "the local limit did not hold without redis: %r" % line)
        redis.start()
        for server in (first, second):
            wait_until(lambda: "answers again" in server.stderr_text(), 6,
                       "the log saying redis answers again")
        # Both tables were written anew: the address has four sessions, two allowed.
        wait_until(lambda: redis.command("HGET", "ftpd:sessions:" + _instance_of(first),
                                         "127.0.0.1") == "2", 5,
                   "the first instance's two sessions counted in redis")
        sock, line = greeting(second)
        sock.close()
        check(line.startswith("421"), "redis back, the shared limit did not hold: %r" % line)
        control.expect("PWD", 257)
        control.close()
        for sock in held:
            sock.close()


def _instance_of(server):
    text = server.stderr_text()
    marker = "as instance "
    return text[text.index(marker) + len(marker):].split()[0]


def test_counts_of_a_crashed_instance_expire():
    redis = Redis()
    first = instance(redis, {"max_clients_per_ip": "2", "shared_state_ttl": "3"})
    second = instance(redis, {"max_clients_per_ip": "2", "shared_state_ttl": "3"})
    with second:
        held = [admitted(first), admitted(first)]
        check(all(sock is not None for sock in held), "the first two sessions were refused")
        workers = worker_pids(first.process.pid)
        os.kill(first.process.pid, signal.SIGKILL)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        first.process.wait()
        first.stopped = True
        crashed = time.monotonic()
        sock, line = greeting(second)
        sock.close()
        check(line.startswith("421"), "the crashed instance's sessions were forgotten at "
              "once: %r" % line)
        wait_until(lambda: _admitted_then_closed(second), 6,
                   "a session admitted once the crashed instance's counts expired")
        waited = time.monotonic() - crashed
        check(waited >= 1.5, "counts expired after %.1f s, before their TTL" % waited)
        for sock in held:
            sock.close()


def test_silent_redis_never_holds_a_session_back():
    """A Redis that takes connections and never answers (a hung server, a
    firewall's black hole past the handshake) is given up on; sessions are
    admitted on local limits without waiting for it, attempt after attempt."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    at_finish(silent.close)
    server = Server({"shared_state": "redis://127.0.0.1:%d" % silent.getsockname()[1],
                     "anonymous": "yes", "anonymous_root": anonymous_root(),
                     "max_clients_per_ip": "2"})
    with server:
        wait_until(lambda: "unreachable (no answer within 0.5 s)" in server.stderr_text(), 5,
                   "the log saying redis does not answer")
        slowest = 0.0
        deadline = time.monotonic() + 4.5   # two more attempts to connect
        while time.monotonic() < deadline:
            started = time.monotonic()
            sock, line = greeting(server)
            slowest = max(slowest, time.monotonic() - started)
            sock.close()
            check(line.startswith("220"), "a session was refused: %r" % line)
            time.sleep(0.1)
        check(slowest < 0.45, "a greeting took %.2f s with redis silent" % slowest)
        check(server.stderr_text().count("unreachable") == 1,
              "the outage was logged more than once")


def test_a_dead_workers_sessions_are_given_back_at_once():
    """A worker killed with its sessions: the monitor writes the instance's
    counts anew in Redis at once, not a third of the TTL (10 s) later."""
    redis = Redis()
    server = instance(redis, {"max_clients_per_ip": "5", "workers": "1"})
    with server:
        held = [admitted(server), admitted(server)]
        check(all(sock is not None for sock in held), "sessions were refused")
        name = _instance_of(server)
        wait_until(lambda: redis.command("HGET", "ftpd:sessions:" + name, "127.0.0.1") == "2",
                   5, "the two sessions counted in redis")
        for pid in worker_pids(server.process.pid):
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: redis.command("HGET", "ftpd:sessions:" + name, "127.0.0.1") is None,
                   3, "the dead worker's sessions given back in redis")
        check(time.monotonic() - killed < 2.0, "given back after %.1f s"
              % (time.monotonic() - killed))
        for sock in held:
            sock.close()


HOSTS = "/etc/hosts"


def test_a_redis_name_that_does_not_resolve_yet_keeps_no_instance_down():
    """DNS down while an instance restarts: it starts on its own limits, says
    so, and connects once the name resolves (here: a line added to
    /etc/hosts, which getaddrinfo reads at each lookup)."""
    redis = Redis()
    name = "ftpd-redis-%d.invalid" % os.getpid()
    uri = "redis://%s:%d" % (name, redis.port)
    result = run_ftpd(["-t", "-o", "shared_state=" + uri, "-o", "anonymous_root=" +
                       anonymous_root()])
    check(result.returncode == 0, "ftpd -t with a name that does not resolve: %r"
          % result.stderr)
    check("host %s does not resolve now" % name in result.stdout,
          "ftpd -t does not say the name does not resolve: %r" % result.stdout)
    server = Server({"shared_state": uri, "anonymous": "yes", "anonymous_root": anonymous_root(),
                     "max_clients_per_ip": "1"})
    with server:
        wait_until(lambda: "cannot resolve it" in server.stderr_text(), 5,
                   "the log saying the name does not resolve")
        held = admitted(server)
        check(held is not None, "no session while the name does not resolve")
        sock, line = greeting(server)
        sock.close()
        check(line.startswith("421"), "the local limit did not hold: %r" % line)
        try:
            with open(HOSTS) as f:
                original = f.read()
            with open(HOSTS, "a") as f:
                f.write("\n127.0.0.1 %s\n" % name)
        except OSError as error:
            held.close()
            skip("cannot add a name to %s: %s" % (HOSTS, error))
        at_finish(lambda: write_file(HOSTS, original))
        wait_until(lambda: "answers again" in server.stderr_text(), 6,
                   "the instance connecting once the name resolves")
        wait_until(lambda: redis.command("HGET", "ftpd:sessions:" + _instance_of(server),
                                         "127.0.0.1") == "1", 5,
                   "the held session counted in redis")
        held.close()
    write_file(HOSTS, original)
    check(server.stderr_text().count("cannot resolve it") == 1,
          "the failed lookups were logged more than once:\n" + server.stderr_tail())

