"""Languages of the web UI: Babel catalogues, Jinja2 environments, locale-aware formatting.

The .po catalogues under ``manafidh/locale`` are the source of truth. They are compiled in memory
when first needed, so a checkout works without ``pybabel compile`` (compiled .mo files are not
kept in git); a .mo file is used only when its .po is absent.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from decimal import Decimal
from functools import cache, partial
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from manafidh.domain.clock import IRAQ_TZ

LANGUAGES = ("ar", "ckb", "en")
# Each language is offered under its own name, whatever the current UI language.
LANGUAGE_NAMES = {"ar": "العربية", "ckb": "کوردی", "en": "English"}
# Iraqi variants where CLDR has them: Arabic month names as used in Iraq (آذار, not مارس).
FORMAT_LOCALES = {"ar": "ar_IQ", "ckb": "ckb_IQ", "en": "en"}
LANG_COOKIE = "manafidh_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
MONEY_FORMAT = "#,##0.000"  # the Iraqi dinar has 3 minor units (fils), ISO 4217


def catalogue_path(language: str) -> Path:
    """Where the .po catalogue of ``language`` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.GNUTranslations:
    """The gettext translations of ``language``, compiled from its .po catalogue."""
    po = catalogue_path(language)
    mo = po.with_suffix(".mo")
    if po.exists():
        with po.open("rb") as source:
            catalog = read_po(source, locale=language, domain=DOMAIN)
        compiled = BytesIO()
        write_mo(compiled, catalog)  # fuzzy entries are left out, as pybabel compile does
        compiled.seek(0)
        return gettext.GNUTranslations(compiled)
    if mo.exists():
        with mo.open("rb") as source:
            return gettext.GNUTranslations(source)
    raise LookupError(f"no {DOMAIN} catalogue for {language!r} under {LOCALE_DIR}")


def direction(language: str) -> str:
    """Writing direction of ``language``: "rtl" or "ltr"."""
    return str(Locale.parse(language).text_direction)


def requested_language(request: Request) -> str | None:
    """The supported language asked for with ``?lang=``, if any."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else None


def language_of(request: Request, default: str) -> str:
    """The request's UI language: ``?lang=``, else the cookie, else ``default``."""
    cookie = request.cookies.get(LANG_COOKIE)
    return requested_language(request) or (cookie if cookie in LANGUAGES else default)


def remember_language(response: Response, language: str, *, secure: bool) -> None:
    """Set the language cookie on ``response``."""
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=LANG_COOKIE_MAX_AGE,
        path="/",
        samesite="lax",
        secure=secure,
        httponly=True,
    )


def format_number(value: int | Decimal, language: str) -> str:
    """A count or amount with the locale's grouping (Latin digits)."""
    return str(format_decimal(value, locale=FORMAT_LOCALES[language]))


def format_money(value: Decimal, language: str) -> str:
    """An amount of Iraqi dinars with its 3 decimals (fils)."""
    return str(format_decimal(value, format=MONEY_FORMAT, locale=FORMAT_LOCALES[language]))


def format_day(value: date, language: str) -> str:
    """A calendar date in the locale's long form, e.g. "15 آذار 2026"."""
    return str(format_date(value, format="long", locale=FORMAT_LOCALES[language]))


def format_clock(value: datetime, language: str) -> str:
    """The time of an instant in Baghdad, e.g. "09:00"."""
    return str(format_time(value, format="HH:mm", tzinfo=IRAQ_TZ, locale=FORMAT_LOCALES[language]))


def format_moment(value: datetime, language: str) -> str:
    """A date and time in Baghdad, e.g. "15 آذار 2026 09:00"."""
    local = value.astimezone(IRAQ_TZ)
    return f"{format_day(local.date(), language)} {format_clock(value, language)}"


@cache
def environment(language: str) -> Environment:
    """The Jinja2 environment of ``language``: its translations, filters and direction."""
    if language not in LANGUAGES:
        raise LookupError(f"unsupported language {language!r}")
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        number=partial(format_number, language=language),
        money=partial(format_money, language=language),
        day=partial(format_day, language=language),
        clock=partial(format_clock, language=language),
        moment=partial(format_moment, language=language),
    )
    env.globals.update(lang=language, dir=direction(language), languages=LANGUAGE_NAMES)
    return env


def render(template: str, language: str, **context: Any) -> str:
    """Render ``template`` in ``language``."""
    return environment(language).get_template(template).render(**context)
