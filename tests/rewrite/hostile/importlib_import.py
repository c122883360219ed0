"""Hostile program: importlib import."""
import importlib
importlib.import_module("os").remove("CANARY")


def prepare(mails):
    return mails
