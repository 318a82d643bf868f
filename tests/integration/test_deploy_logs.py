"""test_deploy_logs: what ftpd writes for the administrator: the transfer log in
wu-ftpd xferlog(5) format and the disconnect line with byte counts."""

import os
import re
import shutil
import subprocess
import time

from harness import (anonymous_server, check, check_equal, download, expect_preliminary,
                     open_passive, skip, temp_dir, upload, user_server, wait_until, write_file)

MEGABYTE = 1 << 20
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_xferlog_line(line):
    """The fields of an xferlog(5) line, checked for form; returns a dict."""
    check(line.endswith("\n"), "xferlog line without a newline: %r" % line)
    tokens = line[:-1].split(" ")
    # Days before the 10th are padded with a blank, as ctime(3) does: "Nov  2".
    if len(tokens) > 2 and tokens[2] == "":
        del tokens[2]
    check_equal(len(tokens), 18, "fields of the xferlog line %r" % line)
    weekday, month, day, clock, year = tokens[:5]
    check(weekday in WEEKDAYS and month in MONTHS, "date of %r" % line)
    check(day.isdigit() and 1 <= int(day) <= 31, "day of %r" % line)
    check(re.match(r"^\d\d:\d\d:\d\d$", clock) and re.match(r"^\d{4}$", year),
          "time and year of %r" % line)
    fields = dict(zip(("transfer_time", "remote_host", "file_size", "filename",
                       "transfer_type", "special_action", "direction", "access_mode",
                       "username", "service_name", "authentication_method",
                       "authenticated_user_id", "completion_status"), tokens[5:]))
    fields["when"] = time.mktime(time.strptime(" ".join([weekday, month, day, clock, year]),
                                               "%a %b %d %H:%M:%S %Y"))
    check(fields["transfer_time"].isdigit() and int(fields["transfer_time"]) >= 1,
          "transfer-time of %r" % line)
    check(fields["file_size"].isdigit(), "byte count of %r" % line)
    return fields


def xferlog_lines(path, count, timeout=5):
    """Waits until path has count lines; returns them."""
    def lines():
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return f.readlines()
    wait_until(lambda: len(lines()) >= count, timeout, "%d lines in %s" % (count, path))
    found = lines()
    check_equal(len(found), count, "lines in the xferlog")
    return found


def expect_fields(fields, expected, line):
    for key, value in expected.items():
        check_equal(fields[key], value, "%s of xferlog line %r" % (key, line))


def test_xferlog_retr_and_stor_by_a_user():
    log = os.path.join(temp_dir("ftpd-logs-"), "xferlog")
    server, home_root = user_server(options={"xferlog": log})
    home = os.path.join(home_root, "alice")
    payload = bytes(range(256)) * 4000
    write_file(os.path.join(home, "down.bin"), payload)
    with server, server.connect() as control:
        control.login("alice", "secret")
        control.expect("TYPE I", 200)
        before = time.time()
        check_equal(download(control, "RETR down.bin"), payload, "RETR down.bin")
        control.expect("TYPE A", 200)
        upload(control, "STOR up load.txt", b"one\r\ntwo\r\n")
        after = time.time()
        retr, stor = xferlog_lines(log, 2)
    first = parse_xferlog_line(retr)
    expect_fields(first, {"remote_host": "127.0.0.1", "file_size": str(len(payload)),
                          "transfer_type": "b", "special_action": "_", "direction": "o",
                          "access_mode": "r", "username": "alice", "service_name": "ftp",
                          "authentication_method": "0", "authenticated_user_id": "*",
                          "completion_status": "c"}, retr)
    check(first["filename"].endswith("down.bin") and "/" in first["filename"],
          "filename of %r" % retr)
    check(before - 2 <= first["when"] <= after + 2, "current-time of %r is not now" % retr)
    second = parse_xferlog_line(stor)
    # An ASCII upload of "one\r\ntwo\r\n" is stored as 8 bytes; either count is fair.
    check(second["file_size"] in ("8", "10"), "byte count of %r" % stor)
    expect_fields(second, {"remote_host": "127.0.0.1", "transfer_type": "a",
                           "special_action": "_", "direction": "i", "access_mode": "r",
                           "username": "alice", "service_name": "ftp",
                           "authentication_method": "0", "authenticated_user_id": "*",
                           "completion_status": "c"}, stor)
    check(second["filename"].endswith("up_load.txt"),
          "a name with a space is not written with '_': %r" % stor)
    check(os.path.exists(os.path.join(home, "up load.txt")), "STOR did not store 'up load.txt'")


def test_xferlog_anonymous_download():
    log = os.path.join(temp_dir("ftpd-logs-"), "xferlog")
    server, _root = anonymous_server({"xferlog": log})
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        download(control, "RETR pub/data.bin")
        # Listings are not file transfers: no line for them.
        download(control, "LIST pub")
        line, = xferlog_lines(log, 1)
    fields = parse_xferlog_line(line)
    expect_fields(fields, {"remote_host": "127.0.0.1", "file_size": "10240",
                           "transfer_type": "b", "direction": "o", "access_mode": "a",
                           "completion_status": "c"}, line)
    check(fields["filename"].endswith("pub/data.bin"), "filename of %r" % line)
    # xferlog(5): for anonymous users, the identification string they gave.
    check(fields["username"] in ("anonymous", "guest@example.org"), "username of %r" % line)


