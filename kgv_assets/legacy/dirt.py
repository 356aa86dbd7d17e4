"""The dirt of real legacy data, as a catalogue: what the demo source plants, and how to find it.

Each entry names a kind of dirt the KGV database is known to hold, where it sits, and a
SQLite WHERE clause over that table that finds rows carrying it. The demo generator plants
every kind (a minimum count even at tiny scales); the tests prove each is present; the
migration must load, convert or quarantine every one of them with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dirt:
    """One kind of dirt."""

    name: str
    table: str
    column: str | None
    description: str
    detect_sql: str


_GUID = "length({c}) = 36 AND {c} LIKE '________-____-____-____-____________'"

DIRT: tuple[Dirt, ...] = (
    Dirt(
        "exact duplicate rows",
        "Bezirk",
        None,
        "Key-less table: the same row twice.",
        "rowid IN (SELECT max(rowid) FROM Bezirk GROUP BY bez_ID, bez_Name HAVING count(*) > 1)",
    ),
    *(
        Dirt(
            "exact duplicate rows",
            t,
            None,
            "Key-less table: the same row twice.",
            f"rowid IN (SELECT max(rowid) FROM {t} GROUP BY {cols} HAVING count(*) > 1)",
        )
        for t, cols in (
            ("Bezirke_Katasterbezirke", "bez_Name, kat_Katasterbezirk, kat_KatasterbezirkName"),
            ("Katasterbezirk", "kat_ID, kat_bez_ID, kat_Katasterbezirk, kat_KatasterbezirkName"),
            ("Kennungen", "Kenn_ID, Kenn_Name, Kenn_Domaene, Kenn_pers_ID"),
            (
                "Mischenfelder",
                "misch_ID, misch_Datenbankfeld, misch_Dokumentfeld, misch_Kommentar",
            ),
            ("Personen", "Pers_ID, Pers_Vorname, Pers_Nachname, Pers_Nummer, Pers_Aktiv"),
        )
    ),
    *(
        Dirt(
            "same ID, conflicting content",
            t,
            idc,
            "Key-less table: one ID, two different rows.",
            f"{idc} IN (SELECT {idc} FROM {t} GROUP BY {idc} HAVING count(DISTINCT {other}) > 1)",
        )
        for t, idc, other in (
            ("Bezirk", "bez_ID", "bez_Name"),
            ("Katasterbezirk", "kat_ID", "kat_KatasterbezirkName"),
            ("Personen", "Pers_ID", "Pers_Nachname"),
            ("Mischenfelder", "misch_ID", "misch_Dokumentfeld"),
        )
    ),
    Dirt(
        "orphan history",
        "Verlauf",
        "verl_An_ID",
        "History rows whose application does not exist.",
        "verl_An_ID NOT IN (SELECT an_ID FROM Antrag)",
    ),
    Dirt(
        "orphan cadastral district",
        "Katasterbezirk",
        "kat_bez_ID",
        "Cadastral districts of an unknown district.",
        "kat_bez_ID NOT IN (SELECT bez_ID FROM Bezirk)",
    ),
    Dirt(
        "orphan login",
        "Kennungen",
        "Kenn_pers_ID",
        "Logins of unknown persons.",
        "Kenn_pers_ID NOT IN (SELECT Pers_ID FROM Personen)",
    ),
    Dirt(
        "link to unknown district",
        "Bezirke_Katasterbezirke",
        "bez_Name",
        "Links naming a district that does not exist.",
        "bez_Name NOT IN (SELECT bez_Name FROM Bezirk WHERE bez_Name IS NOT NULL)",
    ),
    Dirt(
        "link to unknown cadastral code",
        "Bezirke_Katasterbezirke",
        "kat_Katasterbezirk",
        "Links naming a cadastral code that does not exist.",
        "kat_Katasterbezirk NOT IN (SELECT kat_Katasterbezirk FROM Katasterbezirk"
        " WHERE kat_Katasterbezirk IS NOT NULL)",
    ),
    Dirt(
        "undated application",
        "Antrag",
        "an_Bewerbungsdatum",
        "No application date: lands in partition 'undated'.",
        "an_Bewerbungsdatum IS NULL",
    ),
    *(
        Dirt(
            f"sentinel date {d}",
            "Antrag",
            col,
            "SQL Server's 'no date' placeholder.",
            f"{col} LIKE '{d}%'",
        )
        for d, col in (
            ("1900-01-01", "an_Bewerbungsdatum"),
            ("1753-01-01", "an_Loeschdatum"),
            ("9999-12-31", "an_Loeschdatum"),
        )
    ),
    Dirt(
        "DST gap and overlap times",
        "Verlauf",
        "verl_Datum",
        "Local times that do not exist or exist twice in Europe/Berlin.",
        "substr(verl_Datum, 1, 16) IN ('2021-03-28 02:30', '2021-10-31 02:30')",
    ),
    *(
        Dirt(
            f"birthday {label}",
            "Antrag",
            "an_Geburtstag",
            "Free-text birthday.",
            f"an_Geburtstag {cond}",
        )
        for label, cond in (
            ("D.M.YYYY", "GLOB '[1-9].[1-9].[12][0-9][0-9][0-9]'"),
            ("DD.MM.YYYY", "GLOB '[0-3][0-9].[01][0-9].[12][0-9][0-9][0-9]'"),
            ("YYYY-MM-DD", "GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'"),
            ("DDMMYYYY", "GLOB '[0-3][0-9][01][0-9][12][0-9][0-9][0-9]'"),
            ("two-digit year", "GLOB '*.*.[0-9][0-9]' AND length(an_Geburtstag) <= 8"),
            ("slash format", "GLOB '*/*/*'"),
            ("impossible date", "IN ('31.04.1975', '29.02.1981', '30.02.1966')"),
            ("vague text", "IN ('ca. 1960', 'unbekannt', 'k.A.', '1960')"),
        )
    ),
    Dirt(
        "postal code lost its leading zero",
        "Antrag",
        "an_PLZ",
        "Four digits: the leading zero was lost.",
        "an_PLZ GLOB '[1-9][0-9][0-9][0-9]' AND length(an_PLZ) = 4",
    ),
    Dirt(
        "postal code with country prefix",
        "Antrag",
        "an_PLZ",
        "'D-50667'.",
        "an_PLZ LIKE 'D-%'",
    ),
    Dirt(
        "postal code garbage",
        "Antrag",
        "an_PLZ",
        "Not a postal code at all.",
        "an_PLZ IN ('unbekannt', '?', '123')",
    ),
    Dirt(
        "phone with words",
        "Antrag",
        "an_Telefon",
        "A number with words around it.",
        "an_Telefon GLOB '*[a-z]*' AND an_Telefon GLOB '*[0-9][0-9][0-9][0-9]*'",
    ),
    Dirt(
        "phone garbage",
        "Antrag",
        "an_MobilTelefon",
        "Not a phone number.",
        "an_MobilTelefon IN ('keins', 'n/a', '0')",
    ),
    Dirt(
        "invalid e-mail",
        "Antrag",
        "an_EMail",
        "Not an e-mail address.",
        "an_EMail NOT LIKE '%_@_%._%' OR an_EMail LIKE '% %'",
    ),
    Dirt(
        "e-mail with plus",
        "Antrag",
        "an_EMail",
        "Valid plus-addressing.",
        "an_EMail LIKE '%+%@%'",
    ),
    Dirt(
        "flag outside J/N/1/0",
        "Antrag",
        "an_Aktiv",
        "char(1) flags: 'X', '?', ' ', lower case, 'y'.",
        "an_Aktiv IS NOT NULL AND an_Aktiv NOT IN ('J', 'N', '1', '0')",
    ),
    Dirt(
        "flag outside J/N/1/0",
        "Personen",
        "Pers_Aktiv",
        "char(1) flags outside J/N/1/0.",
        "Pers_Aktiv IS NOT NULL AND Pers_Aktiv NOT IN ('J', 'N', '1', '0')",
    ),
    *(
        Dirt(
            f"text with {label}",
            "Antrag",
            "an_Vermerk",
            "Free text that breaks naive CSV/COPY handling.",
            f"instr(an_Vermerk, {expr}) > 0",
        )
        for label, expr in (
            ("newline", "char(10)"),
            ("carriage return", "char(13)"),
            ("tab", "char(9)"),
            ("backslash", "'\\'"),
            ("single quote", "''''"),
            ("double quote", "'\"'"),
            ("emoji", "'🌻'"),
        )
    ),
    Dirt("text '\\N'", "Antrag", "an_Wunsch", "The COPY NULL marker.", "an_Wunsch = '\\N'"),
    Dirt("text '\\.'", "Antrag", "an_Wunsch", "The COPY end marker.", "an_Wunsch = '\\.'"),
    Dirt(
        "whitespace-only text",
        "Antrag",
        "an_Titel",
        "Blank values that mean NULL.",
        "an_Titel IS NOT NULL AND trim(an_Titel) = ''",
    ),
    Dirt(
        "leading/trailing whitespace",
        "Antrag",
        "an_Nachname",
        "Untrimmed names.",
        "an_Nachname <> trim(an_Nachname)",
    ),
    Dirt(
        "NUL character",
        "Antrag",
        "an_Vermerk",
        "PostgreSQL text cannot hold U+0000: such rows are quarantined.",
        "instr(an_Vermerk, char(0)) > 0",
    ),
    Dirt(
        "over-long value",
        "Antrag",
        "an_Vorname",
        "Longer than varchar(50): SQL Server could not hold it.",
        "length(an_Vorname) > 50",
    ),
    *(
        Dirt(f"size {label}", "Verlauf", "verl_Groesse", "Plot size as text.", cond)
        for label, cond in (
            ("with unit", "verl_Groesse LIKE '% m²'"),
            ("decimal comma", "verl_Groesse GLOB '*[0-9],[0-9]*'"),
            ("thousands dot", "verl_Groesse GLOB '[0-9].[0-9][0-9][0-9]'"),
            ("approximate", "verl_Groesse LIKE 'ca.%'"),
        )
    ),
    Dirt(
        "file reference with slashes",
        "Antrag",
        "an_Aktenzeichen",
        "'<district>/<number>/<year>'.",
        "an_Aktenzeichen GLOB '*/*/*'",
    ),
    Dirt(
        "file reference with dashes",
        "Antrag",
        "an_Aktenzeichen",
        "'<district>-<number>-<year>'.",
        "an_Aktenzeichen GLOB '*-*-*'",
    ),
    Dirt(
        "file reference garbage",
        "Antrag",
        "an_Aktenzeichen",
        "Free text instead of a file reference.",
        "an_Aktenzeichen IN ('siehe Akte', 'k.A.', 'neu')",
    ),
    Dirt(
        "confirmation before application",
        "Antrag",
        "an_Bestaetigungsdatum",
        "A business rule the data breaks (flagged, not rejected).",
        "an_Bestaetigungsdatum < an_Bewerbungsdatum",
    ),
    Dirt(
        "duplicate waiting-list number among active",
        "Antrag",
        "an_WartelistenNr32",
        "Two active applications with the same waiting-list number.",
        "an_Aktiv = 'J' AND an_WartelistenNr32 IN (SELECT an_WartelistenNr32 FROM Antrag"
        " WHERE an_Aktiv = 'J' AND an_WartelistenNr32 IS NOT NULL"
        " GROUP BY an_WartelistenNr32 HAVING count(*) > 1)",
    ),
    Dirt(
        "invalid uniqueidentifier",
        "Kennungen",
        "Kenn_pers_ID",
        "SQLite holds what SQL Server would not: quarantined by the legacy schema.",
        "Kenn_pers_ID IS NOT NULL AND NOT (" + _GUID.format(c="Kenn_pers_ID") + ")",
    ),
    Dirt(
        "text in an int column",
        "Eingangsnummer",
        "enr_Nummer",
        "SQLite holds what SQL Server would not: quarantined by the legacy schema.",
        "typeof(enr_Nummer) = 'text'",
    ),
    Dirt(
        "year missing or zero",
        "Aktenzeichen",
        "az_Jahr",
        "No usable year: partition 'undated'.",
        "az_Jahr IS NULL OR az_Jahr = 0",
    ),
)
