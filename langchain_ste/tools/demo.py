"""The demo's tools: a small shop help desk whose real behaviour only execution reveals.

Six deterministic, side-effect-free tools, documented as tersely as real APIs often are. What the
documentation leaves out, exploration has to find: order ids look like ``ORD-12345`` (and come
from `find_customer`), money and countries use ISO codes, rooms are ``B2-114``, airports are IATA
codes, dates are ``YYYY-MM-DD``, and a parcel's weight is in grams. Each error says what was wrong.
A zero-shot model tends to pass what the user said (``"dollars"``, ``"Paris"``, ``"88213"``,
``"March 3rd"``); a model that has seen a few explored trials passes what the tools accept.

Every well-formed id or address exists (the shop's data is generated from it, deterministically),
so what exploration learns is the formats; what is malformed fails with an error that says so.

`DEMO_QUESTIONS` are held-out requests, written before anything was measured and never tuned
afterwards, each with the calls that answer it (see `langchain_ste.evaluate.benchmarks.demo`).
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date as Date
from typing import TypedDict

from langchain_core.tools import BaseTool, tool

_CUSTOMERS = {
    "ana.silva@example.com": ("C-1042", "Ana Silva", ["ORD-88213", "ORD-88240"]),
    "ben.okafor@example.com": ("C-2077", "Ben Okafor", ["ORD-90114"]),
    "chen.wei@example.com": ("C-3150", "Chen Wei", ["ORD-77501", "ORD-77502"]),
}
_ORDERS = {
    "ORD-88213": ("delivered", "2 items (SKU A100 x1, B201 x1)", 118.0, "PT", "1Z88213"),
    "ORD-88240": ("shipped", "1 item (SKU C300 x1)", 45.0, "PT", "1Z88240"),
    "ORD-90114": ("processing", "3 items (SKU B200 x1, D400 x2)", 230.5, "DE", ""),
    "ORD-77501": ("cancelled", "1 item (SKU A102 x1)", 19.99, "US", ""),
    "ORD-77502": ("shipped", "2 items (SKU C301 x1, C302 x1)", 64.0, "US", "1Z77502"),
}
_ORDER_ID = re.compile(r"ORD-\d{5}")
_EUR_PER_UNIT = {
    "EUR": 1.0, "USD": 0.92, "GBP": 1.17, "JPY": 0.0062, "CHF": 1.05, "BRL": 0.17, "INR": 0.011,
}  # fmt: skip
_ROOMS = ("B1-101", "B1-102", "B2-114", "B2-120", "C3-301")
_SLOTS = ("09:00-10:00", "10:00-12:00", "12:00-13:00", "13:00-15:00", "15:00-17:00")
_ZONES = {
    "PT": 1, "ES": 1, "FR": 1, "DE": 1, "IT": 1, "NL": 1, "GB": 2, "US": 3, "BR": 3, "JP": 3,
}  # fmt: skip
_ZONE_PRICES = {1: (5.9, 1.2), 2: (9.5, 2.0), 3: (19.0, 4.5)}  # base, per started kg (EUR)
_AIRPORTS = {
    "LIS": "Lisbon", "OPO": "Porto", "CDG": "Paris", "ORY": "Paris", "LHR": "London",
    "LGW": "London", "FRA": "Frankfurt", "MAD": "Madrid", "BCN": "Barcelona", "AMS": "Amsterdam",
    "JFK": "New York", "EWR": "Newark", "NRT": "Tokyo", "GRU": "Sao Paulo",
}  # fmt: skip
_AIRLINES = ("TP", "AF", "BA", "LH", "IB", "KL")


def _iso_date(value: str) -> Date:
    try:
        return Date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"invalid date {value!r}: dates are YYYY-MM-DD, like 2027-03-14") from None


def _pick(*parts: str) -> int:
    """A deterministic number from the arguments (stable across processes, unlike hash())."""
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
_STATUSES = ("processing", "shipped", "delivered", "cancelled")


@tool
def find_customer(email: str) -> str:
    """Find a customer."""
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"invalid email {email!r}: give the customer's email address")
    found = _CUSTOMERS.get(email)
    if found is None:  # every well-formed address has an account in this demo shop
        n = _pick(email)
        name = email.split("@")[0].replace(".", " ").title()
        orders = [f"ORD-{_pick(email, str(i)) % 90000 + 10000}" for i in range(1 + n % 3)]
        found = (f"C-{n % 9000 + 1000}", name, orders)
    customer_id, name, orders = found
    return f"customer {customer_id}: {name}; orders (oldest first): {', '.join(orders)}"


@tool
def get_order(order_id: str) -> str:
    """Get an order's status."""
    order_id = order_id.strip()
    if not _ORDER_ID.fullmatch(order_id):
        raise ValueError(f"invalid order_id {order_id!r}: order ids look like ORD-12345")
    known = _ORDERS.get(order_id)
    if known is None:  # every well-formed id is an order in this demo shop
        n = _pick(order_id)
        country = list(_ZONES)[n % len(_ZONES)]
        parcel = f"1Z{n % 100000:05d}" if n % 4 in (1, 2) else ""
        known = (_STATUSES[n % 4], f"{1 + n % 3} item(s)", 10 + n % 300, country, parcel)
    status, items, total, country, parcel = known
    tracking = f", parcel {parcel}" if parcel else ""
    return f"{order_id}: {status}, {items}, total {total:.2f} EUR, ships to {country}{tracking}"


