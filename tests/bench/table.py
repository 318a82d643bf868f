#!/usr/bin/env python3
"""table: ftpd against vsftpd, pure-ftpd, pyftpdlib and Twisted on every row
of the project's benchmark table, in one run, through ftpload (the project's
own C load generator) as the client of every row.

    python3 tests/bench/table.py --ftpd build/default/ftpd \\
        --ftpload build/default/ftpload [--quick] [--runs N] [--only ROWS]

Rows (see tests/bench/README for how each is measured):

  stor_small        4 KiB STOR files/s, one session, tmpfs
  retr_small        4 KiB RETR files/s, one session, tmpfs
  stor_small_disk   the same on the system's temporary directory (a disk),
  retr_small_disk   ftpd beside pure-ftpd
  list              LIST of 10,000 entries, ms
  memory            server PSS (all its processes) with one idle logged-in
                    session, KiB; and KiB of PSS per further idle session
  sessions          anonymous sessions/s (connect, USER, PASS, PWD, QUIT)
  password_logins   password logins/s, SHA-512 crypt ($6$) hash
  parallel_retr     100 clients x 5 x 10 MiB RETR, aggregate MB/s
  retr_big          RETR 1 GiB: MB/s and whole-machine CPU s/GiB
  stor_big          STOR 1 GiB: the same
  tls_retr_big      FTPS (AUTH TLS, PROT P) RETR 1 GiB: the same
  tls_stor_big      FTPS STOR 1 GiB: the same
  held              time for a new session while 10,000 logged-in sessions
                    are held, ms

Servers take turns in every row (ftpd, ftpd-nosync, vsftpd, pure-ftpd,
pyftpdlib, twisted, and the sendfile ceiling where they take part), each
figure --runs times; the output is every run, the median, ftpd's ratio to
the best peer (above 1: ftpd is better) and a summary. Exit status 1 when a
server failed a row (it is named, the others go on), 0 otherwise.

Needs root: vsftpd and pure-ftpd chroot and change user, and run in mount
namespaces of their own."""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402
import servers  # noqa: E402

KIB = 1 << 10
MIB = bench.MIB
GIB = bench.GIB
SMALL_SIZE = 4096
SMALL_NAME = "small-4k.bin"
PARALLEL_NAME = "parallel-10m.bin"
PARALLEL_SIZE = 10 * MIB
SERVER_ORDER = ("ftpd", "ftpd-nosync", "vsftpd", "pure-ftpd", "pyftpdlib", "twisted", "sendfile")
OURS = ("ftpd", "ftpd-nosync")
REFERENCE = "sendfile"
ROWS = ("stor_small", "retr_small", "stor_small_disk", "retr_small_disk", "list", "memory",
        "sessions", "password_logins", "parallel_retr", "retr_big", "stor_big", "tls_retr_big",
        "tls_stor_big", "held")
# Sessions being logged in at once in the session rows: below vsftpd's
# fixed listen backlog of 32, so no row measures TCP's SYN retransmissions.
IN_FLIGHT = 20
# Forking servers take part in the held row only while their processes
# (two a session: vsftpd's and pure-ftpd's privilege separation) stay
# under this share of the machine's pid_max: the machine is shared.
PID_SHARE = 0.25
FORKING = {"vsftpd": 2, "pure-ftpd": 2}


# ---------------------------------------------------------------- results


