#!/usr/bin/env python3
"""soak: ftpd as a real daemon (monitor and workers) under a long mixed load,
first the ASan+UBSan build, then the plain one; checks that nothing leaks.

    python3 tests/soak/soak.py --asan build/asan/ftpd --plain build/default/ftpd \\
        [--seconds 60] [--clients 200]

(`make soak SOAK_SECONDS=N` builds both and runs this.) For each build: a
fresh server on a free loopback port (explicit TLS, anonymous read-only tree,
passwd users with writable homes; server_config below), its idle baseline,
then --clients threads each running random scenarios (scenarios.py) for
--seconds, then the settled figures and a SIGTERM. Passes when every
scenario went as a correct server would make it go, the sanitizers wrote no
report, ftpd exited 0 with every process gone, the open descriptors came
back to the baseline exactly, and the plain build's memory did not grow
after the warm-up (see RSS_GROWTH_LIMIT for what is compared and why)."""

import argparse
import collections
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import scenarios  # noqa: E402

MIB = 1 << 20
START_TIMEOUT = 20.0
# After the load: how long the sessions may take to close (descriptors back to the baseline).
SETTLE_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
# No scenario succeeding (or no greeting for a probe) for this long: the server stopped answering.
STALL_TIMEOUT = 30.0
PROBE_INTERVAL = 5.0
# What RSS can tell. ftpd keeps the heap it frees (M_TRIM_THRESHOLD 64 MiB,
# monitor.c), so an idle worker's RSS is the high-water mark of its heap:
# set by the busiest moment so far (how many uploads, TLS sessions, buffers
# at once), not by what is still allocated. Against the idle baseline it
# always grows (and libcrypto's pages count once TLS has run). So the plain
# build's RSS, idle after the load, is compared with its RSS idle after a
# warm-up of the same load: that warm-up must be long enough for the
# high-water mark to be past its quick rise (in trial runs with 200 clients
# it still rose by up to 12 % between 10-20 s and 60 s of load, but by 1-2 %
# between 30 s and 60 s), so it is half the load by default (five such soaks
# of the plain build ended 0.5-5.9 % over their warm-up). A leak keeps
# adding live memory in the second half; the busiest moments of a sound
# server do not add 10 %.
RSS_GROWTH_LIMIT = 0.10
# A worker's leak check runs in a child of the multi-threaded monitor, whose
# threads LeakSanitizer still lists there: it says so, and that is all it says.
NOT_A_REPORT = re.compile(r"^==\d+==Running thread \d+ was not suspended\. "
                          r"False leaks are possible\.\n", re.MULTILINE)
USERS = [("soak%d" % number, "password-%d" % number) for number in range(1, 5)]
WRONG_PASSWORD = "not-the-password"


def server_config(port, paths):
    """Every line of the soak server's ftpd.conf, in one place. The limits are
    generous on purpose: no client of the soak may be refused for load, and
    a limit added to ftpd later that the soak's clients would trip (bans
    after failed logins: the wrong-password clients) is switched off here."""
    return [
        "listen = 127.0.0.1:%d" % port,
        "workers = 2",
        # Run as whoever runs the soak (as the tests do); never switch to "ftpd".
        "user = none",
        "log = stderr",
        "log_level = info",
        "xferlog = %s" % paths["xferlog"],
        "anonymous = yes",
        "anonymous_root = %s" % paths["anonymous_root"],
        "passwd_file = %s" % paths["passwd_file"],
        "home_root = %s" % paths["home_root"],
        "tls = explicit",
        "tls_cert = %s" % paths["tls_cert"],
        "tls_key = %s" % paths["tls_key"],
        "max_clients = 4096",
        "max_clients_per_ip = 0",
        # 200 clients from one address connect at once, and some fail to log in
        # all the time: no limit on connections not logged in, no bans.
        "max_prelogin_per_ip = 0",
        "ban_after_failures = 0",
        # A wrong password costs its client a little (more with each failure
        # from the address, up to 15 s more); the connection stays.
        "max_login_failures = 3",
        "login_failure_delay = 100",
        "data_timeout = 30",
        "shutdown_grace = 10",
    ]


# --- The files the server shares. ---

