"""Baseline artifacts: which one to trust, and how to open one safely.

Pure functions, no network: ``client.py`` lists and downloads, this module
picks the artifact (``choose_baseline``) and turns a downloaded zip into a
validated Suite or History (``load_from_zip``: ``suite_from_zip``,
``history_from_zip``), or a shard's pair of Suites (``shard_from_zip``).
An artifact is data written by an
earlier workflow run, so its zip is treated as hostile input: names are
checked before anything is written, links are refused, and the inflated size
and member count are bounded while reading, not trusted from the headers.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from perfaction.errors import PerfActionError, ResultsFormatError
from perfaction.ports import ArtifactInfo
from perfaction.results.files import load_suite
from perfaction.results.history import DEFAULT_MAX_BYTES as HISTORY_MAX_BYTES
from perfaction.results.history import History
from perfaction.results.model import Suite
from perfaction.results.shards import BASE_RESULTS_FILE, RESULTS_FILE

_CHUNK = 64 * 1024
_T = TypeVar("_T")


class UnsafeArtifactError(PerfActionError):
    """An artifact zip we refuse to open: the message names the member and the rule."""


class ShardArtifactError(PerfActionError):
    """A shard artifact of this run that cannot be used: the message names it and what is wrong.

    Unlike a baseline, a shard cannot be done without: the merge stops.
    """


@dataclass(frozen=True)
class BaselineChoice:
    """The artifact to use, or None with a plain sentence saying why there is none."""

    artifact: ArtifactInfo | None
    status: str           # "found", "missing" or "expired"
    reason: str


def choose_baseline(artifacts: Iterable[ArtifactInfo], *, name: str, branch: str | None,
                    repository_id: int | None, exclude_run_id: int | None = None,
                    scanned: int | None = None) -> BaselineChoice:
    """The newest unexpired artifact called ``name`` from a run of this repository on ``branch``.

    Runs of a fork's branch of the same name carry that fork's
    ``head_repository_id``: they are skipped, or anyone could plant a baseline
    by pushing a fork. An artifact of the current run (a re-run attempt) is not
    a previous baseline and is skipped too. Listing order is not documented, so
    candidates are sorted by creation time here; ``scanned`` (set when the
    listing was cut at that many) is said in the reason, since a newer
    artifact may then lie beyond what was read.
    """
    if repository_id is None:
        return BaselineChoice(None, "missing", "the repository id is unknown, so the artifact's "
                                               "origin cannot be checked; no baseline was used")
    named = [a for a in artifacts if a.name == name]
    trusted = [a for a in named
               if a.head_repository_id == repository_id
               and a.repository_id in (None, repository_id)
               and a.run_id != exclude_run_id]
    on_branch = sorted((a for a in trusted if branch is None or a.head_branch == branch),
                       key=lambda a: a.created_at, reverse=True)
    usable = [a for a in on_branch if not a.expired]
    cut = (f" (GitHub lists more than {scanned:,} artifacts named '{name}' and only the first "
           f"{scanned:,} were read: delete old ones to be sure of the newest)"
           if scanned is not None else "")
    if usable:
        return BaselineChoice(usable[0], "found", f"baseline from {usable[0].describe()}{cut}")
    target = f"branch '{branch}'" if branch else "the base branch"
    if on_branch:
        newest = on_branch[0]
        return BaselineChoice(None, "expired",
                              f"the newest baseline artifact '{name}' for {target} has expired "
                              f"({newest.describe()}){cut}; a new push to {target} makes a "
                              "fresh one")
    foreign = len(named) - len([a for a in named if a.head_repository_id == repository_id])
    note = f" ({foreign} from other repositories, such as forks, were ignored)" if foreign else ""
    return BaselineChoice(None, "missing",
                          f"no artifact named '{name}' from a run on {target} of this repository{note}{cut}; "
                          f"the first push to {target} with the workflow's upload step creates it")


def artifact_from_json(data: Mapping[str, Any]) -> ArtifactInfo:
    """Build ArtifactInfo from one entry of the REST API's artifact list."""
    run = data.get("workflow_run") or {}
    return ArtifactInfo(
        id=int(data["id"]),
        name=str(data["name"]),
        size_in_bytes=int(data.get("size_in_bytes") or 0),
        created_at=_parse_time(data.get("created_at")),
        expired=bool(data.get("expired")),
        archive_download_url=str(data.get("archive_download_url") or ""),
        run_id=_int_or_none(run.get("id")),
        repository_id=_int_or_none(run.get("repository_id")),
        head_repository_id=_int_or_none(run.get("head_repository_id")),
        head_branch=run.get("head_branch"),
        head_sha=run.get("head_sha"),
    )


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 time, got {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------
# Safe extraction
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ExtractionLimits:
    max_members: int = 64
    max_total_bytes: int = 64 * 1024 * 1024    # inflated, all members together
    max_download_bytes: int = 32 * 1024 * 1024  # the zip itself


# An artifact of ours holds one file at its top; folders this deep, or names too
# long for a file system, only come from a damaged or hostile archive.
MAX_MEMBER_DEPTH = 32
MAX_NAME_BYTES = 255


def check_member_name(name: str) -> PurePosixPath:
    """The member's relative path, or UnsafeArtifactError if it could land outside the folder."""
    if not name or "\x00" in name:
        raise UnsafeArtifactError(f"artifact member {name!r} has an empty or NUL-containing name")
    posix = name.replace("\\", "/")
    path = PurePosixPath(posix)
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        raise UnsafeArtifactError(f"artifact member {name!r} has an absolute path; refusing the artifact")
    if ".." in path.parts:
        raise UnsafeArtifactError(f"artifact member {name!r} climbs out of the folder with '..'; "
                                  "refusing the artifact")
    shown = name if len(name) <= 80 else name[:77] + "..."
    if len(path.parts) > MAX_MEMBER_DEPTH:
        raise UnsafeArtifactError(f"artifact member {shown!r} is nested {len(path.parts) - 1} folders "
                                  f"deep (at most {MAX_MEMBER_DEPTH}); refusing the artifact")
    if any(len(part.encode("utf-8", errors="surrogatepass")) > MAX_NAME_BYTES
           for part in path.parts):
        raise UnsafeArtifactError(f"artifact member {shown!r} has a name over {MAX_NAME_BYTES} "
                                  "bytes, which no file system stores; refusing the artifact")
    return path


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode) if mode else False


