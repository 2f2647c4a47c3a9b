"""What the simulated trucks carry and who sends them: plausible, illustrative figures.

Commodity groups follow the main Iranian exports to Iraq over land (building materials,
foodstuffs, fresh produce, dairy, plastics, detergents, vehicle parts). Unit values are rough
USD prices per kilogram at the border; they make the duties plausible, not exact. Every HS code
is a 2022 subheading in ``manafidh/data/hs2022.csv`` (a unit test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One tariff line a group's trucks may carry, with its unit value range in USD per kg."""

    hs_code: str
    description: str
    usd_per_kg: tuple[float, float]
    unit: str = "KGM"
    kg_per_unit: float = 1.0


@dataclass(frozen=True)
class Decoy:
    """The lower-duty line a misclassified load of the group is declared under."""

    hs_code: str
    description: str


@dataclass(frozen=True)
class Group:
    """A commodity group: its share of trucks, tariff lines, load and packaging."""

    key: str
    share: float
    lines: tuple[Line, ...]
    load_kg: tuple[int, int]
    max_items: int
    packing: tuple[float, float]  # gross/net ratio
    exporters: tuple[str, ...]
    decoy: Decoy | None = None


GROUPS: tuple[Group, ...] = (
    Group(
        key="cement",
        share=0.14,
        lines=(
            Line("252329", "Portland cement, grey, in 50 kg bags", (0.04, 0.07)),
            Line("252390", "Hydraulic cement, sulphate-resisting, bulk", (0.05, 0.08)),
        ),
        load_kg=(24_000, 30_000),
        max_items=1,
        packing=(1.005, 1.015),
        exporters=("Ilam Cement Co.", "Khuzestan Cement Co.", "Kermanshah Cement Industries"),
        decoy=Decoy("382450", "Ready-mix mortar, non-refractory"),
    ),
    Group(
        key="steel",
        share=0.12,
        lines=(
            Line("721420", "Reinforcing steel bars (rebar), deformed, 12-32 mm", (0.45, 0.62)),
            Line("721410", "Steel bars, forged, non-alloy", (0.50, 0.68)),
            Line("721499", "Steel bars, hot-rolled, plain round", (0.46, 0.60)),
        ),
        load_kg=(22_000, 28_000),
        max_items=2,
        packing=(1.0, 1.004),
        exporters=("Khuzestan Steel Co.", "Isfahan Steel Trading", "Esfarayen Industrial Co."),
    ),
    Group(
        key="tiles",
        share=0.10,
        lines=(
            Line("690721", "Glazed porcelain floor tiles", (0.25, 0.42), "MTK", 21.0),
            Line("690722", "Ceramic wall tiles, glazed", (0.22, 0.36), "MTK", 16.0),
            Line("690723", "Ceramic floor tiles, unglazed", (0.20, 0.32), "MTK", 20.0),
        ),
        load_kg=(20_000, 28_000),
        max_items=3,
        packing=(1.04, 1.08),
        exporters=("Yazd Tile Co.", "Isfahan Ceramic Industries", "Meybod Porcelain"),
        decoy=Decoy("680221", "Building stone slabs, simply cut"),
    ),
    Group(
        key="vegetables",
        share=0.09,
        lines=(
            Line("070200", "Fresh tomatoes", (0.25, 0.50)),
            Line("070310", "Onions, fresh", (0.15, 0.30)),
            Line("070700", "Cucumbers, fresh", (0.30, 0.55)),
            Line("070960", "Sweet peppers, fresh", (0.45, 0.80)),
            Line("070410", "Cauliflowers, fresh", (0.30, 0.50)),
        ),
        load_kg=(14_000, 22_000),
        max_items=3,
        packing=(1.06, 1.12),
        exporters=("Dezful Agricultural Export", "Jiroft Fresh Produce", "Ahvaz Vegetables Co."),
        decoy=Decoy("230800", "Vegetable by-products for animal feeding"),
    ),
    Group(
        key="fruit",
        share=0.07,
        lines=(
            Line("080510", "Oranges, fresh", (0.40, 0.75)),
            Line("080550", "Lemons and limes, fresh", (0.50, 0.90)),
            Line("080610", "Table grapes, fresh", (0.60, 1.10)),
            Line("080810", "Apples, fresh", (0.45, 0.85)),
        ),
        load_kg=(14_000, 22_000),
        max_items=3,
        packing=(1.06, 1.12),
        exporters=("Mazandaran Citrus Co.", "Urmia Apple Export", "Qazvin Grape Growers"),
        decoy=Decoy("230800", "Vegetable by-products for animal feeding"),
    ),
    Group(
        key="dairy",
        share=0.08,
        lines=(
            Line("040120", "UHT milk, 1-6 % fat", (0.60, 0.90), "LTR", 1.03),
            Line("040210", "Milk powder, skimmed", (2.40, 3.20)),
            Line("040690", "White cheese in brine", (2.50, 4.50)),
            Line("040610", "Fresh cheese (labneh)", (2.20, 3.60)),
        ),
        load_kg=(12_000, 20_000),
        max_items=4,
        packing=(1.05, 1.10),
        exporters=("Kalleh Dairy Export", "Pegah Dairy Co.", "Damdaran Dairy Industries"),
    ),
    Group(
        key="foodstuffs",
        share=0.14,
        lines=(
            Line("190531", "Sweet biscuits", (1.20, 2.00)),
            Line("190590", "Bread and cakes, packaged", (1.00, 1.80)),
            Line("170199", "White sugar, refined", (0.45, 0.60)),
            Line("151219", "Sunflower oil, refined", (1.00, 1.40), "LTR", 0.92),
            Line("200290", "Tomato paste", (0.80, 1.20)),
            Line("210390", "Sauces and mixed condiments", (1.10, 1.90)),
        ),
        load_kg=(10_000, 20_000),
        max_items=5,
        packing=(1.04, 1.10),
        exporters=("Minoo Food Industries", "Golestan Food Co.", "Tabriz Confectionery"),
        decoy=Decoy("110100", "Wheat flour"),
    ),
    Group(
        key="plastics",
        share=0.08,
        lines=(
            Line("392690", "Household plastic articles", (1.50, 3.00)),
            Line("392321", "Polyethylene sacks and bags", (1.30, 1.80)),
            Line("392310", "Plastic crates and boxes", (1.40, 2.20)),
            Line("392010", "Polyethylene film, rolls", (1.20, 1.70)),
        ),
        load_kg=(6_000, 14_000),
        max_items=4,
        packing=(1.03, 1.08),
        exporters=("Tehran Plastic Industries", "Arak Polymer Products", "Shiraz Pack Co."),
    ),
    Group(
        key="detergents",
        share=0.07,
        lines=(
            Line("340290", "Liquid detergents and cleaners", (0.80, 1.40)),
            Line("340250", "Washing powder", (0.75, 1.20)),
            Line("340120", "Soap bars", (0.90, 1.50)),
        ),
        load_kg=(12_000, 22_000),
        max_items=3,
        packing=(1.04, 1.09),
        exporters=("Paksan Co.", "Tolypers Detergents", "Golrang Industrial Group"),
        decoy=Decoy("283620", "Soda ash (disodium carbonate)"),
    ),
    Group(
        key="vehicle_parts",
        share=0.05,
        lines=(
            Line("870899", "Vehicle parts and accessories n.e.c.", (3.0, 8.0), "NMB", 4.0),
            Line("870830", "Brake pads and parts", (3.5, 7.0), "NMB", 2.0),
            Line("870840", "Gearboxes and parts", (4.0, 9.0), "NMB", 35.0),
            Line("870880", "Shock absorbers and suspension parts", (3.0, 6.5), "NMB", 3.0),
        ),
        load_kg=(3_000, 10_000),
        max_items=4,
        packing=(1.06, 1.15),
        exporters=("Iran Khodro Spare Parts", "Saipa Parts Export", "Crouse Industrial Co."),
        decoy=Decoy("848390", "Transmission components (machinery parts)"),
    ),
)

