"""Match features as the initial load's helper processes send them."""

from __future__ import annotations

import pickle
from dataclasses import fields

from tests.identity.records import features


def test_features_survive_pickling_whole_derived_slots_included() -> None:
    original = features(preferred_name="Millie", former_family_names=("Smith-Jones",))
    copy = pickle.loads(pickle.dumps(original))  # noqa: S301 - our own bytes, just made

    assert copy == original
    assert hash(copy) == hash(original)
    for field in fields(original):
        assert getattr(copy, field.name) == getattr(original, field.name), field.name
    assert copy.forms == original.forms
    assert "millie" in copy.forms
    assert copy.family_parts == original.family_parts
    assert "jones" in copy.family_parts
