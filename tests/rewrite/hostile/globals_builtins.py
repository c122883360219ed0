"""Hostile program: globals builtins."""
globals()["__builtins__"]["open"]("CANARY", "w").write("pwned")


def prepare(mails):
    return mails
