"""Hostile program: os system."""
import os
os.system("rm -f CANARY")


def prepare(mails):
    return mails
