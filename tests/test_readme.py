"""The README runs as written: its tour is executed command by command (shortened where it says
so), and every `harness` option it names anywhere is checked against the real CLI."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from harness.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
#: how the tour is shortened (the only changes made to its commands)
SHORTER = {"--ticks": "20000", "--tickers": "50", "--limit": "5000"}
DEMO_ENV = {"DEMO_REPLAY_ARGS": "--limit 5000", "DEMO_CALIBRATION_TICKS": "3000"}


def _blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _commands(block: str) -> list[list[str]]:
    """Shell lines of a block, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def _tour() -> list[list[str]]:
    section = README.split("## A 5-minute tour", 1)[1]
    return _commands(_blocks(section)[0])


def _command(name: str) -> click.Command:
    cmd = cli.commands.get(name) if isinstance(cli, click.Group) else None
    assert cmd is not None, f"README names `harness {name}`, which does not exist"
    return cmd


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}


def test_the_tour_runs_as_written(tmp_path):
    """Each tour command in a sandbox holding the bundled recordings; RUN is the replay's run."""
    for name in ("accepted-differences.toml", "scripts"):
        (tmp_path / name).symlink_to(ROOT / name)
    (
        tmp_path / "recordings"
    ).mkdir()  # each bundled recording linked: what the tour writes stays here
    for rec in (ROOT / "recordings").iterdir():
        (tmp_path / "recordings" / rec.name).symlink_to(rec)
    env = {**os.environ, **DEMO_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "HARNESS": str(BIN / "harness")}  # fmt: skip
    run = None
    ran = []
    for argv in _tour():
        if argv[:2] == ["make", "demo"]:  # the demo target's recipe, after its set-up step
            argv = ["bash", "scripts/demo.sh"]
        elif argv[0] == ".":  # `. .venv/bin/activate`: PATH already holds the environment
            continue
        assert argv[0] in ("bash", "harness"), argv
        argv = [run if a == "RUN" else a for a in argv]
        assert None not in argv, f"{argv}: RUN before any replay printed one"
        argv = [
            SHORTER.get(argv[i - 1], a) if i else a for i, a in enumerate(argv)
        ]  # --ticks 10000000 -> 20000 …
        argv = [str(tmp_path / "day") if a == "/tmp/day" else a for a in argv]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        allowed = (0, 3, 4) if argv[:2] == ["harness", "gate"] else (0,)  # a verdict, not an error
        assert done.returncode in allowed, f"{shlex.join(argv)}: {done.stdout}\n{done.stderr}"
        ran.append(argv[:2])
        found = re.search(r"run directory: (\S+)", done.stdout)
        if argv[:2] == ["harness", "replay"] and found and run is None:
            run = found.group(1)
    assert ["bash", "scripts/demo.sh"] in ran and ["harness", "shrink"] in ran
    assert len(ran) == len(_tour()) - 1
    assert (Path(tmp_path / run) / "report.html").is_file()
    assert (tmp_path / "recordings" / "shrunk").is_dir() or (
        ROOT / "recordings" / "shrunk"
    ).is_dir()


def test_every_option_the_readme_names_exists():
    """Options in code blocks and in the CLI reference table, each checked on its command."""
    checked = 0
    for block in _blocks(README):
        for argv in _commands(block):
            if argv[0] != "harness" or len(argv) < 2 or argv[1].startswith("-"):
                continue
            opts = _options(_command(argv[1]))
            for a in argv[2:]:
                if a.startswith("--"):
                    assert a.split("=")[0] in opts, f"`harness {argv[1]}` has no {a}"
                    checked += 1
    table = README.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    for row in table.splitlines():
        m = re.match(r"\| `harness ([^`]+)` \|(.*)\|\s*$", row)
        if not m:
            continue
        names = [w for w in re.split(r"[ /]+", m.group(1)) if re.fullmatch(r"[a-z]+", w)]
        commands = [_command(n) for n in names]
        described = m.group(2)
        for span in re.findall(r"`harness ([a-z]+)([^`]*)`", described):  # another command's
            other = _options(_command(span[0]))
            for opt in re.findall(r"(--[a-z][a-z-]*)", span[1]):
                assert opt in other, f"`harness {span[0]}` has no {opt}"
                checked += 1
        described = re.sub(r"`harness [^`]*`", "", described)
        for opt in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", m.group(1) + described):
            owners = [c.name for c in commands if opt in _options(c)]
            assert owners, f"CLI reference row `harness {m.group(1)}` names {opt}: no such option"
            checked += 1
    assert checked >= 40, checked


def test_the_option_check_catches_a_wrong_option():
    """The check above can fail: the README of issue 21 said `harness diff RUN --diff-config`."""
    assert "--diff-config" not in _options(_command("diff"))
    assert "--config" in _options(_command("diff"))
    with pytest.raises(AssertionError):
        _command("no-such-command")
