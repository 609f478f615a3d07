"""The cost of one API call: the user's `[prices."MODEL"]` table when it names the model,
else genai-prices (pinned; its bundled snapshot, never updated at run time), by the model
the agent asked for and the call's time. A model neither knows has no cost (None), never
a guessed one (docs/usage.md).

Only the daemon imports this, when it records usage: genai-prices (and pydantic under it)
is imported on the first call, never on the `agent ls` path.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentd.config import Config
    from agentd.records import Call

RATES = ("input", "output", "cache_read", "cache_write")  # USD per million tokens


def override_cost(rates: dict[str, float], call: Call) -> float:
    """A call's cost at the user's rates; cache reads and writes at the input rate unless
    the table sets theirs."""
    inp = rates["input"]
    return (call.input * inp + call.output * rates["output"]
            + call.cache_read * rates.get("cache_read", inp)
            + call.cache_write * rates.get("cache_write", inp)) / 1e6


def library_cost(call: Call) -> tuple[float | None, str]:
    """genai-prices' price of the call, or None when it does not know the model."""
    from datetime import UTC, datetime

    import genai_prices

    source = f"genai-prices {genai_prices.__version__}"
    if not call.model:
        return None, source
    usage = genai_prices.Usage(
        # genai-prices counts cache reads and writes inside input_tokens
        input_tokens=call.input + call.cache_read + call.cache_write,
        cache_read_tokens=call.cache_read, cache_write_tokens=call.cache_write,
        output_tokens=call.output)
    when = datetime.fromtimestamp(call.ts, UTC) if call.ts else None
    attempts = [call.provider, None] if call.provider else [None]
    for provider in attempts:
        try:
            price = genai_prices.calc_price(usage, call.model, provider_id=provider,
                                            genai_request_timestamp=when)
        except LookupError:
            continue
        except (ValueError, ArithmeticError):
            return None, source
        total = float(price.total_price)
        return (total if math.isfinite(total) else None), source
    return None, source


class Pricer:
    """Prices calls with the config in force: its `[prices]` table is read again only when
    config.toml changes (a first read of a long transcript prices thousands of calls)."""

    def __init__(self, load_config: Callable[[], Config]) -> None:
        self.load_config = load_config
        self.path: str | None = None
        self.stamp: tuple[int, int] | None = None
        self.prices: dict[str, dict[str, float]] | None = None

    def overrides(self) -> dict[str, dict[str, float]]:
        stamp = _stamp(self.path) if self.path else None
        if self.prices is None or stamp != self.stamp:
            try:
                config = self.load_config()
                self.prices, self.path = config.prices, str(config.path)
            except Exception:  # noqa: BLE001 - a broken config.toml: price by the library
                self.prices = {}
            self.stamp = _stamp(self.path) if self.path else None
        return self.prices

    def __call__(self, call: Call) -> tuple[float | None, str | None]:
        overrides = self.overrides()
        if call.model and call.model in overrides:
            return override_cost(overrides[call.model], call), "config"
        return library_cost(call)


def _stamp(path: str) -> tuple[int, int] | None:
    import os

    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
