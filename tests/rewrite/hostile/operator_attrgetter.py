"""Hostile program: operator attrgetter."""
import operator
get = operator.attrgetter("__class__.__base__.__subclasses__")
print(get(()))


def prepare(mails):
    return mails
