"""Hostile HTTP requests against a real `koppel-intake` process and a real broker.

Oversized bodies (with Content-Length, chunked, lying), deep nesting, huge arrays, unicode
edge cases and odd ids, and every way of not authenticating: each gets a clean 4xx (a
problem+json naming the field where there is one), never a 5xx, and nothing is published.

"Nothing published" is checked on the canonical topics themselves: each test marks its
requests with a `traceparent` of its own, which the intake carries onto every event it
publishes, and reads what was appended meanwhile (see `Ledger`). A valid request in the
same way is found there, so the check can fail.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from koppel.topics import ASSIGNMENTS, CONSULTANTS, RESPONSES
from koppel_testing.builders import assignment_document, consultant_document
from koppel_testing.integration_processes import ServiceProcess
from koppel_testing.kafka_reading import OpenLedger, carries_trace, new_trace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MiB = 1024 * 1024
TOKEN = "hostile-token-7c1e"  # what conftest.py configures (checked by the `client` fixture)


def _assignment(**changes: Any) -> dict[str, Any]:
    """A valid assignment body without an id (the path names the assignment)."""
    body = assignment_document(**changes)
    del body["id"]
    return body


def _consultant(**changes: Any) -> dict[str, Any]:
    """A valid consultant body without an id."""
    body = consultant_document(**changes)
    del body["id"]
    return body


def _padded(size: int) -> bytes:
    """A valid assignment body of exactly `size` bytes (JSON whitespace before the brace)."""
    compact = json.dumps(_assignment()).encode()
    return compact[:-1] + b" " * (size - len(compact)) + b"}"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type") == "application/problem+json", self
        document: dict[str, Any] = json.loads(self.body)
        assert document["status"] == self.status
        return document

    def fields(self) -> list[str]:
        return [error["field"] for error in self.problem().get("errors", [])]


@dataclass
class Client:
    """Sends raw HTTP/1.1 over a socket: no client-side normalising of paths or headers."""

    port: int
    token: str
    traceparent: str
    sent: list[Answer] = field(default_factory=list)

    def head(
        self,
        method: str,
        path: bytes,
        *,
        auth: bytes | None = b"",
        content_length: int | None = None,
        chunked: bool = False,
        extra: dict[bytes, bytes] | None = None,
    ) -> bytes:
        lines = [
            method.encode() + b" " + path + b" HTTP/1.1",
            b"Host: intake",
            b"Connection: close",
            b"Content-Type: application/json",
            b"traceparent: " + self.traceparent.encode(),
        ]
        if auth == b"":
            lines.append(b"Authorization: Bearer " + self.token.encode())
        elif auth is not None:
            lines.append(b"Authorization: " + auth)
        if content_length is not None:
            lines.append(b"Content-Length: %d" % content_length)
        if chunked:
            lines.append(b"Transfer-Encoding: chunked")
        lines.extend(name + b": " + value for name, value in (extra or {}).items())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def send(
        self,
        method: str,
        path: str | bytes,
        body: bytes | None = None,
        *,
        chunks: list[bytes] | None = None,
        early: float = 0.05,
        **head: Any,
    ) -> Answer:
        """Send and read the answer.

        The head goes first; an answer within `early` seconds (a 413 on the declared
        length, a 401, a 400 for a malformed head) means the server refused before
        reading the body, which is then not sent: writing into a connection the server
        has closed makes the kernel reset it and discard the answer unread.
        """
        raw_path = path.encode() if isinstance(path, str) else path
        if body is not None and "content_length" not in head:
            head["content_length"] = len(body)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(self.head(method, raw_path, chunked=chunks is not None, **head))
            await writer.drain()
            try:
                first = await asyncio.wait_for(reader.read(65536), early)
            except TimeoutError:
                writing = asyncio.create_task(_write_body(writer, body, chunks))
                async with asyncio.timeout(30):
                    raw = await _read_answer(reader)
                await asyncio.gather(writing, return_exceptions=True)
            else:
                async with asyncio.timeout(30):
                    raw = await _read_answer(reader, first)
        finally:
            writer.close()
        answer = _parse(raw)
        self.sent.append(answer)
        return answer


async def _read_answer(reader: asyncio.StreamReader, raw: bytes = b"") -> bytes:
    """Everything until the server closes, after `raw` already read (a reset after some of
    it keeps what came: a server refusing early closes with the rest of the request unread,
    and the kernel then resets the connection)."""
    try:
        while chunk := await reader.read(65536):
            raw += chunk
    except ConnectionError:
        if not raw:
            raise
    return raw


async def _write_body(
    writer: asyncio.StreamWriter, body: bytes | None, chunks: list[bytes] | None
) -> None:
    # The server may answer and close before reading everything: that is its right.
    try:
        if chunks is not None:
            for chunk in chunks:
                writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        elif body:
            writer.write(body)
        await writer.drain()
    except (ConnectionError, OSError):
        pass


def _parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), raw[:200]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


@pytest.fixture
def trace() -> tuple[str, str]:
    return new_trace()


@pytest.fixture
async def client(http_intake: ServiceProcess, hostile_token: str, trace: tuple[str, str]) -> Client:
    assert hostile_token == TOKEN
    http_intake.assert_alive()
    return Client(http_intake.port, TOKEN, trace[0])


@pytest.fixture
async def nothing_published(
    ledger: OpenLedger, trace: tuple[str, str], client: Client, http_intake: ServiceProcess
) -> AsyncIterator[None]:
    """After the test: no 5xx was answered, the intake lives, and no canonical record
    carries the test's trace id."""
    opened = await ledger([ASSIGNMENTS, CONSULTANTS, RESPONSES])
    yield
    assert client.sent, "the test sent nothing"
    assert all(answer.status < 500 for answer in client.sent), client.sent
    http_intake.assert_alive()
    records = await opened.read()
    leaked = [r for r in records if carries_trace(r, trace[1])]
    assert not leaked, f"{len(leaked)} event(s) published for rejected requests"


