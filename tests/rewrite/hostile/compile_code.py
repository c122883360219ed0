"""Hostile program: compile code."""
code = compile("import os; os.remove('CANARY')", "x", "exec")
exec(code)


def prepare(mails):
    return mails
