"""The integrators' verification snippets (docs/integrators/webhook-verification) accept what
the notifier really sends and refuse what it did not.

For each language with a toolchain here, the snippet is built from its own build file (the
pinned Standard Webhooks library from the registry) in a copy of its folder, started as the
process an integrator would run, and sent the notifier's real webhooks as they arrived: a
genuine one (twice, as a redelivery: handled once), the same with its body tampered with, one
signed with another consultant's secret, one signed ten minutes ago, and one unsigned.
A language whose toolchain is missing is skipped, except under CI, where it fails. The demo's
receiver (`make run`), the reference integrators copy, must answer the same.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from koppel_demo.sandbox import free_port
from koppel_testing import WEBHOOK_SECRET
from koppel_testing.integration_notifier import NotifierRig, Subscriber
from koppel_testing.integration_processes import ServiceProcess
from koppel_testing.receivers import ReceivedHook

SNIPPETS = Path(__file__).resolve().parents[3] / "docs" / "integrators" / "webhook-verification"
BUILD_OUTPUTS = shutil.ignore_patterns("node_modules", "target", "receiver", "vendor", "bin", "obj")
SIGNED_HEADERS = ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature")
TOO_OLD = timedelta(minutes=10)
"""Twice the five minutes of tolerance that every Standard Webhooks library allows."""

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Snippet:
    """How one language's snippet is built (in a copy of its folder) and started."""

    language: str
    tools: tuple[str, ...]
    build: tuple[tuple[str, ...], ...]
    command: Callable[[Path], list[str]]


def _java_command(folder: Path) -> list[str]:
    target = folder / "target"
    classpath = (target / "classpath.txt").read_text().strip()
    return ["java", "-cp", f"{target / 'classes'}:{classpath}", "example.WebhookReceiver"]


SNIPPETS_BY_LANGUAGE = {
    snippet.language: snippet
    for snippet in (
        Snippet("python", (), (), lambda folder: [sys.executable, str(folder / "receiver.py")]),
        Snippet(
            "node",
            ("node", "npm"),
            (("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"),),
            lambda folder: ["node", str(folder / "receiver.js")],
        ),
        Snippet(
            "go",
            ("go",),
            (("go", "build", "-o", "receiver", "."),),
            lambda folder: [str(folder / "receiver")],
        ),
        Snippet(
            "java",
            ("java", "mvn"),
            (
                (
                    "mvn",
                    "-q",
                    "-B",
                    "compile",
                    "dependency:build-classpath",
                    "-Dmdep.outputFile=target/classpath.txt",
                ),
            ),
            _java_command,
        ),
    )
}


@pytest.fixture(scope="module", params=sorted(SNIPPETS_BY_LANGUAGE))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command starting this language's snippet, built once per test module."""
    snippet = SNIPPETS_BY_LANGUAGE[request.param]
    missing = [tool for tool in snippet.tools if shutil.which(tool) is None]
    if missing:
        message = f"no {', '.join(missing)} on this machine for the {snippet.language} snippet"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp(snippet.language) / "snippet"
    shutil.copytree(SNIPPETS / snippet.language, folder, ignore=BUILD_OUTPUTS)
    for step in snippet.build:
        done = subprocess.run(step, cwd=folder, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout}\n{done.stderr}"
    return snippet.command(folder)


@contextmanager
def running(
    command: list[str], port: int, env: dict[str, str], log: Path
) -> Iterator[ServiceProcess]:
    """A receiver as a process listening on `port` (also given as $PORT), its output in `log`."""
    receiver = ServiceProcess({**env, "PORT": str(port)}, port, log, command)
    try:
        yield receiver
    finally:
        receiver.stop()


def serving(receiver: ServiceProcess) -> bool:
    """Whether the receiver accepts connections; fails if it has exited."""
    receiver.assert_alive()
    try:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=0.2):
            return True
    except OSError:
        return False


class LaggingClock:
    """The notifier's clock, `behind` the real time: it then signs webhooks in the past."""

    def __init__(self) -> None:
        self.behind = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) - self.behind


