"""Hostile program: dunder import."""
__import__("os").remove("CANARY")


def prepare(mails):
    return mails
