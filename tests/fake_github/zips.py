"""Artifact zips for tests: a well-formed results artifact and hostile ones."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from typing import Any


def zip_files(files: dict[str, bytes | str]) -> bytes:
    """A zip holding ``files`` exactly as named (no path cleaning: hostile names stay hostile)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name), content)
    return buffer.getvalue()


def results_zip(suite_dict: dict[str, Any], name: str = "perf-results.json") -> bytes:
    """What actions/upload-artifact makes of one results file."""
    return zip_files({name: json.dumps(suite_dict)})


def symlink_zip(name: str = "perf-results.json", target: str = "/etc/passwd") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo(name)
        info.create_system = 3  # unix, so external_attr carries the file mode
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buffer.getvalue()


def bomb_zip(inflated_bytes: int, name: str = "perf-results.json") -> bytes:
    """Highly compressible content: small on the wire, large once inflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(zipfile.ZipInfo(name), b"0" * inflated_bytes, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def understated_bomb_zip(inflated_bytes: int, claimed_bytes: int = 10,
                         name: str = "perf-results.json") -> bytes:
    """A bomb whose headers claim a tiny size; only counting while inflating catches it."""
    data = bytearray(bomb_zip(inflated_bytes, name))
    claimed = claimed_bytes.to_bytes(4, "little")
    # Patch the uncompressed-size field in the local header (offset 22) and the
    # central directory header (offset 24 from its signature).
    data[22:26] = claimed
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = claimed
    return bytes(data)
