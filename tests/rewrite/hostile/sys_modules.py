"""Hostile program: sys modules."""
import sys
sys.modules["os"].system("rm -f CANARY")


def prepare(mails):
    return mails
