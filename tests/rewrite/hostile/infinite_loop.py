"""Hostile program: infinite loop."""
while True:
    pass


def prepare(mails):
    return mails
