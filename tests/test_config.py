"""config.load: built-in defaults, merging, and one-line errors naming file, key and line."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from agentd import config
from agentd.errors import ConfigError

BUILTINS = ["claude", "codex", "gemini", "opencode", "aider", "demo"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert "\n" not in message, "a config error is one line"
    return path, message


# -- defaults and merging ------------------------------------------------------------------


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    cfg = config.load(tmp_path / "config.toml")
    assert list(cfg.agents) == BUILTINS
    assert cfg.default_agent == "claude"
    assert cfg.data_dir is None
    assert cfg.detach_key == "C-]"
    assert cfg.log_keep == 1
    assert cfg.kill_grace_seconds == 3.0
    assert cfg.agent("claude").command == "claude"
    assert cfg.agent("claude").integration == "claude"
    assert cfg.agent("gemini").integration == "gemini"
    assert cfg.agent("aider").prompt == "type"
    demo = cfg.agent("demo")
    assert demo.command == sys.executable
    assert demo.args == ("-m", "agentd.demo_agent")


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, ""))
    assert list(cfg.agents) == BUILTINS


def test_user_agents_follow_file_order_builtins_after(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, """
[agents.zeta]
command = "zeta"

[agents.codex]
args = ["--full-auto"]

[agents.alpha]
command = "alpha"
"""))
    assert list(cfg.agents) == ["zeta", "codex", "alpha", "claude", "gemini", "opencode",
                                "aider", "demo"]


def test_user_args_merge_with_builtin_agent(tmp_path: Path) -> None:
    builtin = config.load(tmp_path / "absent.toml").agent("claude")
    cfg = config.load(write(tmp_path, '[agents.claude]\nargs = ["--model", "opus"]\n'))
    claude = cfg.agent("claude")
    assert claude.args == ("--model", "opus")
    # Everything the user did not set comes from the built-in definition.
    assert claude.command == "claude"
    assert claude.integration == "claude"
    assert claude.waiting_patterns == builtin.waiting_patterns
    assert claude.busy_patterns == builtin.busy_patterns
    assert claude.prompt == "arg"


def test_full_user_agent(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, """
default_agent = "mine"
kill_grace_seconds = 1.5
log_max_bytes = 100000
log_keep = 3

