"""Task names: validation and readable generated names (adjective-noun, ~16k pairs)."""

from __future__ import annotations

import random
import re

from agentd.errors import InvalidName

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

ADJECTIVES = """
able agile amber ample azure bold brave brisk bright calm candid clever cosmic crisp
curious daring deft dusty eager early easy elder epic fair fancy fast fearless fine
fleet fluent fond frank free fresh gentle giddy glad golden grand green happy hardy
hasty hazel hearty honest humble icy ideal jolly keen kind lively lucid lunar mellow
merry mighty mild misty modest neat nimble noble novel odd olive patient plucky polite
proud quick quiet rapid rare ready regal rosy royal rustic sage salty savvy serene
sharp shiny silent silver simple sleek smart snowy solar solid spry steady stoic
stout sunny super swift tidy tiny topaz tranquil true trusty upbeat urban valiant
vivid warm wary wise witty young zany zesty zen amber bouncy breezy cheery cozy
dapper dandy dreamy electric fiery frosty fuzzy glossy jazzy lucky magic mossy
""".split()

NOUNS = """
acorn anchor apple arrow aspen badger banjo basil beacon beaver birch bison bloom
breeze brook cactus canyon cedar cello cherry cliff clover comet coral cosmos crane
creek cricket dahlia delta dingo dolphin dune eagle ember falcon fern finch fjord
flint forest fox galaxy garnet gecko geyser glacier grove gull harbor hawk heron
hill horizon ibis iris island jasper juniper kestrel kite koala lagoon lark laurel
lemon lily lotus lynx maple marble meadow meteor mint moose moss nebula nectar newt
oak ocean orchid osprey otter owl panda pebble pepper pine planet plum pond poppy
prairie quail quartz rabbit raven reef ridge river robin sage salmon sparrow spruce
squid star stone summit swan thistle thunder tiger trout tulip tundra valley violet
walrus willow wolf wren yak zephyr puffin falafel noodle pretzel muffin waffle tofu
""".split()


_SESSION_ID = re.compile(r"[0-9a-f]{10}")  # secrets.token_hex(5), daemon/sessions.py


def validate(name: str) -> str:
    if not 1 <= len(name) <= 64 or not _NAME.fullmatch(name):
        raise InvalidName(
            f"invalid task name {name!r}: use 1-64 of a-z, 0-9 and '-', "
            "with no leading, trailing or double hyphen"
        )
    if _SESSION_ID.fullmatch(name):
        raise InvalidName(
            f"invalid task name {name!r}: it has the shape of a session id (10 hex digits), "
            "and commands take a session id where they take a task name; choose another")
    return name


def generate(taken: set[str], rng: random.Random | None = None) -> str:
    """A readable name not in `taken`; falls back to a numeric suffix when crowded."""
    rng = rng or random.SystemRandom()
    adjectives, nouns = sorted(set(ADJECTIVES)), sorted(set(NOUNS))
    for _ in range(64):
        name = f"{rng.choice(adjectives)}-{rng.choice(nouns)}"
        if name not in taken:
            return name
    base = f"{rng.choice(adjectives)}-{rng.choice(nouns)}"
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
