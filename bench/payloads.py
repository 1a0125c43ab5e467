"""Request bodies for the benchmarks and fault tests.

* `closed_assignments`: realistic assignments (the demo generator's, ~1 KB, DOMAIN.md's
  distributions) with status `withdrawn`, so the intake does its full work (validate,
  publish with acks=all) while no matcher anywhere on the shared topics matches them.
* `pinned_consultant` / `pinned_assignment`: pairs built so each assignment matches exactly
  one benchmark consultant, through a certification only that consultant holds. One event
  in → one webhook out, which makes end-to-end latency well defined. The consultants want
  4 hours a week from a date two years ahead, so no other assignment on the shared topics
  (demo data, tests: 24–36 hours, starting within weeks) matches them.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from koppel_demo.data import assignments

FAR_AHEAD = timedelta(days=730)
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"koppel-bench-webhook-secret-32b!").decode()


def closed_assignments(count: int, seed: int = 7) -> list[dict[str, Any]]:
    bodies = []
    for assignment in assignments(count, seed):
        body = assignment.model_dump(mode="json", exclude_none=True)
        body["status"] = "withdrawn"
        # Ids of their own: the demo's `demo-a-…` ids would close the demo's assignments.
        body["id"] = body["id"].replace("demo-", "bench-", 1)
        bodies.append(body)
    return bodies


def certification(run_id: str, consultant: int) -> str:
    return f"bench-cert-{run_id}-{consultant}"


def pinned_consultant(
    run_id: str, index: int, webhook_base: str, *, channel: str = "webhook"
) -> tuple[str, dict[str, Any]]:
    consultant_id = f"bench-{run_id}-c{index}"
    today = date.today()
    notification: dict[str, Any] = {"channels": [channel], "mode": "instant", "min_score": 0}
    if channel == "webhook":
        notification |= {
            "webhook_url": f"{webhook_base}/hooks/{consultant_id}",
            "webhook_secret": WEBHOOK_SECRET,
        }
    return consultant_id, {
        "id": consultant_id,
        "name": "Bench Consultant",
        "email": f"{consultant_id}@example.org",
        "level": "senior",
        "years_experience": 9,
        "public_sector_years": 5,
        "disciplines": ["citizen_participation"],
        "certifications": [certification(run_id, index)],
        "home": {"city": "Utrecht", "province": "utrecht"},
        "max_office_days_per_week": 3,
        "available_from": (today + FAR_AHEAD).isoformat(),
        "hours_per_week": {"min": 4, "max": 4},
        "consent": True,
        "active": True,
        "notification": notification,
    }


def pinned_assignment(run_id: str, sequence: int, consultant: int) -> tuple[str, dict[str, Any]]:
    assignment_id = f"bench-{run_id}-a{sequence}"
    today = date.today()
    return assignment_id, {
        "id": assignment_id,
        "title": f"Adviseur participatie {assignment_id}",
        "description": "Benchmark-opdracht: participatietraject in een middelgrote gemeente.",
        "organization": {"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65000},
        "location": {"city": "Zeist", "province": "utrecht"},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["citizen_participation"],
        "disciplines_preferred": [],
        "hours_per_week": {"min": 4, "max": 4},
        "start_date": (today + FAR_AHEAD).isoformat(),
        "duration_months": 6,
        "office_days_per_week": 2,
        "required_certifications": [certification(run_id, consultant)],
        "visibility": "public",
        "status": "open",
    }
