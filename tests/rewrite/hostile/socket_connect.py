"""Hostile program: socket connect."""
import socket
s = socket.create_connection(("93.184.216.34", 80), timeout=2)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")


def prepare(mails):
    return mails
