"""No text is hard-coded in a template, and every message is translated into ar, ckb and en."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

from manafidh.web import i18n

ROOT = Path(__file__).parents[2]
TEMPLATES = sorted(i18n.TEMPLATE_DIR.rglob("*.html"))
LANGUAGES = list(i18n.LANGUAGES)

# Jinja comments, {% trans %} blocks, {{ expressions }} and {% statements %}.
JINJA = re.compile(r"{#.*?#}|{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}|{{.*?}}|{%.*?%}", re.DOTALL)
TAG = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.DOTALL)
# Attributes whose values a person reads or hears.
TEXT_ATTRIBUTE = re.compile(
    r"\b(?:alt|title|placeholder|aria-label|aria-description|aria-valuetext|label)\s*=\s*"
    r"(\"[^\"]*\"|'[^']*')",
    re.IGNORECASE,
)
ENTITY = re.compile(r"&#?\w+;")
LETTER = re.compile(r"[^\W\d_]")


def hard_coded_text(source: str) -> list[str]:
    """Pieces of template text with letters outside {% trans %}, _() and {{ }}."""
    bare = JINJA.sub(" ", source)
    found = [
        value
        for tag in TAG.findall(bare)
        for value in TEXT_ATTRIBUTE.findall(tag)
        if LETTER.search(value)
    ]
    text = ENTITY.sub(" ", TAG.sub(" ", bare))
    found += [chunk for chunk in text.split() if LETTER.search(chunk)]
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(i18n.TEMPLATE_DIR))


def _catalogue(language: str):
    with i18n.catalogue_path(language).open("rb") as f:
        return read_po(f, locale=language)


def _used_msgids() -> set[str]:
    """Every message the code and templates use, extracted as babel.cfg says."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    found = extract_from_dir(ROOT / "src", method_map, options_map)
    return {message if isinstance(message, str) else message[0] for _, _, message, *_ in found}


# -- (a) nothing hard-coded -------------------------------------------------------------------
def test_there_are_templates():
    assert {"base.html", "signin.html", "dashboard.html"} <= {_name(p) for p in TEMPLATES}


@pytest.mark.parametrize("path", TEMPLATES, ids=_name)
def test_a_template_has_no_hard_coded_text(path):
    assert hard_coded_text(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<p>Sign in</p>", ["Sign", "in"]),
        ('<input placeholder="Your name">', ['"Your name"']),
        ('<nav aria-label="Main">', ['"Main"']),
        ("<p>تسجيل</p>", ["تسجيل"]),
        ("<p>{{ _('Sign in') }} · 42 &nbsp; %</p>", []),
        ("<p>{% trans n=1 %}Hello {{ n }}{% endtrans %}</p>", []),
        ('<a href="/dashboard?lang=en" class="button">{{ name }}</a>', []),
        ("{# a note to translators #}<td>{{ count|number }}</td>", []),
    ],
)
def test_the_checker_finds_hard_coded_text_and_only_that(source, found):
    assert hard_coded_text(source) == found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", TEMPLATES, ids=_name)
def test_every_template_compiles_in_every_language(path, language):
    i18n.environment(language).get_template(_name(path))


# -- (b) everything translated ----------------------------------------------------------------
def test_the_templates_and_pages_use_messages():
    assert {"Sign in", "Today at the crossings", "Lodged", "Green"} <= _used_msgids()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    catalogue = _catalogue(language)
    missing = [
        msgid
        for msgid in sorted(_used_msgids())
        if (m := catalogue.get(msgid)) is None or not m.string or m.fuzzy
    ]
    assert missing == [], f"untranslated in {language}: run the messages-update target"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_catalogue_holds_no_stale_messages(language):
    used = _used_msgids()
    stale = sorted(m.id for m in _catalogue(language) if m.id and m.id not in used)
    assert stale == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in _catalogue(language).check()]
    assert problems == []


def test_english_translations_are_the_messages_themselves():
    assert all(m.string == m.id for m in _catalogue("en") if m.id)


def test_kurdish_is_written_with_sorani_letters():
    # Sorani uses ک (U+06A9) and ی (U+06CC), never Arabic ك (U+0643), ي (U+064A) or ة (U+0629).
    strings = " ".join(str(m.string) for m in _catalogue("ckb") if m.id)
    assert not set(strings) & {"\u0643", "\u064a", "\u0629"}


