"""The Docker action's entry point: build the real objects, run, exit with the verdict.

Exit codes: 0 pass, 1 regression (when fail-on-regression), 2 error.
Everything worth testing lives in perfaction.app; this file only wires it up.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import datetime, timezone


def main() -> int:
    # Workflow commands and progress must reach the log in order.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    from perfaction import app
    from perfaction.actions import WorkflowCommands
    from perfaction.config import Config, load_event
    from perfaction.errors import PerfActionError
    from perfaction.github import GitHubClient

    commands = WorkflowCommands(sys.stdout)
    try:
        config = Config.from_env(os.environ, event=load_event(os.environ.get("GITHUB_EVENT_PATH")))
        # The benchmarks and setup-command run the pull request's code: they must
        # not inherit the token from our environment.
        os.environ.pop("INPUT_TOKEN", None)
        github = None
        if config.token:
            github = GitHubClient(api_url=config.github.api_url, token=config.token,
                                  repository=config.github.repository, settings=config.api)
        return app.run(config, github=github, runner=app.HarnessRunner(sys.stdout),
                       clock=lambda: datetime.now(timezone.utc), stdout=sys.stdout)
    except PerfActionError as exc:
        commands.error(str(exc), title="perfaction")
        return exc.exit_code
    except Exception as exc:  # a bug: show it whole, and still exit 2 rather than 1
        traceback.print_exc()
        commands.error(f"internal error: {type(exc).__name__}: {exc}; please report it with the log above",
                       title="perfaction")
        return 2


if __name__ == "__main__":
    sys.exit(main())
