"""test_limits_logins: what one address or one user may do across every
connection and worker: failed logins that ban an address (with a growing
delay before), connections not logged in (max_prelogin_per_ip), the default
with no per-address limit on logged-in sessions, and max_sessions_per_user."""

import threading
import time

from harness import anonymous_server, check, check_equal, temp_dir, user_server

USERS = (("alice", "secret", None), ("bob", "hunter2", None))


def test_parallel_connections_share_one_failure_count():
    """Eight connections guessing at once get ban_after_failures guesses
    between them (plus one in flight each), not eight times as many; then
    the address is banned: a new connection, even with the right password,
    gets a 421 naming the key and the time left."""
    server, _homes = user_server(USERS, options={
        "ban_after_failures": "5", "ban_time": "600", "max_login_failures": "100",
        "login_failure_delay": "0", "max_prelogin_per_ip": "0"})
    refusals = []
    closings = []
    lock = threading.Lock()
    start = threading.Barrier(8, timeout=30)

    def guess(number):
        control = server.connect()
        start.wait()
        for attempt in range(20):
            control.expect("USER alice", 331)
            reply = control.command("PASS wrong-%d-%d" % (number, attempt))
            with lock:
                (refusals if reply.code == 530 else closings).append(reply)
            if reply.code != 530:
                break
        control.close()

    with server:
        threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        check(len(refusals) <= 5 + 8,
              "%d guesses answered 530 from one address; ban_after_failures is 5"
              % len(refusals))
        check(len(closings) == 8 and all(reply.code == 421 for reply in closings),
              "every guessing connection ends with 421: %r" % closings)
        check("ban_after_failures" in closings[0].text, "421 names the key: %r" % closings[0])
        late = server.connect(greet=False)
        greeting = late.read_reply()
        check_equal(greeting.code, 421, "a new connection from the banned address")
        check("ban_after_failures" in greeting.text and "seconds" in greeting.text,
              "the ban's 421 names the key and the time left: %r" % greeting)
        late.close()
        check("banned for 600 s after 5 failed logins" in server.stderr_text(),
              "the ban is logged")


def test_ban_ends_after_ban_time():
    server, _homes = user_server(USERS, options={
        "ban_after_failures": "2", "ban_time": "2", "login_failure_delay": "0",
        "max_login_failures": "10"})
    with server:
        with server.connect() as control:
            control.expect("USER alice", 331)
            control.expect("PASS wrong", 530)
            control.expect("USER alice", 331)
            control.expect("PASS wrong", 530)
            # The next attempt on the same connection is refused unchecked.
            control.expect("USER alice", 331)
            control.expect("PASS secret", 421)
        with server.connect(greet=False) as control:
            check_equal(control.read_reply().code, 421, "connection while banned")
        time.sleep(2.5)
        with server.connect() as control:
            control.login("alice", "secret")


def test_failures_from_one_address_answer_ever_later():
    """Each failure from an address holds the next one's answer back longer
    (login_failure_delay, then 2, 4, 8 times it), across connections."""
    server, _homes = user_server(USERS, options={
        "ban_after_failures": "0", "login_failure_delay": "100", "max_login_failures": "1"})
    timings = []
    with server:
        for _ in range(4):
            with server.connect() as control:
                control.expect("USER alice", 331)
                started = time.monotonic()
                check_equal(control.command("PASS wrong").code, 530, "wrong password")
                timings.append(time.monotonic() - started)
        # Expected: 0.1, 0.2, 0.4, 0.8 s (the session's own delay plus the monitor's).
        check(timings[0] < 0.5, "first failure answered after %.2f s" % timings[0])
        check(timings[3] >= 0.7, "fourth failure answered after only %.2f s: %r"
              % (timings[3], timings))
        check(timings[3] > timings[0] + 0.5, "delays do not grow: %r" % timings)
        # A right password is not delayed.
        with server.connect() as control:
            started = time.monotonic()
            control.login("alice", "secret")
            check(time.monotonic() - started < 0.5, "a good login was held back")


def test_max_prelogin_per_ip_counts_connections_not_logged_in():
    server, _root = anonymous_server({"max_prelogin_per_ip": "3"})
    with server:
        waiting = [server.connect() for _ in range(3)]
        refused = server.connect(greet=False)
        reply = refused.read_reply()
        check_equal(reply.code, 421, "a fourth connection not logged in")
        check("max_prelogin_per_ip" in reply.text, "the 421 names the key: %r" % reply)
        check(refused.is_closed(), "refused connection closed")
        # Once they log in, they make room; logged-in sessions do not count.
        for control in waiting:
            control.login_anonymous()
        more = []
        for _ in range(6):
            control = server.connect()
            control.login_anonymous()
            more.append(control)
        for control in waiting + more:
            control.expect("NOOP", 200)
            control.close()


def test_many_logged_in_sessions_from_one_address_by_default():
    """An office behind NAT or a mirroring script: 40 logged-in sessions from
    one address are fine with the defaults (max_clients_per_ip unlimited)."""
    server, _root = anonymous_server()
    sessions = []
    with server:
        for _ in range(40):
            control = server.connect()
            control.login_anonymous()
            sessions.append(control)
        for control in sessions:
            control.expect("PWD", 257)
            control.close()


def test_max_sessions_per_user_across_workers():
    server, _homes = user_server(USERS, options={"max_sessions_per_user": "2",
                                                 "anonymous": "yes",
                                                 "anonymous_root": temp_dir("ftpd-anon-")})
    with server:
        first, second = server.connect(), server.connect()
        first.login("alice", "secret")
        second.login("alice", "secret")
        third = server.connect()
        third.expect("USER alice", 331)
        reply = third.command("PASS secret")
        check_equal(reply.code, 421, "a third session of alice")
        check("max_sessions_per_user" in reply.text and "alice" in reply.text,
              "the 421 names the key and the user: %r" % reply)
        check(third.is_closed(), "refused session closed")
        # Another user and anonymous sessions are not affected.
        with server.connect() as other:
            other.login("bob", "hunter2")
        guests = [server.connect() for _ in range(3)]
        for guest in guests:
            guest.login_anonymous()
            guest.close()
        # One ends: alice may log in again.
        first.expect("QUIT", 221)
        first.close()
        deadline = time.monotonic() + 5
        while True:
            control = server.connect()
            control.expect("USER alice", 331)
            reply = control.command("PASS secret")
            if reply.code == 230 or time.monotonic() > deadline:
                break
            control.close()
            time.sleep(0.1)
        check_equal(reply.code, 230, "alice after one of her sessions ended")
        control.close()
        second.close()


def test_logging_in_anew_moves_the_count():
    """USER on a logged-in session logs it out first: with
    max_sessions_per_user = 1, alice may log in again on her own
    connection, then as bob, after which alice may log in elsewhere."""
    server, _homes = user_server(USERS, options={"max_sessions_per_user": "1"})
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.login("alice", "secret")
        with server.connect() as other:
            other.expect("USER alice", 331)
            check_equal(other.command("PASS secret").code, 421, "alice twice")
        control.login("bob", "hunter2")
        with server.connect() as other:
            other.login("alice", "secret")
        control.expect("PWD", 257)
        check("broke the protocol" not in server.stderr_text(),
              "the monitor and the worker agree: %s" % server.stderr_tail())
