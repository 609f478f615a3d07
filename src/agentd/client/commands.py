"""Session commands: attach, detach, send-input, logs (issue 3) — registered on the parser."""

from __future__ import annotations

import argparse


def add_session_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    return None