@tool
def convert_currency(amount: float, source: str, target: str) -> str:
    """Convert money."""
    codes = {}
    for role, code in (("source", source), ("target", target)):
        code = code.strip().upper()
        if code not in _EUR_PER_UNIT:
            raise ValueError(
                f"unknown {role} currency {code!r}: use ISO 4217 codes such as "
                f"{', '.join(_EUR_PER_UNIT)}"
            )
        codes[role] = code
    value = amount * _EUR_PER_UNIT[codes["source"]] / _EUR_PER_UNIT[codes["target"]]
    return f"{amount:.2f} {codes['source']} = {value:.2f} {codes['target']}"


@tool
def check_room(room: str, date: str) -> str:
    """Check a meeting room's bookings."""
    room = room.strip().upper()
    if room not in _ROOMS:
        raise ValueError(f"unknown room {room!r}: rooms are {', '.join(_ROOMS)}")
    day = _iso_date(date)
    if day.weekday() >= 5:
        return f"{room} on {day.isoformat()}: closed (weekend)"
    booked = _pick(room, day.isoformat())
    slots = [f"{s} {'booked' if booked >> i & 1 else 'free'}" for i, s in enumerate(_SLOTS)]
    return f"{room} on {day.isoformat()}: " + ", ".join(slots)


@tool
def quote_shipping(weight: int, country: str) -> str:
    """Quote shipping for a parcel."""
    code = country.strip().upper()
    if code not in _ZONES:
        raise ValueError(
            f"unknown country {country!r}: use ISO 3166 alpha-2 codes such as "
            f"{', '.join(_ZONES)}"
        )
    if weight <= 0:
        raise ValueError("weight must be a positive number of grams")
    if weight > 30_000:
        raise ValueError(f"a parcel of {weight} g is over the 30000 g limit")
    base, per_kg = _ZONE_PRICES[_ZONES[code]]
    standard = base + per_kg * math.ceil(weight / 1000)
    return (
        f"parcel of {weight} g to {code}: standard {standard:.2f} EUR, "
        f"express {standard * 2.2:.2f} EUR"
    )


@tool
def find_flights(origin: str, destination: str, date: str) -> str:
    """Search flights."""
    codes = []
    for role, value in (("origin", origin), ("destination", destination)):
        code = value.strip().upper()
        if code not in _AIRPORTS:
            raise ValueError(
                f"unknown {role} airport {value!r}: use IATA airport codes such as "
                f"{', '.join(list(_AIRPORTS)[:8])}"
            )
        codes.append(code)
    if codes[0] == codes[1]:
        raise ValueError("origin and destination are the same airport")
    day = _iso_date(date).isoformat()
    flights = []
    for i in range(2):
        n = _pick(*codes, day, str(i))
        hour = 6 + (n % 7) * 2 + i
        flights.append(
            f"{_AIRLINES[n % len(_AIRLINES)]}{100 + n % 900} {hour:02d}:{n % 4 * 15:02d} "
            f"{80 + n % 240} EUR"
        )
    return f"{codes[0]}->{codes[1]} on {day}: " + "; ".join(flights)


def demo_tools() -> list[BaseTool]:
    """The demo's six help-desk tools, ready to explore.

    Example:
        >>> [t.name for t in demo_tools()]
        ['find_customer', 'get_order', 'convert_currency', 'check_room', 'quote_shipping', \
'find_flights']
        >>> get_order.invoke({"order_id": "ORD-88240"})
        'ORD-88240: shipped, 1 item (SKU C300 x1), total 45.00 EUR, ships to PT, parcel 1Z88240'
        >>> convert_currency.invoke({"amount": 40, "source": "USD", "target": "EUR"})
        '40.00 USD = 36.80 EUR'
    """
    return [find_customer, get_order, convert_currency, check_room, quote_shipping, find_flights]