class Metric:
    """One figure of a row: every run per server, medians, ratios."""

    def __init__(self, key, title, unit, better, digits):
        self.key = key
        self.title = title
        self.unit = unit
        self.better = better
        self.digits = digits
        self.values = {}

    def add(self, name, value):
        self.values.setdefault(name, []).append(value)

    def median(self, name):
        values = self.values.get(name)
        return statistics.median(values) if values else None

    def format(self, value):
        return "-" if value is None else "%.*f" % (self.digits, value)

    def best_peer(self):
        """(name, median) of the best peer, or (None, None)."""
        peers = [(self.median(name), name) for name in self.values
                 if name not in OURS and name != REFERENCE and self.median(name) is not None]
        if not peers:
            return None, None
        value, name = (max if self.better == "higher" else min)(peers)
        return name, value

    def ratio(self, name):
        """name's median against the best peer's: above 1, name is better."""
        ours = self.median(name)
        _, best = self.best_peer()
        if ours is None or best is None or ours == 0 or best == 0:
            return None
        return ours / best if self.better == "higher" else best / ours

    def of_reference(self, name):
        """name's median as a share of the sendfile server's (RETR rates)."""
        ours, ceiling = self.median(name), self.median(REFERENCE)
        if ours is None or not ceiling or self.better != "higher":
            return None
        return ours / ceiling

    def table(self, names):
        runs = max((len(v) for v in self.values.values()), default=0)
        lines = ["  %s (%s, %s is better)" % (self.title, self.unit, self.better)]
        lines.append("    %-12s" % "" + "".join("%10s" % ("run %d" % (i + 1)) for i in range(runs))
                     + "%10s" % "median")
        for name in names:
            values = self.values.get(name, [])
            cells = [self.format(v) for v in values] + ["-"] * (runs - len(values))
            lines.append("    %-12s" % name + "".join("%10s" % c for c in cells)
                         + "%10s" % self.format(self.median(name)))
        peer, best = self.best_peer()
        for name in OURS:
            ratio = self.ratio(name)
            if ratio is not None:
                lines.append("    %s / best peer (%s %s): %.2f" % (
                    name, peer, self.format(best), ratio))
        share = self.of_reference("ftpd")
        if share is not None:
            lines.append("    ftpd = %.0f%% of the sendfile server (%s %s)" % (
                100 * share, self.format(self.median(REFERENCE)), self.unit))
        return "\n".join(lines)

    def as_json(self):
        peer, best = self.best_peer()
        return {"title": self.title, "unit": self.unit, "better": self.better,
                "runs": self.values,
                "median": {name: self.median(name) for name in self.values},
                "best_peer": peer, "best_peer_median": best,
                "ratio": {name: self.ratio(name) for name in OURS if name in self.values},
                "of_sendfile": self.of_reference("ftpd")}


class Row:
    """A line of the table: which servers (of which instance group), what
    measure(server, run) returns ({metric key: value}), and its figures."""

    def __init__(self, key, title, group, names, measure, metrics):
        self.key = key
        self.title = title
        self.group = group
        self.names = [name for name in SERVER_ORDER if name in names]
        self.measure = measure
        self.metrics = metrics
        self.notes = []


# ---------------------------------------------------------------- helpers


def filesystem(path):
    """(type, device) of the mount that holds path, from /proc/mounts."""
    path = os.path.realpath(path)
    best = ("?", "?", "")
    with open("/proc/mounts") as f:
        for line in f:
            device, mount_point, kind = line.split()[:3]
            mount_point = mount_point.replace("\\040", " ")
            if (path == mount_point or path.startswith(mount_point.rstrip("/") + "/")) \
                    and len(mount_point) >= len(best[2]):
                best = (kind, device, mount_point)
    return best[0], best[1]


def established(port):
    """Established TCP connections whose local port is port (the server's
    side of each session), from /proc/net/tcp and tcp6."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            pass
    return count


def remove_uploads(directory):
    """ftpload's uploads (ftpload-PID-SESSION-N.bin) in directory: their sizes."""
    sizes = []
    for name in os.listdir(directory):
        if name.startswith("ftpload-") and name.endswith(".bin"):
            path = os.path.join(directory, name)
            sizes.append(os.path.getsize(path))
            os.unlink(path)
    return sizes


def raise_descriptor_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pid_max():
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 32768


# ---------------------------------------------------------------- the run


