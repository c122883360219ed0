"""Hostile program: kill parent."""
import os
os.kill(os.getppid(), 9)


def prepare(mails):
    return mails
