#!/usr/bin/env python3
"""Twisted's FTP server as the table benchmark runs it: one process on
127.0.0.1:PORT with the epoll reactor, twisted.protocols.ftp's FTPFactory
and FTPRealm (anonymous: FTPAnonymousShell, read-only, on the anonymous
root; users: FTPShell in HOMES/NAME), a portal with AllowAnonymousAccess and
a checker of a passwd file of NAME:CRYPT-HASH lines ($6$ here) with
crypt(3). No connection limit; Twisted logs nothing unless asked.

    python3 twisted_server.py --port N --anonymous-root DIR \\
        --passwd-file FILE --home-root DIR

Needs Debian's python3-twisted (and its Python, for the crypt module)."""

import argparse
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

from twisted.internet import epollreactor

epollreactor.install()

from twisted.cred.checkers import AllowAnonymousAccess, ICredentialsChecker  # noqa: E402
from twisted.cred.credentials import IUsernamePassword  # noqa: E402
from twisted.cred.error import UnauthorizedLogin  # noqa: E402
from twisted.cred.portal import Portal  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from zope.interface import implementer  # noqa: E402
from twisted.protocols.ftp import FTPFactory, FTPRealm  # noqa: E402


@implementer(ICredentialsChecker)
class CryptPasswordChecker:
    """Users and crypt(3) hashes from a passwd file, read once. Twisted's
    FilePasswordDB(hash=...) would do, but its names are bytes and Twisted's
    FTP hands it str, so no user is ever found."""

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, path):
        self.users = {}
        with open(path) as f:
            for line in f:
                name, _, stored = line.strip().partition(":")
                if name:
                    self.users[name] = stored

    def requestAvatarId(self, credentials):
        name = credentials.username
        password = credentials.password
        if isinstance(name, bytes):
            name = name.decode()
        if isinstance(password, bytes):
            password = password.decode()
        stored = self.users.get(name)
        if stored is not None and crypt.crypt(password, stored) == stored:
            return defer.succeed(name)
        return defer.fail(UnauthorizedLogin())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--anonymous-root", required=True)
    parser.add_argument("--passwd-file", required=True)
    parser.add_argument("--home-root", required=True)
    arguments = parser.parse_args()

    portal = Portal(FTPRealm(arguments.anonymous_root, arguments.home_root),
                    [AllowAnonymousAccess(),
                     CryptPasswordChecker(arguments.passwd_file)])
    factory = FTPFactory(portal)
    reactor.listenTCP(arguments.port, factory, interface="127.0.0.1")
    reactor.run()  # SIGTERM stops it


if __name__ == "__main__":
    main()
