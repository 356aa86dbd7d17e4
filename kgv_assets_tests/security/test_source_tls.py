"""The legacy SQL Server's TLS options reach the ODBC driver as the operator wrote them.

``Encrypt`` and ``TrustServerCertificate`` in ``KGV_SOURCE_URL`` are passed through by the
resource's engine into the ODBC connection string (no server needed: the dialect builds the
string the driver receives; pyodbc is installed with the project).
"""

from __future__ import annotations

import pytest

from kgv_assets.resources.legacy_source import LegacySourceResource


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Encrypt=yes&TrustServerCertificate=no", ["Encrypt=yes", "TrustServerCertificate=no"]),
        ("Encrypt=strict", ["Encrypt=strict"]),
    ],
)
def test_encrypt_options_reach_the_driver(query: str, expected: list[str]) -> None:
    source = LegacySourceResource(
        url=f"mssql+pyodbc://reader:pw@sqlhost:1433/KGV?driver=ODBC+Driver+18+for+SQL+Server&{query}"
    )
    engine = source.engine
    args, _ = engine.dialect.create_connect_args(engine.url)
    connection_string = args[0]
    for option in expected:
        assert option in connection_string.split(";")
    assert "sqlhost,1433" in connection_string
    engine.dispose()
