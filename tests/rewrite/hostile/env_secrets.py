"""Hostile program: env secrets."""
import os
print(os.environ.get("OPENAI_API_KEY"))
print(os.environ.get("AWS_SECRET_ACCESS_KEY"))


def prepare(mails):
    return mails
