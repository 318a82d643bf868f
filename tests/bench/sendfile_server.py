#!/usr/bin/env python3
"""sendfile_server: the least an FTP server can do to serve a download, as
the ceiling that the table benchmark measures RETR against. A thread per
session; USER and PASS (anything is accepted), TYPE, PASV, EPSV, RETR and
QUIT; every other command gets 502. RETR opens the file under --root and
hands it to os.sendfile(2) in one call after another until it is sent.

    python3 sendfile_server.py --port N --root DIR

Not a server to use: no access control beyond staying under the root, no
ASCII type, no timeouts."""

import argparse
import os
import socket
import socketserver


class Session(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        self.root = os.path.realpath(self.server.root)
        self.listener = None
        self.reply("220 sendfile server")
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "USER":
                self.reply("331 password, please")
            elif verb == "PASS":
                self.reply("230 logged in")
            elif verb == "TYPE":
                self.reply("200 type set")
            elif verb in ("PASV", "EPSV"):
                self.passive(verb)
            elif verb == "RETR":
                self.retrieve(argument)
            elif verb == "QUIT":
                self.reply("221 bye")
                break
            else:
                self.reply("502 not implemented")
        if self.listener is not None:
            self.listener.close()

    def passive(self, verb):
        if self.listener is not None:
            self.listener.close()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        port = self.listener.getsockname()[1]
        if verb == "EPSV":
            self.reply("229 entering extended passive mode (|||%d|)" % port)
        else:
            self.reply("227 entering passive mode (127,0,0,1,%d,%d)" % (port >> 8, port & 255))

    def retrieve(self, name):
        path = os.path.realpath(os.path.join(self.root, name.lstrip("/")))
        if self.listener is None:
            self.reply("425 PASV first")
            return
        if not path.startswith(self.root + os.sep):
            self.reply("550 outside the root")
            return
        try:
            source = open(path, "rb")
        except OSError as error:
            self.reply("550 %s" % error.strerror)
            return
        with source:
            size = os.fstat(source.fileno()).st_size
            self.reply("150 opening data connection (%d bytes)" % size)
            data, _ = self.listener.accept()
            self.listener.close()
            self.listener = None
            offset = 0
            try:
                while offset < size:
                    sent = os.sendfile(data.fileno(), source.fileno(), offset, size - offset)
                    if sent == 0:
                        break
                    offset += sent
            except OSError:
                pass
            finally:
                data.close()
        self.reply("226 sent" if offset == size else "426 connection lost")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    arguments = parser.parse_args()
    server = Server(("127.0.0.1", arguments.port), Session)
    server.root = arguments.root
    server.serve_forever()


if __name__ == "__main__":
    main()
