"""Hostile program: write outside."""
open("CANARY", "w").write("pwned")


def prepare(mails):
    return mails
