"""Hostile program: ctypes libc."""
import ctypes
ctypes.CDLL(None).system(b"rm -f CANARY")


def prepare(mails):
    return mails
