"""The legacy KGV SQL Server schema (``dbo``) as data: the single source of truth.

Everything that needs to know the legacy tables reads this module: the T-SQL DDL under
``sql/legacy``, the pandera schema of each legacy table, the column lists the extractor
selects (never ``SELECT *``), the staging tables in PostgreSQL and the demo-data generator.

Facts of the system being migrated: only the ID columns are NOT NULL, there are no foreign
keys and no indexes, and six tables have no primary key at all (so duplicates exist).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["uid", "varchar", "char", "int", "datetime"]

_SHORT_TYPES = re.compile(r"^(?:(uid)|(int)|(datetime)|vc(\d+)|char(\d+))$")


@dataclass(frozen=True)
class Column:
    """One legacy column with its T-SQL type."""

    name: str
    kind: Kind
    length: int | None = None
    nullable: bool = True

    @property
    def tsql_type(self) -> str:
        """The column's type as written in T-SQL DDL."""
        if self.kind == "uid":
            return "uniqueidentifier"
        if self.kind in ("varchar", "char"):
            return f"{self.kind}({self.length})"
        return self.kind

    @property
    def pg_staging_type(self) -> str:
        """The PostgreSQL type that holds every valid value of this column losslessly."""
        return {
            "uid": "uuid",
            "int": "integer",
            "datetime": "timestamp without time zone",
            "varchar": "text",
            "char": "text",
        }[self.kind]


@dataclass(frozen=True)
class Table:
    """One legacy table: its columns, key and partitioning rule."""

    name: str
    columns: tuple[Column, ...]
    primary_key: str | None
    description: str
    partition_column: str | None = None

    @property
    def column_names(self) -> list[str]:
        """Column names in catalogue (= legacy DDL) order."""
        return [c.name for c in self.columns]

    @property
    def order_by(self) -> list[str]:
        """A stable extraction order: the primary key, or all columns where there is none."""
        return [self.primary_key] if self.primary_key else self.column_names

    @property
    def is_partitioned(self) -> bool:
        """Whether the table is split into yearly partitions."""
        return self.partition_column is not None

    @property
    def key_column(self) -> str | None:
        """The column that identifies a row for people (primary key, else the ID column)."""
        if self.primary_key:
            return self.primary_key
        ids = [c.name for c in self.columns if not c.nullable]
        return ids[0] if ids else None

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _columns(spec: str, id_column: str | None) -> tuple[Column, ...]:
    """Parse ``"an_ID uid, an_PLZ vc10, an_Aktiv char1"`` into columns (the issue's notation)."""
    out = []
    for item in spec.split(","):
        name, short = item.split()
        m = _SHORT_TYPES.match(short)
        if not m:
            raise ValueError(f"unknown type {short!r} for {name}")
        uid, int_, dt, vc, ch = m.groups()
        if uid:
            col = Column(name, "uid")
        elif int_:
            col = Column(name, "int")
        elif dt:
            col = Column(name, "datetime")
        elif vc:
            col = Column(name, "varchar", int(vc))
        else:
            col = Column(name, "char", int(ch))
        if name == id_column:
            col = Column(col.name, col.kind, col.length, nullable=False)
        out.append(col)
    return tuple(out)


def _table(
    name: str,
    spec: str,
    *,
    primary_key: str | None,
    id_column: str | None,
    description: str,
    partition_column: str | None = None,
) -> Table:
    return Table(name, _columns(spec, id_column), primary_key, description, partition_column)


