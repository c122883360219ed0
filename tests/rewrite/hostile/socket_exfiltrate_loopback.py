"""Hostile program: socket exfiltrate loopback."""
import socket
s = socket.socket()
s.connect(("127.0.0.1", 22))


def prepare(mails):
    return mails
