#!/usr/bin/env python3
"""pyftpdlib as the table benchmark runs it: one process on 127.0.0.1:PORT,
anonymous read-only on the anonymous root, and the users of a passwd file
(NAME:CRYPT-HASH lines, $6$ here) read-write in HOMES/NAME, their passwords
checked with crypt(3) (pyftpdlib's own UnixAuthorizer does the same for
system users). No connection limit, warnings only in the log.

    python3 pyftpdlib_server.py --port N --anonymous-root DIR \\
        --passwd-file FILE --home-root DIR

Needs Debian's python3-pyftpdlib (and its Python, for the crypt module)."""

import argparse
import logging
import os
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.log import config_logging
from pyftpdlib.servers import FTPServer


class CryptAuthorizer(DummyAuthorizer):
    """DummyAuthorizer whose stored passwords are crypt(3) hashes."""

    def validate_authentication(self, username, password, handler):
        if username == "anonymous":
            return super().validate_authentication(username, password, handler)
        if not self.has_user(username):
            raise AuthenticationFailed("Authentication failed.")
        stored = self.user_table[username]["pwd"]
        if crypt.crypt(password, stored) != stored:
            raise AuthenticationFailed("Authentication failed.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--anonymous-root", required=True)
    parser.add_argument("--passwd-file", required=True)
    parser.add_argument("--home-root", required=True)
    arguments = parser.parse_args()

    authorizer = CryptAuthorizer()
    authorizer.add_anonymous(arguments.anonymous_root, perm="elr")
    with open(arguments.passwd_file) as f:
        for line in f:
            name, _, stored = line.strip().partition(":")
            if name:
                authorizer.add_user(name, stored, os.path.join(arguments.home_root, name),
                                    perm="elradfmwMT")
    handler = FTPHandler
    handler.authorizer = authorizer
    config_logging(level=logging.WARNING)
    server = FTPServer(("127.0.0.1", arguments.port), handler)
    server.max_cons = 0
    server.max_cons_per_ip = 0
    server.serve_forever(handle_exit=True)


if __name__ == "__main__":
    main()
