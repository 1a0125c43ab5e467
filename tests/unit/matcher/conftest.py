"""The matcher unit tests' fixtures: spec builders and strategies, and wire builders.

They live in `koppel_testing.matcher_specs`, where test modules can import their types,
next to the in-memory fakes (`matcher_fakes`) and the contract's rules written out for one
pair with plain Python (`scalar_oracle`: the package has only the column rules, and the
property tests hold them to it).
"""

from __future__ import annotations

import pytest

from koppel_testing.matcher_specs import SPECS, WIRE, Specs, Wire


@pytest.fixture(scope="session")
def specs() -> Specs:
    return SPECS


@pytest.fixture(scope="session")
def wire() -> Wire:
    """Builders of contract models that match each other, as intake would publish them."""
    return WIRE
