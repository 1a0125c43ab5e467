"""Bearer tokens of the services' HTTP APIs: `name:token,name:token` and who a caller is.

One mechanism for every service (`INTAKE_API_TOKENS`, `MATCHER_API_TOKENS`). It is plain
Python, not a FastAPI dependency, because intake must authenticate before FastAPI reads a
body; `koppel.http_problems` turns `BearerRefusedError` into the 401 problem answer with the
`challenge` header.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from koppel.secret_policy import Environment, configured_secret, refuse_weak_secret


class TokenConfigError(ValueError):
    """A token list that is not a comma-separated list of `name:token` pairs."""


class BearerRefusedError(Exception):
    """The request carries no bearer token, or one that no caller holds; says which."""


def challenge(realm: str) -> dict[str, str]:
    """The `WWW-Authenticate` header of a 401 (RFC 6750)."""
    return {"WWW-Authenticate": f'Bearer realm="{realm}"'}


@dataclass(frozen=True)
class ApiTokens:
    """Named tokens; only the name of a caller ever reaches a log line."""

    _by_name: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, spec: str, variable: str = "API_TOKENS") -> ApiTokens:
        """Read `name:token` pairs; blank entries are skipped, anything malformed refused."""
        by_name: dict[str, str] = {}
        for position, entry in enumerate(spec.split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            name, separator, token = entry.partition(":")
            name, token = name.strip(), token.strip()
            if not separator or not name or not token:
                # The entry itself may be a token: name only its position.
                raise TokenConfigError(f"{variable} entry {position} is not of the form name:token")
            if name in by_name:
                raise TokenConfigError(f"{variable} names {name!r} twice")
            by_name[name] = token
        return cls(by_name)

    @classmethod
    def configured(
        cls,
        variable: str,
        value: SecretStr | None,
        file: Path | None,
        environment: Environment,
    ) -> ApiTokens:
        """The tokens of `<variable>` (or `<variable>_FILE`), fit for `environment`.

        Outside development the list may not be empty and no token may be weak (see
        `secret_policy.weakness`); the error names the caller, never the token.
        """
        tokens = cls.parse(configured_secret(variable, value, file, environment) or "", variable)
        if environment is not Environment.DEVELOPMENT and not tokens.names:
            raise ValueError(f"{variable} is empty: no caller could authenticate")
        for name, token in tokens._by_name.items():
            refuse_weak_secret(f"{variable}: the token of {name!r}", token, environment)
        return tokens

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def identify(self, presented: str) -> str | None:
        """The name whose token equals `presented`, compared in constant time, else None."""
        found: str | None = None
        candidate = presented.encode()
        # Compare against every token, without stopping early, so timing reveals nothing.
        for name, token in self._by_name.items():
            if hmac.compare_digest(candidate, token.encode()):
                found = name
        return found

    def authenticate(self, authorization: str) -> str:
        """The caller an `Authorization` header's bearer token names; else `BearerRefusedError`."""
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise BearerRefusedError("a bearer token is required (Authorization: Bearer <token>)")
        name = self.identify(credentials.strip())
        if name is None:
            raise BearerRefusedError("the bearer token is not valid")
        return name
