"""The README's curl session, run as written against a live server on the embedded default.

The block after ``<!-- readme-session -->`` in README.md is a shell session: each ``$ `` line
(continued while it ends with ``\\`` or leaves a quote open) is a command, and the lines after
it, up to the next command or ``#`` comment, are what the README says it prints. As ``make run``
would, the test migrates a fresh SQLite database in a temporary folder, runs ``setup_demo`` and
serves it with ``bin/ledger runserver``; then it runs every command, in order, in one bash
process (so variables carry over) with the same ``DATABASE_URL`` (so the session's
``bin/ledger`` calls see the server's database), and compares each command's output with the
README's after normalising only what varies from run to run: UUIDs (numbered by first
appearance, so the same id must recur where the README shows the same id), timestamps,
request ids and cursors. The README says ``localhost:8000``; the test uses a free port instead.

The blocks after each ``<!-- readme-operations -->`` (events and a webhook endpoint, a
delivery verified by ``scripts/webhook-receiver``; the reconciliation examples: ``reconcile``
finding a balance edited by hand, ``rebuild_balances`` repairing it) run next in the same
shell, on the session's database, with the server still up, as the README says they do; their ``sqlite3 db.sqlite3``
means that database, and run numbers, instants and durations are normalised too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from harness.commands import REPO
from harness.environment import project_env
from harness.ports import free_port
from harness.servers import serve

README = REPO / "README.md"
LEDGER = str(REPO / "bin" / "ledger")
MARK = "<!-- readme-session -->"
OPERATIONS_MARK = "<!-- readme-operations -->"
SHOWN_HOST = "localhost:8000"


def ledger(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([LEDGER, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"bin/ledger {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def session() -> list[tuple[str, list[str]]]:
    """The README's session as (command, the lines the README shows it prints)."""
    text = README.read_text()
    assert MARK in text, f"README.md has no {MARK} block"
    block = re.search(r"```sh\n(.*?)\n```", text[text.index(MARK) :], re.DOTALL)
    assert block, f"no ```sh block after {MARK}"
    return parse(block.group(1))


def operations() -> list[tuple[str, list[str]]]:
    """The README's reconciliation examples, every block after an operations mark, in order."""
    text = README.read_text()
    starts = [match.end() for match in re.finditer(re.escape(OPERATIONS_MARK), text)]
    assert starts, f"README.md has no {OPERATIONS_MARK} block"
    steps = []
    for start in starts:
        block = re.search(r"```\n(.*?)\n```", text[start:], re.DOTALL)
        assert block, f"no ``` block after {OPERATIONS_MARK}"
        steps += parse(block.group(1))
    return steps


def parse(block: str) -> list[tuple[str, list[str]]]:
    """A shell session as (command, the lines shown after it)."""
    lines = block.splitlines()
    steps: list[tuple[str, list[str]]] = []
    in_output = False  # the lines after a command, until a comment or the next command
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") or incomplete(command):
                assert i < len(lines), f"the README's command never ends: {command}"
                command += "\n" + lines[i]
                i += 1
            steps.append((command, []))
            in_output = True
        elif line.startswith("#"):
            in_output = False
        elif not line.strip():
            if in_output:
                steps[-1][1].append("")  # A blank line within an output (kept only if more follows).
        else:
            assert in_output, f"the README shows a line that no command printed: {line}"
            steps[-1][1].append(line)
    for _, output in steps:
        while output and not output[-1]:
            output.pop()
    return steps


def incomplete(command: str) -> bool:
    """Whether bash needs more lines to finish ``command`` (a quote still open)."""
    check = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True, check=False)
    if check.returncode == 0:
        return False
    assert "unexpected EOF" in check.stderr, f"the README's command is not valid bash: {command}\n{check.stderr}"
    return True