class ExpectedCall(TypedDict):
    """A call that answers (part of) a question: the tool and the arguments it must get."""

    tool: str
    args: dict[str, object]


class DemoQuestion(TypedDict):
    """A held-out request with every call that answers it (all of them must be made)."""

    question: str
    calls: list[ExpectedCall]


def _q(question: str, *calls: tuple[str, dict[str, object]]) -> DemoQuestion:
    return {"question": question, "calls": [{"tool": t, "args": a} for t, a in calls]}


DEMO_QUESTIONS: list[DemoQuestion] = [
    _q("Which orders does ben.okafor@example.com have with us?",
       ("find_customer", {"email": "ben.okafor@example.com"})),
    _q("Can you look up the customer account for chen.wei@example.com?",
       ("find_customer", {"email": "chen.wei@example.com"})),
    _q("What's the status of the latest order of ana.silva@example.com?",
       ("find_customer", {"email": "ana.silva@example.com"}),
       ("get_order", {"order_id": "ORD-88240"})),
    _q("Where is my order 88213?", ("get_order", {"order_id": "ORD-88213"})),
    _q("Has order number 90114 shipped yet?", ("get_order", {"order_id": "ORD-90114"})),
    _q("I want to know what happened to order #77501.", ("get_order", {"order_id": "ORD-77501"})),
    _q("Is my order ORD-77502 on its way?", ("get_order", {"order_id": "ORD-77502"})),
    _q("How much is 40 dollars in euros?",
       ("convert_currency", {"amount": 40, "source": "USD", "target": "EUR"})),
    _q("Convert 250 British pounds to Swiss francs.",
       ("convert_currency", {"amount": 250, "source": "GBP", "target": "CHF"})),
    _q("What are 10000 yen worth in US dollars?",
       ("convert_currency", {"amount": 10000, "source": "JPY", "target": "USD"})),
    _q("How many Brazilian reais do I get for 75 euros?",
       ("convert_currency", {"amount": 75, "source": "EUR", "target": "BRL"})),
    _q("Is room 114 in building B2 free on March 3rd, 2027?",
       ("check_room", {"room": "B2-114", "date": "2027-03-03"})),
    _q("What does the schedule of meeting room C3-301 look like on 2027-01-15?",
       ("check_room", {"room": "C3-301", "date": "2027-01-15"})),
    _q("Can I book room 102 of building B1 on the 9th of February 2027?",
       ("check_room", {"room": "B1-102", "date": "2027-02-09"})),
    _q("Which slots are free in room B2-120 on June 1, 2027?",
       ("check_room", {"room": "B2-120", "date": "2027-06-01"})),
    _q("How much does it cost to ship a 2 kg parcel to Germany?",
       ("quote_shipping", {"weight": 2000, "country": "DE"})),
    _q("What's the shipping price for a 500 gram package to Japan?",
       ("quote_shipping", {"weight": 500, "country": "JP"})),
    _q("Shipping quote for 1.5 kilograms to the United States, please.",
       ("quote_shipping", {"weight": 1500, "country": "US"})),
    _q("How much to send a 750 g parcel to Portugal?",
       ("quote_shipping", {"weight": 750, "country": "PT"})),
    _q("Find me flights from Lisbon to Paris Charles de Gaulle on 2027-05-10.",
       ("find_flights", {"origin": "LIS", "destination": "CDG", "date": "2027-05-10"})),
    _q("Are there flights from London Heathrow to New York JFK on April 2nd, 2027?",
       ("find_flights", {"origin": "LHR", "destination": "JFK", "date": "2027-04-02"})),
    _q("I need to fly from Frankfurt to Madrid on the 20th of July 2027.",
       ("find_flights", {"origin": "FRA", "destination": "MAD", "date": "2027-07-20"})),
    _q("Show flights from Amsterdam to Tokyo Narita on 2027-09-05.",
       ("find_flights", {"origin": "AMS", "destination": "NRT", "date": "2027-09-05"})),
    _q("What would 120 Swiss francs be in Indian rupees?",
       ("convert_currency", {"amount": 120, "source": "CHF", "target": "INR"})),
]  # fmt: skip
"""24 held-out requests over the six tools (one needs two calls), committed before measuring."""
