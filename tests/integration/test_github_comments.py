"""github.py's sticky PR comment against the fake GitHub over HTTP."""

from __future__ import annotations

import pytest

from perfaction.action.config import ApiSettings
from perfaction.github.client import COMMENT_LIMIT, GitHubAPIError, GitHubClient, is_sealed
from tests.fake_github.seed import BOT, BOT_TOKEN, FORK_PR, PR, READ_ONLY_TOKEN, REPO, USER, USER_TOKEN

MARKER = "<!-- perfaction-comment id=default -->"


def make_client(fake, token=BOT_TOKEN, retries=2):
    return GitHubClient(api_url=fake.base_url, token=token, repository=REPO,
                        settings=ApiSettings(timeout=5, retries=retries, backoff=0))


def body(text):
    return f"{MARKER}\n{text}"


def unsealed(text):
    """A stored comment without the seal line the client adds last (seal_comment)."""
    assert is_sealed(text), text[-120:]
    return text.rpartition("\n")[0]


def test_first_run_creates_and_second_run_edits_the_same_comment(any_fake):
    client = make_client(any_fake)
    first = client.upsert_comment(PR, body("run 1"), marker=MARKER)
    second = make_client(any_fake).upsert_comment(PR, body("run 2"), marker=MARKER)
    comments = any_fake.comments_on(REPO, PR)
    assert (first.status, second.status) == ("created", "updated")
    assert len(comments) == 1
    assert unsealed(comments[0].body) == body("run 2") and comments[0].author == BOT
    assert first.url == second.url and first.url.endswith(f"#issuecomment-{comments[0].id}")


def test_our_comment_is_found_on_the_last_of_several_pages(fake):
    ours = fake.add_comment(REPO, PR, body("old report"), author=BOT)
    for index in range(250):
        fake.add_comment(REPO, PR, f"chatter {index}", author=USER)
    # Move ours to the end by re-adding it after the chatter.
    fake.state.comments.pop(ours.id)
    ours = fake.add_comment(REPO, PR, body("old report"), author=BOT)
    outcome = make_client(fake).upsert_comment(PR, body("new report"), marker=MARKER)
    assert outcome.status == "updated"
    assert unsealed(fake.state.comments[ours.id].body) == body("new report")
    assert len(fake.comments_on(REPO, PR)) == 251
    pages = [r.query.get("page", "1") for r in fake.requests("api", "GET", rf"/repos/{REPO}/issues/{PR}/comments")]
    assert pages == ["1", "2", "3"]


def test_a_comment_quoting_the_marker_by_someone_else_is_left_alone(fake):
    quoted = fake.add_comment(REPO, PR, body("a human pasted the report"), author=USER)
    outcome = make_client(fake).upsert_comment(PR, body("report"), marker=MARKER)
    assert outcome.status == "created"
    assert fake.state.comments[quoted.id].body == body("a human pasted the report")
    assert len(fake.comments_on(REPO, PR)) == 2


def test_another_bot_comment_without_the_marker_is_left_alone(fake):
    other = fake.add_comment(REPO, PR, "coverage report", author=BOT)
    make_client(fake).upsert_comment(PR, body("report"), marker=MARKER)
    assert fake.state.comments[other.id].body == "coverage report"
    assert len(fake.comments_on(REPO, PR)) == 2


def test_different_comment_ids_keep_separate_comments(fake):
    client = make_client(fake)
    other_marker = "<!-- perfaction-comment id=py312 -->"
    client.upsert_comment(PR, body("default"), marker=MARKER)
    client.upsert_comment(PR, f"{other_marker}\npy312", marker=other_marker)
    client.upsert_comment(PR, body("default again"), marker=MARKER)
    assert sorted(unsealed(c.body) for c in fake.comments_on(REPO, PR)) == sorted(
        [body("default again"), f"{other_marker}\npy312"])


def test_a_personal_token_finds_comments_by_its_own_login(fake):
    client = make_client(fake, token=USER_TOKEN)
    client.upsert_comment(PR, body("one"), marker=MARKER)
    client.upsert_comment(PR, body("two"), marker=MARKER)
    comments = fake.comments_on(REPO, PR)
    assert [(c.author, unsealed(c.body)) for c in comments] == [(USER, body("two"))]


def test_an_installation_token_without_the_prefix_falls_back_to_the_actions_bot(fake):
    fake.add_token("v1.0123456789abcdef", BOT, installation=True)  # the older token format
    client = make_client(fake, token="v1.0123456789abcdef")
    client.upsert_comment(PR, body("one"), marker=MARKER)
    client.upsert_comment(PR, body("two"), marker=MARKER)
    assert [(c.author, unsealed(c.body)) for c in fake.comments_on(REPO, PR)] == [(BOT, body("two"))]
    assert fake.requests("api", "GET", r"/user")  # asked, got 403, fell back


def test_a_forks_read_only_token_is_a_forbidden_outcome_not_an_error(fake):
    outcome = make_client(fake, token=READ_ONLY_TOKEN).upsert_comment(FORK_PR, body("r"), marker=MARKER)
    assert outcome.status == "forbidden"
    assert "Resource not accessible by integration" in outcome.message
    assert "job summary" in outcome.message
    assert fake.comments_on(REPO, FORK_PR) == []


