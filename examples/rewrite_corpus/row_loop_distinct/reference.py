SOURCES = {"visits": {}}


def prepare(visits):
    return visits.select("user", "page").distinct()
