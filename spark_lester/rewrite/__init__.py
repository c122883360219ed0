"""LLM-assisted rewrite of messy pipelines into the DataFrame subset, validated by execution.

Flow: :mod:`.prompts` build a stage's request, :mod:`.client` sends it (the only importer of
``openai``), :mod:`.extract` takes the program out of the answer, :mod:`.validate` checks it
(parse, :mod:`.allowlist`, run original and rewrite in :mod:`.sandbox`, :mod:`.compare`
outputs as multisets, provenance), :mod:`.loop` feeds failures back for up to N rounds, and
:mod:`.report` writes the outcome. :mod:`.fake_server` stands in for the endpoint in tests.
Heavy modules are not imported here, so importing this package needs neither openai nor Spark.
"""
