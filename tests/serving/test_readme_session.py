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
"""

from __future__ import annotations

import re
import subprocess

from harness.commands import REPO
from harness.environment import project_env
from harness.ports import free_port
from harness.servers import serve

README = REPO / "README.md"
LEDGER = str(REPO / "bin" / "ledger")
MARK = "<!-- readme-session -->"
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
    lines = block.group(1).splitlines()
    steps: list[tuple[str, list[str]]] = []
    in_output = False  # the lines after a command, until a comment or a blank line
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
        elif line.startswith("#") or not line.strip():
            in_output = False
        else:
            assert in_output, f"the README shows a line that no command printed: {line}"
            steps[-1][1].append(line)
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
            out.append(line)
    return "\n".join(out)


def run(commands: list[str], env: dict[str, str], port: int) -> list[list[str]]:
    """Run the commands in order in one bash process: the lines each printed (stdout and stderr)."""
    marker = "@@readme-session-step"
    script = ["exec 2>&1"]  # what a terminal shows: stderr too
    for number, command in enumerate(commands):
        script.append(command.replace(SHOWN_HOST, f"localhost:{port}"))
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


def test_the_readme_session_runs_as_written(tmp_path):
    steps = session()
    assert len(steps) >= 10, steps
    port = free_port()
    env = project_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", NO_PROXY="*", no_proxy="*")
    ledger(env, "migrate", "--noinput")
    # setup_demo as `make run` runs it, but with its credentials file in tmp_path, not in the work tree.
    demo = ledger(env, "shell", "-c", "from pathlib import Path; from django.conf import settings; "
                  "from django.core.management import call_command; "
                  f"settings.BASE_DIR = Path({str(tmp_path)!r}); call_command('setup_demo')")  # fmt: skip
    demo_token = re.search(r"token ([0-9a-f]{40})", demo).group(1)

    commands = [command for command, _ in steps]
    with serve([LEDGER, "runserver", f"127.0.0.1:{port}", "--noreload"], env, port, tmp_path / "server.log"):
        outputs = run([*commands, 'echo "$TOKEN"'], env, port)

    assert outputs.pop() == [demo_token], "the session's $TOKEN is the token of make run's demo client"
    ran = list(zip(commands, outputs, strict=True))
    actual = "\n".join("\n".join([f"$ {command}", *output]) for command, output in ran)
    assert normalise(ran) == normalise(steps), f"the README's session printed, unnormalised:\n{actual}"
