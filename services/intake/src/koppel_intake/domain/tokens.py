"""API tokens from `INTAKE_API_TOKENS` (`name:token,name:token`) and who a bearer token is."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field


class TokenConfigError(ValueError):
    """`INTAKE_API_TOKENS` is not a comma-separated list of `name:token` pairs."""


@dataclass(frozen=True)
class ApiTokens:
    """Named tokens; only the name of a caller ever reaches a log line."""

    _by_name: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, spec: str) -> ApiTokens:
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
                raise TokenConfigError(
                    f"INTAKE_API_TOKENS entry {position} is not of the form name:token"
                )
            if name in by_name:
                raise TokenConfigError(f"INTAKE_API_TOKENS names {name!r} twice")
            by_name[name] = token
        return cls(by_name)

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
