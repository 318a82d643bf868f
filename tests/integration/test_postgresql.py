"""test_postgresql: users in PostgreSQL (passwd_db) against a throwaway cluster
made with initdb and pg_ctl: logins to their homes, a read-only user, the
421 that says the database cannot be reached (within a second, measured), a
logged-in session that does not need the database, logins again once it is
back, many logins at once over a bounded pool of connections, and the
optional per-user columns (shell, quotas, rates) over the server's keys,
also from a view that lacks them or holds a value ftpd cannot read."""

import os
import socket
import threading
import time

from harness import (Server, check, check_equal, download, expect_preliminary, free_port,
                     listing_lines, open_passive, pwd_path, run_ftpd, temp_dir, upload,
                     write_file)
from postgresql_cluster import CONNECTIONS_MAX, ROLE, Cluster

def database_server(cluster, options=None):
    """ftpd with passwd_db = the cluster and anonymous off; returns (server, home_root)."""
    home_root = os.path.join(temp_dir("ftpd-pg-homes-"), "homes")
    os.makedirs(home_root)
    opts = {"anonymous": "no", "passwd_db": cluster.uri(), "home_root": home_root}
    opts.update(options or {})
    return Server(opts), home_root


KIBIBYTE = 1 << 10


def refused_upload(control, line, data):
    """An upload the server must stop (552): 150, then the data until the
    server closes the data connection. Returns the final reply."""
    sock = open_passive(control)
    expect_preliminary(control, line)
    try:
        sock.sendall(data)
    except OSError:
        pass
    sock.close()
    return control.read_reply()


def timed_download(control, line):
    started = time.monotonic()
    data = download(control, line)
    return data, time.monotonic() - started


def timed_pass(server, user, password):
    """(reply to PASS, seconds it took) on a new connection."""
    with server.connect() as control:
        control.expect("USER " + user, 331)
        started = time.monotonic()
        reply = control.command("PASS " + password)
        seconds = time.monotonic() - started
        if reply.code == 421:
            check(control.is_closed(), "the connection stays open after 421")
        return reply, seconds


def test_users_log_in_to_their_homes():
    cluster = Cluster()
    server, home_root = database_server(cluster)
    bob_home = temp_dir("ftpd-pg-bob-")
    reports = temp_dir("ftpd-pg-reports-")
    write_file(os.path.join(bob_home, "plan.txt"), b"bob's plan\n")
    write_file(os.path.join(reports, "q1.csv"), b"1,2,3\n")
    os.makedirs(os.path.join(home_root, "alice"))
    cluster.add_user("alice", "alice-secret")
    cluster.add_user("bob", "bob-secret", home=bob_home)
    cluster.add_user("reader", "reader-secret", home=reports, read_only=True)
    cluster.add_user("locked", "locked-secret", locked=True)
    with server:
        with server.connect() as control:
            control.login("alice", "alice-secret")
            check_equal(pwd_path(control.expect("PWD", 257)), "/", "alice's PWD")
            upload(control, "STOR notes.txt", b"alice was here\n")
            check_equal(download(control, "RETR notes.txt"), b"alice was here\n",
                        "alice's file read back")
        with open(os.path.join(home_root, "alice", "notes.txt"), "rb") as f:
            check_equal(f.read(), b"alice was here\n", "alice's upload in home_root/alice")

        with server.connect() as control:
            control.login("bob", "bob-secret")
            check_equal(download(control, "RETR plan.txt"), b"bob's plan\n",
                        "bob's file from the home of his row")
            upload(control, "STOR reply.txt", b"ok\n")
        check(os.path.exists(os.path.join(bob_home, "reply.txt")),
              "bob's upload is not in his home")

        with server.connect() as control:
            control.login("reader", "reader-secret")
            check_equal(download(control, "RETR q1.csv"), b"1,2,3\n", "a read-only download")
            control.expect("STOR new.csv", 550)
            control.expect("MKD more", 550)
            control.expect("DELE q1.csv", 550)
        check_equal(sorted(os.listdir(reports)), ["q1.csv"], "the read-only home")

        for user, password in (("alice", "wrong"), ("mallory", "alice-secret"),
                               ("locked", "locked-secret"), ("ALICE", "alice-secret")):
            with server.connect() as control:
                control.expect("USER " + user, 331)
                control.expect("PASS " + password, 530)
                control.expect("PWD", 530)
                # The same connection may try again, and get in.
                control.login("alice", "alice-secret")

        # A name the database cannot even hold (not UTF-8) is unknown, not a fault.
        with server.connect() as control:
            control.send(b"USER caf\xe9\r\n")
            check_equal(control.read_reply().code, 331, "USER with a Latin-1 name")
            control.expect("PASS alice-secret", 530)