def make_site_files(root, rng):
    """The anonymous tree: small files, a text file for TYPE A, 1-4 MiB files,
    a directory of many entries. Returns {path: contents} of the files clients fetch."""
    files = {
        "README.txt": b"read me\n",
        "pub/hello.txt": b"hello, world\n",
        "pub/text.txt": b"".join(b"line %d of the soak text file\n" % number
                                 for number in range(200)),
        "pub/big-1m.bin": rng.randbytes(1 * MIB),
        "pub/big-2m.bin": rng.randbytes(2 * MIB + MIB // 2),
        "pub/big-4m.bin": rng.randbytes(4 * MIB),
    }
    for number in range(8):
        files["pub/small-%d.bin" % number] = rng.randbytes(rng.randint(100, 60000))
    for path, data in files.items():
        harness.write_file(os.path.join(root, path), data)
    for number in range(150):
        harness.write_file(os.path.join(root, "pub", "many", "entry-%03d.txt" % number),
                           b"entry %d\n" % number)
    os.makedirs(os.path.join(root, "pub", "empty"))
    return files


# --- The server's processes as /proc shows them. ---

def parents():
    """pid -> parent pid of every process."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] not in ("Z", "X"):
            found[int(name)] = int(fields[1])
    return found


def process_tree(root):
    """root and all its live descendants."""
    children = collections.defaultdict(list)
    table = parents()
    for pid, parent in table.items():
        children[parent].append(pid)
    if root not in table:
        return []
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children[pid])
    return sorted(tree)


class Figures:
    """Summed open descriptors and RSS (KiB) of a set of processes."""

    def __init__(self, pids):
        self.pids = []
        self.fds = 0
        self.rss = 0
        for pid in pids:
            try:
                fds = len(os.listdir("/proc/%d/fd" % pid))
                rss = int(harness.process_status(pid).get("VmRSS", "0 kB").split()[0])
            except (OSError, ValueError):
                continue
            self.pids.append(pid)
            self.fds += fds
            self.rss += rss

    def __repr__(self):
        return "%d processes, %d fds, %d KiB" % (len(self.pids), self.fds, self.rss)


# --- One server. ---

class SoakServer:
    def __init__(self, binary, sanitized, directory, site_root, files):
        self.binary = binary
        self.sanitized = sanitized
        self.directory = directory
        self.port = harness.free_port()
        self.sanitizer_dir = os.path.join(directory, "sanitizer")
        os.makedirs(self.sanitizer_dir)
        home_root = os.path.join(directory, "homes")
        for name, _password in USERS:
            os.makedirs(os.path.join(home_root, name))
        tls_cert, tls_key = harness.make_certificate(directory)
        paths = {
            "anonymous_root": site_root,
            "home_root": home_root,
            "passwd_file": harness.write_passwd_file(os.path.join(directory, "passwd"),
                                                     [(name, password, None)
                                                      for name, password in USERS]),
            "tls_cert": tls_cert,
            "tls_key": tls_key,
            "xferlog": os.path.join(directory, "xferlog"),
        }
        self.config_file = harness.write_file(
            os.path.join(directory, "ftpd.conf"),
            "".join(line + "\n" for line in server_config(self.port, paths)))
        self.log_path = os.path.join(directory, "ftpd.log")
        self.site = scenarios.Site(self.port, files, USERS, WRONG_PASSWORD)
        self.process = None

    def environment(self):
        environment = dict(os.environ)
        if self.sanitized:
            # Every process (the monitor and each forked worker) writes its own
            # report file, PREFIX.PID; leaks are looked for when a process exits.
            environment["ASAN_OPTIONS"] = ":".join([
                "log_path=%s" % os.path.join(self.sanitizer_dir, "asan"),
                "detect_leaks=1", "abort_on_error=0", "halt_on_error=1"])
            environment["UBSAN_OPTIONS"] = ":".join([
                "log_path=%s" % os.path.join(self.sanitizer_dir, "ubsan"),
                "print_stacktrace=1", "halt_on_error=1"])
        return environment

    def start(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([self.binary, "-f", "-c", self.config_file],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            env=self.environment())
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise SoakFailure("ftpd exited with status %d at start-up:\n%s"
                                  % (self.process.returncode, self.log_tail()))
            if " ready (" in self.log_text():
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
                        probe.settimeout(5)
                        if probe.recv(100).startswith(b"220"):
                            return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.kill()
                raise SoakFailure("ftpd did not greet within %.0f s" % START_TIMEOUT)
            time.sleep(0.1)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, lines=20):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def figures(self):
        return Figures(process_tree(self.process.pid))

    def stop(self):
        """SIGTERM; returns the exit status, or None if ftpd did not exit in time."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        """SIGKILL to the monitor and every process under it, if still running."""
        if self.process is None or self.process.poll() is not None:
            return
        for pid in reversed(process_tree(self.process.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.process.wait()

    def sanitizer_reports(self):
        """(file name, text) of every report file with content, and the log if it has one."""
        reports = []
        for name in sorted(os.listdir(self.sanitizer_dir)):
            with open(os.path.join(self.sanitizer_dir, name), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if NOT_A_REPORT.sub("", text).strip():
                reports.append((name, text))
        log = self.log_text()
        if any(marker in log for marker in harness.SANITIZER_MARKERS):
            reports.append(("ftpd.log", log))
        return reports


class SoakFailure(Exception):
    pass


# --- The load. ---

def where(error):
    """The innermost frames an error came through, as file:line function: a
    client-side error (OSError, EOFError) says which call met it."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    return " < ".join("%s:%d %s" % (os.path.basename(frame.filename), frame.lineno, frame.name)
                      for frame in reversed(frames))


