"""The help-desk demo tools: deterministic, errors that say what was wrong, questions answerable."""

from __future__ import annotations

import pytest

from langchain_ste.evaluate.benchmarks.examples import demo_cases
from langchain_ste.tools.demo import DEMO_QUESTIONS, demo_tools

TOOLS = {t.name: t for t in demo_tools()}


def run(name: str, **args: object) -> str:
    return str(TOOLS[name].invoke(args))


@pytest.mark.parametrize(
    ("name", "args", "hint"),
    [
        ("get_order", {"order_id": "88213"}, "order ids look like ORD-12345"),
        ("convert_currency", {"amount": 40, "source": "dollars", "target": "EUR"}, "ISO 4217"),
        ("check_room", {"room": "114", "date": "2027-03-03"}, "rooms are B1-101"),
        ("check_room", {"room": "B2-114", "date": "March 3rd"}, "YYYY-MM-DD"),
        ("quote_shipping", {"weight": 2000, "country": "Germany"}, "ISO 3166 alpha-2"),
        ("find_flights", {"origin": "Lisbon", "destination": "CDG", "date": "2027-05-10"}, "IATA"),
        ("find_customer", {"email": "Ana Silva"}, "give the customer's email address"),
    ],
)
def test_what_users_say_is_refused_with_the_format_the_tool_wants(
    name: str, args: dict[str, object], hint: str
) -> None:
    with pytest.raises(ValueError, match=hint):
        TOOLS[name].invoke(args)


def test_ids_one_tool_returns_are_what_another_needs() -> None:
    customer = run("find_customer", email="Ana.Silva@example.com")
    assert customer.endswith("ORD-88213, ORD-88240")
    assert "shipped" in run("get_order", order_id="ORD-88240")
    invented = run("find_customer", email="jo.doe@mail.com")
    assert invented == run("find_customer", email="jo.doe@mail.com")
    first_order = invented.split("orders (oldest first): ")[1].split(",")[0]
    assert run("get_order", order_id=first_order).startswith(f"{first_order}: ")


def test_outputs_are_deterministic_and_reveal_units() -> None:
    assert run("quote_shipping", weight=2, country="de").startswith("parcel of 2 g to DE")
    assert run("quote_shipping", weight=2000, country="DE") == run(
        "quote_shipping", weight=2000, country="DE"
    )
    flights = run("find_flights", origin="lis", destination="CDG", date="2027-05-10")
    assert flights.startswith("LIS->CDG on 2027-05-10: ") and flights.count("EUR") == 2
    assert flights == run("find_flights", origin="LIS", destination="CDG", date="2027-05-10")
    assert "closed (weekend)" in run("check_room", room="B2-114", date="2027-09-04")
    assert run("convert_currency", amount=250, source="gbp", target="chf") == (
        "250.00 GBP = 278.57 CHF"
    )


def test_every_held_out_question_is_answered_by_its_expected_calls() -> None:
    cases = demo_cases()
    assert len(cases) == len(DEMO_QUESTIONS) >= 20
    assert {c["tool"] for q in DEMO_QUESTIONS for c in q["calls"]} == set(TOOLS)
    for case, question in zip(cases, DEMO_QUESTIONS, strict=True):
        env = case.environment()
        by_name = {t.name: t for t in env.tools}
        for call in question["calls"]:
            by_name[call["tool"]].invoke(call["args"])  # raises if the answer is not valid
        assert case.check([env.calls]).correct, case.turns


def test_the_zero_shot_guess_is_not_an_answer() -> None:
    case = demo_cases()[3]  # "Where is my order 88213?"
    guess = [{"name": "get_order", "args": {"order_id": "88213"}}]
    result = case.check([guess])
    assert not result.correct and "ORD-88213" in result.reason