def test_a_compiled_catalogue_serves_when_the_po_file_is_absent(tmp_path, monkeypatch):
    target = tmp_path / "ar" / "LC_MESSAGES" / "messages.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as f:
        write_mo(f, _catalogue("ar"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert i18n.translations.__wrapped__("ar").gettext("Sign in") == "تسجيل الدخول"
    with pytest.raises(LookupError):
        i18n.translations.__wrapped__("ckb")


def test_a_translation_reaches_the_page():
    html = i18n.render("signin.html", "ar", error=True, username="")
    assert "تسجيل الدخول" in html
    assert "اسم المستخدم أو كلمة المرور غير صحيحة." in html
    assert '<html lang="ar" dir="rtl">' in html


# -- languages, directions and formats --------------------------------------------------------
@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("ckb", "rtl"), ("en", "ltr")])
def test_arabic_and_kurdish_are_written_right_to_left(language, direction):
    assert i18n.direction(language) == direction


def _request(query: str = "", cookie: str | None = None) -> Request:
    headers = [(b"cookie", f"{i18n.LANG_COOKIE}={cookie}".encode())] if cookie else []
    scope = {"type": "http", "query_string": query.encode(), "headers": headers}
    return Request(scope)


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        ("", None, "ar"),
        ("", "ckb", "ckb"),
        ("lang=en", "ckb", "en"),
        ("lang=fr", "en", "en"),
        ("", "xx", "ar"),
    ],
)
def test_the_language_comes_from_the_query_then_the_cookie_then_the_default(
    query, cookie, expected
):
    assert i18n.language_of(_request(query, cookie), default="ar") == expected


def test_money_is_shown_in_dinars_with_three_decimals():
    assert i18n.format_money(Decimal("1234567.5"), "en") == "1,234,567.500"
    assert i18n.format_money(Decimal("0"), "ar") == "0.000"


def test_dates_use_the_iraqi_month_names_in_arabic():
    assert i18n.format_day(date(2026, 3, 15), "ar") == "15 آذار 2026"
    assert i18n.format_day(date(2026, 3, 15), "en") == "March 15, 2026"


def test_times_are_shown_in_baghdad():
    assert i18n.format_clock(datetime(2026, 3, 15, 6, 0, tzinfo=UTC), "en") == "09:00"


# -- every value the pages show has a label ---------------------------------------------------
def _label_sets(language: str) -> dict[str, dict[str, str]]:
    module = i18n.environment(language).get_template("_labels.html").module
    names = ("STATES", "LANES", "ROLES", "ACTIONS", "FRAUD", "ORDERS", "REGIMES", "ALARMS")
    return {name: getattr(module, name) for name in (*names, "SEVERITIES", "NAV")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_state_action_kind_and_page_has_a_translated_label(language):
    from manafidh.domain.alarms import AlarmKind, Severity
    from manafidh.domain.declarations.model import Lane, Regime
    from manafidh.domain.declarations.states import Action, State
    from manafidh.domain.identity import Role
    from manafidh.domain.payments.orders import OrderState
    from manafidh.services.clearance import FraudKind
    from manafidh.web.ui import NAV

    labels = _label_sets(language)
    expected = {
        "STATES": State,
        "LANES": Lane,
        "ROLES": Role,
        "ACTIONS": Action,
        "FRAUD": FraudKind,
        "ORDERS": OrderState,
        "REGIMES": Regime,
        "ALARMS": AlarmKind,
        "SEVERITIES": Severity,
    }
    for name, enum in expected.items():
        assert set(labels[name]) == {e.value for e in enum}, name
    assert {item.key for items in NAV.values() for item in items} <= set(labels["NAV"])
    if language != "en":  # translated, not left in English
        assert labels["STATES"]["held"] != "Held"


def test_the_scripts_carry_no_text_of_their_own():
    # Text a script shows comes from the page (data-* attributes rendered from the catalogues).
    for script in (i18n.TEMPLATE_DIR.parent / "static").glob("*.js"):
        if script.name.startswith("htmx"):
            continue
        source = script.read_text(encoding="utf-8")
        shown = re.findall(r"textContent\s*=\s*\"[^\"]+\"", source)
        assert shown == [], script.name