def normalise(steps: list[tuple[str, list[str]]]) -> str:
    """One transcript, with what varies between runs replaced by placeholders."""
    uuids: dict[str, str] = {}

    def uuid(match: re.Match[str]) -> str:
        return uuids.setdefault(match.group(0), f"<uuid-{len(uuids) + 1}>")

    out = []
    for command, output in steps:
        out.append(f"$ {command}")
        for line in output:
            line = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", uuid, line)
            line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)", "<time>", line)
            line = re.sub(r'"request_id":"[0-9a-f]{32}"', '"request_id":"<request-id>"', line)
            line = re.sub(r"cursor=[A-Za-z0-9_%.-]+", "cursor=<cursor>", line)
            line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "<time>", line)  # reconcile's run header
            line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", "<time>", line)  # a command's log line
            line = re.sub(r"\(\d+\.\ds\)", "(<seconds>)", line)
            out.append(line)
    return "\n".join(out)


def run(commands: list[str], env: dict[str, str], port: int, database: str) -> list[list[str]]:
    """Run the commands in order in one bash process: the lines each printed (stdout and stderr).

    ``sqlite3 db.sqlite3``, the README's way to the embedded default's file, opens ``database``.
    """
    marker = "@@readme-session-step"
    script = ["exec 2>&1"]  # what a terminal shows: stderr too
    for number, command in enumerate(commands):
        script.append(
            command.replace(SHOWN_HOST, f"localhost:{port}").replace("sqlite3 db.sqlite3", f"sqlite3 {database}")
        )
        script.append(f"printf '\\n{marker} {number} %s@@\\n' $?")
    result = subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input="\n".join(script) + "\n",
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    transcript = result.stdout.replace("\r\n", "\n").replace(f"localhost:{port}", SHOWN_HOST)
    pieces = re.split(rf"\n?{marker} (\d+) (\d+)@@\n", transcript)
    assert len(pieces) == 3 * len(commands) + 1, f"the session stopped early:\n{transcript}"
    outputs = []
    for number, command in enumerate(commands):
        output, label, status = pieces[3 * number : 3 * number + 3]
        assert (label, status) == (str(number), "0"), f"`{command}` exited with status {status}:\n{output}"
        outputs.append(output.rstrip("\n").splitlines())
    return outputs


def test_the_readme_session_and_its_reconciliation_examples_run_as_written(tmp_path):
    if shutil.which("sqlite3") is None:  # The examples edit a balance behind the ledger's back with it.
        message = "the README's reconciliation examples need sqlite3 (Debian's sqlite3 package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    steps = session()
    assert len(steps) >= 10, steps
    examples = operations()
    heads = [command.split()[:2] for command, _ in examples]
    assert ["bin/ledger", "reconcile"] in heads, heads
    assert ["sqlite3", "db.sqlite3"] in heads, heads
    assert any("relay_events" in command for command, _ in examples), "the README shows no webhook delivered"
    steps += examples
    port = free_port()
    database = tmp_path / "db.sqlite3"
    env = project_env(DATABASE_URL=f"sqlite:///{database}", NO_PROXY="*", no_proxy="*")
    ledger(env, "migrate", "--noinput")
    # setup_demo as `make run` runs it, but with its credentials file in tmp_path, not in the work tree.
    demo = ledger(env, "shell", "-c", "from pathlib import Path; from django.conf import settings; "
                  "from django.core.management import call_command; "
                  f"settings.BASE_DIR = Path({str(tmp_path)!r}); call_command('setup_demo')")  # fmt: skip
    demo_token = re.search(r"token ([0-9a-f]{40})", demo).group(1)

    commands = [command for command, _ in steps]
    with serve([LEDGER, "runserver", f"127.0.0.1:{port}", "--noreload"], env, port, tmp_path / "server.log"):
        outputs = run([*commands, 'echo "$TOKEN"'], env, port, str(database))

    assert outputs.pop() == [demo_token], "the session's $TOKEN is the token of make run's demo client"
    ran = list(zip(commands, outputs, strict=True))
    actual = "\n".join("\n".join([f"$ {command}", *output]) for command, output in ran)
    assert normalise(ran) == normalise(steps), f"the README's session printed, unnormalised:\n{actual}"
