#!/usr/bin/env python3
"""workers: ftpd with workers = 1 beside ftpd with workers = 2 (or --compare),
both running in the same run and measured interleaved; medians and the ratio
(many workers / one worker) are reported.

    python3 tests/bench/workers.py --ftpd build/default/ftpd [--rounds N]

Measures anonymous sessions per second (connect, USER, PASS, PWD, QUIT; many
in flight) and the aggregate download rate of 100 clients each fetching a
10 MiB file several times at once. The clients are Python's asyncio on the
same machine, so on a small machine they take a share of the CPU the servers
would use: read the ratio, not the absolute figures."""

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Ftpd:
    def __init__(self, binary, workers, root, workdir):
        self.workers = workers
        self.port = free_port()
        self.log_path = os.path.join(workdir, "ftpd-workers-%d.log" % workers)
        empty = os.path.join(workdir, "empty.conf")
        open(empty, "w").close()
        options = {"listen": "127.0.0.1:%d" % self.port, "anonymous_root": root,
                   "workers": str(workers), "max_clients": "0", "max_clients_per_ip": "0",
                   "log": "stderr", "log_level": "warning"}
        if os.geteuid() == 0:
            options["user"] = "nobody"
        self.argv = [binary, "-f", "-c", empty]
        for key, value in options.items():
            self.argv += ["-o", "%s=%s" % (key, value)]
        self.process = None

    def start(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise SystemExit("ftpd (workers = %d) exited at start-up; see %s"
                                 % (self.workers, self.log_path))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"220"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("ftpd (workers = %d) did not greet" % self.workers)
            time.sleep(0.05)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


async def reply(reader):
    """The code of the next complete reply (multi-line replies skipped)."""
    line = await reader.readline()
    if len(line) < 4:
        raise ConnectionError("connection closed")
    code = line[:3]
    if line[3:4] == b"-":
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("connection closed")
            if line[:3] == code and line[3:4] == b" ":
                break
    return int(code)


async def command(reader, writer, line, expected):
    writer.write(line + b"\r\n")
    code = await reply(reader)
    if code not in expected:
        raise ConnectionError("%r answered %d" % (line, code))
    return code


async def one_session(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if await reply(reader) != 220:
            raise ConnectionError("no greeting")
        await command(reader, writer, b"USER anonymous", (331,))
        await command(reader, writer, b"PASS bench@", (230,))
        await command(reader, writer, b"PWD", (257,))
        await command(reader, writer, b"QUIT", (221,))
    finally:
        writer.close()


async def sessions_per_second(port, total, in_flight):
    gate = asyncio.Semaphore(in_flight)

    async def gated():
        async with gate:
            await one_session(port)

    started = time.monotonic()
    await asyncio.gather(*(gated() for _ in range(total)))
    return total / (time.monotonic() - started)


async def retr_client(port, name, times, size):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reply(reader)
        await command(reader, writer, b"USER anonymous", (331,))
        await command(reader, writer, b"PASS bench@", (230,))
        await command(reader, writer, b"TYPE I", (200,))
        for _ in range(times):
            writer.write(b"EPSV\r\n")
            line = await reader.readline()
            if not line.startswith(b"229"):
                raise ConnectionError("EPSV: %r" % line)
            data_port = int(line.split(b"|")[3])
            data_reader, data_writer = await asyncio.open_connection("127.0.0.1", data_port)
            await command(reader, writer, b"RETR " + name, (125, 150))
            received = 0
            while True:
                chunk = await data_reader.read(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
            data_writer.close()
            if await reply(reader) != 226 or received != size:
                raise ConnectionError("RETR: %d of %d bytes" % (received, size))
        await command(reader, writer, b"QUIT", (221,))
    finally:
        writer.close()


async def aggregate_retr(port, clients, times, size):
    started = time.monotonic()
    await asyncio.gather(*(retr_client(port, b"big.bin", times, size) for _ in range(clients)))
    return clients * times * size / (time.monotonic() - started) / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ftpd", default="build/default/ftpd")
    parser.add_argument("--compare", type=int, default=2, help="workers of the second server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=3000, help="sessions per measurement")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--times", type=int, default=5, help="downloads per client")
    parser.add_argument("--size-mib", type=int, default=10)
    arguments = parser.parse_args()

    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    workdir = tempfile.mkdtemp(prefix="ftpd-bench-workers-")
    root = os.path.join(workdir, "share")
    os.makedirs(root)
    size = arguments.size_mib * MIB
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(size))
    os.chmod(workdir, 0o755)
    servers = [Ftpd(os.path.abspath(arguments.ftpd), workers, root, workdir)
               for workers in (1, arguments.compare)]
    results = {server.workers: {"sessions": [], "retr": []} for server in servers}
    print("ftpd %s; %d CPUs; workers = 1 and workers = %d side by side, %d rounds interleaved"
          % (arguments.ftpd, os.cpu_count(), arguments.compare, arguments.rounds))
    print("sessions: %d anonymous sessions (connect, USER, PASS, PWD, QUIT), %d in flight; "
          "RETR: %d clients x %d downloads of %d MiB at once"
          % (arguments.sessions, arguments.in_flight, arguments.clients, arguments.times,
             arguments.size_mib), flush=True)
    try:
        for server in servers:
            server.start()
        for round_index in range(arguments.rounds):
            for server in servers:
                rate = asyncio.run(sessions_per_second(server.port, arguments.sessions,
                                                       arguments.in_flight))
                results[server.workers]["sessions"].append(rate)
                throughput = asyncio.run(aggregate_retr(server.port, arguments.clients,
                                                        arguments.times, size))
                results[server.workers]["retr"].append(throughput)
                print("round %d, workers = %d: %.0f sessions/s, %.0f MB/s aggregate RETR"
                      % (round_index + 1, server.workers, rate, throughput), flush=True)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    one, many = results[1], results[arguments.compare]
    print()
    print("%-34s %12s %12s %8s" % ("median", "workers = 1", "workers = %d" % arguments.compare,
                                  "ratio"))
    for key, label in (("sessions", "anonymous sessions/s"),
                       ("retr", "%d-client aggregate RETR, MB/s" % arguments.clients)):
        a, b = statistics.median(one[key]), statistics.median(many[key])
        print("%-34s %12.0f %12.0f %7.2fx" % (label, a, b, b / a))


if __name__ == "__main__":
    sys.exit(main())
