"""Deletion requests applied to every artifact of every affected run (``unlearn``).

``request`` (what to delete), ``resolve`` and ``change`` (what it changes, per run),
``propagate`` (the IVM rules), ``merge`` (MERGE by row id), ``model`` (the model step),
``erasure`` and ``verify`` (physical purge and its proof), ``quality``, ``ledger``.
Nothing heavy is imported here.
"""
