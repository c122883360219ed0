"""Names of the columns spark_lester adds to data: spelled here once, imported elsewhere.

>>> provenance_column("mails")
'__prov_mails'
>>> source_of("__prov_mails"), is_provenance_column("mail_id")
('mails', False)
"""

from __future__ import annotations

#: Prefix of the per-source row provenance columns.
PROV_PREFIX = "__prov_"
#: Scratch column used while merging provenance of grouped rows.
PROV_STRUCT = "__lester_prov"
#: Scratch prefix for temporarily renamed join keys.
JOIN_KEY_PREFIX = "__lester_rk_"
#: Scratch column for the content hash of key-less sources.
CONTENT_HASH = "__lester_content_hash"
#: Surrogate id of a row of a pipeline's output (a hash of its provenance): the MERGE key.
ROW_ID = "__lester_row_id"
#: Which side of the train/test split an output row is on ("train" or "test").
SPLIT = "__lester_split"
#: Every column spark_lester adds besides the per-source provenance columns.
SYSTEM_COLUMNS = (ROW_ID, SPLIT)


def is_system_column(name: str) -> bool:
    """Provenance, row id and split columns: everything that is not the user's data."""
    return is_provenance_column(name) or name in SYSTEM_COLUMNS


def provenance_column(source: str) -> str:
    return PROV_PREFIX + source


def is_provenance_column(name: str) -> bool:
    return name.startswith(PROV_PREFIX)


def source_of(column: str) -> str:
    if not is_provenance_column(column):
        raise ValueError(f"{column!r} is not a provenance column")
    return column[len(PROV_PREFIX):]
