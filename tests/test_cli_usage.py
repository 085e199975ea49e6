"""The command line answers usage with usage: a mistyped command, an unknown option, a missing
argument or a bad value prints the reason and the command's usage (exit 2), never "internal error";
``lendscore serve`` without an API key says how to make one; ``lendscore serve --demo`` starts a
service a newcomer can use at once; every ``--help`` renders every word of its text."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from cli_helpers import run


def first_line(text: str) -> str:
    return text.strip().splitlines()[0]


@pytest.fixture
def no_service_env(monkeypatch):
    """No LENDSCORE_* variable from the developer's shell reaches the settings."""
    for name in list(os.environ):
        if name.startswith("LENDSCORE_"):
            monkeypatch.delenv(name)


# ------------------------------------------------------------------------------ usage mistakes
def test_a_mistyped_command_suggests_the_near_one(capsys):
    code, text = run(["trian"], capsys)
    assert code == 2, text
    assert first_line(text) == "error: No such command 'trian'. Did you mean 'train', 'retrain'?"
    assert "Usage: lendscore [OPTIONS] COMMAND [ARGS]..." in text
    assert "Try 'lendscore --help' for help." in text
    assert "internal error" not in text


def test_a_mistyped_subcommand_suggests_the_near_one(capsys):
    code, text = run(["keys", "nwe"], capsys)
    assert code == 2, text
    assert first_line(text) == "error: No such command 'nwe'. Did you mean 'new'?"
    assert "Usage: lendscore keys [OPTIONS] COMMAND [ARGS]..." in text


def test_an_unknown_option_shows_the_usage_and_the_near_option(capsys):
    code, text = run(["score", "--batchsize", "5"], capsys)
    assert code == 2, text
    assert first_line(text) == "error: No such option: --batchsize. Did you mean '--batch-size'?"
    assert "Usage: lendscore score [OPTIONS]" in text
    assert "Try 'lendscore score --help' for help." in text


def test_a_missing_argument_is_named(capsys):
    code, text = run(["train"], capsys)
    assert code == 2, text
    assert first_line(text) == "error: Missing argument 'DATA'."
    assert "Usage: lendscore train [OPTIONS] {DATA}" in text
    assert "internal error" not in text


def test_a_bad_value_is_named_on_one_line(capsys):
    argv = ["score", "--model", "m.json", "--input", "in.csv", "--output", "out.csv", "--batch-size", "0"]
    code, text = run(argv, capsys)
    assert code == 2, text
    assert first_line(text).startswith("error: Invalid value for '--batch-size'")
    assert text.splitlines()[1] == "Usage: lendscore score [OPTIONS]"  # the reason is one line, however long


def test_an_option_without_its_value_shows_the_commands_usage(capsys):
    code, text = run(["train", "loans.csv", "--out"], capsys)  # the parser raises this without a context
    assert code == 2, text
    assert first_line(text) == "error: Option '--out' requires an argument."
    assert "Usage: lendscore train [OPTIONS] {DATA}" in text


def test_no_command_prints_the_help(capsys):
    code, text = run([], capsys)
    assert code == 2
    assert "Usage: lendscore [OPTIONS] COMMAND [ARGS]..." in text and "train" in text
    assert "error" not in text


def test_a_refusal_keeps_its_one_line_and_prints_brackets_as_written(capsys):
    code, text = run(["keys", "new", "--name", "a", "--role", "boss"], capsys)
    assert code == 2
    assert first_line(text) == "error: --role must be one of ['admin', 'officer', 'scorer']; got 'boss'"


def test_a_bug_still_says_internal_error(capsys, monkeypatch):
    import lendscore.service.security as security

    def broken() -> str:
        raise RuntimeError("boom [x]")

    monkeypatch.setattr(security, "new_key", broken)
    monkeypatch.delenv("LENDSCORE_DEBUG", raising=False)
    code, text = run(["keys", "new", "--name", "a", "--role", "admin"], capsys)
    assert code == 3
    assert first_line(text) == "internal error: RuntimeError: boom [x]"
    assert "LENDSCORE_DEBUG=1" in text


