"""`MatchDirectory` over HTTP: the matcher's `GET /v1/matches/{match_id}` (bearer token).

The matcher is the one service that knows which matches exist and whose they are. Every
answer that is not a clear "here it is" or "no such match" (a timeout, a refused token, a
5xx, a body without the fields) is `DirectoryUnavailableError`, which the API answers with
503 and Retry-After: intake never accepts an answer it could not check.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import structlog

from koppel_intake.service_layer.ports import DirectoryUnavailableError, KnownMatch

log = structlog.get_logger(__name__)


class HttpMatchDirectory:
    def __init__(self, base_url: str, token: str, *, timeout_seconds: float = 5.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_seconds,
            follow_redirects=False,
        )

    async def find(self, match_id: str) -> KnownMatch | None:
        try:
            response = await self._client.get(f"/v1/matches/{quote(match_id, safe='')}")
        except httpx.HTTPError as exc:
            log.warning("matcher unreachable", error=type(exc).__name__)
            raise DirectoryUnavailableError("the matcher did not answer") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            # 401 is a configuration error (INTAKE_MATCHER_API_TOKEN); loud, but still a 503.
            level = log.error if response.status_code in (401, 403) else log.warning
            level("matcher refused the lookup", status=response.status_code)
            raise DirectoryUnavailableError(f"the matcher answered {response.status_code}")
        try:
            body = response.json()
            return KnownMatch(
                match_id=str(body["match_id"]),
                consultant_id=str(body["consultant_id"]),
                assignment_id=str(body["assignment_id"]),
                status=str(body["status"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            log.error("matcher answered an unreadable match")
            raise DirectoryUnavailableError("the matcher's answer is unreadable") from exc

    async def close(self) -> None:
        await self._client.aclose()