async def test_the_ledger_sees_what_a_valid_request_publishes(
    client: Client, ledger: OpenLedger, trace: tuple[str, str], unique_id: str
) -> None:
    opened = await ledger([ASSIGNMENTS])

    exact = await client.send("PUT", f"/v1/assignments/LIM-{unique_id}", _padded(MiB))

    assert exact.status == 202, exact
    records = [r for r in await opened.read() if carries_trace(r, trace[1])]
    assert [r.key for r in records] == [f"LIM-{unique_id}".encode()]


# -- bodies over the limit -----------------------------------------------------------------


@pytest.mark.usefixtures("nothing_published")
async def test_a_body_one_byte_over_a_mebibyte_is_a_413_with_content_length(
    client: Client, unique_id: str
) -> None:
    answer = await client.send("PUT", f"/v1/assignments/B-{unique_id}", _padded(MiB + 1), early=5.0)

    assert answer.status == 413
    assert "exceeds" in answer.problem()["detail"]


@pytest.mark.usefixtures("nothing_published")
async def test_a_chunked_body_over_a_mebibyte_is_a_413(client: Client, unique_id: str) -> None:
    body = _padded(MiB + 1)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]

    answer = await client.send("PUT", f"/v1/assignments/B-{unique_id}", chunks=chunks)

    assert answer.status == 413
    answer.problem()


@pytest.mark.usefixtures("nothing_published")
async def test_a_declared_huge_body_is_refused_before_it_is_sent(
    client: Client, unique_id: str
) -> None:
    answer = await client.send(
        "PUT", f"/v1/assignments/B-{unique_id}", b"{}", content_length=10**12, early=5.0
    )

    assert answer.status == 413


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    ("declared", "extra"),
    [
        (10, {}),  # shorter than the body: a truncated document
        (None, {b"Content-Length": b"abc"}),
        (None, {b"Content-Length": b"-1"}),
        (None, {b"Content-Length": b"5", b"content-length": b"7"}),
    ],
    ids=["short", "not-a-number", "negative", "twice"],
)
async def test_a_lying_or_malformed_content_length_is_a_400(
    client: Client, unique_id: str, declared: int | None, extra: dict[bytes, bytes]
) -> None:
    body = json.dumps(_assignment()).encode()

    answer = await client.send(
        "PUT", f"/v1/assignments/B-{unique_id}", body, content_length=declared, extra=extra
    )

    assert answer.status == 400