# Trucks per day at full scale (before --scale): Shalamcheh and Zurbatiyah are the busiest.
DAILY_TRUCKS: dict[str, int] = {
    "SHL": 120,
    "ZRB": 100,
    "PWK": 60,
    "BSH": 50,
    "MND": 45,
    "MNT": 40,
    "SHB": 35,
    "HJO": 30,
    "TWL": 12,
}
DEFAULT_DAILY_TRUCKS = 10

# Importers deal with the crossings of their part of the country.
REGIONS: dict[str, tuple[str, ...]] = {
    "south": ("SHL", "SHB"),
    "centre": ("ZRB", "MNT", "MND"),
    "kurdistan": ("PWK", "BSH", "HJO", "TWL"),
}

# Relative arrivals by local hour 00..23: busy from 06 to 18, a trickle at night.
HOUR_WEIGHTS: tuple[int, ...] = (
    1, 1, 1, 1, 1, 2,
    4, 7, 9, 10, 10, 10,
    9, 9, 9, 8, 8, 7,
    5, 4, 3, 2, 2, 1,
)  # fmt: skip

# Friday and Saturday are the weekend in Iraq (Monday=0).
WEEKDAY_FACTOR: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.55, 0.8, 1.0)

# Invoice currencies and rough cross rates used only to write plausible invoices (the
# assessment uses the dated rates in the database).
CURRENCIES: tuple[tuple[str, float, float], ...] = (
    # code, share, units per USD
    ("USD", 0.85, 1.0),
    ("IQD", 0.09, 1310.0),
    ("EUR", 0.06, 0.92),
)