def safe_extract(archive: zipfile.ZipFile, dest: Path, limits: ExtractionLimits = ExtractionLimits()) -> list[Path]:
    """Extract every regular file of ``archive`` under ``dest``; refuse anything unsafe.

    All names are checked before the first byte is written, so a refused
    archive leaves nothing behind. Sizes are counted while inflating because a
    zip's headers can understate them (a zip bomb).
    """
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise UnsafeArtifactError(f"artifact holds {len(members)} members, more than the "
                                  f"{limits.max_members} a results artifact can need; refusing it")
    seen: set[str] = set()
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in members:
        path = check_member_name(info.filename)
        if _is_link(info):
            raise UnsafeArtifactError(f"artifact member {info.filename!r} is a symbolic link; refusing the artifact")
        if info.flag_bits & 0x1:
            raise UnsafeArtifactError(f"artifact member {info.filename!r} is encrypted; refusing the artifact")
        if str(path) in seen:
            raise UnsafeArtifactError(f"artifact member {info.filename!r} appears twice; refusing the artifact")
        seen.add(str(path))
        if not info.is_dir():
            plan.append((info, path))
    if sum(info.file_size for info, _ in plan) > limits.max_total_bytes:
        raise UnsafeArtifactError(_too_big(limits))
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    budget = limits.max_total_bytes
    for info, path in plan:
        target = dest.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, open(target, "wb") as sink:
            while chunk := source.read(_CHUNK):
                budget -= len(chunk)
                if budget < 0:
                    raise UnsafeArtifactError(_too_big(limits))
                sink.write(chunk)
        written.append(target)
    return written


def _too_big(limits: ExtractionLimits) -> str:
    return (f"artifact inflates to more than {limits.max_total_bytes // (1024 * 1024)} MiB; "
            "a results file is far smaller, so it is refused")


