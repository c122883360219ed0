"""Hostile program: read outside."""
text = open("/etc/passwd").read()
print(text)


def prepare(mails):
    return mails
