"""Hostile program: shutil rmtree."""
import shutil
shutil.rmtree("CANARY_DIR")


def prepare(mails):
    return mails
