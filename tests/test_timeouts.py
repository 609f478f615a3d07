"""AGENTD_TEST_TIMEOUT_SCALE stretches the tests' own timeouts (README, Development)."""

from __future__ import annotations

import os
import time

import pytest
import pytest_timeout

from tests import helpers


def test_wait_for_scales_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers, "SCALE", 0.01)
    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"timed out after 0\.05s waiting for nothing"):
        helpers.wait_for(lambda: False, 5, "nothing")
    assert time.monotonic() - start < 1
    assert helpers.poll(lambda: 0, 5) == 0  # poll gives the last value back on timeout


def test_the_per_test_limit_is_scaled(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("timeout") or os.environ.get("PYTEST_TIMEOUT"):
        pytest.skip("a limit given on the command line or in PYTEST_TIMEOUT")
    expected = float(request.config.getini("timeout")) * helpers.SCALE
    # What pytest-timeout will enforce for this very test.
    assert pytest_timeout._get_item_settings(request.node).timeout == expected
