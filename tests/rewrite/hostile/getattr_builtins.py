"""Hostile program: getattr builtins."""
import builtins
getattr(builtins, "op" + "en")("CANARY", "w").write("pwned")


def prepare(mails):
    return mails
