"""Getting the geoBoundaries polygons: download or import, verified against the pinned release.

The two source files (BIH ADM3 municipalities, ADM2 cantons + RS + Brčko District) are pinned
to one geoBoundaries commit and their sha256. A file whose hash differs is never stored. Once
both are in ``settings.boundaries_dir``, the derived geography is written as GeoParquet under
``settings.processed_dir / "geo"`` so that maps never parse GeoJSON again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import RejectedFile, SpscError

RELEASE_COMMIT = "f549eab25a258603ea32c9dc6cb11b7657796478"
# GitHub's /raw/ endpoint resolves Git LFS objects; raw.githubusercontent.com would serve the
# LFS pointer instead of the file.
DEFAULT_BASE_URL = (
    f"https://github.com/wmgeolab/geoBoundaries/raw/{RELEASE_COMMIT}/releaseData/gbOpen/BIH"
)
BASE_URL_ENV = "SPSC_BOUNDARIES_URL"
HOW_TO_GET = "run 'spsc boundaries fetch' (needs internet) or 'spsc boundaries import PATH'"


@dataclass(frozen=True)
class SourceFile:
    """One pinned geoBoundaries file."""

    level: str  # ADM3 or ADM2
    file_name: str
    sha256: str
    size: int

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.level}/{self.file_name}"


SOURCES = (
    SourceFile("ADM3", "geoBoundaries-BIH-ADM3.geojson",
               "d0196a097d9d517f7db6a8013889892c0ab5aab3d7dfd2e74fd5b22152ff8857", 971578),
    SourceFile("ADM2", "geoBoundaries-BIH-ADM2.geojson",
               "fb45eb54f29beb7c4d79813d8120809bf1ca843d433ef822befbc95f4f261347", 299723),
)


class BoundariesMissing(SpscError):
    """The boundary files are not there yet; maps are skipped, the rest of the pipeline runs."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_paths(settings: Settings) -> dict[str, Path]:
    """Where each level's file is stored: ``{"ADM3": path, "ADM2": path}``."""
    return {s.level: settings.boundaries_dir / s.file_name for s in SOURCES}


def missing_sources(settings: Settings) -> list[str]:
    """File names of the pinned sources not yet in ``settings.boundaries_dir``."""
    return [s.file_name for s in SOURCES if not (settings.boundaries_dir / s.file_name).is_file()]


def require_boundaries(settings: Settings) -> dict[str, Path]:
    """The stored source paths, or :class:`BoundariesMissing` with a one-line way to get them."""
    missing = missing_sources(settings)
    if missing:
        raise BoundariesMissing(f"boundaries not found ({', '.join(missing)})",
                                str(settings.boundaries_dir), HOW_TO_GET)
    return source_paths(settings)


def _store(settings: Settings, source: SourceFile, data: bytes) -> Path:
    """Write verified bytes atomically, so a half-written file never looks like a source."""
    folder = settings.boundaries_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.file_name
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=".geojson")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _mismatch(what: str, got: str, source: SourceFile) -> RejectedFile:
    return RejectedFile(
        f"sha256 {got[:12]}… does not match the pinned geoBoundaries {source.level} "
        f"({source.sha256[:12]}…, commit {RELEASE_COMMIT[:7]})", what,
        "use the unmodified file from the pinned release (see /work/shared/geo/SOURCES.md)")


def fetch_boundaries(settings: Settings, base_url: str | None = None,
                     timeout: float = 60.0) -> list[Path]:
    """Download both pinned files, verify their sha256 and store them.

    Args:
        settings: where to store them (``settings.boundaries_dir``).
        base_url: the release folder holding ``ADM3/`` and ``ADM2/``; defaults to
            ``$SPSC_BOUNDARIES_URL`` or the pinned GitHub commit.
        timeout: seconds per request.

    Raises:
        SpscError: the download failed (one line, naming the URL).
        RejectedFile: a downloaded file does not match the pinned hash; nothing is stored.
    """
    base = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    downloaded: list[tuple[SourceFile, bytes]] = []
    for source in SOURCES:
        url = source.url(base)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SpscError(f"cannot download geoBoundaries {source.level} ({reason})", url,
                            "without internet, copy the two files to this machine and run "
                            "'spsc boundaries import PATH'") from exc
        got = sha256_of(data)
        if got != source.sha256:
            raise _mismatch(url, got, source)
        downloaded.append((source, data))
    # both verified before either is stored, so a failed fetch leaves the folder as it was
    return [_store(settings, source, data) for source, data in downloaded]


def _candidates(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in
                      (".geojson", ".json"))
    if path.is_file():
        return [path]
    raise SpscError("no such file or folder", str(path))


def import_boundaries(settings: Settings, path: Path) -> list[Path]:
    """Copy the pinned files from a local folder or a single file, verifying their sha256.

    A file named like a source must match that source's hash (a tampered copy is rejected);
    other ``.geojson`` files are recognised by hash alone. From a folder, both sources must be
    found; a single file imports just the level it is.

    Raises:
        RejectedFile: a file named like a source whose hash differs; nothing is stored.
        SpscError: the folder holds neither source, or only one of them.
    """
    path = Path(path)
    by_name = {s.file_name: s for s in SOURCES}
    by_hash = {s.sha256: s for s in SOURCES}
    found: dict[str, tuple[SourceFile, bytes]] = {}
    for candidate in _candidates(path):
        data = candidate.read_bytes()
        got = sha256_of(data)
        named = by_name.get(candidate.name)
        if named is not None and got != named.sha256:
            raise _mismatch(str(candidate), got, named)
        source = by_hash.get(got)
        if source is not None:
            found.setdefault(source.level, (source, data))
        elif path.is_file():
            raise RejectedFile("not one of the pinned geoBoundaries BIH ADM3/ADM2 files "
                               f"(sha256 {got[:12]}…)", str(candidate), HOW_TO_GET)
    wanted = [s for s in SOURCES if s.level not in found]
    if path.is_dir() and wanted:
        names = ", ".join(s.file_name for s in wanted)
        raise SpscError(f"pinned boundary file(s) not found: {names}", str(path),
                        "copy them from the geoBoundaries release (see SOURCES.md)")
    return [_store(settings, source, data) for source, data in found.values()]
