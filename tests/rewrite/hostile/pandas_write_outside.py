"""Hostile program: pandas write outside."""
import pandas as pd
pd.DataFrame({"a": [1]}).to_csv("CANARY")


def prepare(mails):
    return mails