TABLES: tuple[Table, ...] = (
    _table(
        "Aktenzeichen",
        "az_ID uid, az_Bezirk vc10, az_Nummer int, az_Jahr int",
        primary_key="az_ID",
        id_column="az_ID",
        partition_column="az_Jahr",
        description="File references (Aktenzeichen): district code, running number and year.",
    ),
    _table(
        "Antrag",
        "an_ID uid, an_Aktenzeichen vc20, an_WartelistenNr32 vc20, an_WartelistenNr33 vc20, "
        "an_Anrede vc10, an_Titel vc50, an_Vorname vc50, an_Nachname vc50, an_Anrede2 vc10, "
        "an_Titel2 vc50, an_Vorname2 vc50, an_Nachname2 vc50, an_Briefanrede vc150, "
        "an_Strasse vc50, an_PLZ vc10, an_Ort vc50, an_Telefon vc50, an_MobilTelefon vc50, "
        "an_GeschTelefon vc50, an_Bewerbungsdatum datetime, an_Bestaetigungsdatum datetime, "
        "an_AktuellesAngebot datetime, an_Loeschdatum datetime, an_Wunsch vc600, "
        "an_Vermerk vc2000, an_Aktiv char1, an_DeaktiviertAm datetime, an_Geburtstag vc100, "
        "an_Geburtstag2 vc100, an_MobilTelefon2 vc50, an_EMail vc100",
        primary_key="an_ID",
        id_column="an_ID",
        partition_column="an_Bewerbungsdatum",
        description="Plot applications (Anträge): applicants, addresses, waiting lists, dates.",
    ),
    _table(
        "Bezirk",
        "bez_ID uid, bez_Name vc10",
        primary_key=None,
        id_column="bez_ID",
        description="Districts (Bezirke) of the city's allotment-garden administration.",
    ),
    _table(
        "Bezirke_Katasterbezirke",
        "bez_Name vc10, kat_Katasterbezirk vc10, kat_KatasterbezirkName vc50",
        primary_key=None,
        id_column=None,
        description="Many-to-many links of districts and cadastral districts, by name and code.",
    ),
    _table(
        "Eingangsnummer",
        "enr_ID uid, enr_Bezirk vc10, enr_Nummer int, enr_Jahr int",
        primary_key="enr_ID",
        id_column="enr_ID",
        partition_column="enr_Jahr",
        description="Entry numbers (Eingangsnummern) handed out per district and year.",
    ),
    _table(
        "Katasterbezirk",
        "kat_ID uid, kat_bez_ID uid, kat_Katasterbezirk vc10, kat_KatasterbezirkName vc50",
        primary_key=None,
        id_column="kat_ID",
        description="Cadastral districts (Katasterbezirke) and the district each belongs to.",
    ),
    _table(
        "Kennungen",
        "Kenn_ID uid, Kenn_Name vc50, Kenn_Domaene vc50, Kenn_pers_ID uid",
        primary_key=None,
        id_column="Kenn_ID",
        description="Windows logins (Kennungen) of the clerks in Personen.",
    ),
    _table(
        "Mischenfelder",
        "misch_ID uid, misch_Datenbankfeld vc50, misch_Dokumentfeld vc50, misch_Kommentar vc100",
        primary_key=None,
        id_column="misch_ID",
        description="Mail-merge field mappings (Mischenfelder): database field → document field.",
    ),
    _table(
        "Personen",
        "Pers_ID uid, Pers_Anrede vc10, Pers_Vorname vc50, Pers_Nachname vc50, Pers_Nummer vc7, "
        "Pers_Organisationseinheit vc10, Pers_Zimmer vc10, Pers_Telefon vc10, Pers_FAX vc10, "
        "Pers_Email vc50, Pers_Diktatzeichen vc5, Pers_Unterschrift vc50, "
        "Pers_Dienstbezeichnung vc30, Pers_Grp_ID uid, Pers_istAdmin char1, "
        "Pers_darfAdministration char1, Pers_darfLeistungsgruppen char1, "
        "Pers_darfPrioUndSLA char1, Pers_darfKunden char1, Pers_Aktiv char1",
        primary_key=None,
        id_column="Pers_ID",
        description="Clerks (Personen) who work on applications, with their permissions.",
    ),
    _table(
        "Verlauf",
        "verl_ID uid, verl_An_ID uid, verl_Art vc4, verl_Datum datetime, verl_Gemarkung vc50, "
        "verl_Flur vc20, verl_Parzelle vc20, verl_Groesse vc20, verl_Sachbearbeiter vc100, "
        "verl_Hinweis vc100, verl_Kommentar vc255",
        primary_key="verl_ID",
        id_column="verl_ID",
        partition_column="verl_Datum",
        description="History (Verlauf): events of an application, such as offers and contracts.",
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The catalogue entry of the legacy table ``name``."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown legacy table {name!r}") from None