def load_from_zip(zip_path: Path, dest: Path, *, file_name: str, kind: str,
                  load: Callable[[Path], _T], limits: ExtractionLimits = ExtractionLimits()) -> _T:
    """Extract an artifact zip safely and ``load`` the one file it carries.

    That file is the member named ``file_name`` (the basename of the file the
    workflow uploads), else the only JSON file in the artifact. ``kind``
    ("results", "history") names it in errors; an error from ``load`` names
    the member inside the artifact, not the scratch folder it was unpacked to.
    """
    files = _extract_zip(zip_path, dest, limits)
    by_name = [f for f in files if f.name == file_name]
    candidates = by_name or [f for f in files if f.suffix == ".json"]
    if len(candidates) != 1:
        raise UnsafeArtifactError(f"the artifact should hold one {kind} file named {file_name!r}; "
                                  f"it holds {_listing(files, dest)}")
    return _load_member(candidates[0], dest, load)


def shard_from_zip(zip_path: Path, dest: Path,
                   limits: ExtractionLimits = ExtractionLimits()) -> tuple[Suite, Suite | None]:
    """(head, base) of a shard artifact: ``results.json`` and, in same-runner mode, ``results.base.json``.

    Both at the top of the zip, as actions/upload-artifact stores the contents
    of an uploaded folder; other files are ignored. No results.json, or a
    file the results model refuses, raises (UnsafeArtifactError,
    ResultsFormatError naming the member).
    """
    files = _extract_zip(zip_path, dest, limits)
    top = {f.relative_to(dest).as_posix(): f for f in files}
    if RESULTS_FILE not in top:
        raise UnsafeArtifactError(f"a shard artifact holds {RESULTS_FILE!r} at its top; "
                                  f"this one holds {_listing(files, dest)}")
    head = _load_member(top[RESULTS_FILE], dest, load_suite)
    base = _load_member(top[BASE_RESULTS_FILE], dest, load_suite) if BASE_RESULTS_FILE in top else None
    return head, base


def _extract_zip(zip_path: Path, dest: Path, limits: ExtractionLimits) -> list[Path]:
    """``safe_extract`` of the zip at ``zip_path``, every way it can fail an UnsafeArtifactError."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return safe_extract(archive, dest, limits)
    except (zipfile.BadZipFile, zlib.error, UnicodeDecodeError) as exc:
        # a damaged directory, deflate stream, or a member name flagged UTF-8 that is not
        raise UnsafeArtifactError(f"the artifact download is not a valid zip: {exc}") from exc
    except NotImplementedError as exc:    # a compression method Python cannot read (zstd, AES)
        raise UnsafeArtifactError(f"the artifact uses a zip feature perfaction cannot read "
                                  f"({exc}); upload it with actions/upload-artifact") from exc
    except (OSError, EOFError) as exc:     # a file and a folder of one name, a truncated member
        raise UnsafeArtifactError(f"the artifact cannot be unpacked: {exc.__class__.__name__}: "
                                  f"{exc}; refusing it") from exc


def _listing(files: list[Path], dest: Path) -> str:
    return ", ".join(sorted(f.relative_to(dest).as_posix() for f in files)) or "nothing"


def _load_member(path: Path, dest: Path, load: Callable[[Path], _T]) -> _T:
    """``load(path)``; an error names the member inside the artifact, not the scratch folder."""
    try:
        return load(path)
    except ResultsFormatError as exc:
        raise ResultsFormatError(str(exc).replace(str(path), str(path.relative_to(dest)))) from exc


def suite_from_zip(zip_path: Path, dest: Path, *, results_name: str,
                   limits: ExtractionLimits = ExtractionLimits()) -> Suite:
    """The results file of a baseline artifact, validated by the results model."""
    return load_from_zip(zip_path, dest, file_name=results_name, kind="results", load=load_suite,
                         limits=limits)


def history_from_zip(zip_path: Path, dest: Path, *, file_name: str, max_entries: int,
                     limits: ExtractionLimits = ExtractionLimits(),
                     max_bytes: int = HISTORY_MAX_BYTES) -> History:
    """The history file of a history artifact, validated by the history format."""
    return load_from_zip(zip_path, dest, file_name=file_name, kind="history", limits=limits,
                         load=lambda path: History.load(path, max_entries=max_entries,
                                                        max_bytes=max_bytes))


def _int_or_none(value: Any) -> int | None:
    """``value`` when it is a JSON integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
