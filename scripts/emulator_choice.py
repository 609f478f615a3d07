"""The measurements behind the worker's terminal emulator (docs/design.md): throughput of
avt (pyavt) and pyte on the same streams, and whether a snapshot repaints the same screen.

    .venv/bin/python scripts/emulator_choice.py
"""

from __future__ import annotations

import random
import time

import avt
import pyte

from agentd.worker.screen import Screen


def coloured_lines(n: int) -> bytes:
    rng = random.Random(1)
    return "".join(f"\x1b[3{i % 8}mline {i} " + "x" * rng.randint(0, 60) + "\x1b[0m\r\n"
                   for i in range(n)).encode()


def fullscreen_redraws(frames: int, cols: int = 120, rows: int = 40) -> bytes:
    rng = random.Random(2)
    out = ["\x1b[?1049h"]
    for _ in range(frames):
        out.append("\x1b[H")
        for r in range(rows):
            out.append(f"\x1b[{r + 1};1H\x1b[38;5;{rng.randint(0, 255)}m"
                       + "".join(rng.choice("abc def│─") for _ in range(cols - 1)))
        out.append(f"\x1b[{rng.randint(1, rows)};{rng.randint(1, cols)}H\x1b[0m")
    return "".join(out).encode()


def throughput(name: str, data: bytes) -> None:
    vt = avt.Vt(120, 40, scrollback_limit=0)
    t = time.perf_counter()
    for i in range(0, len(data), 65536):
        vt.feed_str(data[i:i + 65536].decode("utf-8", "replace"))
    a = len(data) / (time.perf_counter() - t) / 1e6
    sample = data[: 2_000_000]
    screen = pyte.Screen(120, 40)
    stream = pyte.ByteStream(screen)
    t = time.perf_counter()
    stream.feed(sample)
    p = len(sample) / (time.perf_counter() - t) / 1e6
    print(f"{name:<22} avt {a:6.1f} MB/s   pyte {p:5.2f} MB/s   ratio {a / p:5.1f}x")


def correct(name: str, data: bytes) -> None:
    """Snapshot of our Screen (avt) rendered by pyte == pyte's rendering of the raw bytes."""
    s = Screen(120, 40)
    s.write(data)
    snap = s.snapshot()
    want, got = pyte.Screen(120, 40), pyte.Screen(120, 40)
    pyte.ByteStream(want).feed(data)
    pyte.ByteStream(got).feed(snap)
    same = want.display == got.display and (want.cursor.x, want.cursor.y) == (
        got.cursor.x, got.cursor.y)
    print(f"{name:<22} snapshot {len(snap):>6} bytes, repaint equal: {same}")


def main() -> None:
    lines, frames = coloured_lines(200_000), fullscreen_redraws(300)
    throughput("coloured lines", lines)
    throughput("full-screen redraws", frames)
    correct("coloured lines", lines)
    correct("full-screen redraws", frames)


if __name__ == "__main__":
    main()
