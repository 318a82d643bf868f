"""test_clients_transfers: real clients moving data: lftp mirror both ways and
resumed get, curl listing, download, upload, active mode and the CWD methods."""

import os
import shutil
import subprocess

from harness import anonymous_server, check, check_equal, skip, temp_dir, user_server, write_file

LFTP_SETTINGS = ("set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "
                 "set xfer:clobber yes; ")


def lftp(script):
    if shutil.which("lftp") is None:
        skip("lftp is not installed")
    result = subprocess.run(["lftp", "-c", LFTP_SETTINGS + script], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    check_equal(result.returncode, 0, "lftp exit status (stdout %r, stderr %r)"
                % (result.stdout[-500:], result.stderr[-500:]))
    return result


def curl(*arguments):
    """Runs curl verbosely; returns the result, whose stderr holds the FTP dialogue."""
    if shutil.which("curl") is None:
        skip("curl is not installed")
    result = subprocess.run(["curl", "-sS", "-v", "--max-time", "30"] + list(arguments),
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    check_equal(result.returncode, 0, "curl exit status (stderr %r)"
                % result.stderr.decode("utf-8", "replace")[-800:])
    return result


def sent_commands(result):
    """The commands curl -v says it sent, e.g. ['USER anonymous', 'PASS ...', ...]."""
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    return [line[2:] for line in lines if line.startswith("> ")]


def tree(root):
    """{relative path: contents, or None for a directory}."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(directory, name), root)] = None
        for name in files:
            with open(os.path.join(directory, name), "rb") as f:
                found[os.path.relpath(os.path.join(directory, name), root)] = f.read()
    return found


def rich_tree(root):
    """Files that exercise a mirror: nesting, spaces, UTF-8, empty files and dirs."""
    write_file(os.path.join(root, "top.txt"), b"top\n")
    write_file(os.path.join(root, "with space", "inner file.bin"), os.urandom(70000))
    write_file(os.path.join(root, "deep", "er", "est", "leaf.txt"), b"leaf\n")
    write_file(os.path.join(root, "gr\u00fc\u00dfe", "\u65e5\u672c.txt"), "utf-8 name\n")
    write_file(os.path.join(root, "zero.bin"), b"")
    write_file(os.path.join(root, "big.bin"), os.urandom(3 << 20))
    os.makedirs(os.path.join(root, "empty dir"))


def test_lftp_mirror_anonymous_share():
    server, root = anonymous_server()
    rich_tree(root)
    target = os.path.join(temp_dir("ftpd-mirror-"), "copy")
    with server:
        lftp("open -u anonymous,x ftp://127.0.0.1:%d; mirror / %s" % (server.port, target))
    expected = tree(root)
    got = tree(target)
    check_equal(sorted(got), sorted(expected), "paths mirrored by lftp")
    for path, contents in expected.items():
        check(got[path] == contents, "content of %s differs after lftp mirror" % path)


def test_lftp_mirror_reverse_into_home():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    source = temp_dir("ftpd-source-")
    rich_tree(source)
    with server:
        lftp("open -u alice,secret ftp://127.0.0.1:%d; mirror -R %s /uploaded"
             % (server.port, source))
    expected = tree(source)
    got = tree(os.path.join(home, "uploaded"))
    check_equal(sorted(got), sorted(expected), "paths uploaded by lftp mirror -R")
    for path, contents in expected.items():
        check(got[path] == contents, "content of %s differs after lftp mirror -R" % path)
    leftovers = [name for name in tree(home) if ".ftpd-upload." in name]
    check_equal(leftovers, [], "temporary upload files")


def test_lftp_get_resumes_partial_download():
    server, root = anonymous_server()
    whole = os.urandom(2 << 20)
    write_file(os.path.join(root, "pub", "resume.bin"), whole)
    offset = 777777
    # The local prefix differs from the remote one: only a real resume keeps it.
    local = write_file(os.path.join(temp_dir("ftpd-get-"), "resume.bin"), b"\0" * offset)
    with server:
        lftp("open -u anonymous,x ftp://127.0.0.1:%d; get -c /pub/resume.bin -o %s"
             % (server.port, local))
    with open(local, "rb") as f:
        got = f.read()
    check_equal(len(got), len(whole), "size after lftp get -c")
    check(got[:offset] == b"\0" * offset, "lftp get -c rewrote the local prefix: no REST used")
    check(got[offset:] == whole[offset:], "lftp get -c: the resumed part differs")


def test_curl_list_and_download():
    server, root = anonymous_server()
    with server:
        listing_file = os.path.join(temp_dir("ftpd-curl-"), "listing")
        data_file = os.path.join(os.path.dirname(listing_file), "data.bin")
        result = curl("-o", listing_file, "ftp://127.0.0.1:%d/pub/" % server.port,
                      "-o", data_file, "ftp://127.0.0.1:%d/pub/data.bin" % server.port)
    with open(listing_file, "rb") as f:
        lines = f.read().decode().splitlines()
    names = sorted(line.split()[-1] for line in lines)
    check_equal(names, ["data.bin", "empty", "hello.txt"], "names in curl's listing")
    check(all(line[0] in "-d" and len(line.split()) >= 9 for line in lines),
          "curl listing is not ls -l: %r" % lines)
    with open(data_file, "rb") as f:
        with open(os.path.join(root, "pub", "data.bin"), "rb") as original:
            check(f.read() == original.read(), "curl download differs")
    commands = sent_commands(result)
    check(any(command.startswith("EPSV") for command in commands),
          "curl did not use EPSV by default: %r" % commands)


def test_curl_upload_and_active_download():
    server, home_root = user_server()
    home = os.path.join(home_root, "alice")
    local = write_file(os.path.join(temp_dir("ftpd-curl-"), "up.bin"), os.urandom(500000))
    back = os.path.join(os.path.dirname(local), "back.bin")
    with server:
        upload = curl("-T", local, "ftp://alice:secret@127.0.0.1:%d/up.bin" % server.port)
        download = curl("-P", "-", "-o", back,
                        "ftp://alice:secret@127.0.0.1:%d/up.bin" % server.port)
    with open(local, "rb") as f:
        data = f.read()
    with open(os.path.join(home, "up.bin"), "rb") as f:
        check(f.read() == data, "curl -T upload differs")
    with open(back, "rb") as f:
        check(f.read() == data, "curl -P - download differs")
    check(any(command.startswith("STOR up.bin") for command in sent_commands(upload)),
          "curl -T did not STOR: %r" % sent_commands(upload))
    commands = sent_commands(download)
    check(any(command.startswith(("EPRT", "PORT")) for command in commands),
          "curl -P - did not use EPRT or PORT: %r" % commands)
    check(not any(command.startswith(("EPSV", "PASV")) for command in commands),
          "curl -P - used passive mode: %r" % commands)


def test_curl_cwd_methods_and_pasv():
    server, root = anonymous_server()
    write_file(os.path.join(root, "a", "b", "c.txt"), b"deep file\n")
    scratch = temp_dir("ftpd-curl-")
    url = "ftp://127.0.0.1:%d/a/b/c.txt" % server.port
    with server:
        outputs = {}
        for method in ("nocwd", "singlecwd"):
            outputs[method] = os.path.join(scratch, method)
            result = curl("--ftp-method", method, "--disable-epsv", "--ftp-pasv",
                          "-o", outputs[method], url)
            commands = sent_commands(result)
            cwds = [command for command in commands if command.startswith("CWD")]
            if method == "nocwd":
                check_equal(cwds, [], "CWD commands with --ftp-method nocwd")
                check("RETR a/b/c.txt" in commands or "RETR /a/b/c.txt" in commands,
                      "nocwd RETR: %r" % commands)
            else:
                check(len(cwds) == 1 and cwds[0].rstrip("/").endswith("a/b"),
                      "CWD commands with --ftp-method singlecwd: %r" % cwds)
            check(any(command.startswith("PASV") for command in commands),
                  "--disable-epsv did not use PASV: %r" % commands)
    for method, path in outputs.items():
        with open(path, "rb") as f:
            check_equal(f.read(), b"deep file\n", "curl download with --ftp-method %s" % method)
