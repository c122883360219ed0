"""Hostile program: exec code."""
exec("import os\nos.remove('CANARY')")


def prepare(mails):
    return mails