def another_secret() -> str:
    """A well-formed secret that is not the consultants' shared one."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def delivered(
    rig: NotifierRig, who: Subscriber, *, secret: str = WEBHOOK_SECRET
) -> ReceivedHook:
    """Subscribe `who` with `secret`, have the notifier send them one match, and return the
    webhook about it when it arrives."""
    await rig.kafka.profile(rig.receiver.subscriber(who.id, who.path, secret=secret))
    match_id = await rig.kafka.found(who.id, rig.assignment(who.id), 0.81)
    await rig.wait(lambda: about(rig, who, match_id), what=f"the webhook to {who.id}")
    hook = about(rig, who, match_id)
    assert hook is not None
    return hook


def about(rig: NotifierRig, who: Subscriber, match_id: str) -> ReceivedHook | None:
    """The webhook `who` got about `match_id`, if any. A matcher that another test runs on
    the shared broker may send them webhooks about other matches too."""
    hooks = [
        hook for hook in rig.hooks(who) if json.loads(hook.body)["data"]["match_id"] == match_id
    ]
    assert len({hook.headers["webhook-id"] for hook in hooks}) <= 1, "repeats changed id"
    return hooks[0] if hooks else None


@dataclass(frozen=True)
class Replay:
    """A request to send the snippet: headers and raw body."""

    headers: dict[str, str]
    content: bytes

    async def answer(self, client: httpx.AsyncClient, path: str) -> int:
        """The status the snippet answers this request with."""
        reply = await client.post(path, headers=self.headers, content=self.content)
        return reply.status_code


def replayed(hook: ReceivedHook, body: bytes | None = None) -> Replay:
    """The request as the notifier sent it: its signed headers and raw body."""
    headers = {name: hook.headers[name] for name in SIGNED_HEADERS}
    return Replay(headers, hook.body if body is None else body)


@dataclass(frozen=True)
class Sent:
    """What the notifier sent one consultant, and the requests made of it for a receiver."""

    consultant_id: str
    webhook_id: str
    requests: dict[str, Replay]


ANSWERS = {
    "genuine": 204,
    "redelivered": 204,
    "tampered": 401,
    "foreign": 401,
    "stale": 401,
    "unsigned": 401,
}
"""What a receiver must answer to each request of `Sent.requests`."""


async def the_notifiers_webhooks(rig: NotifierRig) -> Sent:
    """A real notifier's webhook to one consultant, and the forgeries a receiver must refuse:
    its body changed, another consultant's webhook (another secret), one signed ten minutes
    ago (the notifier's clock set back), and its body without signature headers."""
    genuine, foreign, stale = (rig.named(label) for label in ("genuine", "foreign", "stale"))
    clock = LaggingClock()
    async with rig.notifier(clock=clock):
        hook = await delivered(rig, genuine)
        forged = await delivered(rig, foreign, secret=another_secret())
        clock.behind = TOO_OLD
        old = await delivered(rig, stale)

    signed_at = int(old.headers["webhook-timestamp"])
    assert signed_at < (datetime.now(UTC) - TOO_OLD / 2).timestamp(), "not signed in the past"
    tampered = hook.body.replace(b"0.81", b"0.99")
    assert tampered != hook.body, "the tampering changed nothing"
    requests = {
        "genuine": replayed(hook),
        "redelivered": replayed(hook),
        "tampered": replayed(hook, tampered),
        "foreign": replayed(forged),
        "stale": replayed(old),
        "unsigned": Replay({"content-type": "application/json"}, hook.body),
    }
    assert set(requests) == set(ANSWERS)
    return Sent(genuine.id, hook.headers["webhook-id"], requests)


async def answers(
    rig: NotifierRig, receiver: ServiceProcess, path: str, sent: Sent
) -> dict[str, int]:
    """What `receiver` answers to each request, posted to `path`, in order."""
    await rig.wait(lambda: serving(receiver), within=30, what=f"a receiver on {receiver.url}")
    async with httpx.AsyncClient(base_url=receiver.url, timeout=10) as client:
        return {case: await request.answer(client, path) for case, request in sent.requests.items()}


async def test_the_snippet_accepts_the_notifiers_webhook_and_refuses_the_rest(
    built: list[str], rig: NotifierRig, tmp_path: Path
) -> None:
    sent = await the_notifiers_webhooks(rig)

    log = tmp_path / "snippet.log"
    with running(built, free_port(), {"WEBHOOK_SECRET": WEBHOOK_SECRET}, log) as receiver:
        answered = await answers(rig, receiver, f"/webhooks/{sent.consultant_id}", sent)

    output = log.read_text()
    assert answered == ANSWERS, output
    assert output.count(f"new webhook {sent.webhook_id}") == 1, output


async def test_the_demo_receiver_accepts_the_notifiers_webhook_and_refuses_the_rest(
    rig: NotifierRig, tmp_path: Path
) -> None:
    """The receiver `make run` starts, which integrators copy, answers as the snippets do."""
    sent = await the_notifiers_webhooks(rig)
    book = tmp_path / "webhook_secrets.json"
    book.write_text(json.dumps({sent.consultant_id: WEBHOOK_SECRET}))
    hooks = tmp_path / "webhooks.jsonl"
    port = free_port()
    command = [sys.executable, "-m", "koppel_demo.webhook_receiver", "--port", str(port)]
    command += ["--secrets", str(book), "--log", str(hooks)]

    with running(command, port, {}, tmp_path / "demo.log") as receiver:
        answered = await answers(rig, receiver, f"/webhooks/{sent.consultant_id}", sent)

    assert answered == ANSWERS
    logged = [json.loads(line) for line in hooks.read_text().splitlines()]
    handled = [e for e in logged if e["verified"] and not e["duplicate"]]
    assert [e["webhook_id"] for e in handled] == [sent.webhook_id]
