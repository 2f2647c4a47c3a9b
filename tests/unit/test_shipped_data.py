"""The reference data shipped in src/manafidh/data is well-formed and self-consistent."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from tests.shared_data import require_shared_file

DATA = Path(__file__).parents[2] / "src/manafidh/data"

HEADERS = {
    "hs2022.csv": ["code", "description", "parent", "level", "section"],
    "hs_sections.csv": ["section", "name"],
    "countries.csv": ["alpha2", "alpha3", "numeric", "name_en", "name_ar", "currency"],
    "currencies.csv": ["code", "numeric", "name", "minor_unit"],
    "crossings.csv": [
        "code",
        "name_en",
        "name_ar",
        "name_ckb",
        "governorate_en",
        "governorate_ar",
        "governorate_ckb",
        "partner_name_en",
        "partner_country",
        "region",
        "authority",
    ],
    "exchange_rates.csv": ["currency", "valid_from", "valid_to", "iqd_per_unit", "source"],
    "tariff_illustrative_iq.csv": [
        "chapter",
        "rate_percent",
        "valid_from",
        "valid_to",
        "legal_reference",
        "note",
    ],
}

OPEN_END = dt.date.max


def read_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, strict=True))


def period(row: dict[str, str]) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(row["valid_from"])
    end = dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else OPEN_END
    return start, end


def assert_no_overlap(periods_by_key: dict[str, list[tuple[dt.date, dt.date]]]) -> None:
    for key, periods in periods_by_key.items():
        ordered = sorted(periods)
        for start, end in ordered:
            assert start <= end, f"{key}: period {start}..{end} ends before it starts"
        for (_, prev_end), (next_start, _) in itertools.pairwise(ordered):
            assert prev_end < next_start, f"{key}: periods overlap at {next_start}"


def test_every_expected_csv_is_shipped() -> None:
    shipped = {p.name for p in DATA.glob("*.csv")}
    assert set(HEADERS) <= shipped


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_every_csv_parses_with_the_documented_header(name: str) -> None:
    raw = (DATA / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    assert b"\r" not in raw, "LF line endings only"
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, strict=True)
        header = next(reader)
        rows = list(reader)
    assert header == HEADERS[name]
    assert rows, "file has data rows"
    for line_no, row in enumerate(rows, start=2):
        assert len(row) == len(header), f"{name}:{line_no} has {len(row)} fields"


def test_hs2022_has_the_hs_2022_level_counts() -> None:
    levels = Counter(r["level"] for r in read_rows("hs2022.csv"))
    assert levels == {"2": 97, "4": 1229, "6": 5613}


def test_hs_codes_are_unique_digits_matching_their_level() -> None:
    rows = read_rows("hs2022.csv")
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    for r in rows:
        assert r["code"].isdigit()
        assert len(r["code"]) == int(r["level"])


def test_chapters_have_no_parent() -> None:
    chapters = [r for r in read_rows("hs2022.csv") if r["level"] == "2"]
    assert all(r["parent"] == "" for r in chapters)


def test_every_heading_belongs_to_a_known_chapter() -> None:
    rows = read_rows("hs2022.csv")
    chapters = {r["code"] for r in rows if r["level"] == "2"}
    for r in rows:
        if r["level"] == "4":
            assert r["parent"] in chapters, r
            assert r["code"].startswith(r["parent"])


def test_every_subheading_belongs_to_a_known_heading() -> None:
    rows = read_rows("hs2022.csv")
    headings = {r["code"] for r in rows if r["level"] == "4"}
    for r in rows:
        if r["level"] == "6":
            assert r["parent"] in headings, r
            assert r["code"].startswith(r["parent"])


def test_hs_sections_are_known_roman_numerals_or_empty_for_chapter_99() -> None:
    sections = {r["section"] for r in read_rows("hs_sections.csv")}
    assert len(sections) == 21
    for r in read_rows("hs2022.csv"):
        if r["code"].startswith("99"):
            assert r["section"] == ""
        else:
            assert r["section"] in sections, r
        assert r["description"], r


def test_hs_file_matches_the_shared_source_codes() -> None:
    shared_hs = require_shared_file("data/harmonized-system/harmonized-system.csv")
    with shared_hs.open(encoding="utf-8", newline="") as f:
        source = {
            r["hscode"]: r["description"]
            for r in csv.DictReader(f)
            if r["level"] in {"2", "4", "6"}
        }
    shipped = {r["code"]: r["description"] for r in read_rows("hs2022.csv")}
    assert shipped == source


def test_iraqi_dinar_has_three_minor_units() -> None:
    currencies = {r["code"]: r for r in read_rows("currencies.csv")}
    assert currencies["IQD"]["minor_unit"] == "3"
    assert currencies["IQD"]["numeric"] == "368"


def test_currency_codes_are_unique_and_well_formed() -> None:
    rows = read_rows("currencies.csv")
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    for r in rows:
        assert len(r["code"]) == 3
        assert r["code"].isalpha()
        assert r["code"].isupper()
        assert len(r["numeric"]) == 3
        assert r["numeric"].isdigit()
        assert r["minor_unit"] == "" or r["minor_unit"].isdigit()


def test_iraq_and_iran_are_present_with_their_currencies() -> None:
    countries = {r["alpha2"]: r for r in read_rows("countries.csv")}
    assert countries["IQ"]["alpha3"] == "IRQ"
    assert countries["IQ"]["currency"] == "IQD"
    assert countries["IR"]["alpha3"] == "IRN"
    assert countries["IR"]["currency"] == "IRR"
    assert countries["TR"]["currency"] == "TRY"


def test_country_rows_are_sorted_unique_and_use_known_currencies() -> None:
    rows = read_rows("countries.csv")
    alpha2 = [r["alpha2"] for r in rows]
    assert alpha2 == sorted(alpha2)
    assert len(alpha2) == len(set(alpha2))
    currencies = {r["code"] for r in read_rows("currencies.csv")}
    for r in rows:
        assert len(r["alpha2"]) == 2
        assert len(r["alpha3"]) == 3
        assert len(r["numeric"]) == 3
        assert r["numeric"].isdigit()
        assert r["name_en"]
        assert r["name_ar"]
        assert r["currency"] == "" or r["currency"] in currencies, r


def test_there_are_nine_iran_crossings_named_in_three_languages() -> None:
    rows = read_rows("crossings.csv")
    assert len(rows) == 9
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    for r in rows:
        assert r["code"].isalpha()
        assert r["code"].isupper()
        for field in HEADERS["crossings.csv"]:
            assert r[field].strip(), f"{r['code']}: empty {field}"
        assert r["partner_country"] == "IR"


def test_crossing_authority_follows_region() -> None:
    rows = read_rows("crossings.csv")
    expected = {"federal": "bpc", "kurdistan": "krg"}
    for r in rows:
        assert expected[r["region"]] == r["authority"], r
    assert Counter(r["region"] for r in rows)["federal"] == 5


def test_exchange_rate_periods_never_overlap_for_a_currency() -> None:
    rows = read_rows("exchange_rates.csv")
    periods: dict[str, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for r in rows:
        periods[r["currency"]].append(period(r))
    assert_no_overlap(periods)


def test_exchange_rates_are_positive_decimals_for_known_currencies() -> None:
    currencies = {r["code"] for r in read_rows("currencies.csv")}
    for r in read_rows("exchange_rates.csv"):
        assert r["currency"] in currencies
        assert "e" not in r["iqd_per_unit"].lower()
        assert Decimal(r["iqd_per_unit"]) > 0
        assert r["source"]


def test_usd_rate_is_the_official_1310_since_february_2023() -> None:
    usd = [r for r in read_rows("exchange_rates.csv") if r["currency"] == "USD"]
    current = [r for r in usd if r["valid_to"] == ""]
    assert len(current) == 1
    assert current[0]["valid_from"] == "2023-02-08"
    assert Decimal(current[0]["iqd_per_unit"]) == 1310


def test_tariff_rates_are_in_the_iraqi_bands() -> None:
    rates = {Decimal(r["rate_percent"]) for r in read_rows("tariff_illustrative_iq.csv")}
    assert rates <= {Decimal("0.5"), Decimal(10), Decimal(15), Decimal(30)}


def test_tariff_chapters_never_overlap_in_validity() -> None:
    periods: dict[str, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for r in read_rows("tariff_illustrative_iq.csv"):
        periods[r["chapter"]].append(period(r))
    assert_no_overlap(periods)


def test_tariff_covers_every_hs_chapter_except_99() -> None:
    hs_chapters = {r["code"] for r in read_rows("hs2022.csv") if r["level"] == "2"}
    tariff_chapters = {r["chapter"] for r in read_rows("tariff_illustrative_iq.csv")}
    assert tariff_chapters == hs_chapters - {"99"}


def test_tariff_is_labelled_illustrative() -> None:
    for r in read_rows("tariff_illustrative_iq.csv"):
        assert "ILLUSTRATIVE" in r["note"]
        assert r["legal_reference"]


def test_sources_md_documents_every_shipped_csv() -> None:
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for path in DATA.glob("*.csv"):
        assert path.name in sources, f"SOURCES.md does not mention {path.name}"
