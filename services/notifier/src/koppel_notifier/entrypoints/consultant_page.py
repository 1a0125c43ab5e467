"""The consultant's page (`/m/{token}`) and the answer links of the emails (`/a/{token}`).

Server-rendered HTML with plain forms: no JavaScript. A GET only ever shows something (mail
scanners follow links); answers are POSTed, then the browser is sent back to the page (303)
with a confirmation. The token is the only credential: a forged one gets 403, an expired one
410, and neither shows anything of anybody.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from koppel.contract.response import ResponseCommand
from koppel.vocabulary import Answer, AnswerVia
from koppel_notifier.adapters.link_tokens import ExpiredToken, LinkTokens
from koppel_notifier.adapters.page_renderer import PageRenderer
from koppel_notifier.adapters.unsubscribe_tokens import InvalidToken, UnsubscribeTokens
from koppel_notifier.domain.answers import AnswerLink, CurrentMatch
from koppel_notifier.service_layer import answers as use_cases
from koppel_notifier.service_layer.ports import Answers, MatchPages

Token = Annotated[str, Path(min_length=1, max_length=1024)]
_NOTICES = ("answered", "taken_back", "closed")
_MAX_MATCH_ID = 256
_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex, nofollow",
    "x-content-type-options": "nosniff",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
}


class BadForm(Exception):  # noqa: N818 - reads as "the form is bad"
    """A posted form that does not hold an answer; `field` names what is wrong."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def page_routes(
    *,
    tokens: LinkTokens,
    unsubscribe_tokens: UnsubscribeTokens,
    pages: MatchPages,
    answers: Answers,
    renderer: PageRenderer,
    public_base_url: str,
    clock: Callable[[], datetime],
) -> APIRouter:
    router = APIRouter()
    base = public_base_url.rstrip("/")

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status, headers=_HEADERS)

    def refused(exc: InvalidToken) -> HTMLResponse:
        if isinstance(exc, ExpiredToken):
            return html(renderer.message("expired", language=None), 410)
        return html(renderer.message("invalid", language=None), 403)

    def back_to_page(consultant_id: str, notice: str, token: str | None = None) -> Response:
        page_token = token or tokens.page(consultant_id)
        return RedirectResponse(f"{base}/m/{page_token}?done={notice}", 303, headers=_HEADERS)

    @router.get("/m/{token}", response_class=HTMLResponse)
    async def matches_page(
        token: Token, done: Annotated[str | None, Query(max_length=20)] = None
    ) -> HTMLResponse:
        """The consultant's open matches, newest first, with their answers."""
        try:
            consultant_id = tokens.consultant_of(token)
        except InvalidToken as exc:
            return refused(exc)
        contact = await pages.contact(consultant_id)
        if contact is None:
            return html(renderer.message("gone", language=None), 410)
        actions = {
            "answer": f"{base}/m/{token}/answer",
            "take_back": f"{base}/m/{token}/take-back",
            "unsubscribe": f"{base}/v1/unsubscribe/{unsubscribe_tokens.issue(consultant_id)}",
        }
        body = renderer.matches(
            language=contact.language,
            matches=await pages.current_matches(consultant_id),
            actions=actions,
            notice=done if done in _NOTICES else None,
        )
        return html(body)

    @router.post("/m/{token}/answer", response_class=HTMLResponse)
    async def answer_on_page(token: Token, request: Request) -> Response:
        try:
            consultant_id = tokens.consultant_of(token)
        except InvalidToken as exc:
            return refused(exc)
        form = await _form(request)
        try:
            match_id = _match_id(form)
            command = _command(consultant_id, form.get("response", ""), form)
        except BadForm as exc:
            return await _bad_form(exc, consultant_id, f"{base}/m/{token}")
        outcome = await use_cases.answer(answers, match_id, command, via=AnswerVia.PAGE, at=clock())
        return back_to_page(consultant_id, outcome.value, token)

    @router.post("/m/{token}/take-back", response_class=HTMLResponse)
    async def take_back_on_page(token: Token, request: Request) -> Response:
        try:
            consultant_id = tokens.consultant_of(token)
        except InvalidToken as exc:
            return refused(exc)
        try:
            match_id = _match_id(await _form(request))
        except BadForm as exc:
            return await _bad_form(exc, consultant_id, f"{base}/m/{token}")
        outcome = await use_cases.take_back(
            answers, consultant_id, match_id, via=AnswerVia.PAGE, at=clock()
        )
        return back_to_page(consultant_id, outcome.value, token)

    @router.get("/a/{token}", response_class=HTMLResponse)
    async def confirm_answer(token: Token) -> HTMLResponse:
        """The page behind an email's answer link: a button that POSTs; nothing changes yet."""
        try:
            link = tokens.answer_of(token)
        except InvalidToken as exc:
            return refused(exc)
        contact = await pages.contact(link.consultant_id)
        if contact is None:
            return html(renderer.message("gone", language=None), 410)
        page_url = f"{base}/m/{tokens.page(link.consultant_id)}"
        match = await _open_match(pages, link)
        if match is None:
            return html(
                renderer.message("closed", language=contact.language, page_url=page_url), 410
            )
        body = renderer.confirm(
            language=contact.language,
            match=match,
            answer=link.answer,
            action=f"{base}/a/{token}",
            page_url=page_url,
        )
        return html(body)

    @router.post("/a/{token}", response_class=HTMLResponse)
    async def answer_from_email(token: Token, request: Request) -> Response:
        try:
            link = tokens.answer_of(token)
        except InvalidToken as exc:
            return refused(exc)
        try:
            command = _command(link.consultant_id, link.answer.value, await _form(request))
        except BadForm as exc:
            return await _bad_form(exc, link.consultant_id, f"{base}/a/{token}")
        outcome = await use_cases.answer(
            answers, link.match_id, command, via=AnswerVia.EMAIL_LINK, at=clock()
        )
        return back_to_page(link.consultant_id, outcome.value)

    async def _bad_form(exc: BadForm, consultant_id: str, page_url: str) -> HTMLResponse:
        contact = await pages.contact(consultant_id)
        language = "nl" if contact is None else contact.language
        body = renderer.message("bad_form", language=language, field=exc.field, page_url=page_url)
        return html(body, 400)

    return router


async def _form(request: Request) -> dict[str, str]:
    """The posted fields that are text (a file field is ignored)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _match_id(form: dict[str, str]) -> str:
    match_id = form.get("match_id", "")
    if not match_id or len(match_id) > _MAX_MATCH_ID:
        raise BadForm("match_id")
    return match_id


def _command(consultant_id: str, response: str, form: dict[str, str]) -> ResponseCommand:
    """The answer in `form`, checked by the same model as the API's `PUT` body."""
    fields = {
        "consultant_id": consultant_id,
        "response": response,
        "reason": form.get("reason") or None,
        "note": form.get("note", "").strip() or None,
    }
    if fields["response"] != Answer.NOT_INTERESTED:
        # The interested button's form has no reason or note fields; ignore stray ones.
        fields["reason"] = fields["note"] = None
    try:
        return ResponseCommand.model_validate(fields)
    except ValidationError as exc:
        location = exc.errors()[0]["loc"]
        raise BadForm(str(location[0]) if location else "response") from None


async def _open_match(pages: MatchPages, link: AnswerLink) -> CurrentMatch | None:
    for match in await pages.current_matches(link.consultant_id):
        if match.match_id == link.match_id:
            return match
    return None
