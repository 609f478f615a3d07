"""agentd's benchmark suite: `python -m bench [--quick] [--json PATH] [--only CASE,...]`.

Each case measures agentd and, in the same run, its anchors (tmux, dtach, a raw PTY read
loop, a bare interpreter start-up, plain git or SQLite), and reports agentd/anchor ratios
against the goals of DESIGN §10. See docs/performance.md.
"""