@pytest.mark.usefixtures("nothing_published")
async def test_content_length_together_with_chunked_is_refused(
    client: Client, unique_id: str
) -> None:
    body = json.dumps(_assignment()).encode()

    answer = await client.send(
        "PUT",
        f"/v1/assignments/B-{unique_id}",
        chunks=[body],
        extra={b"Content-Length": b"5"},
        early=5.0,
    )

    assert 400 <= answer.status < 500


# -- document shape ------------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize("opening", [b"[", b'{"a":'], ids=["arrays", "objects"])
async def test_ten_thousand_levels_of_nesting_are_a_400(
    client: Client, unique_id: str, opening: bytes
) -> None:
    closing = b"]" if opening == b"[" else b"}"
    body = b'{"title":' + opening * 10_000 + b"1" + closing * 10_000 + b"}"

    answer = await client.send("PUT", f"/v1/assignments/N-{unique_id}", body)

    assert answer.status == 400
    assert "nested too deeply" in answer.problem()["detail"]


@pytest.mark.usefixtures("nothing_published")
async def test_moderate_nesting_beyond_the_limit_is_a_422_naming_the_field(
    client: Client, unique_id: str
) -> None:
    nested: Any = 1
    for _ in range(40):
        nested = [nested]
    body = json.dumps(_assignment(description=nested)).encode()

    answer = await client.send("PUT", f"/v1/assignments/N-{unique_id}", body)

    assert answer.status == 422
    assert answer.fields()[0].startswith("body.description.0.0")


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize("item", ["events", "x"], ids=["valid", "invalid"])
async def test_a_hundred_thousand_disciplines_are_a_quick_small_422(
    client: Client, unique_id: str, item: str
) -> None:
    body = json.dumps(_assignment(disciplines_required=[item] * 100_000)).encode()
    assert len(body) <= MiB

    started = asyncio.get_running_loop().time()
    answer = await client.send("PUT", f"/v1/assignments/L-{unique_id}", body)
    elapsed = asyncio.get_running_loop().time() - started

    assert answer.status == 422
    assert answer.fields() == ["body.disciplines_required"]
    assert len(answer.body) < 10_000
    assert elapsed < 2.0


@pytest.mark.usefixtures("nothing_published")
async def test_many_invalid_fields_are_listed_up_to_a_bound(client: Client, unique_id: str) -> None:
    body = json.dumps(_assignment(disciplines_preferred=["x"] * 900)).encode()

    answer = await client.send("PUT", f"/v1/assignments/L-{unique_id}", body)

    assert answer.status == 422
    assert len(answer.fields()) == 50
    assert "the first 50 listed" in answer.problem()["detail"]
    assert len(answer.body) < 50_000  # 50 entries; 900 made 450 kB


# -- the part-time portfolio and the finer preferences (contract §8.4–8.5) ----------------

_HOUTEN = {"label": "Gemeente Houten", "hours_per_week": 16, "office_weekdays": ["mon"]}