# ------------------------------------------------------------------------------ serve without a key
def test_serve_without_settings_says_how_to_make_a_key(capsys, no_service_env):
    code, text = run(["serve"], capsys)
    assert code == 2, text
    assert first_line(text).startswith("error: lendscore serve needs settings with at least one API key")
    assert "`lendscore keys new --name NAME --role scorer|officer|admin`" in text
    assert "api_keys = [ENTRY]" in text and "lendscore serve --demo" in text
    assert len(text.strip().splitlines()) == 2


def test_serve_with_settings_without_a_key_says_where_the_entry_goes(capsys, tmp_path, no_service_env):
    settings = tmp_path / "settings.toml"
    settings.write_text('model_path = "model.json"\napi_keys = []\n', encoding="utf-8")
    code, text = run(["serve", "--settings", str(settings)], capsys)
    assert code == 2, text
    assert first_line(text) == (
        f"error: lendscore serve needs at least one API key; {settings} has none (nor LENDSCORE_API_KEYS)."
    )
    assert "lendscore keys new --name NAME --role scorer|officer|admin" in text
    assert f"to {settings} as api_keys = [ENTRY]" in text


def test_serve_demo_refuses_settings(capsys, tmp_path):
    code, text = run(["serve", "--demo", "--settings", str(tmp_path / "s.toml")], capsys)
    assert code == 2
    assert first_line(text) == "error: --demo makes its own settings: give --settings or --demo, not both"


# ------------------------------------------------------------------------------ help texts
def _commands():
    """(argv path, click command) of the app, every group and every subcommand."""
    import typer.main

    from lendscore.cli import _register
    from lendscore.cli._app import app

    _register()

    def walk(cmd, path):
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not sub.hidden:
                yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def _words(text: str) -> list[str]:
    """The words of a help text as written (a rich escape ``\\[`` prints as ``[``)."""
    return text.replace("\\[", "[").split()


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=lambda p: " ".join(p) or "lendscore")
def test_help_renders_every_word(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # no word is folded across lines
    cmd = dict((tuple(p), c) for p, c in _commands())[tuple(path)]
    code, text = run([*path, "--help"], capsys)
    assert code == 0, text
    assert "``" not in text  # reStructuredText is for the API docs, not the terminal
    assert not re.search(r"\S  +(and|or|with|of)\b", text), text  # a hole where markup ate a word
    shown = {w.strip("│") for w in text.split()}
    written = _words(cmd.help or "")
    for param in cmd.params:
        if not getattr(param, "hidden", False):
            written += _words(getattr(param, "help", None) or "")
    missing = [w for w in written if w not in shown]
    assert not missing, f"help of `lendscore {' '.join(path)}` lost {missing}:\n{text}"


# ------------------------------------------------------------------------------ serve --demo
@pytest.mark.slow
def test_serve_demo_starts_a_service_a_newcomer_can_use(tmp_path):
    import httpx

    from lendscore.service.testing import free_port, sample_applications

    port = free_port()
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDSCORE_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lendscore", "serve", "--demo", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        key = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"serve --demo exited with {proc.returncode}:\n{log.read_text()}"
            found = re.search(r"^admin key \(shown once[^)]*\): (\S+)$", log.read_text(), re.MULTILINE)
            if found:
                key = found.group(1)
                try:
                    if httpx.get(base + "/healthz", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        else:
            pytest.fail(f"serve --demo not ready in 120 s:\n{log.read_text()}")
        printed = log.read_text()
        assert f"officer page: {base}/ui" in printed
        assert printed.count(key) == 2  # the key line and the curl example, nothing else

        assert httpx.get(base + "/healthz", timeout=10).json() == {"status": "ok"}
        body = sample_applications(1, seed=5, raw=True)[0]
        assert httpx.post(base + "/v1/decisions", json=body, timeout=30).status_code == 401
        r = httpx.post(base + "/v1/decisions", json=body, headers={"X-API-Key": key}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] in ("approve", "refer", "decline")
        assert httpx.get(base + "/ui", timeout=10).status_code == 200

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()  # a graceful stop; its temporary files removed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
