"""Two small, deterministic, side-effect-free tools for demos, tests and docs.

`convert_units` converts lengths, masses and temperatures; `search_catalog` searches a fixed
in-memory product catalogue. `HELD_OUT_QUESTIONS` are user requests (never shown during
exploration) with the tool and arguments that answer them, for before/after comparisons.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from langchain_core.tools import BaseTool, tool

Unit = Literal["mm", "cm", "m", "km", "in", "ft", "mi", "g", "kg", "lb", "oz", "C", "F", "K"]

_TO_BASE = {
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1.0),
    "km": ("length", 1000.0), "in": ("length", 0.0254), "ft": ("length", 0.3048),
    "mi": ("length", 1609.344), "g": ("mass", 0.001), "kg": ("mass", 1.0),
    "lb": ("mass", 0.45359237), "oz": ("mass", 0.028349523125),
}


@tool
def convert_units(value: float, from_unit: Unit, to_unit: Unit) -> str:
    """Convert a quantity between units of length (mm, cm, m, km, in, ft, mi), mass (g, kg, lb,
    oz) or temperature (C, F, K). Returns the converted value rounded to 4 decimals."""
    temps = {"C", "F", "K"}
    if from_unit in temps or to_unit in temps:
        if not (from_unit in temps and to_unit in temps):
            raise ValueError(f"cannot convert {from_unit} to {to_unit}: different dimensions")
        kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[from_unit]
        out = {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[to_unit]
    else:
        (dim_from, f_from), (dim_to, f_to) = _TO_BASE[from_unit], _TO_BASE[to_unit]
        if dim_from != dim_to:
            raise ValueError(f"cannot convert {from_unit} ({dim_from}) to {to_unit} ({dim_to})")
        out = value * f_from / f_to
    return f"{value:g} {from_unit} = {round(out, 4):g} {to_unit}"


class Product(TypedDict):
    """One catalogue entry."""

    sku: str
    name: str
    category: str
    price: float


CATALOG: list[Product] = [
    {"sku": "A100", "name": "trail running shoes", "category": "sports", "price": 89.0},
    {"sku": "A101", "name": "yoga mat", "category": "sports", "price": 25.0},
    {"sku": "A102", "name": "steel water bottle", "category": "sports", "price": 18.5},
    {"sku": "B200", "name": "noise cancelling headphones", "category": "electronics",
     "price": 199.0},
    {"sku": "B201", "name": "usb-c charger", "category": "electronics", "price": 29.0},
    {"sku": "B202", "name": "e-book reader", "category": "electronics", "price": 129.0},
    {"sku": "C300", "name": "cast iron pan", "category": "kitchen", "price": 45.0},
    {"sku": "C301", "name": "chef knife", "category": "kitchen", "price": 65.0},
    {"sku": "C302", "name": "coffee grinder", "category": "kitchen", "price": 39.0},
    {"sku": "D400", "name": "mystery novel", "category": "books", "price": 14.0},
    {"sku": "D401", "name": "python cookbook", "category": "books", "price": 49.0},
]


@tool
def search_catalog(
    query: str,
    category: Literal["sports", "electronics", "kitchen", "books"] | None = None,
    max_price: float | None = None,
    limit: int = 3,
) -> str:
    """Search the shop's product catalogue by keywords, optionally within one category and under
    a maximum price. Returns matching products as 'SKU name (category) $price' lines."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    words = [w for w in query.lower().split() if w]
    hits = [
        p for p in CATALOG
        if (category is None or p["category"] == category)
        and (max_price is None or p["price"] <= max_price)
        and (not words or any(w in p["name"] or w in p["category"] for w in words))
    ]
    if not hits:
        return "no products found"
    return "\n".join(
        f"{p['sku']} {p['name']} ({p['category']}) ${p['price']:.2f}" for p in hits[:limit]
    )


def example_tools() -> list[BaseTool]:
    """The example tools, ready to explore.

    Example:
        >>> [t.name for t in example_tools()]
        ['convert_units', 'search_catalog']
        >>> convert_units.invoke({"value": 1, "from_unit": "km", "to_unit": "m"})
        '1 km = 1000 m'
    """
    return [convert_units, search_catalog]


class HeldOutQuestion(TypedDict):
    """A user request with the call that answers it."""

    question: str
    tool: str
    args: dict[str, object]


HELD_OUT_QUESTIONS: list[HeldOutQuestion] = [
    {"question": "How many centimeters are 3 inches?", "tool": "convert_units",
     "args": {"value": 3, "from_unit": "in", "to_unit": "cm"}},
    {"question": "What is 100 F in Celsius?", "tool": "convert_units",
     "args": {"value": 100, "from_unit": "F", "to_unit": "C"}},
    {"question": "Convert 5 kg to pounds.", "tool": "convert_units",
     "args": {"value": 5, "from_unit": "kg", "to_unit": "lb"}},
    {"question": "Do you sell a coffee grinder?", "tool": "search_catalog",
     "args": {"query": "coffee grinder"}},
    {"question": "Show me electronics under 50 dollars.", "tool": "search_catalog",
     "args": {"query": "", "category": "electronics", "max_price": 50}},
    {"question": "I need a yoga mat.", "tool": "search_catalog", "args": {"query": "yoga mat"}},
]