class Table:
    def __init__(self, arguments):
        self.arguments = arguments
        self.failures = []          # (row title, server label, message)
        self.instances = {}         # group -> {name: server}
        self.layouts = {}
        self.bases = []
        self.tls = None
        self.binaries = {}

    # ------------------------------------------------ servers

    def layout(self, group):
        """The tmpfs layout (plain and FTPS instances) or the disk one."""
        where = "disk" if group == "disk" else "tmpfs"
        if where not in self.layouts:
            arguments = self.arguments
            directory = arguments.disk_dir if where == "disk" else arguments.tmpfs_dir
            base = tempfile.mkdtemp(prefix="ftpd-table-", dir=directory)
            self.bases.append(base)
            started = time.monotonic()
            if where == "disk":
                layout = bench.Layout(base, 0, 0, self.account)
            else:
                layout = bench.Layout(base, arguments.size_mib * MIB, arguments.list_entries,
                                      self.account)
                bench.write_file(os.path.join(layout.anonymous_root, PARALLEL_NAME),
                                 bench.random_chunks(PARALLEL_SIZE))
            bench.write_file(os.path.join(layout.anonymous_root, SMALL_NAME),
                             [os.urandom(SMALL_SIZE)])
            kind, device = filesystem(base)
            print("%s files: %s (%s on %s), ready in %.1f s" % (
                where, base, kind, device, time.monotonic() - started), flush=True)
            self.layouts[where] = layout
        return self.layouts[where]

    def make_server(self, group, name):
        arguments = self.arguments
        layout = self.layout(group)
        workdir = layout.base
        tls = None
        if group == "tls":
            if self.tls is None:
                self.tls = bench.TlsFiles(layout.base)
            tls = self.tls
        suffix = "-disk" if group == "disk" else ""
        if name in OURS:
            return servers.Ftpd(workdir, arguments.timeout, self.binaries["ftpd"], layout, tls,
                                sync=name == "ftpd", suffix=suffix)
        if name == "vsftpd":
            return servers.NamespacedVsftpd(workdir, arguments.timeout, self.binaries["vsftpd"],
                                            layout, arguments.vsftpd_option, tls, suffix)
        if name == "pure-ftpd":
            return servers.PureFtpd(workdir, arguments.timeout, self.binaries["pure-ftpd"],
                                    layout, tls, suffix)
        if name == "pyftpdlib":
            return servers.Pyftpdlib(workdir, arguments.timeout, layout, suffix)
        if name == "twisted":
            return servers.Twisted(workdir, arguments.timeout, layout, suffix)
        if name == "sendfile":
            return servers.SendfileServer(workdir, arguments.timeout, layout, suffix)
        raise ValueError(name)

    def server(self, group, name):
        """The running instance of name in group, started (or restarted
        after a death, which its row has reported) when needed."""
        instances = self.instances.setdefault(group, {})
        server = instances.get(name)
        if server is None:
            server = self.make_server(group, name)
            instances[name] = server
        if server.process is None or server.process.poll() is not None:
            if server.process is not None:
                print("  (%s had exited: started again)" % server.label, flush=True)
            server.start()
        return server

    def stop_all(self):
        for instances in self.instances.values():
            for server in instances.values():
                server.stop()

    def cleanup(self):
        self.stop_all()
        for base in self.bases:
            shutil.rmtree(base, ignore_errors=True)

    # ------------------------------------------------ ftpload

    def ftpload(self, server, scenario, arguments, **kwargs):
        tls = ["--tls"] if server.tls is not None else []
        return servers.ftpload(self.arguments.ftpload, server, scenario, tls + arguments,
                               **kwargs)

    def anonymous(self):
        return ["--user", "anonymous", "--password", "bench@"]

    def user(self):
        return ["--user", servers.USER, "--password", servers.PASSWORD]

    # ------------------------------------------------ measurements

    def stor_small(self, server, run):
        path, directory = server.upload_directory()
        count = self.arguments.files
        outcome = self.ftpload(server, "stor-small", self.user() + [
            "--count", str(count), "--size", str(SMALL_SIZE)] + (["--path", path] if path else []))
        sizes = remove_uploads(directory)
        if len(sizes) != count or any(size != SMALL_SIZE for size in sizes):
            raise bench.BenchError("%s: %d files of %d stored, sizes %s" % (
                server.label, len(sizes), count, sorted(set(sizes))))
        return {"rate": outcome["ops_per_second"]}

    def retr_small(self, server, run):
        outcome = self.ftpload(server, "retr-small", self.anonymous() + [
            "--count", str(self.arguments.files), "--path", SMALL_NAME,
            "--size", str(SMALL_SIZE)])
        return {"rate": outcome["ops_per_second"]}

    def list_big(self, server, run):
        outcome = self.ftpload(server, "list", self.anonymous() + [
            "--count", str(self.arguments.list_count), "--path", bench.LIST_DIR])
        if outcome.get("entries_per_list") != self.arguments.list_entries:
            raise bench.BenchError("%s: LIST gave %r entries, expected %d" % (
                server.label, outcome.get("entries_per_list"), self.arguments.list_entries))
        return {"ms": outcome["ms_per_list"]}

    def held_memory(self, server, sessions):
        """PSS of the server with sessions idle anonymous sessions, held by
        ftpload hold: read once they are all connected and have settled."""
        seconds = 2.0
        argv = [self.arguments.ftpload, "--host", "127.0.0.1", "--port", str(server.port)] + \
            self.anonymous() + ["--sessions", str(sessions), "--concurrency", str(IN_FLIGHT),
                                "--seconds", str(seconds), "--count", "1", "hold"]
        before = established(server.port)
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + self.arguments.timeout
            while established(server.port) - before < sessions:
                if process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            # Logins take the moments after connect; vsftpd's session
            # processes finish starting. The hold lasts seconds after the last login.
            time.sleep(0.5)
            pss = server.memory_kib()[1]
            stdout, stderr = process.communicate(timeout=self.arguments.timeout + 60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        outcome = json.loads(lines[-1]) if lines else {}
        if process.returncode != 0 or outcome.get("held_at_end") != sessions:
            raise bench.BenchError("%s: ftpload hold of %d sessions: status %d, %s %s" % (
                server.label, sessions, process.returncode, stdout.strip()[-400:],
                stderr.strip()[-600:]))
        return pss

    def memory(self, server, run):
        # A fresh server: memory that earlier rows' sessions left in its
        # allocator would take the new sessions and hide their cost.
        server.stop()
        server.start()
        server.wait_quiescent()
        one = self.held_memory(server, 1)
        server.wait_quiescent()
        many = self.arguments.idle_sessions
        pss_many = self.held_memory(server, many)
        return {"one": one, "each": (pss_many - one) / (many - 1)}

    def sessions(self, server, run):
        outcome = self.ftpload(server, "login", self.anonymous() + [
            "--sessions", str(self.arguments.sessions), "--concurrency", str(IN_FLIGHT)])
        return {"rate": outcome["ops_per_second"]}

    def password_logins(self, server, run):
        outcome = self.ftpload(server, "login", self.user() + [
            "--sessions", str(self.arguments.password_logins), "--concurrency", "4"])
        return {"rate": outcome["ops_per_second"]}

    def parallel_retr(self, server, run):
        arguments = self.arguments
        outcome = self.ftpload(server, "parallel-retr", self.anonymous() + [
            "--concurrency", str(arguments.clients), "--count", str(arguments.downloads),
            "--path", PARALLEL_NAME, "--size", str(PARALLEL_SIZE)])
        expected = arguments.clients * arguments.downloads * PARALLEL_SIZE
        if outcome["bytes"] != expected:
            raise bench.BenchError("%s: %d bytes downloaded, expected %d" % (
                server.label, outcome["bytes"], expected))
        return {"rate": outcome["MB_per_second"]}

    def big_transfer(self, server, scenario, arguments, size):
        """One ftpload transfer of size bytes: MB/s, and the whole machine's
        busy CPU (all cores, /proc/stat) over the ftpload run, per GiB."""
        server.wait_quiescent()
        before = bench.machine_busy_seconds()
        outcome = self.ftpload(server, scenario, arguments)
        busy = bench.machine_busy_seconds() - before
        if outcome["bytes"] != size:
            raise bench.BenchError("%s: %s moved %d bytes, expected %d" % (
                server.label, scenario, outcome["bytes"], size))
        return {"rate": outcome["MB_per_second"], "cpu": busy / (size / GIB)}

    def retr_big(self, server, run):
        size = self.arguments.size_mib * MIB
        return self.big_transfer(server, "retr", self.anonymous() + [
            "--path", bench.BIG_FILE, "--size", str(size)], size)

    def stor_big(self, server, run):
        size = self.arguments.size_mib * MIB
        path, directory = server.upload_directory()
        try:
            result = self.big_transfer(server, "stor", self.user() + [
                "--size", str(size)] + (["--path", path] if path else []), size)
        finally:
            sizes = remove_uploads(directory)
        if sizes != [size]:
            raise bench.BenchError("%s: STOR left files of %s bytes, expected one of %d" % (
                server.label, sizes, size))
        return result

    def held(self, server, run):
        arguments = self.arguments
        outcome = self.ftpload(server, "hold", self.anonymous() + [
            "--sessions", str(arguments.held), "--concurrency", str(IN_FLIGHT),
            "--seconds", "1", "--count", "5", "--timeout", "60"])
        if outcome.get("held") != arguments.held or outcome.get("held_at_end") != arguments.held:
            raise bench.BenchError("%s: held %r of %d sessions, %r at the end" % (
                server.label, outcome.get("held"), arguments.held, outcome.get("held_at_end")))
        return {"ms": outcome["new_session_ms"]}

    # ------------------------------------------------ rows

    def rows(self):
        arguments = self.arguments
        size = bench.size_label(arguments.size_mib * MIB)
        everyone = ("ftpd", "vsftpd", "pure-ftpd", "pyftpdlib", "twisted")
        ftp_servers = ("ftpd", "vsftpd", "pure-ftpd")
        uploads = ("ftpd", "ftpd-nosync", "vsftpd", "pure-ftpd")

        def rate(title, unit="files/s"):
            return [Metric("rate", title, unit, "higher", 0)]

        def transfer(title):
            return [Metric("rate", title, "MB/s", "higher", 0),
                    Metric("cpu", title + " machine CPU", "s/GiB", "lower", 3)]

        held_names = ["ftpd", "pyftpdlib", "twisted"]
        held = Row("held", "held sessions", "tmpfs", [], self.held,
                   [Metric("ms", "new session with %d held" % arguments.held, "ms", "lower", 2)])
        for name, processes in FORKING.items():
            if arguments.held * processes <= PID_SHARE * pid_max():
                held_names.append(name)
            else:
                held.notes.append(
                    "%s: not run: %d sessions take %d processes, more than %d%% of this "
                    "machine's pid_max (%d), and the machine is shared" % (
                        name, arguments.held, arguments.held * processes, 100 * PID_SHARE,
                        pid_max()))
        held.names = [name for name in SERVER_ORDER if name in held_names]

        rows = [
            Row("stor_small", "4 KiB STOR, tmpfs", "tmpfs", uploads, self.stor_small,
                rate("4 KiB STOR, one session, tmpfs")),
            Row("retr_small", "4 KiB RETR, tmpfs", "tmpfs", ftp_servers, self.retr_small,
                rate("4 KiB RETR, one session, tmpfs")),
            Row("stor_small_disk", "4 KiB STOR, disk", "disk", ("ftpd", "ftpd-nosync", "pure-ftpd"),
                self.stor_small, rate("4 KiB STOR, one session, disk")),
            Row("retr_small_disk", "4 KiB RETR, disk", "disk", ("ftpd", "pure-ftpd"),
                self.retr_small, rate("4 KiB RETR, one session, disk")),
            Row("list", "LIST", "tmpfs", ftp_servers, self.list_big,
                [Metric("ms", "LIST of %d entries" % arguments.list_entries, "ms", "lower", 2)]),
            Row("memory", "memory", "tmpfs", everyone, self.memory,
                [Metric("one", "PSS, one idle logged-in session", "KiB", "lower", 0),
                 Metric("each", "PSS per further idle session (%d held)" % arguments.idle_sessions,
                        "KiB", "lower", 1)]),
            Row("sessions", "anonymous sessions/s", "tmpfs", everyone, self.sessions,
                rate("anonymous sessions/s (%d in flight)" % IN_FLIGHT, "sessions/s")),
            Row("password_logins", "$6$ password logins/s", "tmpfs", everyone,
                self.password_logins, rate("$6$ password logins/s (4 in flight)", "logins/s")),
            Row("parallel_retr", "parallel RETR", "tmpfs", ftp_servers + (REFERENCE,),
                self.parallel_retr,
                rate("%d clients x %d x 10 MiB RETR, aggregate" % (
                    arguments.clients, arguments.downloads), "MB/s")),
            Row("retr_big", "RETR " + size, "tmpfs", ftp_servers + (REFERENCE,), self.retr_big,
                transfer("RETR " + size)),
            Row("stor_big", "STOR " + size, "tmpfs", uploads, self.stor_big,
                transfer("STOR " + size)),
            Row("tls_retr_big", "FTPS RETR " + size, "tls", ftp_servers, self.retr_big,
                transfer("FTPS RETR " + size)),
            Row("tls_stor_big", "FTPS STOR " + size, "tls", uploads, self.stor_big,
                transfer("FTPS STOR " + size)),
            held,
        ]
        chosen = []
        for row in rows:
            if arguments.only and row.key not in arguments.only:
                continue
            for name in list(row.names):
                if name not in arguments.servers and name != REFERENCE:
                    row.names.remove(name)
            chosen.append(row)
        return chosen

    def measure_row(self, row):
        print("\n%s ..." % row.title, flush=True)
        left_out = set()
        for name in row.names:
            try:
                self.server(row.group, name)
            except (bench.BenchError, OSError) as error:
                self.fail(row, name, str(error))
                left_out.add(name)
        started = time.monotonic()
        for run in range(self.arguments.runs):
            for name in row.names:
                if name in left_out:
                    continue
                try:
                    server = self.server(row.group, name)
                    values = row.measure(server, run)
                    server.check_alive()
                except (bench.BenchError, OSError, subprocess.SubprocessError) as error:
                    self.fail(row, name, "run %d: %s" % (run + 1, error))
                    left_out.add(name)
                    continue
                for metric in row.metrics:
                    metric.add(name, values[metric.key])
        for metric in row.metrics:
            print(metric.table(row.names))
        for note in row.notes:
            print("    " + note)
        print("  (%.0f s)" % (time.monotonic() - started), flush=True)

    def fail(self, row, name, message):
        instance = self.instances.get(row.group, {}).get(name)
        label = instance.label if instance is not None else name
        self.failures.append((row.title, label, message))
        print("  FAILED %s: %s: %s" % (row.title, label, message), flush=True)

    def run(self):
        arguments = self.arguments
        self.account = bench.anonymous_account()
        self.binaries["ftpd"] = os.path.abspath(arguments.ftpd)
        for path in (self.binaries["ftpd"], arguments.ftpload):
            if not os.access(path, os.X_OK):
                raise bench.BenchError("%s does not exist: run make first" % path)
        if "vsftpd" in arguments.servers:
            self.binaries["vsftpd"] = bench.ensure_vsftpd(os.path.abspath(arguments.vsftpd))
        if "pure-ftpd" in arguments.servers:
            self.binaries["pure-ftpd"] = servers.ensure_pure_ftpd()
        descriptors = raise_descriptor_limit()
        print(bench.machine_info())
        print("runs: %d per figure and server, servers taking turns; client: ftpload; "
              "MB = 10^6 bytes; open files: %d; pid_max: %d" % (
                  arguments.runs, descriptors, pid_max()))
        for name in ("ftpd", "vsftpd", "pure-ftpd"):
            if name in self.binaries:
                print("%s: %s" % (name, self.binaries[name]))
        print("ftpload: %s" % arguments.ftpload, flush=True)
        loads = [bench.background_load()]
        rows = self.rows()
        try:
            for row in rows:
                self.measure_row(row)
        finally:
            self.cleanup()
        loads.append(bench.background_load())
        self.summary(rows, loads)
        if arguments.json:
            with open(arguments.json, "w") as f:
                json.dump({"runs": arguments.runs,
                           "rows": {row.key: {metric.key: metric.as_json()
                                              for metric in row.metrics} for row in rows},
                           "failures": self.failures}, f, indent=1)
        return 1 if self.failures else 0

    def summary(self, rows, loads):
        print("\nother load on the machine before / after: %s of all cores" % " / ".join(
            "%.0f%%" % (100 * load) for load in loads))
        print("\nsummary: medians of %d runs; ratio = ftpd / best peer (above 1: ftpd is better)"
              % self.arguments.runs)
        print("  %-52s %10s  %-22s %6s" % ("row", "ftpd", "best peer", "ratio"))
        for row in rows:
            for metric in row.metrics:
                peer, best = metric.best_peer()
                for name in OURS:
                    if name not in metric.values and not (name == "ftpd" and name in row.names):
                        continue
                    ours = metric.median(name)
                    ratio = metric.ratio(name)
                    title = metric.title + ", " + metric.unit
                    if name != "ftpd":
                        title = "  " + name
                    line = "  %-52s %10s  %-22s %6s" % (
                        title, metric.format(ours),
                        "%s %s" % (peer, metric.format(best)) if peer else "-",
                        "%.2f" % ratio if ratio is not None else "-")
                    share = metric.of_reference(name)
                    if share is not None:
                        line += "  (%.0f%% of sendfile)" % (100 * share)
                    print(line)
        notes = ["%s: %s" % (row.title, note) for row in rows for note in row.notes]
        if notes:
            print("\nnot measured:")
            for note in notes:
                print("  " + note)
        if self.failures:
            print()
            for title, label, message in self.failures:
                print("FAILED %s: %s: %s" % (title, label, message.splitlines()[0][:300]))


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    repo = bench.REPO
    parser.add_argument("--ftpd", default=os.path.join(repo, "build", "default", "ftpd"))
    parser.add_argument("--ftpload", default=os.path.join(repo, "build", "default", "ftpload"))
    parser.add_argument("--vsftpd", default=os.path.join(bench.VSFTPD_DIR, "usr", "sbin",
                                                          "vsftpd"))
    parser.add_argument("--servers", default=",".join(n for n in SERVER_ORDER if n != REFERENCE),
                        help="comma-separated servers (default: all; the sendfile ceiling "
                             "always runs in its rows)")
    parser.add_argument("--only", default=None,
                        help="comma-separated rows: %s (default: all)" % ", ".join(ROWS))
    parser.add_argument("--quick", action="store_true",
                        help="smaller figures for a run of a few minutes (see --help's defaults)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, help="the big RETR/STOR file (1024; quick 256)")
    parser.add_argument("--files", type=int, help="4 KiB files per run (500; quick 200)")
    parser.add_argument("--list-entries", type=int, default=10000)
    parser.add_argument("--list-count", type=int, help="LISTs per run (10; quick 5)")
    parser.add_argument("--idle-sessions", type=int,
                        help="sessions held for the per-session memory figure (2000; quick 500)")
    parser.add_argument("--sessions", type=int,
                        help="anonymous sessions per run (2000; quick 500)")
    parser.add_argument("--password-logins", type=int,
                        help="password logins per run (200; quick 60)")
    parser.add_argument("--clients", type=int, default=100, help="parallel RETR clients")
    parser.add_argument("--downloads", type=int,
                        help="downloads of 10 MiB per parallel client (5; quick 2)")
    parser.add_argument("--held", type=int, help="sessions held (10000; quick 2000)")
    parser.add_argument("--tmpfs-dir", default="/dev/shm",
                        help="tmpfs directory for every row but the disk ones (/dev/shm)")
    parser.add_argument("--disk-dir", default=tempfile.gettempdir(),
                        help="directory on a disk for the disk rows (the system's temporary "
                             "directory, %s)" % tempfile.gettempdir())
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds a server may take to start or settle")
    parser.add_argument("--vsftpd-option", action="append", default=[], metavar="KEY=VALUE",
                        help="extra vsftpd.conf line (repeatable)")
    parser.add_argument("--json", default=None, help="write every figure here")
    arguments = parser.parse_args()
    quick = arguments.quick
    defaults = {"size_mib": (1024, 256), "files": (500, 200), "list_count": (10, 5),
                "idle_sessions": (2000, 500), "sessions": (2000, 500),
                "password_logins": (200, 60), "downloads": (5, 2), "held": (10000, 2000)}
    for key, (full, short) in defaults.items():
        if getattr(arguments, key) is None:
            setattr(arguments, key, short if quick else full)
    arguments.servers = [name.strip() for name in arguments.servers.split(",") if name.strip()]
    unknown = set(arguments.servers) - set(SERVER_ORDER)
    if unknown:
        parser.error("unknown servers: %s" % ", ".join(sorted(unknown)))
    if arguments.only:
        arguments.only = set(name.strip() for name in arguments.only.split(",") if name.strip())
        unknown = arguments.only - set(ROWS)
        if unknown:
            parser.error("unknown rows: %s (rows: %s)" % (", ".join(sorted(unknown)),
                                                         ", ".join(ROWS)))
    if arguments.runs < 1 or arguments.idle_sessions < 2 or arguments.held < 1:
        parser.error("--runs and --held must be at least 1, --idle-sessions at least 2")
    arguments.ftpload = os.path.abspath(arguments.ftpload)
    return arguments


def main():
    arguments = parse_arguments()
    if os.geteuid() != 0:
        print("table: run as root (the peers chroot, change user and use mount namespaces)",
              file=sys.stderr)
        return 2
    try:
        return Table(arguments).run()
    except bench.BenchError as error:
        print("table: %s" % error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("table: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
