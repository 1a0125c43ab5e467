"""The demo's own database and consumer groups: names that isolate checkouts and runs."""

from __future__ import annotations

from pathlib import Path

from koppel_demo.sandbox import database_name, group_ids, with_database


def test_each_checkout_has_its_own_demo_database() -> None:
    first = database_name(Path("/work/main"))
    assert first == database_name(Path("/work/main/"))
    assert first != database_name(Path("/srv/koppel-fresh"))
    assert first.startswith("koppel_demo_")
    assert len(first) <= 63  # PostgreSQL's identifier limit


def test_the_dsn_keeps_everything_but_the_database() -> None:
    dsn = "postgresql://koppel:koppel@127.0.0.1:5432/koppel?sslmode=disable"
    assert with_database(dsn, "koppel_demo_x") == (
        "postgresql://koppel:koppel@127.0.0.1:5432/koppel_demo_x?sslmode=disable"
    )


def test_every_consuming_service_gets_a_group_of_the_run() -> None:
    groups = group_ids("abc")
    assert set(groups) == {"MATCHER_GROUP_ID", "NOTIFIER_GROUP_ID", "INTAKE_RAW_GROUP"}
    assert len(set(groups.values())) == 3
    assert all("abc" in group for group in groups.values())
    assert group_ids("abd")["MATCHER_GROUP_ID"] != groups["MATCHER_GROUP_ID"]
