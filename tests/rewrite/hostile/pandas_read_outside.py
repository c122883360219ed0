"""Hostile program: pandas read outside."""
import pandas as pd
print(pd.read_csv("/etc/passwd", sep=":", header=None))


def prepare(mails):
    return mails