@pytest.mark.usefixtures("nothing_published")
async def test_forty_thousand_commitments_are_a_quick_small_422(
    client: Client, unique_id: str
) -> None:
    body = json.dumps(_consultant(commitments=[{"hours_per_week": 1}] * 40_000)).encode()
    assert len(body) <= MiB

    started = asyncio.get_running_loop().time()
    answer = await client.send("PUT", f"/v1/consultants/P-{unique_id}", body)
    elapsed = asyncio.get_running_loop().time() - started

    assert answer.status == 422
    assert answer.fields() == ["body.commitments"]
    assert len(answer.body) < 10_000
    assert elapsed < 2.0


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    ("kind", "changes", "field_"),
    [
        (
            "consultants",
            {"commitments": [{"hours_per_week": 41}]},
            "body.commitments.0.hours_per_week",
        ),
        (
            "consultants",
            {"commitments": [{"hours_per_week": -8}]},
            "body.commitments.0.hours_per_week",
        ),
        ("consultants", {"commitments": [_HOUTEN] * 11}, "body.commitments"),
        (
            "consultants",
            {"commitments": [{**_HOUTEN, "office_weekdays": ["sun", "mon"]}]},
            "body.commitments.0.office_weekdays.0",
        ),
        (
            "consultants",
            {"commitments": [_HOUTEN], "committed_hours_per_week": 8},
            "body.committed_hours_per_week",
        ),
        ("consultants", {"preferred_size_classes": ["gigantic"]}, "body.preferred_size_classes.0"),
        (
            "consultants",
            {"growth_disciplines": ["campaigns", "events", "social_media", "public_affairs"]},
            "body.growth_disciplines",
        ),
        (
            "consultants",
            {"growth_disciplines": ["citizen_participation"]},
            "body.growth_disciplines",
        ),
        ("assignments", {"office_weekdays": ["mon", "tue", "wed"]}, "body.office_weekdays"),
        ("assignments", {"office_weekdays": ["mon", "sat"]}, "body.office_weekdays.1"),
    ],
    ids=[
        "hours-41",
        "hours-negative",
        "eleven-commitments",
        "sunday",
        "both-forms",
        "size-class",
        "four-growth",
        "growth-held",
        "weekdays-count",
        "saturday",
    ],
)
async def test_a_bad_portfolio_or_preference_field_is_a_422_naming_it(
    client: Client, unique_id: str, kind: str, changes: dict[str, Any], field_: str
) -> None:
    body = _consultant(**changes) if kind == "consultants" else _assignment(**changes)

    answer = await client.send("PUT", f"/v1/{kind}/P-{unique_id}", json.dumps(body).encode())

    assert answer.status == 422, answer
    assert answer.fields() == [field_]


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    "escaped", [b"\\n", b"\\r", b"\\u0000", b"\\u2028", b"\\u202e", b"\\u2066"]
)
async def test_control_characters_in_a_commitment_label_are_a_422(
    client: Client, unique_id: str, escaped: bytes
) -> None:
    compact = json.dumps(_consultant()).encode()
    label = b'{"label": "Gemeente' + escaped + b'Houten", "hours_per_week": 16}'
    body = compact[:-1] + b', "commitments": [' + label + b"]}"

    answer = await client.send("PUT", f"/v1/consultants/P-{unique_id}", body)

    assert answer.status == 422, answer
    assert answer.fields() == ["body.commitments.0.label"]


# -- unicode and odd text ------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    ("raw_body", "field_"),
    [
        (b'"title": "\\ud800"', "body.title"),
        (b'"title": "\\udfff\\ud800"', "body.title"),
        (b'"level": "\\ud83d"', "body.level"),
        (b'"title": "a\\u0000b"', "body.title"),
        (b'"organization": {"name\\u0000": "x", "type": "province"}', "body.organization"),
        (b'"\\ud800": 1', "body"),
    ],
    ids=["lone-high", "reversed-pair", "surrogate-enum", "nul", "nul-key", "surrogate-key"],
)
async def test_unicode_that_cannot_be_stored_is_a_422_naming_the_field(
    client: Client, unique_id: str, raw_body: bytes, field_: str
) -> None:
    compact = json.dumps(_assignment()).encode()
    body = compact[:-1] + b", " + raw_body + b"}"

    answer = await client.send("PUT", f"/v1/assignments/U-{unique_id}", body)

    assert answer.status == 422, answer
    assert any(name.startswith(field_) for name in answer.fields()), answer.fields()


@pytest.mark.usefixtures("nothing_published")
async def test_a_body_that_is_not_utf8_is_a_400(client: Client, unique_id: str) -> None:
    answer = await client.send("PUT", f"/v1/assignments/U-{unique_id}", b'{"title": "\xe9"}')

    assert answer.status == 400
    answer.problem()


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    "path_id",
    [
        "a" * 65,
        "a" * 10_000,
        "A%E2%80%AE1",  # RIGHT-TO-LEFT OVERRIDE
        "a%20b",
        "%C3%A4",
        "a%00b",
        "%FF",
        "%ZZ",
        "a%2Fb%2Fc",  # would be a 404, as no route has three segments there
        "a%2F..",
    ],
    ids=["65", "10k", "rtl", "space", "umlaut", "nul", "ff", "bad-escape", "slashes", "dotdot"],
)
async def test_an_id_outside_the_alphabet_is_a_4xx(
    client: Client, unique_id: str, path_id: str
) -> None:
    answer = await client.send(
        "PUT", f"/v1/assignments/{path_id}", json.dumps(_assignment()).encode()
    )

    assert answer.status in {404, 422}, answer
    if answer.status == 422:
        assert answer.fields() == ["path.id"]
    else:
        answer.problem()


