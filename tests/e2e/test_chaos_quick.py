"""The quick fault test: `bench/chaos.py --quick` must pass (no loss, no duplicate).

It starts a Kafka broker and a PostgreSQL cluster of its own on free ports (never the
shared ones), the three services on them, and runs a steady phase (no redelivery may
happen), two SIGKILLs of the matcher and two of the notifier under load; 80–140 s
(the restarted notifier waits out its predecessor's Kafka session, ~10 s, each time).
The full set (20 kills each, broker and PostgreSQL restarts, hostile webhook endpoints)
is `make chaos`. The judge itself is checked first, on made-up records, so this test
cannot pass by judging nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from chaos_audit import Entry, TopicRecords, judge  # noqa: E402 - bench is not a package
from hostile_webhooks import Attempt, Behaviour  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def _attempt(assignment_id: str, webhook_id: str, sender: str = "ours") -> Attempt:
    return Attempt(
        at=1.0,
        webhook_id=webhook_id,
        kind="match.found",
        assignment_id=assignment_id,
        consultant_id="c0",
        behaviour="ok",
        status=204,
        sender=sender,
    )


def test_the_judge_counts_losses_duplicates_and_foreign_senders() -> None:
    ledger = {a: Entry("c0", "webhook", Behaviour.OK, 0.0) for a in ("a1", "a2", "a3", "a4")} | {
        "a5": Entry("c1", "email", Behaviour.OK, 0.0)
    }
    attempts = [
        _attempt("a1", "msg_1"),
        _attempt("a1", "msg_1"),  # redelivery: allowed
        _attempt("a2", "msg_2"),
        _attempt("a2", "msg_2b"),  # a second webhook for one event: forbidden
        _attempt("a3", "msg_3", sender="foreign 42 python -m koppel_notifier"),
    ]
    topics = TopicRecords()
    topics.matches.update({"a1": 1, "a2": 2})
    emails = [("a5", "<m1>"), ("a5", "<m2>"), ("a5", "<m2>")]
    verdict = judge("made-up", ledger, Counter(), attempts, emails, topics, [])
    assert verdict.lost == ["a3", "a4"]  # a foreign delivery does not count
    assert (verdict.redeliveries, verdict.duplicate_webhooks) == (1, 1)
    assert (verdict.matches_emitted_twice, verdict.duplicate_emails) == (1, 1)
    assert verdict.email_resends == 1
    assert verdict.foreign_webhooks == 1
    assert not verdict.passed


def test_quick_chaos_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    results = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, "bench/chaos.py", "--quick", "--json", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    output = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    verdicts = {v["scenario"]: v for v in json.loads(results.read_text())["verdicts"]}
    assert set(verdicts) == {"steady", "matcher-kills", "notifier-kills"}, output
    for name, verdict in verdicts.items():
        assert verdict["accepted"] > 0, name
        assert verdict["delivered"] == verdict["accepted"], (name, verdict["lost"])
        assert verdict["duplicate_emails"] == 0, name
        assert verdict["duplicate_webhooks"] == verdict["matches_emitted_twice"] == 0, name
        assert verdict["foreign_webhooks"] == 0, name
        assert verdict["stuck"] == [], name
    assert verdicts["steady"]["redeliveries"] == 0
    assert verdicts["matcher-kills"]["notes"]["kills"] == 2
    assert verdicts["notifier-kills"]["notes"]["kills"] == 2
