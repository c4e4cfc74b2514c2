"""The CLI's shared options: the old `--runs-root` spelling still works but is not advertised,
and option blocks reach the commands whole (collect)."""

from click.testing import CliRunner

from harness.cli import cli


def test_runs_root_is_a_hidden_alias_of_runs_dir(tmp_path):
    runner = CliRunner()
    for name in ("--runs-dir", "--runs-root"):
        out = runner.invoke(cli, ["runs", name, str(tmp_path)])
        assert out.exit_code == 0 and f"no runs under {tmp_path}" in out.output, out.output
    for command in ("runs", "gate", "report", "compare", "diff", "replay", "live"):
        text = runner.invoke(cli, [command, "--help"]).output
        assert "--runs-dir" in text and "--runs-root" not in text, (command, text)


def test_a_bad_option_value_is_the_one_line_config_error_not_a_usage_error(tmp_path):
    out = CliRunner().invoke(cli, ["live", "--duration", "soon", "--runs-dir", str(tmp_path)])
    assert out.exit_code == 5
    assert out.output.strip().splitlines()[-1] == (
        "harness: error: --duration must look like 30s, 5m, 1h or 90, got 'soon'"
    )
