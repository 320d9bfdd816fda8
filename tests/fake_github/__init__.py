"""A stateful fake of the GitHub REST API, served over real HTTP on 127.0.0.1.

    with FakeGitHub(prefix="/api/v3") as fake:
        fake.add_repo("octo-org/widgets", 1296269)
        fake.add_token("ghs_x", "github-actions[bot]", installation=True)
        ...  # point GITHUB_API_URL at fake.base_url

See server.py for the servers, routes.py for the endpoints, state.py for the data.

Besides GitHub's own endpoints, one test-only route at the server's root
(whatever the API prefix), for job containers that have nothing but bash:
``POST /_test/runs/{run_id}/artifacts/{name}/files/{file_name}`` puts the
request's body into that artifact's zip (tests/e2e/support.py, UPLOAD_STAND_IN).
"""

from .server import FORBIDDEN_INTEGRATION, FakeGitHub
from .state import Artifact, Comment, Fault, Issue, Pull, RecordedRequest, Repo, Run, Token
from .zips import bomb_zip, results_zip, symlink_zip, understated_bomb_zip, zip_files

__all__ = [
    "FORBIDDEN_INTEGRATION", "FakeGitHub", "Artifact", "Comment", "Fault", "Issue", "Pull",
    "RecordedRequest", "Repo", "Run", "Token", "bomb_zip", "results_zip", "symlink_zip",
    "understated_bomb_zip", "zip_files",
]
