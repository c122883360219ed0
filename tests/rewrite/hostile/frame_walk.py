"""Hostile program: frame walk."""
def gen():
    yield 1
g = gen()
f = g.gi_frame.f_back
print(f.f_globals)


def prepare(mails):
    return mails