def test_per_user_settings_replace_the_servers_keys():
    """The optional columns: quotas and rates of a user's own over the
    server's, 0 lifting a limit, a read-only shell by name, and a shell the
    server does not run refusing the login."""
    cluster = Cluster()
    server, home_root = database_server(cluster, {"max_rate_down": "64K",
                                                  "quota_files": "1000"})
    cluster.add_user("small", "small-secret", quota_bytes=16 * KIBIBYTE)
    cluster.add_user("counted", "counted-secret", quota_files=1)
    cluster.add_user("fast", "fast-secret", max_rate_down=0)
    cluster.add_user("paced", "paced-secret", max_rate_down=256 * KIBIBYTE)
    cluster.add_user("viewer", "viewer-secret", shell="anon")
    cluster.add_user("local", "local-secret", shell="fs")
    cluster.add_user("stray", "stray-secret", shell="smb")
    payload = os.urandom(512 * KIBIBYTE)
    for name in ("small", "counted", "fast", "paced", "viewer", "local", "stray"):
        os.makedirs(os.path.join(home_root, name))
    for name in ("fast", "paced"):
        write_file(os.path.join(home_root, name, "half.bin"), payload)
    write_file(os.path.join(home_root, "viewer", "note.txt"), b"read me\n")
    with server:
        with server.connect() as control:
            control.login("small", "small-secret")
            upload(control, "STOR first.bin", os.urandom(10 * KIBIBYTE))
            reply = refused_upload(control, "STOR second.bin", os.urandom(10 * KIBIBYTE))
            check_equal(reply.code, 552, "a STOR past small's own quota_bytes: %r" % reply)
        check_equal(sorted(os.listdir(os.path.join(home_root, "small"))), ["first.bin"],
                    "small's home after the refused upload")

        with server.connect() as control:
            control.login("counted", "counted-secret")
            upload(control, "STOR only.txt", b"one\n")
            # Refused before any data: the count is known at once.
            open_passive(control).close()
            control.expect("STOR two.txt", 552)
            control.expect("MKD more", 552)
        check_equal(os.listdir(os.path.join(home_root, "counted")), ["only.txt"],
                    "counted's home")

        # The server paces downloads at 64K (8 s for 512 KiB); fast's 0 lifts
        # it, paced's 256K replaces it.
        for name, low, high in (("fast", 0.0, 2.0), ("paced", 1.5, 4.0)):
            with server.connect() as control:
                control.login(name, name + "-secret")
                control.expect("TYPE I", 200)
                data, seconds = timed_download(control, "RETR half.bin")
                check(data == payload, "%s's download differs from the file" % name)
                check(low <= seconds <= high, "%s's 512 KiB took %.2f s, expected %.1f to "
                      "%.1f s" % (name, seconds, low, high))

        with server.connect() as control:
            control.login("viewer", "viewer-secret")
            check_equal(download(control, "RETR note.txt"), b"read me\n", "viewer's download")
            control.expect("STOR new.bin", 550)
            control.expect("MKD more", 550)
        check_equal(os.listdir(os.path.join(home_root, "viewer")), ["note.txt"],
                    "the home of a user whose shell is anon")

        with server.connect() as control:
            control.login("local", "local-secret")
            upload(control, "STOR mine.txt", b"mine\n")

        with server.connect() as control:
            control.expect("USER stray", 331)
            control.expect("PASS stray-secret", 530)
    text = server.stderr_text()
    check('shell "smb", which this server does not run' in text,
          "no error naming the shell the server does not run:\n" + server.stderr_tail())


