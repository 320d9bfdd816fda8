"""A stateful fake of the GitHub REST API, served over real HTTP on 127.0.0.1.

    with FakeGitHub(prefix="/api/v3") as fake:
        fake.add_repo("octo-org/widgets", 1296269)
        fake.add_token("ghs_x", "github-actions[bot]", installation=True)
        ...  # point GITHUB_API_URL at fake.base_url

See server.py for the servers, routes.py for the endpoints, state.py for the data.
"""

from .server import FORBIDDEN_INTEGRATION, FakeGitHub
from .state import Artifact, Comment, Fault, Issue, Pull, RecordedRequest, Repo, Token
from .zips import bomb_zip, results_zip, symlink_zip, understated_bomb_zip, zip_files

__all__ = [
    "FORBIDDEN_INTEGRATION", "FakeGitHub", "Artifact", "Comment", "Fault", "Issue", "Pull",
    "RecordedRequest", "Repo", "Token", "bomb_zip", "results_zip", "symlink_zip",
    "understated_bomb_zip", "zip_files",
]