[agents.mine]
command = "my-agent"
args = ["--fast"]
prompt = "type"
env = { MY_TOKEN = "x" }
waiting_patterns = ["Continue\\\\?"]
idle_seconds = 2
"""))
    assert cfg.default_agent == "mine"
    assert cfg.kill_grace_seconds == 1.5
    assert (cfg.log_max_bytes, cfg.log_keep) == (100000, 3)
    mine = cfg.agent("mine")
    assert mine.command == "my-agent"
    assert mine.args == ("--fast",)
    assert mine.prompt == "type"
    assert mine.env == {"MY_TOKEN": "x"}
    assert mine.waiting_patterns == (r"Continue\?",)
    assert mine.idle_seconds == 2.0
    assert mine.integration == "generic"


def test_user_agent_picks_an_integration(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, '[agents.wrapped]\ncommand = "my-claude"\n'
                                      'integration = "claude"\n'))
    wrapped = cfg.agent("wrapped")
    assert wrapped.integration == "claude"
    # The integration launches it and reads its hooks; defaults stay the built-in agent's.
    assert wrapped.waiting_patterns == ()


@pytest.mark.parametrize(("hooks", "integration"), [
    ("claude", "claude"), ("codex", "codex"), ("none", "generic")])
def test_old_hooks_key_is_an_alias_of_integration(tmp_path: Path, hooks: str,
                                                  integration: str) -> None:
    cfg = config.load(write(tmp_path, f'[agents.x]\ncommand = "sh"\nhooks = "{hooks}"\n'
                                      f'[agents.claude]\nhooks = "{hooks}"\n'))
    assert cfg.agent("x").integration == integration
    assert cfg.agent("claude").integration == integration  # overrides the built-in's


def test_unknown_agent_lookup_names_known_agents_and_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    cfg = config.load(path)
    with pytest.raises(ConfigError) as info:
        cfg.agent("ghost")
    message = str(info.value)
    assert "'ghost'" in message
    assert "claude, codex, gemini, opencode, aider, demo" in message
    assert f"[agents.ghost] to {path}" in message


# -- errors: path:line: key: what ----------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "key", "what"), [
    # unknown top-level key
    ('default_agent = "demo"\ncolour = "red"\n', 2, "colour", "unknown key"),
    # unknown top-level table
    ('log_keep = 2\n\n[bogus]\nx = 1\n', 3, "bogus", "unknown key"),
    # unknown agent key
    ('[agents.x]\ncommand = "sh"\ncomand = "sh"\n', 3, "agents.x.comand", "unknown key"),
    # string where an integer is wanted
    ('log_keep = "3"\n', 1, "log_keep", "must be an integer"),
    # boolean is not an integer
    ('\nlog_keep = true\n', 2, "log_keep", "must be an integer"),
    # integer where a string is wanted
    ('[agents.x]\ncommand = 3\n', 2, "agents.x.command", "must be a string"),
    # string where a number is wanted
    ('[agents.x]\ncommand = "sh"\nidle_seconds = "5"\n', 3, "agents.x.idle_seconds",
     "must be a number"),
    # a string where a list is wanted
    ('[agents.x]\ncommand = "sh"\nargs = "-v"\n', 3, "agents.x.args", "must be a list"),
    # list of non-strings
    ('[agents.x]\ncommand = "sh"\nargs = ["-c", 1]\n', 3, "agents.x.args",
     "must be a list of strings"),
    ('[agents.x]\ncommand = "sh"\n\nbusy_patterns = [1]\n', 4, "agents.x.busy_patterns",
     "must be a list of strings"),
    # env values must be strings
    ('[agents.x]\ncommand = "sh"\nenv = { A = 1 }\n', 3, "agents.x.env",
     "values must be strings"),
    # bad prompt mode
    ('[agents.x]\ncommand = "sh"\nprompt = "shout"\n', 3, "agents.x.prompt",
     "must be one of arg, type, none"),
    # unknown integration
    ('[agents.x]\ncommand = "sh"\nintegration = "cursor"\n', 3, "agents.x.integration",
     "must be one of claude, codex, gemini, opencode, aider, demo, generic"),
    # bad value of the old key hooks
    ('[agents.x]\ncommand = "sh"\nhooks = "yes"\n', 3, "agents.x.hooks",
     "must be one of claude, codex, none"),
    # the old key and the new one together
    ('[agents.x]\ncommand = "sh"\nintegration = "codex"\nhooks = "codex"\n', 4,
     "agents.x.hooks", "old name of integration"),
    # bad regular expression
    ('[agents.x]\ncommand = "sh"\nwaiting_patterns = ["ok", "(unclosed"]\n', 3,
     "agents.x.waiting_patterns", "bad regular expression '(unclosed'"),
    # unknown default agent
    ('# mine\ndefault_agent = "nope"\n', 2, "default_agent", "unknown agent 'nope'"),
    # a value that is too small
    ('log_max_bytes = 10\n', 1, "log_max_bytes", "must be from 4096 to 1099511627776"),
    ('log_keep = 100000\n', 1, "log_keep", "must be from 1 to 100"),
    # not finite (TOML has inf and nan), or absurdly large
    ('kill_grace_seconds = inf\n', 1, "kill_grace_seconds",
     "must be a number of seconds from 0 to 3600"),
    ('kill_grace_seconds = nan\n', 1, "kill_grace_seconds", "from 0 to 3600"),
    ('kill_grace_seconds = -0.5\n', 1, "kill_grace_seconds", "from 0 to 3600"),
    ('[agents.x]\ncommand = "sh"\nidle_seconds = nan\n', 3, "agents.x.idle_seconds",
     "must be a number of seconds from 0 to 3600"),
    ('[agents.x]\ncommand = "sh"\nidle_seconds = -inf\n', 3, "agents.x.idle_seconds",
     "from 0 to 3600"),
    # an agent that is not a table
    ('[agents]\nx = 3\n', 2, "agents.x", "must be a table"),
    # empty command
    ('[agents.x]\ncommand = ""\n', 2, "agents.x.command", "must not be empty"),
    # negative idle time
    ('[agents.x]\ncommand = "sh"\nidle_seconds = -1\n', 3, "agents.x.idle_seconds",
     "must be a number of seconds from 0 to 3600"),
    # the same key in an earlier section does not confuse the line number
    ('[agents.a]\ncommand = "sh"\nprompt = "arg"\n[agents.b]\ncommand = "sh"\n'
     'prompt = "bad"\n', 6, "agents.b.prompt", "must be one of"),
    # a bad value in a built-in agent's override
    ('\n[agents.claude]\nprompt = "loud"\n', 3, "agents.claude.prompt", "must be one of"),
    # prices: not finite, negative, unknown key, missing rate, not a table
    ('[prices."m-1"]\ninput = 1\noutput = nan\n', 3, 'prices."m-1".output',
     "must be a finite number ≥ 0"),
    ('[prices."m-1"]\ninput = 1\noutput = 2\ncache_read = -0.5\n', 4,
     'prices."m-1".cache_read', "must be a finite number ≥ 0"),
    ('[prices."m-1"]\ninput = 1\noutput = 2\ncache = 1\n', 4, 'prices."m-1".cache',
     "unknown key (known keys: input, output, cache_read, cache_write)"),
    ('[prices."m.1"]\ninput = "1"\noutput = 2\n', 2, 'prices."m.1".input',
     "must be a finite number ≥ 0"),
    ('\n[prices."m-1"]\ninput = 1\n', 2, 'prices."m-1".output', "is required"),
    ('[prices]\nm = 3\n', 2, 'prices."m"', "must be a table"),
])
def test_error_names_file_line_and_key(tmp_path: Path, text: str, line: int, key: str,
                                       what: str) -> None:
    path, message = error_of(tmp_path, text)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert what in message


def test_prices_table_overrides(tmp_path: Path) -> None:
    from agentd.pricing import override_cost
    from agentd.records import Call

    cfg = config.load(write(tmp_path, '[prices."my-model"]\ninput = 2\noutput = 8.5\n'
                                      'cache_read = 0.2\n'))
    assert cfg.prices == {"my-model": {"input": 2.0, "output": 8.5, "cache_read": 0.2}}
    call = Call("k", None, "my-model", input=1_000_000, output=2_000_000,
                cache_read=1_000_000, cache_write=500_000)
    # cache writes at the input rate: the table gives none
    assert override_cost(cfg.prices["my-model"], call) == pytest.approx(2 + 17 + 0.2 + 1)


def test_unknown_key_lists_the_known_keys(tmp_path: Path) -> None:
    _, message = error_of(tmp_path, '[agents.x]\ncommand = "sh"\nprogram = "sh"\n')
    assert "known keys: command, args, prompt" in message


def test_invalid_toml_reports_file_and_line(tmp_path: Path) -> None:
    path, message = error_of(tmp_path, 'default_agent = "demo"\n[agents.x\ncommand = "sh"\n')
    assert message.startswith(f"{path}: invalid TOML: "), message
    assert re.search(r"\bline 2\b", message), message


def test_invalid_toml_value(tmp_path: Path) -> None:
    path, message = error_of(tmp_path, 'log_keep = 2\nlog_max_bytes =\n')
    assert message.startswith(f"{path}: invalid TOML: "), message
    assert re.search(r"\bline 2\b", message), message


def test_unreadable_config_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(info.value).startswith(f"{path}: cannot read: ")


# -- errors whose line the current locator misses (see the report) -------------------------


def test_error_line_when_section_header_has_a_comment(tmp_path: Path) -> None:
    path, message = error_of(tmp_path,
                             '[agents.x]  # my agent\ncommand = "sh"\nprompt = "bogus"\n')
    assert message.startswith(f"{path}:3: agents.x.prompt: "), message


def test_missing_command_points_at_the_agent_table(tmp_path: Path) -> None:
    path, message = error_of(tmp_path, 'log_keep = 1\n\n[agents.x]\nargs = ["-v"]\n')
    assert message.startswith(f"{path}:3: agents.x.command: "), message
    assert "required" in message


@pytest.mark.parametrize("text", [
    'agents.x.command = 3\n',  # dotted key
    '[agents]\nx = { command = 3 }\n',  # inline table
])
def test_error_line_for_dotted_and_inline_tables(tmp_path: Path, text: str) -> None:
    path, message = error_of(tmp_path, text)
    line = text.count("\n")
    assert message.startswith(f"{path}:{line}: agents.x.command: must be a string"), message


def test_negative_kill_grace_is_rejected(tmp_path: Path) -> None:
    path, message = error_of(tmp_path, "kill_grace_seconds = -1\n")
    assert message.startswith(f"{path}:1: kill_grace_seconds: "), message


def test_tui_settings_defaults_values_and_errors(tmp_path: Path) -> None:
    cfg = config.load(tmp_path / "config.toml")
    assert (cfg.tui_bell, cfg.scrollback_lines) == (True, 10_000)
    cfg = config.load(write(tmp_path, "tui_bell = false\nscrollback_lines = 500\n"))
    assert (cfg.tui_bell, cfg.scrollback_lines) == (False, 500)
    path, msg = error_of(tmp_path, 'tui_bell = "no"\n')
    assert msg == f"{path}:1: tui_bell: must be true or false"
    path, msg = error_of(tmp_path, "scrollback_lines = true\n")
    assert msg == f"{path}:1: scrollback_lines: must be an integer"
    path, msg = error_of(tmp_path, "\nscrollback_lines = -1\n")
    assert msg == f"{path}:2: scrollback_lines: must be from 0 to 1000000"


def test_setup_commands_per_repo_then_per_agent(tmp_path: Path) -> None:
    repo = tmp_path / "web"
    repo.mkdir()
    cfg = config.load(write(tmp_path, f'[setup]\n"{repo}" = "npm ci"\n"/elsewhere" = "make"\n'
                                      '[agents.x]\ncommand = "sh"\nsetup = "pip install -e ."\n'))
    assert cfg.setup_commands(repo, cfg.agent("x")) == ["npm ci", "pip install -e ."]
    assert cfg.setup_commands(tmp_path, cfg.agent("x")) == ["pip install -e ."]
    assert cfg.setup_commands(tmp_path, cfg.agent("claude")) == []
    assert config.load(write(tmp_path, "artifact_max_bytes = 5\n")).artifact_max_bytes == 5


@pytest.mark.parametrize(("text", "what"), [
    ('[setup]\n"relative/repo" = "npm ci"\n', "setup.relative/repo: must be the repository's "
                                              "absolute path"),
    ('[setup]\n"/r" = ""\n', "setup./r: must be a shell command"),
    ('[setup]\n"/r" = 3\n', "setup./r: must be a shell command"),
    ('[agents.x]\ncommand = "sh"\nsetup = " "\n', "agents.x.setup: must not be empty"),
    ('[agents.x]\ncommand = "sh"\nsetup = ["a"]\n', "agents.x.setup: must be a string"),
    ("artifact_max_bytes = 0\n", "artifact_max_bytes: must be from 1 to 1099511627776"),
    ('setup = "npm ci"\n', "setup: must be a table"),
])
def test_bad_setup_and_artifact_settings(tmp_path: Path, text: str, what: str) -> None:
    _, message = error_of(tmp_path, text)
    assert what in message
