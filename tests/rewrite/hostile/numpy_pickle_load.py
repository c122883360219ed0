"""Hostile program: numpy pickle load."""
import numpy as np
np.load("CANARY", allow_pickle=True)


def prepare(mails):
    return mails