def test_a_view_without_the_optional_columns_and_a_value_ftpd_cannot_read():
    """ftp_users as a view over an application's table: without the optional
    columns the server's keys apply; a limit in a text column is read as the
    config writes sizes, and one that is no size refuses the user rather
    than lifting the limit."""
    cluster = Cluster()
    cluster.psql("ftp", "DROP TABLE ftp_users;\n"
                 "CREATE TABLE accounts (name text PRIMARY KEY, password_hash text NOT NULL, "
                 "home text, read_only boolean NOT NULL DEFAULT false, quota text);\n"
                 "CREATE VIEW ftp_users AS SELECT name, password_hash, home, read_only "
                 "FROM accounts;\n"
                 "GRANT SELECT ON ftp_users TO %s;\n" % ROLE)
    cluster.add_user("alice", "alice-secret", table="accounts", quota="lots")
    server, home_root = database_server(cluster, {"quota_bytes": "1M"})
    os.makedirs(os.path.join(home_root, "alice"))
    with server:
        with server.connect() as control:
            control.login("alice", "alice-secret")
            upload(control, "STOR a.bin", os.urandom(20 * KIBIBYTE))
            check_equal(refused_upload(control, "STOR big.bin",
                                       os.urandom(1100 * KIBIBYTE)).code, 552,
                        "the server's quota_bytes for a view without the column")

        cluster.psql("ftp", "CREATE OR REPLACE VIEW ftp_users AS SELECT name, password_hash, "
                     "home, read_only, quota AS quota_bytes FROM accounts;\n")
        with server.connect() as control:
            control.expect("USER alice", 331)
            control.expect("PASS alice-secret", 530)
        check('quota_bytes "lots" is not a size' in server.stderr_text(),
              "no warning naming the unreadable value:\n" + server.stderr_tail())

        cluster.psql("ftp", "UPDATE accounts SET quota = '32K' WHERE name = 'alice';\n")
        with server.connect() as control:
            control.login("alice", "alice-secret")
            check_equal(refused_upload(control, "STOR b.bin", os.urandom(20 * KIBIBYTE)).code,
                        552, "a STOR past a quota of '32K' with 20 KiB used")
    check_equal(os.listdir(os.path.join(home_root, "alice")), ["a.bin"], "alice's home")


def test_stopped_database_answers_421_and_sessions_go_on():
    cluster = Cluster()
    cluster.add_user("alice", "alice-secret")
    cluster.add_user("bob", "bob-secret")
    server, home_root = database_server(cluster)
    os.makedirs(os.path.join(home_root, "alice"))
    os.makedirs(os.path.join(home_root, "bob"))
    write_file(os.path.join(home_root, "alice", "kept.txt"), b"still here\n")
    with server, server.connect() as session:
        session.login("alice", "alice-secret")
        cluster.stop("fast")

        reply, seconds = timed_pass(server, "bob", "bob-secret")
        check_equal(reply.code, 421, "login while the database is down (%r)" % reply)
        check("user database cannot be reached" in reply.text, "421 text: %r" % reply)
        check(seconds < 1.0, "the 421 took %.3f s" % seconds)
        # The next one too, also while no connection is tried (the retry delay).
        reply, seconds = timed_pass(server, "alice", "alice-secret")
        check_equal(reply.code, 421, "a second login while the database is down")
        check(seconds < 1.0, "the second 421 took %.3f s" % seconds)

        # The session logged in before needs no database.
        check("kept.txt" in "\n".join(listing_lines(session, "LIST")),
              "LIST of the session logged in before the database stopped")
        check_equal(download(session, "RETR kept.txt"), b"still here\n",
                    "RETR of the session logged in before")

        cluster.start()
        started = time.monotonic()
        while True:
            reply, _seconds = timed_pass(server, "bob", "bob-secret")
            if reply.code == 230:
                break
            check_equal(reply.code, 421, "login while the database comes back")
            check(time.monotonic() - started < 5.0,
                  "logins still refused 5 s after the database started again")
            time.sleep(0.1)
        back_after = time.monotonic() - started
        check(back_after < 5.0, "logins came back after %.1f s" % back_after)
        session.expect("NOOP", 200)
    text = server.stderr_text()
    check("passwd_db: the database cannot be reached" in text,
          "no warning that the database cannot be reached:\n" + server.stderr_tail())
    check("passwd_db: the database can be reached again" in text,
          "no word that the database is back:\n" + server.stderr_tail())