def test_a_body_over_the_limit_is_replaced_by_the_fallback(fake):
    long_body = body("x" * COMMENT_LIMIT)
    fallback = body("The report is too long for a comment; see the job summary.")
    outcome = make_client(fake).upsert_comment(PR, long_body, marker=MARKER, fallback_body=fallback)
    assert outcome.status == "created"
    assert [unsealed(c.body) for c in fake.comments_on(REPO, PR)] == [fallback]


def test_a_422_body_too_long_answer_falls_back(fake):
    fake.add_fault("POST", rf"/repos/{REPO}/issues/{PR}/comments", 422, "Validation Failed")
    fallback = body("short")
    outcome = make_client(fake).upsert_comment(PR, body("report"), marker=MARKER, fallback_body=fallback)
    assert outcome.status == "created"
    assert [unsealed(c.body) for c in fake.comments_on(REPO, PR)] == [fallback]


def test_a_422_without_a_fallback_is_an_error(fake):
    fake.add_fault("POST", rf"/repos/{REPO}/issues/{PR}/comments", 422, "Validation Failed")
    with pytest.raises(GitHubAPIError, match="422"):
        make_client(fake).upsert_comment(PR, body("report"), marker=MARKER)


def test_create_false_only_refreshes_an_existing_comment(fake):
    client = make_client(fake)
    skipped = client.upsert_comment(PR, body("quiet"), marker=MARKER, create=False)
    assert skipped.status == "skipped" and fake.comments_on(REPO, PR) == []
    client.upsert_comment(PR, body("loud"), marker=MARKER)
    refreshed = client.upsert_comment(PR, body("quiet now"), marker=MARKER, create=False)
    assert refreshed.status == "updated"
    assert [unsealed(c.body) for c in fake.comments_on(REPO, PR)] == [body("quiet now")]


def test_server_errors_while_listing_and_writing_are_retried(fake):
    fake.add_fault("GET", rf"/repos/{REPO}/issues/{PR}/comments", 500, times=2)
    fake.add_fault("POST", rf"/repos/{REPO}/issues/{PR}/comments", 502)
    outcome = make_client(fake, retries=3).upsert_comment(PR, body("r"), marker=MARKER)
    assert outcome.status == "created"
    assert len(fake.comments_on(REPO, PR)) == 1


def test_api_down_is_an_error_naming_the_step(fake):
    fake.add_fault("*", r".*", 503, times=100)
    with pytest.raises(GitHubAPIError, match="kept failing while .*retries exhausted"):
        make_client(fake, retries=1).upsert_comment(PR, body("r"), marker=MARKER)


def test_a_body_without_the_marker_is_a_programming_error(fake):
    with pytest.raises(ValueError, match="marker"):
        make_client(fake).upsert_comment(PR, "no marker here", marker=MARKER)


def test_a_custom_github_apps_token_edits_its_own_comment_instead_of_adding_one(fake):
    app = "perf-gate-app[bot]"
    fake.add_token("ghs_customapp0123456789", app, installation=True)
    client = make_client(fake, token="ghs_customapp0123456789")
    first = client.upsert_comment(PR, body("one"), marker=MARKER)
    second = make_client(fake, token="ghs_customapp0123456789").upsert_comment(
        PR, body("two"), marker=MARKER)
    assert (first.status, second.status) == ("created", "updated")
    assert [(c.author, unsealed(c.body)) for c in fake.comments_on(REPO, PR)] == [(app, body("two"))]


def test_with_an_installation_token_a_person_quoting_the_marker_is_still_left_alone(fake):
    quoted = fake.add_comment(REPO, PR, body("pasted by a human"), author=USER)
    app = "perf-gate-app[bot]"
    fake.add_token("ghs_customapp0123456789", app, installation=True)
    outcome = make_client(fake, token="ghs_customapp0123456789").upsert_comment(
        PR, body("report"), marker=MARKER)
    assert outcome.status == "created"
    assert fake.state.comments[quoted.id].body == body("pasted by a human")


def test_a_person_s_own_comment_quoting_the_marker_is_never_taken_for_the_action_s(fake):
    # With a personal token the action comments as that person: their hand-written
    # comment carries the same author, but not a seal matching its text.
    quoted = fake.add_comment(REPO, PR, body("my notes on the report above"), author=USER)
    outcome = make_client(fake, token=USER_TOKEN).upsert_comment(PR, body("report"),
                                                                 marker=MARKER)
    assert outcome.status == "created"
    assert fake.state.comments[quoted.id].body == body("my notes on the report above")


@pytest.mark.parametrize("text", [
    body("renovate quoting the marker"),
    # our whole sealed comment quoted inside another bot's: the seal no longer matches
    f"> quoted:\n{body('report')}\n<!-- perf-regression-action:seal:0123456789abcdef0123456789abcdef -->\nthanks",
])
def test_another_bot_s_comment_with_the_marker_is_not_edited(fake, text):
    other = fake.add_comment(REPO, PR, text, author="renovate[bot]")
    app = "perf-gate-app[bot]"
    fake.add_token("ghs_customapp0123456789", app, installation=True)
    outcome = make_client(fake, token="ghs_customapp0123456789").upsert_comment(
        PR, body("report"), marker=MARKER)
    assert outcome.status == "created"
    assert fake.state.comments[other.id].body == text


def test_the_seal_covers_the_whole_text_before_it():
    from perfaction.github.client import seal_comment
    sealed = seal_comment(body("report"))
    assert is_sealed(sealed) and is_sealed(sealed.replace("\n", "\r\n"))
    assert not is_sealed(sealed.replace("report", "rep0rt"))
    assert not is_sealed(body("report"))