def test_xferlog_aborted_download_is_incomplete():
    log = os.path.join(temp_dir("ftpd-logs-"), "xferlog")
    server, root = anonymous_server({"xferlog": log})
    size = 16 * MEGABYTE
    write_file(os.path.join(root, "big.bin"), os.urandom(MEGABYTE) * 16)
    with server, server.connect() as control:
        control.login_anonymous()
        control.expect("TYPE I", 200)
        data = open_passive(control, receive_buffer=16384)
        expect_preliminary(control, "RETR big.bin")
        data.recv(4096)
        control.send("ABOR\r\n")
        check_equal(control.read_reply().code, 426, "first reply to ABOR")
        check_equal(control.read_reply().code, 226, "second reply to ABOR")
        data.close()
        line, = xferlog_lines(log, 1)
    fields = parse_xferlog_line(line)
    expect_fields(fields, {"direction": "o", "completion_status": "i"}, line)
    check(int(fields["file_size"]) < size, "byte count of an aborted transfer: %r" % line)


def disconnect_lines(server):
    return re.findall(r"127\.0\.0\.1: disconnected \((\d+) bytes in, (\d+) bytes out\)",
                      server.stderr_text())


def test_disconnect_log_counts_bytes():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    write_file(os.path.join(home, "down.bin"), b"d" * 5000)
    with server:
        already = len(disconnect_lines(server))
        with server.connect() as control:
            control.login("alice", "secret")
            control.expect("TYPE I", 200)
            download(control, "RETR down.bin")
            download(control, "RETR down.bin")
            upload(control, "STOR up.bin", b"u" * 1234)
            control.expect("QUIT", 221)
            control.is_closed()
        wait_until(lambda: len(disconnect_lines(server)) > already, 5,
                   "a disconnect line on stderr")
        check_equal(disconnect_lines(server)[already:], [("1234", "10000")],
                    "byte counts of the disconnect line")
        with server.connect() as control:
            control.login("alice", "secret")
            upload(control, "APPE up.bin", b"v" * 100)
            control.close()
        wait_until(lambda: len(disconnect_lines(server)) > already + 1, 5,
                   "a disconnect line for a session closed without QUIT")
        check_equal(disconnect_lines(server)[already + 1:], [("100", "0")],
                    "byte counts of a session that ended without QUIT")


def test_session_events_and_log_levels():
    """info: connect, login ok/failed with the client address, disconnect;
    debug adds every command (PASS hidden) and every error reply."""
    for level in ("info", "debug"):
        server, _home_root = user_server(options={"log_level": level})
        with server:
            with server.connect() as control:
                control.expect("USER alice", 331)
                control.expect("PASS wrong-secret", 530)
                control.login("alice", "secret")
                control.expect("SIZE no-such-file", 550)
                control.expect("QUIT", 221)
                control.is_closed()
            wait_until(lambda: "disconnected" in server.stderr_text().split("login ok")[-1], 5,
                       "the disconnect line")
            text = server.stderr_text()
        for needed in ("127.0.0.1: connected", "127.0.0.1: login failed: alice",
                       "127.0.0.1: login ok: alice", "127.0.0.1: disconnected"):
            check(needed in text, "log_level %s: no %r in %r" % (level, needed, text))
        check("wrong-secret" not in text and "PASS secret" not in text,
              "log_level %s: a password reached the log" % level)
        debug_lines = [line for line in text.splitlines() if ": debug: " in line]
        error_reply = "127.0.0.1: 550 /no-such-file"
        if level == "info":
            check_equal(debug_lines, [], "debug lines at log_level info")
        else:
            check(any(error_reply in line for line in debug_lines),
                  "no debug line for the 550 reply: %r" % debug_lines)
            check(any("127.0.0.1: PASS <hidden>" in line for line in debug_lines),
                  "no debug line for PASS: %r" % debug_lines)
            check(any("127.0.0.1: SIZE no-such-file" in line for line in debug_lines),
                  "no debug line for SIZE: %r" % debug_lines)


def test_xferlog_survives_logrotate():
    """The shipped conf/logrotate.d/ftpd, run by the real logrotate: the old
    lines move to xferlog.1, and ftpd's next lines start the emptied xferlog
    (it keeps the file open, so the rules copy and truncate)."""
    if shutil.which("logrotate") is None:
        skip("logrotate is not installed (Debian package logrotate)")
    base = temp_dir("ftpd-rotate-")
    log = os.path.join(base, "xferlog")
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "conf", "logrotate.d", "ftpd")) as f:
        rules = f.read()
    check("/var/log/xferlog {" in rules, "conf/logrotate.d/ftpd names /var/log/xferlog")
    rules_path = write_file(os.path.join(base, "logrotate.conf"),
                            rules.replace("/var/log/xferlog", log))
    server, home_root = user_server(options={"xferlog": log})
    write_file(os.path.join(home_root, "alice", "a.txt"), "a\n")
    with server, server.connect() as control:
        control.login("alice", "secret")
        download(control, "RETR a.txt")
        download(control, "RETR a.txt")
        xferlog_lines(log, 2)
        result = subprocess.run(["logrotate", "--force", "--state", os.path.join(base, "state"),
                                 rules_path], capture_output=True, text=True, timeout=30)
        check_equal(result.returncode, 0, "logrotate exit status (%s)" % result.stderr)
        upload(control, "STOR after.txt", b"after rotation\n")
        after = xferlog_lines(log, 1)
    check("after.txt" in after[0], "the line after rotation: %r" % after)
    parse_xferlog_line(after[0])
    with open(log + ".1") as f:
        rotated = f.readlines()
    check_equal(len(rotated), 2, "lines in the rotated xferlog.1")
    for line in rotated:
        check("a.txt" in parse_xferlog_line(line)["filename"], "rotated line %r" % line)
