"""Deletion requests applied to every artifact of every affected run (``unlearn``).

``request`` (what to delete), ``resolve`` and ``ivm`` (what it changes, per run:
``ivm.propagate``, the IVM rules, and ``ivm.change``), ``merge`` (MERGE by row id),
``model`` (the model step), ``erasure`` and ``verify`` (physical purge and its proof),
``quality``, ``ledger``.
Nothing heavy is imported here.
"""
