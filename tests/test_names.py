"""Task names: validation rules and generated adjective-noun names."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentd import names
from agentd.errors import InvalidName, UsageError


@pytest.mark.parametrize("name", [
    "a", "7", "fix-tests", "a-b-c", "x1-2y", "0-0", "a" * 64, "-".join(["ab"] * 21) + "c",
])
def test_validate_accepts(name: str) -> None:
    assert names.validate(name) == name


@pytest.mark.parametrize("name", [
    "",  # empty
    "a" * 65,  # too long
    "-x", "x-", "-", "a--b", "a---b",  # hyphens
    "Bad", "FIX-TESTS", "bad_name", "a.b", "a b", "a/b", " a", "a\tb", "\na",
    "café", "naïve", "ａ", "٣", "a\u200bb",  # unicode letters, digits and invisible chars
])
def test_validate_rejects(name: str) -> None:
    with pytest.raises(InvalidName) as info:
        names.validate(name)
    message = str(info.value)
    assert repr(name) in message
    assert "1-64" in message and "a-z" in message
    assert isinstance(info.value, UsageError)


def test_validate_rejects_trailing_newline() -> None:
    # `$` in a regular expression also matches just before a final newline.
    with pytest.raises(InvalidName):
        names.validate("fix-tests\n")


def test_name_space_is_large() -> None:
    assert len(set(names.ADJECTIVES)) * len(set(names.NOUNS)) > 10_000


def test_words_are_valid_name_parts() -> None:
    for word in {*names.ADJECTIVES, *names.NOUNS}:
        assert names.validate(word) == word
        assert "-" not in word


def test_generate_avoids_taken_names() -> None:
    rng = random.Random(1)
    taken: set[str] = set()
    for _ in range(500):
        name = names.generate(taken, rng)
        assert name not in taken
        taken.add(name)
    assert len(taken) == 500


def test_generate_is_adjective_noun() -> None:
    name = names.generate(set(), random.Random(7))
    adjective, noun = name.split("-")
    assert adjective in names.ADJECTIVES
    assert noun in names.NOUNS


def test_generate_falls_back_to_numeric_suffix_when_crowded() -> None:
    every = {f"{a}-{n}" for a in names.ADJECTIVES for n in names.NOUNS}
    name = names.generate(every, random.Random(3))
    assert name not in every
    base, suffix = name.rsplit("-", 1)
    assert base in every
    assert suffix == "2"
    # Suffixes are taken too: the next free number is used.
    crowded = every | {f"{a}-{n}-{i}" for a in names.ADJECTIVES for n in names.NOUNS
                       for i in (2, 3)}
    name = names.generate(crowded, random.Random(3))
    assert name not in crowded
    assert name.endswith("-4")
    names.validate(name)


@given(seed=st.integers(0, 2**32), crowd=st.integers(0, 300))
def test_generated_names_always_validate(seed: int, crowd: int) -> None:
    rng = random.Random(seed)
    taken: set[str] = set()
    for _ in range(crowd):
        taken.add(names.generate(taken, rng))
    name = names.generate(taken, rng)
    assert name not in taken
    assert names.validate(name) == name


@pytest.mark.parametrize("name", ["0a73ddf0a7", "deadbeef00", "1234567890"])
def test_validate_rejects_the_shape_of_a_session_id(name: str) -> None:
    with pytest.raises(InvalidName, match="shape of a session id"):
        names.validate(name)


@pytest.mark.parametrize("name", ["0a73ddf0a", "0a73ddf0a7b", "deadbeef-0", "abcdefghij"])
def test_names_near_a_session_id_are_fine(name: str) -> None:
    assert names.validate(name) == name
