#!/usr/bin/env python3
"""haproxy: what a balancer costs and what a second instance brings. In one
run, rounds alternating, ftpload drives:

  direct    one ftpd instance, clients straight to it (no PROXY header)
  one       the same behind HAProxy (send-proxy-v2, passive ports forwarded)
  two       two instances behind HAProxy over the same tree

and measures anonymous sessions per second (connect, login, PWD, QUIT) and
the aggregate MB/s of 100 clients each downloading a 10 MiB file 5 times.
Prints medians and the ratios to "one". The set-up is the integration
tests' (tests/integration/balancer.py); on a machine with few cores the
instances share them with HAProxy and ftpload, so "two" shows what the
balancer's spreading costs rather than what a second machine would add.

    python3 tests/bench/haproxy.py --ftpd build/default/ftpd \\
        --ftpload build/default/ftpload [--runs 3] [--quick]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

MIB = 1024 * 1024
BIG_SIZE = 10 * MIB
CONFIGURATIONS = ("direct", "one", "two")


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ftpd", required=True)
    parser.add_argument("--ftpload", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="fewer sessions and downloads (a smoke run)")
    return parser.parse_args()


def ftpload(binary, port, scenario, extra):
    argv = [binary, "--host", "127.0.0.1", "--port", str(port), "--user", "anonymous",
            "--password", "bench@"] + extra + [scenario]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise SystemExit("ftpload %s failed (status %d): %s %s" % (
            scenario, result.returncode, result.stdout[-400:], result.stderr[-600:]))
    outcome = json.loads(lines[-1])
    if outcome.get("errors"):
        raise SystemExit("ftpload %s: %d errors: %s" % (scenario, outcome["errors"],
                                                         result.stderr[-600:]))
    return outcome


def start(configuration, harness, balancer):
    """(port clients connect to, the Site or None) for one configuration."""
    options = {"log_level": "info", "max_clients": "4096", "max_prelogin_per_ip": "0"}
    if configuration == "direct":
        site = balancer.Site(instances=1, users=1, pasv_ports=300, options=options,
                             big_size=BIG_SIZE)
        # The same instance's tree, served by a plain listener beside it.
        server = harness.Server(dict(options, anonymous="yes",
                                     anonymous_root=site.anonymous_root))
        return server.port, site
    site = balancer.Site(instances=1 if configuration == "one" else 2, users=1,
                         pasv_ports=300, options=options, big_size=BIG_SIZE)
    return site.port, site


def main():
    args = arguments()
    os.environ["FTPD"] = os.path.abspath(args.ftpd)
    import balancer
    import harness

    sessions = 500 if args.quick else 2000
    downloads = 1 if args.quick else 5
    figures = {name: {"sessions": [], "retr": []} for name in CONFIGURATIONS}
    try:
        for run in range(args.runs):
            for configuration in CONFIGURATIONS:
                port, _site = start(configuration, harness, balancer)
                login = ftpload(args.ftpload, port, "login",
                                ["--sessions", str(sessions), "--concurrency", "16"])
                retr = ftpload(args.ftpload, port, "parallel-retr",
                               ["--concurrency", "100", "--count", str(downloads),
                                "--path", "pub/big.bin", "--size", str(BIG_SIZE)])
                figures[configuration]["sessions"].append(login["ops_per_second"])
                figures[configuration]["retr"].append(retr["MB_per_second"])
                print("run %d %-6s %8.0f sessions/s %8.0f MB/s" % (
                    run + 1, configuration, login["ops_per_second"], retr["MB_per_second"]),
                    flush=True)
                harness.finish()
    finally:
        harness.finish()
    medians = {name: {key: statistics.median(values) for key, values in rows.items()}
               for name, rows in figures.items()}
    print()
    print("| through | sessions/s | ratio to one | 100 x %d x 10 MiB RETR MB/s | ratio to one |"
          % downloads)
    print("|---|---|---|---|---|")
    for name in CONFIGURATIONS:
        row = medians[name]
        print("| %s | %.0f | %.2f | %.0f | %.2f |" % (
            {"direct": "no balancer, 1 instance", "one": "HAProxy, 1 instance",
             "two": "HAProxy, 2 instances"}[name],
            row["sessions"], row["sessions"] / medians["one"]["sessions"],
            row["retr"], row["retr"] / medians["one"]["retr"]))
    print(json.dumps({"medians": medians, "runs": figures}))


if __name__ == "__main__":
    main()
