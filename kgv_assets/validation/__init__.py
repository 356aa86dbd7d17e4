"""Data-quality checks of the migration as plain SQL + pandas, testable without Dagster.

One module per concern: ``reconciliation`` (source = loaded + quarantined), ``content`` (row
hashes of the source against the target and the quarantine), ``integrity`` (keys, foreign
keys), ``rules`` (domain and business rules), ``columns`` (the column schema a table really
has). ``registry`` says which checks apply to which target table; ``kgv_assets/defs/checks``
turns each into a Dagster asset check. Every check returns an ``Outcome``: counts,
percentages and sample keys, never personal data.
"""
