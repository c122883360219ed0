"""Hostile program: deep recursion memory."""
def f(n):
    return [0] * 10**8 + f(n + 1)
f(0)


def prepare(mails):
    return mails
