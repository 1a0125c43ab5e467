"""The demo's summary drawn for a terminal with rich (the data comes from `summary`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render(summary: dict[str, Any], console: Console, *, inbox_url: str) -> None:
    loaded = summary["loaded"]
    rate = loaded["assignment_rate"]
    pace = f"assignments {rate:g} a second" if rate else "assignments all at once"
    console.rule("[bold]Koppel demo — summary")
    console.print(
        f"Loaded {loaded['consultants_accepted']} consultants and "
        f"{loaded['assignments_accepted']} assignments in {loaded['load_seconds']} s "
        f"(refused: {loaded['consultants_refused'] + loaded['assignments_refused']}; "
        f"{pace}); "
        f"then watched the topics for {loaded['wait_seconds']} s."
    )
    for item_id, problem in loaded["refusals"].items():
        console.print(f"  [red]refused {item_id}[/]: {problem}")

    events = Table(title="Events published about the demo data during this run")
    events.add_column("type")
    events.add_column("count", justify="right")
    for event_type, count in summary["events_by_type"].items():
        events.add_row(event_type, str(count))
    for topic, count in summary["dead_letters"].items():
        events.add_row(f"[red]dead letter on {topic}[/]", str(count))
    console.print(events)

    matches = summary["matches"]
    spread = matches["per_assignment"]
    table = Table(title=f"Matches per assignment ({matches['found']} matches)")
    table.add_column("matches")
    table.add_column("assignments", justify="right")
    table.add_column("")
    widest = max(matches["histogram"].values(), default=1) or 1
    for label, count in matches["histogram"].items():
        table.add_row(label, str(count), "█" * round(30 * count / widest))
    console.print(table)
    console.print(
        f"per assignment: min {spread['min']}, median {spread['median']}, p90 {spread['p90']}, "
        f"max {spread['max']} (mean {spread['mean']}); {matches['above_min_score']} matches "
        f"reach the consultant's min_score, {matches['for_daily_digest']} of them go by email "
        f"in a daily digest; withdrawn: {sum(summary['withdrawn'].values())} "
        f"{summary['withdrawn'] or ''}"
    )

    portfolio = summary["portfolio"]
    console.print(
        f"Part-time portfolios: {portfolio['freed_by_ending_commitment']} matches made possible "
        f"by a commitment ending before the assignment starts. Urgent (starting within 3 "
        f"weeks): {portfolio['urgent']} matches, {portfolio['urgent_sent_at_once']} of them "
        f"sent at once — {portfolio['urgent_emailed_at_once_to_digest_consultants']} emailed "
        "at once to consultants who otherwise get a daily digest."
    )

    deliveries = Table(title="Deliveries")
    deliveries.add_column("channel")
    deliveries.add_column("delivered", justify="right")
    deliveries.add_column("failed", justify="right")
    for channel, outcome in summary["deliveries"].items():
        deliveries.add_row(channel, str(outcome.get("delivered", 0)), str(outcome.get("failed", 0)))
    console.print(deliveries)
    console.print(
        f"{matches['instant_deliveries_expected']} instant deliveries were expected "
        "(matches at or above min_score × the consultant's channels; digest emails apart)."
    )
    if summary["repeated_delivery_reports"]:
        console.print(
            f"({summary['repeated_delivery_reports']} delivery reports repeated one already "
            "counted: another notifier on this Kafka delivered the same notification)"
        )
    latency = summary["latency_seconds"]
    console.print(
        f"Latency intake → delivery over {latency['samples']} instant deliveries: "
        f"p50 {latency['p50']} s, p95 {latency['p95']} s, p99 {latency['p99']} s, "
        f"max {latency['max']} s"
    )
    for stage, label in (
        ("intake_to_match", "intake → match"),
        ("match_to_delivery", "match → delivery"),
    ):
        part = latency[stage]
        console.print(
            f"  of which {label}: p50 {part['p50']} s, p95 {part['p95']} s, max {part['max']} s"
        )

    for example in summary["examples"]:
        where = ""
        if example["organisation"] is not None:
            where = f"{'bij' if example['language'] == 'nl' else 'at'} {example['organisation']} "
        console.print(
            f"\n[bold]{example['consultant']}[/] ↔ [bold]{example['assignment']}[/] {where}"
            f"— score {example['score']}"
        )
        for reason in example["reasons"]:
            console.print(f"  • {reason}")

    answered = summary.get("answers")
    if answered is not None:
        console.print(
            f"\nAnswers through the intake API: {answered['interested']} interested, "
            f"{answered['not_interested']} not interested ({answered['refused']} refused). "
            f"Then {answered['assignments_revised']} declined assignments moved their start "
            f"date a week: {answered['updates_announced']} updates announced to the other "
            f"consultants, {answered['suppressed']} not announced to those who said "
            f"not interested ({answered['announced_despite_answer']} announced despite it)."
        )
        for match_id, problem in answered["refusals"].items():
            console.print(f"  [red]answer for {match_id} refused[/]: {problem}")

    hooks = summary["webhooks_received"]
    emails = summary["emails_written"]
    console.print(
        f"\nEmails: {emails['demo']} about the demo's matches in .local/mail/*.eml — inbox "
        f"{inbox_url}"
        f"\nWebhooks: {hooks['verified']} verified ({hooks['duplicates']} retried), "
        f"{hooks['unverified']} refused for a bad signature, in .local/webhooks/webhooks.jsonl"
        "\nThis summary as JSON: .local/demo/summary.json"
    )
    if summary.get("page_link"):
        console.print(
            f"A consultant's page (their matches, with answer buttons): {summary['page_link']}"
        )
    if emails["others"] or hooks["others"]:
        console.print(
            f"[yellow]Also {emails['others']} emails and {hooks['others']} webhooks about "
            "assignments or consultants that are not the demo's: other users publish on this "
            "Kafka's topics too, and the demo's services match and deliver those as well.[/]"
        )
    if summary["watcher_error"]:
        console.print(f"[red]watching the topics failed: {summary['watcher_error']}[/]")
