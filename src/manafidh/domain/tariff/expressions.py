"""Duty expressions as tariffs write them, parsed into a typed tree and printed back canonically.

A measure's duty is made of components, as in the UK Online Trade Tariff: `10% + 77 GBP/100 kg`
is an ad-valorem component plus a specific one. The grammar covers every shape in both rate
columns (EU CET, UK Global Tariff) of the shared UK Global Tariff CSV:

    expression := "Entry Price" | schedule
    schedule   := rate [seasons] ("," rate [seasons])*   -- the last rate may lack seasons: the
                                                            rest of the year
    rate       := sum ["MIN" sum] ["MAX" sum]            -- at least the floor, at most the ceiling
    sum        := term ("+" term)*
    term       := NUMBER ["%"]                                         -- ad valorem
                | NUMBER currency "/" [NUMBER] unit [["/"] qualifier]   -- specific
                | "EA" | "EAR" | "ADSZ" | "ADSZR" | "ADFM" | "ADFMR"   -- agricultural component
                | "Free"                                                -- 0%
    seasons    := "(" season ("," season)* ")"
    season     := DAY [MONTH] "-" DAY MONTH

A bare number is a percentage, as in the Combined Nomenclature whose rate column is headed "(%)".
Numbers are Decimal, built only from digits (so `NaN` or `1e5` cannot slip in); a comma is a
thousands separator only between groups of three digits (`1,000 items`). Units and qualifiers are
read into canonical codes (``UNIT_SPELLINGS``, ``QUALIFIER_SPELLINGS``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias, TypeVar

from manafidh.domain.errors import ValidationFailed

# --------------------------------------------------------------------------------------------
# Vocabulary: canonical codes and the spellings that mean them
# --------------------------------------------------------------------------------------------

# Spellings are token sequences (lower case); the longest one that matches wins, so that
# "% vol / hl" is one unit and "net / % sacchar." one qualifier.
UNIT_SPELLINGS: dict[tuple[str, ...], str] = {
    ("kg",): "kg",
    ("kilogram",): "kg",
    ("kilograms",): "kg",
    ("tonne",): "tonne",
    ("tonnes",): "tonne",
    ("l",): "l",
    ("litre",): "l",
    ("litres",): "l",
    ("hl",): "hl",
    ("item",): "item",
    ("items",): "item",
    ("p", "/", "st"): "item",  # TARIC "p/st": pieces (Stück)
    ("pair",): "pair",
    ("pairs",): "pair",
    ("pa",): "pair",
    ("m",): "m",
    ("m2",): "m2",
    ("m3",): "m3",
    ("%", "vol", "/", "hl"): "% vol/hl",
}
UNITS = frozenset(UNIT_SPELLINGS.values())
_PLURALS = {"item": "items", "pair": "pairs", "tonne": "tonnes"}

# The CET and the UKGT name the same qualifier differently ("eda" is the CN's abbreviation of
# net drained weight, "mas" of net dry matter, "br" of gross/brutto); one code per meaning.
QUALIFIER_SPELLINGS: dict[tuple[str, ...], str] = {
    ("net",): "net",
    ("gross",): "gross",
    ("br",): "gross",
    ("net", "drained", "wt"): "net drained wt",
    ("eda",): "net drained wt",
    ("net", "eda"): "net drained wt",
    ("net", "dry"): "net dry",
    ("mas",): "net dry",
    ("net", "mas"): "net dry",
    ("lactic", "matter"): "lactic matter",
    ("dry", "lactic", "matter"): "dry lactic matter",
    ("tot", "alc"): "tot alc",
    ("std", "qual"): "std qual",
    ("net", "/", "%", "sacchar."): "net/% sacchar.",
    ("%", "sacchar."): "net/% sacchar.",
}
QUALIFIERS = frozenset(QUALIFIER_SPELLINGS.values())

# EU agricultural components: EA (on milk fats, sugars, starch: the Meursing table), EAR (its
# reduced form), ADSZ/ADFM (additional duty on sugar / flour) and their reduced forms.
AGRICULTURAL_CODES = frozenset({"EA", "EAR", "ADSZ", "ADSZR", "ADFM", "ADFMR"})

_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP"}
_KEYWORDS = frozenset({"MIN", "MAX", "FREE"}) | AGRICULTURAL_CODES

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NUMBERS = {name: i for i, name in enumerate(MONTHS, start=1)} | {
    calendar.month_name[i].upper(): i for i in range(1, 13)
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a leap year: 29 FEB exists


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------


def _decimal(value: object, name: str, *, positive: bool = False) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValidationFailed(f"{name} must be a finite number, not {value}", field=name)
    if value.is_signed():  # also refuses -0, which would print as "-0" and not parse back
        raise ValidationFailed(f"{name} cannot be negative: {value}", field=name)
    if positive and value == 0:
        raise ValidationFailed(f"{name} must be more than zero", field=name)
    return value


@dataclass(frozen=True)
class AdValorem:
    """A percentage of the customs value."""

    percent: Decimal

    def __post_init__(self) -> None:
        _decimal(self.percent, "percent")


@dataclass(frozen=True)
class Specific:
    """An amount of ``currency`` per ``per_quantity`` ``unit`` (``77.00 GBP / 100 kg``)."""

    amount: Decimal
    currency: str
    per_quantity: Decimal
    unit: str
    qualifier: str | None = None

    def __post_init__(self) -> None:
        _decimal(self.amount, "amount")
        _decimal(self.per_quantity, "per_quantity", positive=True)
        c = self.currency
        if not (len(c) == 3 and c.isascii() and c.isalpha() and c.isupper()) or c in _KEYWORDS:
            raise ValidationFailed(f"not a currency code: {c!r}", field="currency")
        if self.unit not in UNITS:
            raise ValidationFailed(f"unknown unit {self.unit!r}", field="unit")
        if self.qualifier is not None and self.qualifier not in QUALIFIERS:
            raise ValidationFailed(f"unknown qualifier {self.qualifier!r}", field="qualifier")


@dataclass(frozen=True)
class AgriculturalComponent:
    """An EU agricultural component (``EA``, ``ADSZ``, ...) whose amount comes from a table."""

    code: str

    def __post_init__(self) -> None:
        if self.code not in AGRICULTURAL_CODES:
            raise ValidationFailed(f"unknown agricultural component {self.code!r}", field="code")


Term: TypeAlias = AdValorem | Specific | AgriculturalComponent
_TERMS = (AdValorem, Specific, AgriculturalComponent)


@dataclass(frozen=True)
class Compound:
    """Two or more components added together (``10% + 77 GBP / 100 kg``)."""

    components: tuple[Term, ...]

    def __post_init__(self) -> None:
        # A flat tuple of at least two terms keeps one tree per text, so parse(format(e)) == e.
        components = self.components
        if not isinstance(components, tuple) or len(components) < 2:
            raise ValidationFailed("a compound duty adds a tuple of two or more components")
        if not all(isinstance(c, _TERMS) for c in components):
            raise ValidationFailed("a compound duty adds two or more simple components")


Sum: TypeAlias = Term | Compound
_SUMS = (*_TERMS, Compound)


@dataclass(frozen=True)
class Minimum:
    """``base MIN floor``: the duty is at least ``floor``."""

    base: Sum
    floor: Sum

    def __post_init__(self) -> None:
        if not (isinstance(self.base, _SUMS) and isinstance(self.floor, _SUMS)):
            raise ValidationFailed("MIN takes a duty and a floor made of components")


@dataclass(frozen=True)
class Maximum:
    """``base MAX ceiling``: the duty is at most ``ceiling`` (``base`` may carry a MIN)."""

    base: Sum | Minimum
    ceiling: Sum

    def __post_init__(self) -> None:
        if not (isinstance(self.base, (*_SUMS, Minimum)) and isinstance(self.ceiling, _SUMS)):
            raise ValidationFailed("MAX takes a duty (perhaps with a MIN) and a ceiling")


Rate: TypeAlias = Sum | Minimum | Maximum
_RATES = (*_SUMS, Minimum, Maximum)


@dataclass(frozen=True)
class Season:
    """Days from ``start_day start_month`` to ``end_day end_month``, wrapping past 31 DEC."""

    start_day: int
    start_month: int
    end_day: int
    end_month: int

    def __post_init__(self) -> None:
        for day, month in ((self.start_day, self.start_month), (self.end_day, self.end_month)):
            if type(day) is not int or type(month) is not int:
                raise TypeError(f"a season's days and months are int, not {day!r} {month!r}")
            if not 1 <= month <= 12:
                raise ValidationFailed(f"not a month: {month}", field="month")
            if not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
                raise ValidationFailed(
                    f"day {day} does not exist in {MONTHS[month - 1]}", field="day"
                )

    def covers(self, month: int, day: int) -> bool:
        """Whether the day ``day month`` of any year falls in this season."""
        start, end = (self.start_month, self.start_day), (self.end_month, self.end_day)
        d = (month, day)
        if end == (2, 28):  # written for common years: "to 28 FEB" means to the end of February
            end = (2, 29)
        if start <= end:
            return start <= d <= end
        return d >= start or d <= end


@dataclass(frozen=True)
class SeasonalRate:
    """A rate for some seasons of the year; no seasons means the rest of the year."""

    rate: Rate
    seasons: tuple[Season, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.rate, _RATES):
            raise ValidationFailed("a seasonal rate must be a rate, not a schedule")
        if not isinstance(self.seasons, tuple) or not all(
            isinstance(s, Season) for s in self.seasons
        ):
            raise ValidationFailed("a seasonal rate's seasons are a tuple of Season")


_LEAP_YEAR_DAYS = tuple((m, d) for m in range(1, 13) for d in range(1, _DAYS_IN_MONTH[m - 1] + 1))


@dataclass(frozen=True)
class Seasonal:
    """Rates by season of the year (``15% (01 JAN - 14 FEB), 0% (15 FEB - 31 DEC)``)."""

    rates: tuple[SeasonalRate, ...]

    def __post_init__(self) -> None:
        rates = self.rates
        if not (
            isinstance(rates, tuple) and rates and all(isinstance(r, SeasonalRate) for r in rates)
        ):
            raise ValidationFailed("a seasonal duty needs a tuple of at least one seasonal rate")
        if any(not r.seasons for r in rates[:-1]) or not rates[0].seasons:
            raise ValidationFailed("only the last of several seasonal rates may omit its seasons")
        # One rate per day, or a declaration's duty would depend on which rate was read first.
        for month, day in _LEAP_YEAR_DAYS:
            if sum(s.covers(month, day) for r in rates for s in r.seasons) > 1:
                raise ValidationFailed(
                    f"seasons overlap on {day:02d} {MONTHS[month - 1]}", field="seasons"
                )

    def rate_on(self, month: int, day: int) -> Rate | None:
        """The rate for ``day month``, or None if no season covers it."""
        for r in self.rates:
            if not r.seasons or any(s.covers(month, day) for s in r.seasons):
                return r.rate
        return None


@dataclass(frozen=True)
class EntryPrice:
    """The EU entry-price system: the duty depends on the import price, from a table."""


DutyExpression: TypeAlias = Rate | Seasonal | EntryPrice


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # NUM, WORD, SYM (one of % + / ( ) , - € £) or END
    text: str
    pos: int


# \d also takes the Arabic-Indic digits officers may type; Decimal reads them exactly.
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*\.?")
_SYMBOLS = {"%": "%", "+": "+", "/": "/", "(": "(", ")": ")", ",": ",", "-": "-", "–": "-"}


def _fail(text: str, pos: int, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{message} at position {pos} in duty expression {text!r}", position=pos, text=text
    )


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():  # includes the no-break spaces of the CET column
            i += 1
        elif ch in _SYMBOLS:
            tokens.append(_Token("SYM", _SYMBOLS[ch], i))
            i += 1
        elif ch in _CURRENCY_SYMBOLS:
            tokens.append(_Token("SYM", ch, i))
            i += 1
        elif m := _NUMBER.match(text, i):
            tokens.append(_Token("NUM", m.group(), i))
            i = m.end()
        elif m := _WORD.match(text, i):
            tokens.append(_Token("WORD", m.group(), i))
            i = m.end()
        else:
            raise _fail(text, i, f"unexpected character {ch!r}")
    tokens.append(_Token("END", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


def _by_length(spellings: dict[tuple[str, ...], str]) -> list[tuple[tuple[str, ...], str]]:
    return sorted(spellings.items(), key=lambda item: -len(item[0]))


_UNITS_LONGEST_FIRST = _by_length(UNIT_SPELLINGS)
_QUALIFIERS_LONGEST_FIRST = _by_length(QUALIFIER_SPELLINGS)


_N = TypeVar("_N")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- helpers ---------------------------------------------------------------------------

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _word_is(self, *words: str, offset: int = 0) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == "WORD" and tok.text.upper() in words

    def _sym_is(self, sym: str) -> bool:
        return self.tok.kind == "SYM" and self.tok.text == sym

    def _found(self) -> str:
        return "end of input" if self.tok.kind == "END" else repr(self.tok.text)

    def _expected(self, what: str) -> ValidationFailed:
        err = _fail(self.text, self.tok.pos, f"expected {what}, found {self._found()}")
        err.details["expected"] = what
        return err

    def _expect_sym(self, sym: str, what: str) -> _Token:
        if not self._sym_is(sym):
            raise self._expected(what)
        tok = self.tok
        self.i += 1
        return tok

    def _build(self, pos: int, factory: Callable[..., _N], *args: object) -> _N:
        """Construct a node, giving a rule it breaks the position where it was written."""
        try:
            return factory(*args)
        except ValidationFailed as exc:
            raise _fail(self.text, pos, exc.message) from None

    def _comma_inside_number(self) -> bool:
        before, comma, after = self.tokens[self.i - 1], self.tok, self.tokens[self.i + 1]
        return (
            before.kind == "NUM"
            and after.kind == "NUM"
            and before.pos + len(before.text) == comma.pos
            and after.pos == comma.pos + 1
        )

    def _match(self, spellings: list[tuple[tuple[str, ...], str]]) -> str | None:
        for spelling, code in spellings:
            toks = self.tokens[self.i : self.i + len(spelling)]
            if len(toks) == len(spelling) and all(
                t.kind in ("WORD", "SYM") and t.text.lower() == s
                for t, s in zip(toks, spelling, strict=True)
            ):
                self.i += len(spelling)
                return code
        return None

    # -- grammar ---------------------------------------------------------------------------

    def expression(self) -> DutyExpression:
        if self._word_is("ENTRY") and self._word_is("PRICE", offset=1):
            self.i += 2
            result: DutyExpression = EntryPrice()
        else:
            result = self.schedule()
        if self.tok.kind != "END":
            raise self._expected("'+', 'MIN', 'MAX', '(' (a season), ',' or end of input")
        return result

    def schedule(self) -> DutyExpression:
        start = self.tok.pos
        rate = self.rate()
        if not self._sym_is("(") and not self._sym_is(","):
            return rate
        if self._sym_is(",") and self._comma_inside_number():
            raise self._expected("a decimal point (a comma only groups thousands: 1,000)")
        rates: list[SeasonalRate] = []
        while True:
            rate_pos = self.tok.pos
            seasons = self.seasons() if self._sym_is("(") else ()
            rates.append(self._build(rate_pos, SeasonalRate, rate, seasons))
            if not seasons:
                if len(rates) == 1:
                    raise self._expected("'(' (the seasons of the first rate)")
                break  # a rate without seasons covers the rest of the year and comes last
            if not self._sym_is(","):
                break
            self.i += 1
            rate = self.rate()
        return self._build(start, Seasonal, tuple(rates))

    def rate(self) -> Rate:
        duty = self.sum()
        base: Sum | Minimum = duty
        if self._word_is("MIN"):
            self.i += 1
            base = Minimum(duty, self.sum("a floor after 'MIN'"))
        result: Rate = base
        if self._word_is("MAX"):
            self.i += 1
            result = Maximum(base, self.sum("a ceiling after 'MAX'"))
        if self._word_is("MIN", "MAX"):
            raise self._expected("at most one 'MIN' followed by at most one 'MAX'")
        return result

    def sum(self, what: str = "a duty") -> Sum:
        terms = [self.term(what)]
        while self._sym_is("+"):
            self.i += 1
            terms.append(self.term("a duty component after '+'"))
        return terms[0] if len(terms) == 1 else Compound(tuple(terms))

    def term(self, what: str) -> Term:
        tok = self.tok
        if tok.kind == "WORD" and tok.text.upper() in AGRICULTURAL_CODES:
            self.i += 1
            return AgriculturalComponent(tok.text.upper())
        if self._word_is("FREE"):
            self.i += 1
            return AdValorem(Decimal(0))
        if tok.kind != "NUM":
            raise self._expected(
                f"{what}: a number, an agricultural component (EA, ADSZ, ...) or 'Free'"
            )
        self.i += 1
        value = Decimal(tok.text.replace(",", ""))
        currency = self._currency()
        if currency is None:
            # The CN prints rates in a column headed "(%)", so a bare number is a percentage.
            if self._sym_is("%"):
                self.i += 1
            return AdValorem(value)
        self._expect_sym("/", f"'/' after the currency {currency}")
        per, per_pos = Decimal(1), self.tok.pos
        if self.tok.kind == "NUM":
            per = Decimal(self.tok.text.replace(",", ""))
            self.i += 1
        unit = self._match(_UNITS_LONGEST_FIRST)
        if unit is None:
            raise self._expected("a unit (kg, tonne, l, hl, item, m2, % vol/hl, ...)")
        qualifier = self._qualifier()
        return self._build(per_pos, Specific, value, currency, per, unit, qualifier)

    def _currency(self) -> str | None:
        tok = self.tok
        if tok.kind == "SYM" and tok.text in _CURRENCY_SYMBOLS:
            self.i += 1
            return _CURRENCY_SYMBOLS[tok.text]
        text = tok.text
        if (
            tok.kind == "WORD"
            and len(text) == 3
            and text.isalpha()
            and text.isupper()
            and text not in _KEYWORDS
        ):
            self.i += 1
            return text
        return None

    def _qualifier(self) -> str | None:
        start = self.i
        if self._sym_is("/"):
            self.i += 1
            qualifier = self._match(_QUALIFIERS_LONGEST_FIRST)
            if qualifier is None:
                raise self._expected("a qualifier after '/' (net, gross, lactic matter, ...)")
            return qualifier
        qualifier = self._match(_QUALIFIERS_LONGEST_FIRST)
        if qualifier is None:
            self.i = start
        return qualifier

    def seasons(self) -> tuple[Season, ...]:
        self._expect_sym("(", "'('")
        seasons = [self.season()]
        while self._sym_is(","):
            self.i += 1
            seasons.append(self.season())
        self._expect_sym(")", "',' or ')' after a season")
        return tuple(seasons)

    def season(self) -> Season:
        pos = self.tok.pos
        start_day = self._day()
        start_month = self._month() if self.tok.kind == "WORD" else None
        self._expect_sym("-", "'-' between the first and last day of a season")
        end_pos = self.tok.pos
        end_day = self._day()
        end_month = self._month()
        # "01-31 DEC": a start without a month is in the end's month.
        start_month = end_month if start_month is None else start_month
        for day, month, at in ((start_day, start_month, pos), (end_day, end_month, end_pos)):
            if day > _DAYS_IN_MONTH[month - 1]:
                raise _fail(self.text, at, f"day {day} does not exist in {MONTHS[month - 1]}")
        return self._build(pos, Season, start_day, start_month, end_day, end_month)

    def _day(self) -> int:
        if self.tok.kind != "NUM" or not self.tok.text.isdigit():
            raise self._expected("a day of the month")
        day = int(self.tok.text)
        self.i += 1
        return day

    def _month(self) -> int:
        if self.tok.kind != "WORD" or self.tok.text.upper() not in _MONTH_NUMBERS:
            raise self._expected("a month (JAN ... DEC)")
        month = _MONTH_NUMBERS[self.tok.text.upper()]
        self.i += 1
        return month


def parse(text: str) -> DutyExpression:
    """Parse a duty expression; raise ValidationFailed naming the position and what was expected."""
    if not isinstance(text, str):
        raise TypeError(f"a duty expression is text, not {type(text).__name__}")
    return _Parser(text).expression()


# --------------------------------------------------------------------------------------------
# Canonical text
# --------------------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    # Fixed-point so that a Decimal like 1E+2 prints as digits the tokenizer reads back.
    return f"{value:f}"


def _format_season(s: Season) -> str:
    return (
        f"{s.start_day:02d} {MONTHS[s.start_month - 1]} - {s.end_day:02d} {MONTHS[s.end_month - 1]}"
    )


# Named after the builtin on purpose: callers write ``expressions.parse`` / ``expressions.format``.
def format(expression: DutyExpression) -> str:
    """The canonical text of a duty expression; ``parse(format(e)) == e``."""
    match expression:
        case AdValorem(percent):
            return f"{_number(percent)}%"
        case Specific(amount, currency, per, unit, qualifier):
            per_text = "" if per == 1 else f"{_number(per)} "
            unit_text = unit if per == 1 else _PLURALS.get(unit, unit)
            qualifier_text = "" if qualifier is None else f" / {qualifier}"
            return f"{_number(amount)} {currency} / {per_text}{unit_text}{qualifier_text}"
        case AgriculturalComponent(code):
            return code
        case Compound(components):
            return " + ".join(format(c) for c in components)
        case Minimum(base, floor):
            return f"{format(base)} MIN {format(floor)}"
        case Maximum(base, ceiling):
            return f"{format(base)} MAX {format(ceiling)}"
        case Seasonal(rates):
            parts = []
            for r in rates:
                seasons = ", ".join(_format_season(s) for s in r.seasons)
                parts.append(format(r.rate) + (f" ({seasons})" if seasons else ""))
            return ", ".join(parts)
        case EntryPrice():
            return "Entry Price"
    raise TypeError(f"not a duty expression: {expression!r}")
