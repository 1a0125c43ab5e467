"""The match fingerprint stays byte-for-byte what the ledger already holds."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from koppel_matcher.domain.dedup import canonical_json, content_fingerprint

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def _previous_fingerprint(
    summary: object, score: float, reasons: tuple[str, ...], lang: str
) -> str:
    """The formula the ledger's fingerprints were written with."""
    document = {"assignment": summary, "score": score, "reasons": reasons, "language": lang}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@settings(deadline=None)  # what is checked is the digest, not its speed on a loaded machine
@given(
    summary=st.dictionaries(st.text(), _json_values, max_size=5),
    score=st.floats(min_value=0, max_value=1),
    reasons=st.lists(st.text(), max_size=4).map(tuple),
    language=st.sampled_from(["nl", "en"]),
)
def test_assembled_fingerprint_equals_the_stored_formula(
    summary: dict[str, object], score: float, reasons: tuple[str, ...], language: str
) -> None:
    assert content_fingerprint(
        canonical_json(summary), score, reasons, language
    ) == _previous_fingerprint(summary, score, reasons, language)
