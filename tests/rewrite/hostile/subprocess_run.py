"""Hostile program: subprocess run."""
import subprocess
subprocess.run(["rm", "-f", "CANARY"])


def prepare(mails):
    return mails
