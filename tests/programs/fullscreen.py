"""A small full-screen curses program for attach tests: alternate screen, colours, a box,
the terminal size, the keys typed so far, and the cursor left at a known place."""

import curses
import sys


def main(stdscr: "curses.window") -> None:
    curses.start_color()
    curses.use_default_colors()
    curses.init_pair(1, curses.COLOR_RED, -1)
    curses.init_pair(2, curses.COLOR_GREEN, curses.COLOR_BLUE)
    typed = ""
    while True:
        rows, cols = stdscr.getmaxyx()
        stdscr.erase()
        # ASCII borders: pyte, the tests' emulator, ignores DEC line-drawing in UTF-8 mode.
        stdscr.border("|", "|", "-", "-", "+", "+", "+", "+")
        stdscr.addstr(1, 2, "fullscreen test program", curses.color_pair(1) | curses.A_BOLD)
        stdscr.addstr(2, 2, f"size {cols}x{rows}", curses.color_pair(2))
        stdscr.addstr(3, 2, f"typed: {typed[-(cols - 12):]}")
        stdscr.addstr(4, 2, "press ~ to quit")
        stdscr.move(min(5, rows - 1), min(4 + len(typed) % 10, cols - 1))
        stdscr.refresh()
        ch = stdscr.getch()
        if ch == curses.KEY_RESIZE:
            continue
        if ch == ord("~"):
            break
        if 32 <= ch < 127:
            typed += chr(ch)
        elif ch in (10, 13):
            typed += "⏎"


if __name__ == "__main__":
    curses.wrapper(main)
    sys.exit(0)
