"""The Docker action's entry point: build the real objects, run, exit with the verdict.

Exit codes: 0 pass, 1 regression (when fail-on-regression), 2 error.
Everything worth testing lives in perfaction.action.app and perfaction.pipeline;
this file only wires them up.

The setup-command and the benchmarks are the pull request's own code, and
they run in this container. Removing the token from ``os.environ`` is not
enough to keep it from them: ``/proc/<pid>/environ`` shows a process's
environment as it was when the process started, and any child can read its
parent's. So when the runner's environment holds credentials (see
``untrusted.is_credential``), the entry point first replaces itself
(``os.execve``, same process id) with a copy of itself whose environment has
none of them, handing the token input over through an inherited pipe; the
new process reads and closes the pipe before it starts anything. This closes
the easy paths, not every path: the project's code runs as the same user
(root, in the action's container) and could still inspect this process's
memory. A fork's pull request only ever gets a read-only token.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import UTC, datetime

# Names the restarted process finds the pipe under; never a credential itself.
TOKEN_FD_VARIABLE = "PERFACTION_TOKEN_FD"
TOKEN_VARIABLE = "INPUT_TOKEN"
MAX_TOKEN_BYTES = 16 * 1024   # far above any GitHub token, well within a pipe's buffer


def restart_without_credentials(environ: dict[str, str]) -> str | None:
    """Re-execute this script with the credential variables gone.

    Returns None at once when there is nothing to remove (or this already is
    the restarted process); returns a warning when the restart was not
    possible. Otherwise it does not return: the token input travels through a
    pipe whose read end the new process inherits, its number in
    ``PERFACTION_TOKEN_FD``.
    """
    from perfaction.untrusted import is_credential, without_credentials

    if TOKEN_FD_VARIABLE in environ or not any(is_credential(name) for name in environ):
        return None
    token = environ.get(TOKEN_VARIABLE, "").encode("utf-8")
    if len(token) > MAX_TOKEN_BYTES:
        return (f"input 'token' is {len(token)} bytes long, more than any GitHub token; it was "
                "not handed over, so the process environment still holds it")
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, token)   # fits in the pipe's buffer: no reader needed yet
    finally:
        os.close(write_end)
    os.set_inheritable(read_end, True)
    clean = {**without_credentials(environ), TOKEN_FD_VARIABLE: str(read_end)}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # The same interpreter with the same options and arguments (-u, the script path).
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], clean)
    except OSError as exc:
        os.close(read_end)
        return (f"could not restart without the credentials in the environment ({exc}); the "
                "setup-command and the benchmarks still get an environment without them")
    raise AssertionError("unreachable: execve returns only by raising")


def take_token(environ: os._Environ[str] | dict[str, str]) -> str | None:
    """The token input, removed from ``environ`` with every other credential variable.

    After a restart it comes from the inherited pipe, read and closed here,
    before any child process exists; without one (the restart was not
    possible) from the environment itself.
    """
    from perfaction.untrusted import is_credential

    number = environ.pop(TOKEN_FD_VARIABLE, None)
    token = environ.get(TOKEN_VARIABLE)
    for name in [name for name in environ if is_credential(name)]:
        del environ[name]
    if number is None:
        return token
    fd = int(number)
    try:
        chunks = []
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")


def main() -> int:
    problem = restart_without_credentials(dict(os.environ))
    token = take_token(os.environ)   # from here on os.environ holds no credential
    # Workflow commands and progress must reach the log in order.
    # typeshed's sys.stdout is a TextIO, which has no reconfigure; the real one is a TextIOWrapper
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    from perfaction.action import app
    from perfaction.action.config import Config, load_event
    from perfaction.github.client import GitHubClient
    from perfaction.github.workflow import WorkflowCommands, in_actions
    from perfaction.pipeline import HarnessRunner, run_guarded

    # outside a job (the demo, a run by hand) nothing reads workflow commands
    commands = WorkflowCommands(sys.stdout, plain=not in_actions(os.environ))
    if problem:
        commands.warning(problem, title="perfaction")

    def run_action() -> int:
        # The token lives in this mapping only, never in the process environment.
        environ = dict(os.environ)
        if token is not None:
            environ[TOKEN_VARIABLE] = token
        config = Config.from_env(environ, event=load_event(environ.get("GITHUB_EVENT_PATH")))
        github = None
        if config.token:
            github = GitHubClient(api_url=config.github.api_url, token=config.token,
                                  repository=config.github.repository, settings=config.api)
        # The one client is both ports: it reads the stored baselines and publishes.
        return app.run(config, baselines=github, publisher=github, runner=HarnessRunner(sys.stdout),
                       clock=lambda: datetime.now(UTC), stdout=sys.stdout)

    # Errors become an ::error:: annotation and exit 2; a cancelled job stops its workers.
    return run_guarded(run_action, lambda failure: commands.error(failure.message, title="perfaction"))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:   # e.g. a broken install failing to import: exit 2, never 1 ("regression")
        traceback.print_exc()
        print("::error title=perfaction::internal error before the run started (traceback above)")
        sys.exit(2)