class Load:
    """The clients, their counts, and the sampling of the server while they run."""

    def __init__(self, server, clients, seed):
        self.server = server
        self.clients = clients
        self.seed = seed
        self.lock = threading.Lock()
        self.done = collections.Counter()
        self.failed = collections.Counter()
        self.problems = collections.OrderedDict()  # kind of error -> [count, first example]
        self.refusals_421 = 0
        self.last_progress = time.monotonic()
        self.stall = None
        self.peak_fds = 0
        self.peak_rss = 0
        self.pids_seen = set()
        self.probes = 0
        self.slowest_greeting = 0.0
        self.phase = 0
        names = list(scenarios.SCENARIOS)
        self.names = names
        self.weights = [scenarios.SCENARIOS[name][1] for name in names]

    def sample(self):
        figures = self.server.figures()
        with self.lock:
            self.peak_fds = max(self.peak_fds, figures.fds)
            self.peak_rss = max(self.peak_rss, figures.rss)
            self.pids_seen.update(figures.pids)
        return figures

    def record(self, name, error):
        message = "%s: %s" % (type(error).__name__, error) if not isinstance(
            error, scenarios.Unexpected) else str(error)
        message = message.splitlines()[0] if message else type(error).__name__
        kind = "%s: %s" % (name, re.sub(r"\d{3,}", "N", message)[:160])
        with self.lock:
            self.failed[name] += 1
            if re.search(r"(^|: |')421[ -]", message):
                self.refusals_421 += 1
            if kind in self.problems:
                self.problems[kind][0] += 1
            else:
                self.problems[kind] = [1, "%s: %s (at %s)" % (name, message, where(error))]

    def client_loop(self, number, deadline, rng):
        client = scenarios.Client(number, self.server.site, rng)
        while time.monotonic() < deadline and self.stall is None:
            name = rng.choices(self.names, self.weights)[0]
            try:
                scenarios.SCENARIOS[name][0](client)
            except Exception as error:  # noqa: BLE001 - every kind counts, by name
                self.record(name, error)
            else:
                with self.lock:
                    self.done[name] += 1
                    self.last_progress = time.monotonic()

    def probe(self):
        """A greeting within STALL_TIMEOUT, or the server has stopped answering."""
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", self.server.port),
                                          timeout=STALL_TIMEOUT) as sock:
                sock.settimeout(STALL_TIMEOUT)
                if not sock.recv(100).startswith(b"220"):
                    return "a probe got no 220 greeting"
                sock.sendall(b"QUIT\r\n")
        except OSError as error:
            return "a probe could not get a greeting: %s" % error
        self.probes += 1
        self.slowest_greeting = max(self.slowest_greeting, time.monotonic() - started)
        return None

    def run(self, seconds):
        """Every client runs scenarios until seconds have passed (each finishes the
        one it is in); the server is sampled every second meanwhile."""
        self.phase += 1
        started = time.monotonic()
        deadline = started + seconds
        threads = []
        for number in range(self.clients):
            rng = random.Random("%s-%d-%d" % (self.seed, self.phase, number))
            thread = threading.Thread(target=self.client_loop, args=(number, deadline, rng),
                                      daemon=True)
            thread.start()
            threads.append(thread)
        self.last_progress = time.monotonic()
        next_probe = started + PROBE_INTERVAL
        give_up = deadline + 3 * scenarios.CLIENT_TIMEOUT
        now = time.monotonic()
        while any(thread.is_alive() for thread in threads):
            time.sleep(1.0)
            now = time.monotonic()
            self.sample()
            if self.server.process.poll() is not None:
                self.stall = "ftpd exited with status %d during the load" % (
                    self.server.process.returncode)
            elif now - self.last_progress > STALL_TIMEOUT:
                self.stall = "no scenario succeeded for %.0f s: ftpd stopped answering" % (
                    now - self.last_progress)
            elif now >= next_probe and now < deadline:
                next_probe = now + PROBE_INTERVAL
                problem = self.probe()
                if problem:
                    self.stall = problem
            if self.stall or now > give_up:
                break
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck and not self.stall:
            self.stall = "%d clients still busy %.0f s after the end" % (stuck, now - deadline)
        return time.monotonic() - started