def test_refused_and_silent_databases_answer_421_within_a_second():
    """Without PostgreSQL at all: a port that refuses, and one that accepts
    the connection but never says a word."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused_port = closed.getsockname()[1]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)      # the kernel completes the handshakes; nobody reads
    silent_port = silent.getsockname()[1]
    try:
        for port, bound in ((refused_port, 0.5), (silent_port, 1.5)):
            uri = "postgresql://%s@127.0.0.1:%d/ftp?sslmode=disable" % (ROLE, port)
            home_root = temp_dir("ftpd-pg-homes-")
            with Server({"anonymous": "no", "passwd_db": uri, "home_root": home_root}) as server:
                reply, seconds = timed_pass(server, "alice", "whatever")
                check_equal(reply.code, 421, "login with the database on port %d" % port)
                check("user database cannot be reached" in reply.text, "421 text: %r" % reply)
                check(seconds < bound, "the 421 took %.3f s (port %d)" % (seconds, port))
    finally:
        silent.close()


def test_many_logins_at_once_over_a_bounded_pool():
    cluster = Cluster()
    users = [("user%d" % number, "secret-%d" % number) for number in range(8)]
    for name, password in users:
        cluster.add_user(name, password)
    server, home_root = database_server(cluster, {"max_prelogin_per_ip": "0",
                                                  "max_clients": "0"})
    for name, _password in users:
        os.makedirs(os.path.join(home_root, name))
    threads_count = 40
    results = []
    most_connections = [0]
    lock = threading.Lock()
    start = threading.Barrier(threads_count, timeout=30)
    finished = threading.Event()

    def log_in(number):
        name, password = users[number % len(users)]
        try:
            with server.connect() as control:
                start.wait()
                control.expect("USER " + name, 331)
                reply = control.command("PASS " + password)
                if reply.code == 230:
                    control.expect("PWD", 257)
                outcome = reply.code
        except Exception as error:  # the count below reports it
            outcome = repr(error)
        with lock:
            results.append(outcome)

    def watch_pool():
        while not finished.is_set():
            count = cluster.ftpd_connections()
            with lock:
                most_connections[0] = max(most_connections[0], count)
            time.sleep(0.02)

    with server:
        watcher = threading.Thread(target=watch_pool)
        watcher.start()
        threads = [threading.Thread(target=log_in, args=(number,))
                   for number in range(threads_count)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        finally:
            finished.set()
            watcher.join(30)
        check_equal(results, [230] * threads_count, "the 40 logins")
        after = cluster.ftpd_connections()
    check(1 <= most_connections[0] <= CONNECTIONS_MAX,
          "ftpd held %d connections at most (bound %d)" % (most_connections[0],
                                                           CONNECTIONS_MAX))
    check(after <= CONNECTIONS_MAX, "ftpd holds %d connections after the logins" % after)


def test_check_mode_accepts_a_database_it_cannot_reach():
    """ftpd -t parses passwd_db and connects to nothing; wrong values and
    sources of users that exclude each other are clear errors."""
    home_root = temp_dir("ftpd-pg-homes-")
    passwd = write_file(os.path.join(temp_dir("ftpd-pg-passwd-"), "passwd"), "")
    config = write_file(os.path.join(temp_dir("ftpd-pg-conf-"), "ftpd.conf"), "")
    common = ["-t", "-c", config, "-o", "anonymous=no", "-o", "home_root=" + home_root]
    for uri in ("postgresql://ftpd@127.0.0.1:1/ftp", "postgres://db.invalid/ftp",
                "postgresql:///ftp?host=/var/run/postgresql",
                "postgresql://ftpd@[::1]:5432,127.0.0.1:5433/ftp?connect_timeout=2"):
        started = time.monotonic()
        result = run_ftpd(common + ["-o", "passwd_db=" + uri])
        check_equal(result.returncode, 0, "ftpd -t with passwd_db=%s (stderr %r)"
                    % (uri, result.stderr))
        check(time.monotonic() - started < 5.0, "ftpd -t took long: did it connect?")
        check("passwd_db = " in result.stdout, "ftpd -t does not print passwd_db")
        check("passwd_db: not connected to" in result.stdout,
              "ftpd -t does not say it did not connect: %r" % result.stdout)
    for value, words in (("mysql://db/ftp", "bad value for passwd_db"),
                         ("host=db dbname=ftp", "bad value for passwd_db"),
                         ("postgresql://db/ftp?no_such_option=1", "bad value for passwd_db")):
        result = run_ftpd(common + ["-o", "passwd_db=" + value])
        check_equal(result.returncode, 1, "ftpd -t with passwd_db=%s" % value)
        check(words in result.stderr, "passwd_db=%s: stderr %r" % (value, result.stderr))
    for other, words in ((["-o", "passwd_file=" + passwd], "passwd_db and passwd_file"),
                         (["-o", "system_users=yes"], "passwd_db and system_users"),
                         (["-o", "login=shell"], "it excludes passwd_db")):
        result = run_ftpd(common + ["-o", "passwd_db=postgresql://db/ftp"] + other)
        check_equal(result.returncode, 1, "ftpd -t with passwd_db and %s" % other)
        check(words in result.stderr, "passwd_db with %s: stderr %r" % (other, result.stderr))

