"""Recoverability of the target: pgBackRest, logical dumps, retention, encryption, rollback.

``pgbackrest`` (physical backups, WAL archiving, point-in-time restore into a new cluster),
``dumps`` (logical dumps with a manifest, verified by a restore into a private cluster),
``retention`` (which dumps to keep: a pure function), ``encryption`` (``age``), ``snapshots``
(the pre-migration snapshot and ``kgv migrate rollback``), ``cluster`` (private, throw-away
PostgreSQL clusters), ``cli`` (``kgv backup ...``). The operator's guide is the README's
"Operations" section.
"""
