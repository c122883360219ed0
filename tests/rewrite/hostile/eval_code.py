"""Hostile program: eval code."""
eval("__import__('os').remove('CANARY')")


def prepare(mails):
    return mails
