"""test_tls_config: the TLS configuration is checked before anything is served:
`ftpd -t` and a starting server both exit 1, naming the file, for a missing,
unreadable or mismatched certificate or key, and for tls modes missing a key."""

import os
import subprocess

from harness import (Server, check, check_equal, ftpd_path, make_certificate, temp_dir,
                     write_file)


def base_options():
    root = temp_dir("ftpd-anon-")
    return {"anonymous": "yes", "anonymous_root": root, "log": "stderr",
            "listen": "127.0.0.1:%d" % 2121}


def run_check(options):
    """`ftpd -t` with options; returns (status, stdout + stderr)."""
    config = write_file(os.path.join(temp_dir("ftpd-conf-"), "empty.conf"), "")
    argv = [ftpd_path(), "-c", config]
    options = dict(options)
    options.setdefault("user", "none")
    for key, value in options.items():
        argv += ["-o", "%s=%s" % (key, value)]
    result = subprocess.run(argv + ["-t"], stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=20)
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")


def start_fails(options):
    """Starts the server in the foreground; it must exit 1 on its own, not serve.
    Returns its output."""
    server = Server(options, start=False)
    try:
        server.start()
    except AssertionError as error:
        check("exited with status 1" in str(error),
              "ftpd with %r: %s (stderr %r)" % (options, error, server.stderr_tail()))
        server.stopped = True
        return server.stderr_text()
    raise AssertionError("ftpd started and accepted connections with %r" % options)


def other_certificate():
    return make_certificate(temp_dir("ftpd-cert-"))


def bad_file_cases():
    """(description, options, the path the message must name) for every broken setup."""
    cert, key = other_certificate()
    _other_cert, other_key = other_certificate()
    scratch = temp_dir("ftpd-bad-")
    missing = os.path.join(scratch, "missing.pem")
    garbage = write_file(os.path.join(scratch, "garbage.pem"), b"this is not PEM\n" * 10)
    directory = os.path.join(scratch, "a-directory.pem")
    os.mkdir(directory)
    cases = [
        ("missing tls_cert", {"tls_cert": missing, "tls_key": key}, [missing]),
        ("missing tls_key", {"tls_cert": cert, "tls_key": missing}, [missing]),
        ("tls_cert is not PEM", {"tls_cert": garbage, "tls_key": key}, [garbage]),
        ("tls_key is not PEM", {"tls_cert": cert, "tls_key": garbage}, [garbage]),
        ("tls_cert is a directory", {"tls_cert": directory, "tls_key": key}, [directory]),
        ("tls_key is a directory", {"tls_cert": cert, "tls_key": directory}, [directory]),
        ("key of another certificate", {"tls_cert": cert, "tls_key": other_key},
         [other_key, cert]),
        ("key and cert swapped", {"tls_cert": key, "tls_key": cert}, [key, cert]),
    ]
    if os.geteuid() != 0:
        unreadable = write_file(os.path.join(scratch, "unreadable.pem"), open(key, "rb").read())
        os.chmod(unreadable, 0)
        cases.append(("unreadable tls_key", {"tls_cert": cert, "tls_key": unreadable},
                      [unreadable]))
    return cases


def test_check_accepts_a_good_certificate():
    cert, key = other_certificate()
    for mode in ("explicit", "required"):
        options = dict(base_options(), tls=mode, tls_cert=cert, tls_key=key)
        status, output = run_check(options)
        check_equal(status, 0, "ftpd -t with tls = %s and a good certificate (output %r)"
                    % (mode, output[-400:]))


def test_check_rejects_bad_certificate_files():
    for description, files, named in bad_file_cases():
        options = dict(base_options(), tls="explicit", **files)
        status, output = run_check(options)
        check(status == 1, "ftpd -t with %s: exit %d, expected 1 (output %r)"
              % (description, status, output[-400:]))
        check(any(path in output for path in named),
              "ftpd -t with %s: the message does not name %s: %r"
              % (description, " or ".join(named), output[-400:]))


def test_server_refuses_to_start_with_bad_certificate_files():
    for description, files, named in bad_file_cases():
        options = dict(tls="explicit", anonymous="yes",
                       anonymous_root=temp_dir("ftpd-anon-"), **files)
        output = start_fails(options)
        check(any(path in output for path in named),
              "ftpd with %s: the message does not name %s: %r"
              % (description, " or ".join(named), output[-400:]))


def test_tls_without_certificate_is_an_error():
    cert, key = other_certificate()
    for mode in ("explicit", "required", "implicit"):
        options = dict(base_options(), tls=mode, listen_implicit="127.0.0.1:2990")
        status, output = run_check(options)
        check(status == 1, "ftpd -t with tls = %s and no tls_cert: exit %d (output %r)"
              % (mode, status, output[-400:]))
        check("tls_cert" in output, "tls = %s without tls_cert: message %r" % (mode, output))
        options["tls_key"] = key
        status, output = run_check(options)
        check(status == 1, "ftpd -t with tls = %s and only tls_key: exit %d (output %r)"
              % (mode, status, output[-400:]))
        del options["tls_key"]
        options["tls_cert"] = cert
        status, output = run_check(options)
        check(status == 1, "ftpd -t with tls = %s and only tls_cert: exit %d (output %r)"
              % (mode, status, output[-400:]))
    start_fails({"tls": "explicit", "anonymous": "yes", "anonymous_root": temp_dir()})


def test_implicit_needs_listen_implicit():
    cert, key = other_certificate()
    options = dict(base_options(), tls="implicit", tls_cert=cert, tls_key=key)
    status, output = run_check(options)
    check(status == 1, "ftpd -t with tls = implicit and no listen_implicit: exit %d (%r)"
          % (status, output[-400:]))
    check("listen_implicit" in output, "message does not name listen_implicit: %r" % output)
    options["listen_implicit"] = "127.0.0.1:2990"
    status, output = run_check(options)
    check_equal(status, 0, "ftpd -t with tls = implicit and listen_implicit (output %r)"
                % output[-400:])


def test_bad_tls_values_are_errors():
    cert, key = other_certificate()
    cases = [("tls", "sometimes"), ("tls_min_protocol", "TLSv1.1"),
             ("tls_min_protocol", "SSLv3"), ("tls_anonymous", "maybe"),
             ("tls_require_reuse", "perhaps"), ("listen_implicit", "nowhere")]
    for key_name, value in cases:
        options = dict(base_options(), tls="explicit", tls_cert=cert, tls_key=key)
        options[key_name] = value
        status, output = run_check(options)
        check(status == 1, "ftpd -t with %s = %s: exit %d (output %r)"
              % (key_name, value, status, output[-400:]))
        check(key_name in output, "%s = %s: the message does not name the key: %r"
              % (key_name, value, output[-400:]))


def test_check_prints_the_tls_keys():
    cert, key = other_certificate()
    options = dict(base_options(), tls="explicit", tls_cert=cert, tls_key=key,
                   tls_min_protocol="TLSv1.3", tls_require_reuse="no")
    status, output = run_check(options)
    check_equal(status, 0, "ftpd -t (output %r)" % output[-400:])
    for name in ("tls", "tls_cert", "tls_key", "tls_ciphers", "tls_min_protocol",
                 "tls_anonymous", "tls_require_reuse", "listen_implicit"):
        check(any(line.split("=")[0].strip() == name for line in output.splitlines()),
              "ftpd -t does not print %s: %r" % (name, output[-1500:]))
