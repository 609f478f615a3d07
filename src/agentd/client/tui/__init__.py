"""The TUI: bare `agent` on a terminal (docs/tui.md). Textual is imported only by this
package's modules, which only `agent tui` (client/commands/tui.py) imports, never the path
of `agent ls`."""
