"""The embedded demo source: a deterministic, realistic German KGV database in SQLite.

Same table and column names as the legacy SQL Server schema (from the catalogue), with the
dirt real legacy data has (``kgv_assets.legacy.dirt``). Scale 1 is a mid-size city: about
40,000 applications and 100,000 history rows; ``scale`` multiplies the dated tables (0.01
for fast tests, 4.5 ≈ 1M rows) and the small reference tables mildly.

Fast at scale: Faker (de_DE) draws small pools of names, streets and places once; rows are
assembled with numpy from those pools; each table is written with one ``executemany`` in one
transaction. Deterministic: the same scale and seed give the same rows.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker

from kgv_assets.legacy.catalogue import TABLES, Table

KNOWN_APPLICANT = ("Gerlinde", "Kleingärtner-Mustermann")
"""A planted applicant (always row 0 of Antrag) that privacy tests search logs and reports for."""

POOL = 1500
FIRST_YEAR, LAST_YEAR = 1995, 2026
EVENT_CODES = np.array(["BEW", "ANG", "VERT", "ABL", "ERIN", "LOE", "KUEN", "UMZ"])
MIN_DIRT = 3


class _Maker:
    """Draws values for one generation run (one rng, one Faker, shared pools)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        fake = Faker("de_DE")
        fake.seed_instance(seed)
        self.female = np.array([fake.first_name_female() for _ in range(POOL)], dtype=object)
        self.male = np.array([fake.first_name_male() for _ in range(POOL)], dtype=object)
        self.last = np.array([fake.last_name() for _ in range(POOL)], dtype=object)
        self.street = np.array([fake.street_name() for _ in range(POOL)], dtype=object)
        self.city = np.array([fake.city() for _ in range(POOL)], dtype=object)
        self.postcode = np.array([fake.postcode() for _ in range(POOL)], dtype=object)
        self.words = np.array([fake.word() for _ in range(POOL)], dtype=object)
        self.sentences = np.array([fake.sentence(nb_words=8) for _ in range(POOL)], dtype=object)

    def pick(self, pool: np.ndarray, n: int) -> np.ndarray:
        return pool[self.rng.integers(0, len(pool), size=n)]

    def uids(self, n: int, upper: float = 0.5) -> np.ndarray:
        raw = self.rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        out = np.array([str(uuid.UUID(bytes=b.tobytes())) for b in raw], dtype=object)
        up = self.rng.random(n) < upper
        out[up] = np.array([u.upper() for u in out[up]], dtype=object)
        return out

    def rows(self, n: int, k: int) -> np.ndarray:
        """Distinct row numbers, k of them (at least MIN_DIRT when the table is large enough)."""
        k = min(n, max(k, MIN_DIRT))
        return self.rng.choice(n, size=k, replace=False)

    def some(self, n: int, rate: float) -> np.ndarray:
        return self.rows(n, int(n * rate))

    def datetimes(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Uniform datetimes between start and end (datetime64[s] arrays)."""
        span = (end - start).astype("int64")
        offset = (self.rng.random(len(span)) * np.maximum(span, 1)).astype("int64")
        return start + offset.astype("timedelta64[s]")


def _or_none(present: np.ndarray, values: object) -> np.ndarray:
    """``values`` where ``present``, else None (an object array, as the legacy columns are)."""
    return np.where(present, values, np.array(None, dtype=object))  # type: ignore[arg-type]


def _text(ts: np.ndarray, millis: bool = True) -> np.ndarray:
    """SQL Server style 121 text: 'YYYY-MM-DD hh:mm:ss.mmm'."""
    s = pd.Series(np.datetime_as_string(ts, unit="ms" if millis else "s"))
    return s.str.replace("T", " ", regex=False).to_numpy(dtype=object)


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return (
        pd.Series(rng.integers(0, 10**width, size=n))
        .astype(str)
        .str.zfill(width)
        .to_numpy(dtype=object)
    )


def _districts(m: _Maker, scale: float) -> pd.DataFrame:
    names = ["32", "33", "Nord", "Süd", "Ost", "West", "Mitte"]
    names += [f"{i:02d}" for i in range(1, max(6, round(33 * scale**0.3)))]
    names = list(dict.fromkeys(names))
    df = pd.DataFrame({"bez_ID": m.uids(len(names)), "bez_Name": names})
    dup = df.iloc[m.rows(len(df), 2)]
    conflict = df.iloc[m.rows(len(df), 1)].assign(bez_Name=lambda d: d["bez_Name"] + "a")
    return pd.concat([df, dup, conflict], ignore_index=True)


def _cadastral(m: _Maker, districts: pd.DataFrame, scale: float) -> pd.DataFrame:
    n = max(40, round(200 * scale**0.3))
    bez = districts.drop_duplicates("bez_ID")["bez_ID"].to_numpy()
    codes = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(4).to_numpy(dtype=object)
    df = pd.DataFrame(
        {
            "kat_ID": m.uids(n),
            "kat_bez_ID": m.pick(bez, n),
            "kat_Katasterbezirk": codes,
            "kat_KatasterbezirkName": m.pick(m.city, n),
        }
    )
    orphan = m.rows(n, 3)
    df.loc[orphan, "kat_bez_ID"] = m.uids(len(orphan))
    dup = df.iloc[m.rows(n, 3)]
    conflict = df.iloc[m.rows(n, 2)].assign(kat_KatasterbezirkName="Umbenannt")
    return pd.concat([df, dup, conflict], ignore_index=True)


def _links(m: _Maker, districts: pd.DataFrame, cadastral: pd.DataFrame) -> pd.DataFrame:
    kat = cadastral.drop_duplicates("kat_ID")
    names = districts.drop_duplicates("bez_ID").set_index("bez_ID")["bez_Name"]
    df = pd.DataFrame(
        {
            "bez_Name": kat["kat_bez_ID"].map(names).to_numpy(),
            "kat_Katasterbezirk": kat["kat_Katasterbezirk"].to_numpy(),
            "kat_KatasterbezirkName": kat["kat_KatasterbezirkName"].to_numpy(),
        }
    ).dropna(subset=["bez_Name"])
    n = len(df)
    unknown_district = df.iloc[m.rows(n, 2)].assign(bez_Name="Atlantis")
    unknown_code = df.iloc[m.rows(n, 2)].assign(kat_Katasterbezirk="X999")
    dup = df.iloc[m.rows(n, 3)]
    return pd.concat([df, unknown_district, unknown_code, dup], ignore_index=True)


def _file_numbers(m: _Maker, n: int, district_names: np.ndarray, prefix: str) -> pd.DataFrame:
    years = m.rng.integers(FIRST_YEAR, LAST_YEAR + 1, size=n)
    df = pd.DataFrame(
        {
            f"{prefix}_ID": m.uids(n),
            f"{prefix}_Bezirk": m.pick(district_names, n),
            f"{prefix}_Jahr": years.astype(object),
        }
    )
    df[f"{prefix}_Nummer"] = (
        df.groupby([f"{prefix}_Bezirk", f"{prefix}_Jahr"]).cumcount().to_numpy() + 1
    ).astype(object)
    return df[[f"{prefix}_ID", f"{prefix}_Bezirk", f"{prefix}_Nummer", f"{prefix}_Jahr"]]


def _phones(m: _Maker, n: int, mobile: bool) -> np.ndarray:
    area = np.array(["0221", "030", "089", "040", "0211", "0228"], dtype=object)
    if mobile:
        area = np.array(["0171", "0151", "0160", "0176"], dtype=object)
    number = _digits(m.rng, n, 7)
    style = m.rng.integers(0, 4, size=n)
    a = m.pick(area, n)
    out = np.where(
        style == 0,
        a + " " + number,
        np.where(style == 1, a + "/" + number, np.where(style == 2, a + "-" + number, "")),
    ).astype(object)
    intl = style == 3
    out[intl] = "+49 " + pd.Series(a[intl]).str[1:].to_numpy(dtype=object) + " " + number[intl]
    return out


def _antrag(m: _Maker, n: int, akten: pd.DataFrame) -> pd.DataFrame:
    rng = m.rng
    female = rng.random(n) < 0.5
    first = np.where(female, m.pick(m.female, n), m.pick(m.male, n)).astype(object)
    last = m.pick(m.last, n)
    start = np.datetime64(f"{FIRST_YEAR}-01-01T08:00:00", "s")
    end = np.datetime64(f"{LAST_YEAR}-11-01T18:00:00", "s")
    applied = m.datetimes(np.full(n, start), np.full(n, end))
    confirmed = applied + (rng.integers(1, 60, size=n) * 86400).astype("timedelta64[s]")
    offer = applied + (rng.integers(100, 4000, size=n) * 86400).astype("timedelta64[s]")
    born = m.datetimes(
        np.full(n, np.datetime64("1935-01-01", "s")), np.full(n, np.datetime64("2004-12-31", "s"))
    )
    active = rng.random(n) < 0.7
    az = akten.iloc[rng.integers(0, len(akten), size=n)]
    az_text = (
        az["az_Bezirk"].astype(str)
        + "/"
        + az["az_Nummer"].astype(int).astype(str).str.zfill(4)
        + "/"
        + az["az_Jahr"].astype(str)
    ).to_numpy(dtype=object)
    has_az = rng.random(n) < 0.8
    district32 = rng.random(n) < 0.35
    df = pd.DataFrame(
        {
            "an_ID": m.uids(n),
            "an_Aktenzeichen": _or_none(has_az, az_text),
            "an_WartelistenNr32": _or_none(
                district32, "W32-" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(5)
            ),
            "an_WartelistenNr33": _or_none(
                ~district32 & (rng.random(n) < 0.4),
                "W33-" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(5),
            ),
            "an_Anrede": np.where(female, "Frau", "Herr"),
            "an_Titel": _or_none(rng.random(n) < 0.06, m.pick(np.array(["Dr.", "Prof."]), n)),
            "an_Vorname": first,
            "an_Nachname": last,
            "an_Anrede2": None,
            "an_Titel2": None,
            "an_Vorname2": None,
            "an_Nachname2": None,
            "an_Briefanrede": np.where(female, "Sehr geehrte Frau ", "Sehr geehrter Herr ") + last,
            "an_Strasse": m.pick(m.street, n) + " " + rng.integers(1, 200, size=n).astype(str),
            "an_PLZ": m.pick(m.postcode, n),
            "an_Ort": m.pick(m.city, n),
            "an_Telefon": _or_none(rng.random(n) < 0.8, _phones(m, n, False)),
            "an_MobilTelefon": _or_none(rng.random(n) < 0.5, _phones(m, n, True)),
            "an_GeschTelefon": _or_none(rng.random(n) < 0.1, _phones(m, n, False)),
            "an_Bewerbungsdatum": _text(applied),
            "an_Bestaetigungsdatum": _or_none(rng.random(n) < 0.9, _text(confirmed)),
            "an_AktuellesAngebot": _or_none(rng.random(n) < 0.3, _text(offer)),
            "an_Loeschdatum": None,
            "an_Wunsch": _or_none(rng.random(n) < 0.4, m.pick(m.sentences, n)),
            "an_Vermerk": _or_none(rng.random(n) < 0.3, m.pick(m.sentences, n)),
            "an_Aktiv": np.where(active, "J", np.where(rng.random(n) < 0.5, "N", "0")),
            "an_DeaktiviertAm": _or_none(~active, _text(offer)),
            "an_Geburtstag": pd.Series(
                pd.DatetimeIndex(born.astype("datetime64[D]")).strftime("%d.%m.%Y")
            ),
            "an_Geburtstag2": None,
            "an_MobilTelefon2": None,
            "an_EMail": _or_none(
                rng.random(n) < 0.6,
                pd.Series(first).str.lower()
                + "."
                + pd.Series(last).str.lower().str.replace(" ", "", regex=False)
                + "@example.de",
            ),
        }
    ).astype(object)
    second = m.some(n, 0.25)
    df.loc[second, "an_Anrede2"] = "Frau"
    df.loc[second, "an_Vorname2"] = m.pick(m.female, len(second))
    df.loc[second, "an_Nachname2"] = df.loc[second, "an_Nachname"]
    df.loc[second, "an_Geburtstag2"] = df.loc[second, "an_Geburtstag"]
    mobile2 = m.some(n, 0.1)
    df.loc[mobile2, "an_MobilTelefon2"] = _phones(m, len(mobile2), True)
    _plant_antrag_dirt(m, df)
    df.loc[0, ["an_Vorname", "an_Nachname", "an_Anrede", "an_Aktiv"]] = [
        *KNOWN_APPLICANT,
        "Frau",
        "J",
    ]
    return df


def _plant(m: _Maker, df: pd.DataFrame, column: str, values: list[object], rate: float) -> None:
    """Put ``values`` into ``column`` of about ``rate`` of the rows, each value at least once."""
    rows = m.rows(len(df), max(int(len(df) * rate), len(values)))
    pool = np.array(values, dtype=object)
    drawn = m.pick(pool, len(rows))
    drawn[: len(pool)] = pool[: len(rows)]
    df.loc[df.index[rows], column] = drawn


def _plant_antrag_dirt(m: _Maker, df: pd.DataFrame) -> None:
    n = len(df)
    birthdays = {
        "d.m.yyyy": pd.Series(df["an_Geburtstag"]).str.replace(
            r"^0?(\d+)\.0?(\d+)\.", r"\1.\2.", regex=True
        ),
    }
    short = m.some(n, 0.05)
    df.loc[df.index[short], "an_Geburtstag"] = birthdays["d.m.yyyy"].iloc[short].to_numpy()
    for fmt, rate in (("%Y-%m-%d", 0.03), ("%d%m%Y", 0.02), ("%d.%m.%y", 0.03)):
        rows = m.some(n, rate)
        parsed = pd.to_datetime(df["an_Geburtstag"].iloc[rows], format="%d.%m.%Y", errors="coerce")
        df.loc[df.index[rows], "an_Geburtstag"] = parsed.dt.strftime(fmt).to_numpy()
    _plant(m, df, "an_Geburtstag", ["05/06/1970", "12/11/1958", "3/4/66"], 0.005)
    _plant(m, df, "an_Geburtstag", ["31.04.1975", "29.02.1981", "30.02.1966"], 0.003)
    _plant(m, df, "an_Geburtstag", ["ca. 1960", "unbekannt", "k.A.", "1960", " "], 0.01)
    _plant(m, df, "an_Geburtstag", [None], 0.05)
    zero = df["an_PLZ"].astype(str).str.startswith("0")
    lost = df.index[zero][: max(MIN_DIRT, int(zero.sum() * 0.3))]
    df.loc[lost, "an_PLZ"] = df.loc[lost, "an_PLZ"].str[1:]
    if not len(lost):
        _plant(m, df, "an_PLZ", ["1067", "4109", "9111"], 0.001)
    _plant(m, df, "an_PLZ", ["D-50667", "D-10115", "D 80331"], 0.005)
    _plant(m, df, "an_PLZ", ["unbekannt", "?", "123"], 0.003)
    _plant(
        m,
        df,
        "an_Telefon",
        ["0221 123456 (nur abends)", "privat: 030/1234567", "tagsüber 089 987654", "AB 0228/4711"],
        0.01,
    )
    _plant(m, df, "an_MobilTelefon", ["keins", "n/a", "0", "0221 1 oder 0171 2"], 0.005)
    _plant(m, df, "an_EMail", ["max@", "a b@example.de", "no-at-sign.de", "x@localhost"], 0.01)
    _plant(m, df, "an_EMail", ["anna+kgv@example.de", "kleingarten+2019@web.de"], 0.005)
    _plant(m, df, "an_Aktiv", ["X", "?", " ", "j", "y", "n", None], 0.01)
    _plant(m, df, "an_Bewerbungsdatum", [None], 0.01)
    _plant(m, df, "an_Bewerbungsdatum", ["1900-01-01 00:00:00.000"], 0.003)
    _plant(m, df, "an_Loeschdatum", ["1753-01-01 00:00:00.000", "9999-12-31 23:59:59.997"], 0.005)
    _plant(
        m,
        df,
        "an_Vermerk",
        [
            "Zeile eins\nZeile zwei",
            "Windows\r\nZeilenende",
            "Spalte\tSpalte",
            "Pfad C:\\Gärten\\neu",
            "Er sagte 'bitte' und \"danke\"",
            "Freut sich 🌻🏡",
            "ende\\.",
        ],
        0.01,
    )
    _plant(m, df, "an_Wunsch", ["\\N", "\\.", "\\", "mit \\N drin"], 0.003)
    _plant(m, df, "an_Titel", [" ", "", "   "], 0.005)
    rows = m.some(n, 0.01)
    df.loc[df.index[rows], "an_Nachname"] = " " + df.loc[df.index[rows], "an_Nachname"] + " "
    _plant(m, df, "an_Vermerk", ["Notiz mit\x00NUL", "\x00"], 0.0001)
    _plant(m, df, "an_Vorname", ["Maximilian-Alexander-Friedrich-Wilhelm-Konstantin von X"], 0.0002)
    _plant(m, df, "an_Aktenzeichen", ["siehe Akte", "k.A.", "neu"], 0.01)
    rows = m.some(n, 0.01)
    dashed = df["an_Aktenzeichen"].iloc[rows].str.replace("/", "-", regex=False)
    df.loc[df.index[rows], "an_Aktenzeichen"] = dashed.to_numpy()
    rows = m.some(n, 0.005)
    applied = pd.to_datetime(df["an_Bewerbungsdatum"].iloc[rows], errors="coerce")
    df.loc[df.index[rows], "an_Bestaetigungsdatum"] = _text(
        (applied - pd.Timedelta(days=10)).to_numpy(dtype="datetime64[s]")
    )
    active32 = df.index[(df["an_Aktiv"] == "J") & df["an_WartelistenNr32"].notna()]
    if len(active32) >= 2:
        pairs = m.rng.choice(
            active32, size=min(len(active32) // 2 * 2, 2 * MIN_DIRT), replace=False
        )
        df.loc[pairs[1::2], "an_WartelistenNr32"] = df.loc[
            pairs[::2], "an_WartelistenNr32"
        ].to_numpy()


def _verlauf(m: _Maker, antrag: pd.DataFrame, clerks: np.ndarray) -> pd.DataFrame:
    rng = m.rng
    n_app = len(antrag)
    per = rng.integers(0, 6, size=n_app)
    parent = np.repeat(np.arange(n_app), per)
    n = len(parent)
    applied = pd.to_datetime(antrag["an_Bewerbungsdatum"], errors="coerce")
    applied = applied.fillna(pd.Timestamp("2010-01-01"))
    applied = applied.clip(upper=pd.Timestamp("2026-06-01"))  # type: ignore[arg-type]  # stubs
    base = applied.to_numpy(dtype="datetime64[s]")[parent]
    when = m.datetimes(base, base + np.timedelta64(5 * 365 * 86400, "s"))
    when = np.minimum(when, np.datetime64("2026-11-20T12:00:00", "s"))
    size = rng.integers(150, 900, size=n).astype(str)
    df = pd.DataFrame(
        {
            "verl_ID": m.uids(n),
            "verl_An_ID": antrag["an_ID"].to_numpy()[parent],
            "verl_Art": m.pick(EVENT_CODES, n),
            "verl_Datum": _text(when),
            "verl_Gemarkung": m.pick(m.city, n),
            "verl_Flur": rng.integers(1, 40, size=n).astype(str),
            "verl_Parzelle": pd.Series(rng.integers(1, 500, size=n)).astype(str)
            + np.where(rng.random(n) < 0.1, "/2", ""),
            "verl_Groesse": _or_none(rng.random(n) < 0.6, size),
            "verl_Sachbearbeiter": m.pick(clerks, n),
            "verl_Hinweis": _or_none(rng.random(n) < 0.2, m.pick(m.words, n)),
            "verl_Kommentar": _or_none(rng.random(n) < 0.3, m.pick(m.sentences, n)),
        }
    ).astype(object)
    _plant(m, df, "verl_Groesse", ["250 m²", "312 m²", "250,5", "1.200", "ca. 300", "groß"], 0.02)
    _plant(m, df, "verl_Datum", ["2021-03-28 02:30:00.000", "2021-10-31 02:30:00.000"], 0.001)
    _plant(m, df, "verl_Datum", [None, "1900-01-01 00:00:00.000"], 0.003)
    _plant(m, df, "verl_Art", ["X1", " ang", None], 0.002)
    orphans = m.some(n, 0.005)
    df.loc[df.index[orphans], "verl_An_ID"] = m.uids(len(orphans))
    return df


def _personen(m: _Maker, scale: float) -> pd.DataFrame:
    n = max(20, round(150 * scale**0.3))
    rng = m.rng
    female = rng.random(n) < 0.5
    first = np.where(female, m.pick(m.female, n), m.pick(m.male, n)).astype(object)
    last = m.pick(m.last, n)
    flags = np.array(["J", "N"], dtype=object)
    df = pd.DataFrame(
        {
            "Pers_ID": m.uids(n),
            "Pers_Anrede": np.where(female, "Frau", "Herr"),
            "Pers_Vorname": first,
            "Pers_Nachname": last,
            "Pers_Nummer": _digits(rng, n, 6),
            "Pers_Organisationseinheit": m.pick(np.array(["67.1", "67.2", "67.3", "GA"]), n),
            "Pers_Zimmer": rng.integers(100, 600, size=n).astype(str),
            "Pers_Telefon": rng.integers(1000, 9999, size=n).astype(str),
            "Pers_FAX": _or_none(rng.random(n) < 0.5, rng.integers(1000, 9999, size=n).astype(str)),
            "Pers_Email": pd.Series(first).str.lower()
            + "."
            + pd.Series(last).str.lower()
            + "@stadt.example",
            "Pers_Diktatzeichen": pd.Series(first).str[0] + pd.Series(last).str[:2],
            "Pers_Unterschrift": first + " " + last,
            "Pers_Dienstbezeichnung": m.pick(
                np.array(["Sachbearbeitung", "Leitung", "Verwaltung"]), n
            ),
            "Pers_Grp_ID": m.pick(m.uids(5), n),
            "Pers_istAdmin": m.pick(flags, n),
            "Pers_darfAdministration": m.pick(flags, n),
            "Pers_darfLeistungsgruppen": m.pick(flags, n),
            "Pers_darfPrioUndSLA": m.pick(np.array(["J", "N", "1", "0"], dtype=object), n),
            "Pers_darfKunden": m.pick(flags, n),
            "Pers_Aktiv": m.pick(np.array(["J", "J", "J", "N"], dtype=object), n),
        }
    ).astype(object)
    _plant(m, df, "Pers_Aktiv", ["X", "?", None], 0.02)
    dup = df.iloc[m.rows(n, 3)]
    conflict = df.iloc[m.rows(n, 2)].assign(Pers_Nachname="Geändert")
    return pd.concat([df, dup, conflict], ignore_index=True)


def _kennungen(m: _Maker, personen: pd.DataFrame) -> pd.DataFrame:
    people = personen.drop_duplicates("Pers_ID")
    n = len(people)
    df = pd.DataFrame(
        {
            "Kenn_ID": m.uids(n),
            "Kenn_Name": (people["Pers_Vorname"].str[0] + people["Pers_Nachname"])
            .str.lower()
            .to_numpy(),
            "Kenn_Domaene": "STADT",
            "Kenn_pers_ID": people["Pers_ID"].to_numpy(),
        }
    ).astype(object)
    orphan = m.rows(n, 3)
    df.loc[orphan, "Kenn_pers_ID"] = m.uids(len(orphan))
    df.loc[m.rows(n, 1), "Kenn_pers_ID"] = "not-a-guid"
    dup = df.iloc[m.rows(n, 3)]
    return pd.concat([df, dup], ignore_index=True)


def _mischenfelder(m: _Maker) -> pd.DataFrame:
    antrag = next(t for t in TABLES if t.name == "Antrag")
    fields = antrag.column_names[1:]
    n = len(fields)
    df = pd.DataFrame(
        {
            "misch_ID": m.uids(n),
            "misch_Datenbankfeld": fields,
            "misch_Dokumentfeld": [f.removeprefix("an_") for f in fields],
            "misch_Kommentar": _or_none(m.rng.random(n) < 0.3, m.pick(m.sentences, n)),
        }
    ).astype(object)
    dup = df.iloc[m.rows(n, 3)]
    conflict = df.iloc[m.rows(n, 2)].assign(misch_Dokumentfeld="Anderes Feld")
    return pd.concat([df, dup, conflict], ignore_index=True)


def _create(db: sqlite3.Connection, table: Table) -> None:
    cols = [f'"{c.name}" {c.tsql_type}{"" if c.nullable else " NOT NULL"}' for c in table.columns]
    if table.primary_key:
        cols.append(f'PRIMARY KEY ("{table.primary_key}")')
    db.execute(f'CREATE TABLE "{table.name}" ({", ".join(cols)})')


def generate(path: Path, *, scale: float = 1.0, seed: int = 42) -> dict[str, int]:
    """Write the demo source to ``path`` (overwriting); return rows per table."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    m = _Maker(seed)
    n_app = max(50, round(40_000 * scale))
    districts = _districts(m, scale)
    names = districts.drop_duplicates("bez_ID")["bez_Name"].to_numpy()
    cadastral = _cadastral(m, districts, scale)
    akten = _file_numbers(m, n_app, names, "az")
    akten_dirty = akten.copy().astype(object)
    akten_dirty.loc[m.some(len(akten), 0.005), "az_Jahr"] = None
    akten_dirty.loc[m.some(len(akten), 0.002), "az_Jahr"] = 0
    enr = _file_numbers(m, n_app, names, "enr").astype(object)
    enr.loc[m.rows(len(enr), 2), "enr_Nummer"] = "12a"
    personen = _personen(m, scale)
    clerks = (personen["Pers_Vorname"] + " " + personen["Pers_Nachname"]).to_numpy(dtype=object)
    antrag = _antrag(m, n_app, akten)
    frames = {
        "Aktenzeichen": akten_dirty,
        "Antrag": antrag,
        "Bezirk": districts,
        "Bezirke_Katasterbezirke": _links(m, districts, cadastral),
        "Eingangsnummer": enr,
        "Katasterbezirk": cadastral,
        "Kennungen": _kennungen(m, personen),
        "Mischenfelder": _mischenfelder(m),
        "Personen": personen,
        "Verlauf": _verlauf(m, antrag, clerks),
    }
    path = Path(path)
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        for table in TABLES:
            _create(db, table)
            frame = frames[table.name][table.column_names].astype(object)
            frame = frame.where(frame.notna(), None)  # type: ignore[arg-type]  # pandas-stubs
            marks = ", ".join("?" * len(table.columns))
            db.executemany(
                f'INSERT INTO "{table.name}" VALUES ({marks})',
                frame.itertuples(index=False, name=None),
            )
    db.close()
    return {name: len(frame) for name, frame in frames.items()}