IMPORTER_PLACES: tuple[str, ...] = (
    "Al-Rafidain", "Dijla", "Al-Furat", "Babil", "Ishtar", "Sumer", "Al-Warka", "Akkad",
    "Al-Mustaqbal", "Al-Noor", "Al-Sadeer", "Al-Janoub", "Al-Basra", "Shatt Al-Arab",
    "Maysan", "Al-Kut", "Wasit", "Diyala", "Baquba", "Khanaqin", "Al-Zawraa", "Al-Mansour",
    "Al-Karkh", "Al-Rusafa", "Zagros", "Hawler", "Slemani", "Sirwan", "Azmar", "Goyzha",
    "Nineveh", "Al-Hadbaa", "Karbala", "Al-Kufa", "Al-Ahwar", "Al-Fayhaa",
)  # fmt: skip
IMPORTER_KINDS: dict[str, str] = {
    "cement": "Building Materials Co.",
    "steel": "Steel Trading Co.",
    "tiles": "Ceramics and Tiles Co.",
    "vegetables": "Fresh Produce Co.",
    "fruit": "Fruit Trading Co.",
    "dairy": "Dairy Distribution Co.",
    "foodstuffs": "Foodstuffs Trading Co.",
    "plastics": "Plastics Trading Co.",
    "detergents": "Household Goods Co.",
    "vehicle_parts": "Auto Parts Co.",
}
BROKER_NAMES: tuple[str, ...] = (
    "Ahmed Kadhim", "Haider Abbas", "Mustafa Jasim", "Ali Hussein", "Karrar Salman",
    "Omar Khalil", "Saif Mahmoud", "Zainab Hadi", "Hawre Aziz", "Shwan Karim",
    "Rebin Omer", "Dilan Rasul",
)  # fmt: skip
DRIVER_FIRST: tuple[str, ...] = (
    "Hossein", "Mohammad", "Ali", "Reza", "Mehdi", "Hamid", "Abbas", "Morteza", "Saeed",
    "Javad", "Karim", "Rahim", "Jafar", "Naser", "Farhad", "Behzad", "Kamran", "Davood",
)  # fmt: skip
DRIVER_LAST: tuple[str, ...] = (
    "Karimi", "Ahmadi", "Hosseini", "Rezaei", "Moradi", "Jafari", "Mohammadi", "Rostami",
    "Sadeghi", "Heidari", "Nazari", "Ghasemi", "Bakhtiari", "Zand", "Kazemi", "Amini",
    "Soltani", "Shirazi", "Kurdi", "Lorestani",
)  # fmt: skip
# Latin stand-ins for the Persian letters of Iranian truck plates.
PLATE_LETTERS = "BDEJLMNQSTVY"
