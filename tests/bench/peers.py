#!/usr/bin/env python3
"""peers: ftpd against vsftpd and pure-ftpd on what users do most: many small
files, big directories, many sessions. All servers run side by side in one
run; each figure is measured --runs times per server, servers interleaved;
the table shows medians and the ratio of ftpd to the best peer.

    python3 tests/bench/peers.py --ftpd build/default/ftpd --ftpload build/default/ftpload

The client is ftpload (the project's own C load generator): a Python client
would measure itself at thousands of files per second. Rows:

  STOR 4 KiB files/s, one session        (ftpd: upload_sync = yes, on disk at
                                         226; ftpd-nosync: upload_sync = no, as
                                         the peers, which do not fsync)
  RETR 4 KiB files/s, one session
  LIST of 10,000 entries, ms
  logins per second (connect, USER, PASS, PWD, QUIT; 20 in flight)
  server memory per idle logged-in session, KiB of PSS (all its processes)

--tmpdir /dev/shm puts the files on tmpfs, where an fsync costs nothing;
the default is the system's temporary directory (a disk, usually).

Needs root (vsftpd and pure-ftpd chroot and change user). The peers are
Debian's packages unpacked into build/bench/, never installed: vsftpd as
bench.py fetches it, pure-ftpd (with pure-pw for its one virtual user) the
same way. Results also go to --json as one object per row."""