@pytest.mark.usefixtures("nothing_published")
async def test_an_encoded_slash_does_not_turn_an_id_into_a_route(
    client: Client, unique_id: str
) -> None:
    """`POST /v1/assignments/X%2Fclose` used to close assignment X."""
    answer = await client.send(
        "POST", f"/v1/assignments/X-{unique_id}%2Fclose", b'{"reason": "filled"}'
    )

    assert answer.status == 422
    assert answer.fields() == ["path.id"]


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    "raw_path",
    [
        b"/v1/assignments/" + b"a" * 100_000,
        b"/v1/assignments/a b",
        "/v1/assignments/ä".encode(),
        b"/v1/assignments/\xff",
    ],
    ids=["100k", "raw-space", "raw-utf8", "raw-ff"],
)
async def test_a_request_line_the_server_cannot_read_is_a_400(
    client: Client, raw_path: bytes
) -> None:
    answer = await client.send("PUT", raw_path, json.dumps(_assignment()).encode())

    assert answer.status == 400


# -- authentication ------------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize(
    "auth",
    [
        None,
        b"Bearer wrong-token",
        b"Bearer",
        b"Bearer ",
        b"Basic aG9zdGlsZTpob3N0aWxlLXRva2VuLTdjMWU=",
        TOKEN.encode(),
        b"Token " + TOKEN.encode(),
        b"Bearer " + TOKEN[:-1].encode(),
        b"Bearer " + TOKEN.encode() + b"-and-more",
        b"Bearer " + b"x" * 50_000,
    ],
    ids=[
        "none",
        "wrong",
        "scheme-only",
        "empty",
        "basic",
        "no-scheme",
        "other-scheme",
        "prefix",
        "longer",
        "huge",
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v1/assignments/{id}", json.dumps(_assignment()).encode()),
        ("POST", "/v1/assignments/{id}/close", b'{"reason": "withdrawn"}'),
        ("DELETE", "/v1/consultants/{id}", None),
        ("PUT", "/v1/matches/{id}/response", b'{"consultant_id": "C-1", "response": "interested"}'),
        ("DELETE", "/v1/matches/{id}/response?consultant_id=C-1", None),
    ],
    ids=["upsert", "close", "erase", "answer", "take-back"],
)
async def test_without_a_valid_bearer_token_it_is_a_401(
    client: Client,
    unique_id: str,
    auth: bytes | None,
    method: str,
    path: str,
    body: bytes | None,
) -> None:
    # The 401 comes before the body is read.
    answer = await client.send(
        method, path.format(id=f"AUTH-{unique_id}"), body, auth=auth, early=5.0
    )

    assert answer.status == 401, answer
    assert answer.headers["www-authenticate"].startswith("Bearer")
    answer.problem()


@pytest.mark.usefixtures("nothing_published")
@pytest.mark.parametrize("parameter", ["token", "access_token", "bearer", "api_key"])
async def test_a_token_in_the_query_string_is_a_401(
    client: Client, unique_id: str, parameter: str
) -> None:
    answer = await client.send(
        "PUT",
        f"/v1/assignments/Q-{unique_id}?{parameter}={client.token}",
        json.dumps(_assignment()).encode(),
        auth=None,
        early=5.0,
    )

    assert answer.status == 401


@pytest.mark.usefixtures("nothing_published")
async def test_an_unauthenticated_oversized_body_is_a_401_not_a_413(
    client: Client, unique_id: str
) -> None:
    answer = await client.send(
        "PUT", f"/v1/assignments/Q-{unique_id}", _padded(MiB + 1), auth=None, early=5.0
    )

    assert answer.status == 401


@pytest.mark.usefixtures("nothing_published")
async def test_a_header_that_is_not_latin1_text_is_a_400(client: Client, unique_id: str) -> None:
    answer = await client.send(
        "PUT",
        f"/v1/assignments/Q-{unique_id}",
        json.dumps(_assignment()).encode(),
        auth=b"Bearer \xff\xfe\x00",
        early=5.0,
    )

    assert answer.status == 400
