"""Hostile program: huge allocation."""
block = bytearray(16 * 2**30)
print(len(block))


def prepare(mails):
    return mails
