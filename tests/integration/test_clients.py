"""test_clients: real FTP clients other than ftplib (lftp, curl), limited to
what needs no data connection: login, directory changes, SIZE and MDTM."""

import calendar
import os
import shutil
import subprocess

from harness import anonymous_server, check, check_equal, skip, write_file

LFTP_SETTINGS = "set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "


def lftp(script):
    if shutil.which("lftp") is None:
        skip("lftp is not installed")
    return subprocess.run(["lftp", "-c", LFTP_SETTINGS + script], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def curl(*arguments):
    if shutil.which("curl") is None:
        skip("curl is not installed")
    return subprocess.run(["curl", "--max-time", "30"] + list(arguments),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def test_lftp_login_cd_pwd():
    server, _root = anonymous_server()
    with server:
        result = lftp("open -u anonymous,x ftp://127.0.0.1:%d; cd pub; pwd" % server.port)
        check_equal(result.returncode, 0, "lftp exit status (stderr: %r)" % result.stderr)
        check(result.stdout.strip().endswith("/pub"), "lftp pwd printed %r" % result.stdout)


def test_lftp_cd_missing_fails():
    server, _root = anonymous_server()
    with server:
        result = lftp("open -u anonymous,x ftp://127.0.0.1:%d; cd no-such-dir" % server.port)
        check(result.returncode != 0, "lftp cd to a missing directory exited 0")
        check("550" in result.stderr, "lftp did not report the 550: %r" % result.stderr)


def test_lftp_wrong_password_fails():
    server, _root = anonymous_server({"anonymous": "no"})
    with server:
        result = lftp("open -u nobody,wrong ftp://127.0.0.1:%d; cd /" % server.port)
        check(result.returncode != 0, "lftp with a bad login exited 0")


def test_curl_head_reports_size_and_mtime():
    server, root = anonymous_server()
    path = write_file(os.path.join(root, "pub", "sized.bin"), b"z" * 12345)
    when = calendar.timegm((2021, 3, 14, 15, 9, 26, 0, 0, 0))
    os.utime(path, (when, when))
    with server:
        result = curl("-sI", "ftp://127.0.0.1:%d/pub/sized.bin" % server.port)
        check_equal(result.returncode, 0, "curl exit status (stderr: %r)" % result.stderr)
        headers = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
        check_equal(headers.get("Content-Length"), "12345", "curl Content-Length")
        check_equal(headers.get("Last-Modified"), "Sun, 14 Mar 2021 15:09:26 GMT",
                    "curl Last-Modified")


def test_curl_head_missing_file_fails():
    server, _root = anonymous_server()
    with server:
        result = curl("-sI", "ftp://127.0.0.1:%d/pub/missing.bin" % server.port)
        check(result.returncode != 0, "curl -I of a missing file exited 0: %r" % result.stdout)