import argparse
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402  (the servers, the layout and the peers' packages)

PURE_DIR = os.path.join(bench.REPO, "build", "bench", "pure-ftpd")
PURE_PACKAGES = ("pure-ftpd", "pure-ftpd-common")
SMALL_SIZE = 4096
SMALL_NAME = "small-4k.bin"
UPLOADS = "upload"


def ensure_pure_ftpd():
    """build/bench/pure-ftpd/usr/sbin/pure-ftpd, fetched and unpacked if missing."""
    binary = os.path.join(PURE_DIR, "usr", "sbin", "pure-ftpd")
    if os.access(binary, os.X_OK):
        return binary
    download = tempfile.mkdtemp(prefix="pure-ftpd-deb-")
    os.chmod(download, 0o777)
    result = subprocess.run(["apt-get", "download"] + list(PURE_PACKAGES), cwd=download,
                            capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
        result = subprocess.run(["apt-get", "download"] + list(PURE_PACKAGES), cwd=download,
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise bench.BenchError("apt-get download %s failed:\n%s" % (
            " ".join(PURE_PACKAGES), result.stderr))
    for name in os.listdir(download):
        if name.endswith(".deb"):
            subprocess.run(["dpkg", "-x", os.path.join(download, name), PURE_DIR], check=True)
    return binary


class PureFtpd(bench.Server):
    """pure-ftpd with one virtual user (pure-pw's puredb) whose home is the
    anonymous root, so it serves the same files; uploads go to its upload/."""
    name = "pure-ftpd"

    def __init__(self, workdir, timeout, binary, layout):
        self.binary = binary
        self.layout = layout
        super().__init__(workdir, timeout)
        account = pwd.getpwnam(layout.anonymous_user)
        pure_pw = os.path.join(os.path.dirname(os.path.dirname(binary)), "bin", "pure-pw")
        self.passwd = os.path.join(workdir, "pureftpd.passwd")
        self.database = os.path.join(workdir, "pureftpd.pdb")
        subprocess.run([pure_pw, "useradd", bench.USER_NAME, "-u", str(account.pw_uid),
                        "-g", str(account.pw_gid), "-d", layout.anonymous_root,
                        "-f", self.passwd], input="%s\n%s\n" % (bench.USER_PASSWORD,
                                                                bench.USER_PASSWORD),
                       text=True, check=True, capture_output=True)
        # pure-pw hashes with argon2id at 1023 passes (seconds per login):
        # the same SHA-512 crypt hash as ftpd's passwd_file makes the
        # password logins comparable.
        with open(self.passwd) as f:
            fields = f.read().strip().split(":")
        fields[1] = bench.password_hash(bench.USER_PASSWORD)
        with open(self.passwd, "w") as f:
            f.write(":".join(fields) + "\n")
        subprocess.run([pure_pw, "mkdb", self.database, "-f", self.passwd], check=True,
                       capture_output=True)

    def command_line(self):
        return [self.binary, "-S", "127.0.0.1,%d" % self.port, "-l", "puredb:" + self.database,
                "-E", "-A", "-H", "-c", "20000", "-C", "20000"]


class Ftpd(bench.Ftpd):
    """ftpd as bench.py starts it, with room for the login bursts (a real
    server keeps max_prelogin_per_ip for strangers) and, as "ftpd-nosync",
    with upload_sync = no: 226 once an upload is in the page cache, as the
    peers answer."""

    def __init__(self, workdir, timeout, binary, layout, sync=True):
        self.sync = sync
        if not sync:
            self.name = "ftpd-nosync"
        super().__init__(workdir, timeout, binary, layout)

    def command_line(self):
        argv = super().command_line() + ["-o", "max_prelogin_per_ip=0"]
        if not self.sync:
            argv += ["-o", "upload_sync=no"]
        return argv


def ftpload(binary, server, scenario, arguments):
    """Runs one ftpload scenario against server; the result line as a dict."""
    argv = [binary, "--host", "127.0.0.1", "--port", str(server.port)] + arguments + [scenario]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise bench.BenchError("%s: ftpload %s took more than 300 s" % (server.label, scenario))
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise bench.BenchError("%s: ftpload %s failed (status %d):\n%s%s" % (
            server.label, scenario, result.returncode, result.stdout[-1500:],
            result.stderr[-1500:]))
    outcome = json.loads(lines[-1])
    if outcome.get("errors", 0):
        raise bench.BenchError("%s: ftpload %s had %d errors" % (
            server.label, scenario, outcome["errors"]))
    return outcome


def login_arguments(server):
    """ftpd and vsftpd serve the files to guests; pure-ftpd to its virtual user."""
    if isinstance(server, PureFtpd):
        return ["--user", bench.USER_NAME, "--password", bench.USER_PASSWORD]
    return ["--user", "anonymous", "--password", "bench@"]


def upload_arguments(server):
    """Where each server takes a session's uploads."""
    if isinstance(server, Ftpd):
        return ["--user", bench.USER_NAME, "--password", bench.USER_PASSWORD]
    return login_arguments(server) + ["--path", UPLOADS]


class Row:
    def __init__(self, key, title, unit, better, measure):
        self.key = key
        self.title = title
        self.unit = unit
        self.better = better
        self.measure = measure
        self.values = {}

    def median(self, name):
        values = self.values.get(name)
        return statistics.median(values) if values else None


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ftpd", default=os.path.join(bench.REPO, "build", "default", "ftpd"))
    parser.add_argument("--ftpload", default=os.path.join(bench.REPO, "build", "default",
                                                           "ftpload"))
    parser.add_argument("--vsftpd", default=os.path.join(bench.VSFTPD_DIR, "usr", "sbin",
                                                          "vsftpd"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=500, help="small files per run")
    parser.add_argument("--list-entries", type=int, default=10000)
    parser.add_argument("--logins", type=int, default=500)
    parser.add_argument("--idle-sessions", type=int, default=500)
    parser.add_argument("--servers", default="ftpd,ftpd-nosync,vsftpd,pure-ftpd")
    parser.add_argument("--rows", default=None,
                        help="comma-separated rows to measure (stor_small, retr_small, list, "
                        "logins, password_logins, idle_memory); default all")
    parser.add_argument("--tmpdir", default=None)
    parser.add_argument("--json", default=None, help="write the medians here")
    parser.add_argument("--timeout", type=float, default=30.0)
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    if os.geteuid() != 0:
        print("peers: run as root (the peers chroot and change user)", file=sys.stderr)
        return 2
    names = arguments.servers.split(",")
    base = tempfile.mkdtemp(prefix="ftpd-peers-", dir=arguments.tmpdir)
    servers = []
    try:
        layout = bench.Layout(base, 0, arguments.list_entries, bench.anonymous_account())
        bench.write_file(os.path.join(layout.anonymous_root, SMALL_NAME),
                         [os.urandom(SMALL_SIZE)])
        for name in names:
            if name in ("ftpd", "ftpd-nosync"):
                servers.append(Ftpd(base, arguments.timeout, os.path.abspath(arguments.ftpd),
                                    layout, sync=name == "ftpd"))
            elif name == "vsftpd":
                servers.append(bench.Vsftpd(base, arguments.timeout,
                                            bench.ensure_vsftpd(arguments.vsftpd), layout, []))
            elif name == "pure-ftpd":
                servers.append(PureFtpd(base, arguments.timeout, ensure_pure_ftpd(), layout))
        for server in servers:
            server.start()
        print(bench.machine_info())
        print("servers: %s; %d runs each, interleaved; client: ftpload" % (
            ", ".join(server.label for server in servers), arguments.runs), flush=True)

        def stor_small(server):
            outcome = ftpload(arguments.ftpload, server, "stor-small", upload_arguments(server) + [
                "--count", str(arguments.files), "--size", str(SMALL_SIZE)])
            return outcome["ops_per_second"]

        def retr_small(server):
            outcome = ftpload(arguments.ftpload, server, "retr-small", login_arguments(server) + [
                "--count", str(arguments.files), "--path", SMALL_NAME,
                "--size", str(SMALL_SIZE)])
            return outcome["ops_per_second"]

        def list_big(server):
            outcome = ftpload(arguments.ftpload, server, "list", login_arguments(server) + [
                "--count", "10", "--path", bench.LIST_DIR])
            if outcome.get("entries_per_list") != arguments.list_entries:
                raise bench.BenchError("%s: LIST gave %r entries, expected %d" % (
                    server.label, outcome.get("entries_per_list"), arguments.list_entries))
            return outcome["ms_per_list"]

        def logins(server):
            outcome = ftpload(arguments.ftpload, server, "login", login_arguments(server) + [
                "--sessions", str(arguments.logins), "--concurrency", "20", "--timeout", "10"])
            return outcome["ops_per_second"]

        def password_logins(server):
            """vsftpd serves no password users here (its uploads are a guest's)."""
            if isinstance(server, bench.Vsftpd):
                return None
            outcome = ftpload(arguments.ftpload, server, "login", [
                "--user", bench.USER_NAME, "--password", bench.USER_PASSWORD,
                "--sessions", str(arguments.logins // 5), "--concurrency", "4",
                "--timeout", "10"])
            return outcome["ops_per_second"]

        def idle_memory(server):
            # A fresh server: memory that earlier rows' sessions left in its
            # allocator would take the new sessions and hide their cost.
            server.stop()
            server.start()
            server.wait_quiescent()
            idle = server.memory_kib()[1]
            _seconds, busy = bench.asyncio.run(bench.login_burst(
                server, arguments.idle_sessions, 20, arguments.timeout)) \
                if not isinstance(server, PureFtpd) else (0, None)
            if busy is None:
                return None
            return (busy[1] - idle) / arguments.idle_sessions

        rows = [
            Row("stor_small", "STOR 4 KiB, files/s", "files/s", "higher", stor_small),
            Row("retr_small", "RETR 4 KiB, files/s", "files/s", "higher", retr_small),
            Row("list", "LIST %d entries, ms" % arguments.list_entries, "ms", "lower", list_big),
            Row("logins", "logins/s (20 in flight)", "logins/s", "higher", logins),
            Row("password_logins", "$6$ password logins/s", "logins/s", "higher",
                password_logins),
            Row("idle_memory", "KiB PSS per idle session", "KiB", "lower", idle_memory),
        ]
        if arguments.rows:
            rows = [row for row in rows if row.key in arguments.rows.split(",")]
        failed = 0
        for row in rows:
            left_out = set()
            for _ in range(arguments.runs):
                for server in servers:
                    if server.name in left_out:
                        continue
                    try:
                        value = row.measure(server)
                    except bench.BenchError as error:
                        # Reported, and out of this row; the others go on.
                        print("  %s: %s: %s" % (row.title, server.name, error), flush=True)
                        left_out.add(server.name)
                        failed += 1
                        continue
                    if value is not None:
                        row.values.setdefault(server.name, []).append(value)
            print(report(row, servers), flush=True)
        if arguments.json:
            with open(arguments.json, "w") as f:
                json.dump({row.key: {name: row.median(name) for name in row.values}
                           for row in rows}, f, indent=1)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 1 if failed else 0


def report(row, servers):
    """The medians, then each ftpd's ratio to the best peer (above 1: ftpd is better)."""
    parts = []
    for server in servers:
        median = row.median(server.name)
        parts.append("%s %s" % (server.name, "-" if median is None else "%.1f" % median))
    line = "%-28s %s" % (row.title, "  ".join(parts))
    peers = [(row.median(server.name), server.name) for server in servers
             if not server.name.startswith("ftpd") and row.median(server.name) is not None]
    if not peers:
        return line
    best, best_name = (max if row.better == "higher" else min)(peers)
    for server in servers:
        ours = row.median(server.name)
        if server.name.startswith("ftpd") and ours:
            ratio = ours / best if row.better == "higher" else best / ours
            line += "\n    %s / best peer (%s): %.2f" % (server.name, best_name, ratio)
    return line


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bench.BenchError as error:
        print("peers: %s" % error, file=sys.stderr)
        sys.exit(1)
