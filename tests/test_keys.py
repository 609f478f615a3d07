"""Key names to the bytes a terminal sends; every bad name is a usage error."""

from __future__ import annotations

import pytest

from agentd.errors import UsageError
from agentd.keys import key_bytes


def test_names_to_bytes() -> None:
    assert key_bytes("Enter") == b"\r"
    assert key_bytes("C-c") == b"\x03" and key_bytes("^?") == b"\x7f"
    assert key_bytes("M-x") == b"\x1bx"
    assert key_bytes("Up") == b"\x1b[A" and key_bytes("up", app_cursor=True) == b"\x1bOA"


@pytest.mark.parametrize("name", ["bogus", "", "C-ß", "C-é", "M-\udcff", "alt-"])
def test_a_bad_name_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match="unknown key"):
        key_bytes(name)
