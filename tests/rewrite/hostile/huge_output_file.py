"""Hostile program: huge output file."""
import numpy as np
with open("big.bin", "wb") as fh:
    while True:
        fh.write(b"x" * 2**20)


def prepare(mails):
    return mails