def settle(server, baseline):
    """Waits (SETTLE_TIMEOUT at most) for the descriptors to come back to the
    baseline, then a second more for memory to settle; returns the figures."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        figures = server.figures()
        if figures.fds == baseline.fds or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    return server.figures()


def idle_baseline(server):
    """The figures once two samples a second apart agree (start-up is over)."""
    previous = server.figures()
    for _ in range(10):
        time.sleep(1.0)
        figures = server.figures()
        if figures.fds == previous.fds and figures.pids == previous.pids:
            return figures
        previous = figures
    return previous


def soak_one(label, binary, sanitized, seconds, warmup, clients, seed, workdir, site_root,
             files):
    """One build under load; returns (report lines, a one-line summary, problems)."""
    directory = os.path.join(workdir, label)
    os.makedirs(directory)
    server = SoakServer(binary, sanitized, directory, site_root, files)
    print("soak %s: starting %s on 127.0.0.1:%d, %d clients, %d s of load (seed %s)"
          % (label, binary, server.port, clients, seconds, seed), flush=True)
    try:
        return measure_under_load(server, label, sanitized, seconds, warmup, clients, seed)
    finally:
        server.kill()


def measure_under_load(server, label, sanitized, seconds, warmup, clients, seed):
    """Baseline, warm-up, load, settled figures, stop and checks; returns
    (report lines, a one-line summary, problems)."""
    problems = []
    server.start()
    baseline = idle_baseline(server)
    load = Load(server, clients, seed)
    load.sample()
    # The warm-up raises the heap's high-water mark; the end is compared with it (RSS_GROWTH_LIMIT).
    load.run(warmup)
    warm = settle(server, baseline) if load.stall is None else server.figures()
    print("soak %s: after %d s of warm-up: %d scenarios, fds %d, RSS %d KiB"
          % (label, warmup, sum(load.done.values()) + sum(load.failed.values()), warm.fds,
             warm.rss), flush=True)
    if load.stall is None:
        load.run(seconds - warmup)
    final = settle(server, baseline) if load.stall is None else server.figures()
    if load.stall:
        problems.append(load.stall)
    else:
        try:
            scenarios.browse(scenarios.Client(load.clients, server.site, random.Random(seed)))
        except Exception as error:  # noqa: BLE001
            problems.append("a session after the load failed: %s: %s"
                            % (type(error).__name__, error))

    for name, figures in (("after the warm-up", warm), ("after the load", final)):
        if load.stall is None and figures.fds != baseline.fds:
            problems.append("open descriptors %s: %d, baseline %d" % (name, figures.fds,
                                                                     baseline.fds))
    if load.stall is None and final.pids != baseline.pids:
        problems.append("server processes changed: %r at the start, %r at the end"
                        % (baseline.pids, final.pids))
    unexpected = sum(load.failed.values())
    if unexpected:
        problems.append("%d scenarios met unexpected replies or errors" % unexpected)
    if load.refusals_421:
        problems.append("%d scenarios were refused with 421" % load.refusals_421)
    growth = (final.rss - warm.rss) / warm.rss if warm.rss else 0.0
    if not sanitized and load.stall is None and growth > RSS_GROWTH_LIMIT:
        problems.append("RSS grew %.1f%% from %d KiB after the warm-up to %d KiB after the load"
                        " (limit %.0f%%)" % (100 * growth, warm.rss, final.rss,
                                             100 * RSS_GROWTH_LIMIT))

    status = server.stop()
    pids = load.pids_seen | set(baseline.pids)
    if status is None:
        problems.append("ftpd did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
    elif status != 0:
        problems.append("ftpd exited with status %d after SIGTERM" % status)
    try:
        harness.wait_until(lambda: all(harness.process_gone(pid) for pid in pids), 10,
                           "server processes gone")
    except AssertionError:
        problems.append("server processes still there after the monitor exited: %r"
                        % sorted(pid for pid in pids if not harness.process_gone(pid)))
    reports = server.sanitizer_reports()
    if reports:
        problems.append("%d sanitizer reports (%s)" % (len(reports),
                                                      ", ".join(name for name, _ in reports)))
        for name, text in reports[:3]:
            print("--- %s (first 40 lines)\n%s" % (name, "\n".join(text.splitlines()[:40])))

    total = sum(load.done.values()) + unexpected
    breakdown = ", ".join("%s %d" % (name, load.done[name] + load.failed[name])
                          for name in load.names)
    lines = [
        "soak %s: %d s, %d clients, %d scenarios (%s), unexpected %d"
        % (label, seconds, clients, total, breakdown, unexpected),
        "soak %s: %d processes, fds baseline %d peak %d final %d"
        % (label, len(baseline.pids), baseline.fds, load.peak_fds, final.fds),
        "soak %s: RSS KiB baseline %d warm-up %d peak %d final %d (%+.1f%% over warm-up%s)"
        % (label, baseline.rss, warm.rss, load.peak_rss, final.rss, 100 * growth,
           "; not judged under ASan" if sanitized else ", limit %+.0f%%" % (
               100 * RSS_GROWTH_LIMIT)),
        "soak %s: sanitizer reports: %d, exit status %s, %d probes, slowest greeting %.2f s"
        % (label, len(reports), "none (killed)" if status is None else status, load.probes,
           load.slowest_greeting),
    ]
    for kind, (count, example) in list(load.problems.items())[:15]:
        lines.append("soak %s:   %dx %s" % (label, count, example[:400]))
    if len(load.problems) > 15:
        lines.append("soak %s:   ... and %d more kinds of error" % (label,
                                                                  len(load.problems) - 15))
    if problems:
        lines.append("soak %s: log tail:\n%s" % (label, server.log_tail()))
    headline = ("soak %s: %d s, %d clients, %d scenarios, unexpected %d, fds baseline %d peak %d"
                " final %d, RSS KiB baseline %d warm-up %d peak %d final %d (%+.1f%%),"
                " sanitizer reports: %d, exit %s"
                % (label, seconds, clients, total, unexpected, baseline.fds, load.peak_fds,
                   final.fds, baseline.rss, warm.rss, load.peak_rss, final.rss, 100 * growth,
                   len(reports), "killed" if status is None else status))
    return lines, headline, ["%s: %s" % (label, problem) for problem in problems]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asan", help="ftpd built with ASan and UBSan (make VARIANT=asan)")
    parser.add_argument("--plain", help="ftpd as normally built (make)")
    parser.add_argument("--seconds", type=int, default=60,
                        help="seconds of load per build, the warm-up included (default 60)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="seconds of the load that are warm-up (default: half of --seconds)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seed", default=None, help="random seed (default: from the time)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (logs, reports) even when all passes")
    args = parser.parse_args()
    if not args.asan and not args.plain:
        parser.error("give --asan, --plain or both")
    warmup = args.warmup if args.warmup is not None else args.seconds // 2
    if not 0 < warmup < args.seconds:
        parser.error("--warmup must be more than 0 and less than --seconds")
    seed = args.seed or str(int(time.time()))

    workdir = tempfile.mkdtemp(prefix="ftpd-soak-")
    site_root = os.path.join(workdir, "anonymous")
    files = make_site_files(site_root, random.Random(seed))
    builds = [(label, binary, label == "asan") for label, binary in
              (("asan", args.asan), ("plain", args.plain)) if binary]
    summary, problems = [], []
    for label, binary, sanitized in builds:
        try:
            lines, headline, found = soak_one(label, os.path.abspath(binary), sanitized,
                                              args.seconds, warmup, args.clients, seed, workdir,
                                              site_root, files)
        except (SoakFailure, OSError) as error:
            lines, headline, found = [], "soak %s: did not run" % label, [
                "%s: %s" % (label, error)]
        summary.append(headline)
        problems += found
        print("\n".join(lines), flush=True)
    print()
    print("\n".join(summary))
    if problems or args.keep:
        print("soak: logs and reports kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        print("soak FAILED: " + "; ".join(problems))
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
