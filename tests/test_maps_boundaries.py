"""Getting the boundaries: import and fetch verify the pinned sha256; missing ones say how."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from pipeline.cli import main
from pipeline.errors import RejectedFile, SpscError
from pipeline.maps.boundaries import (
    BASE_URL_ENV,
    SOURCES,
    BoundariesMissing,
    fetch_boundaries,
    import_boundaries,
    require_boundaries,
)

ADM3, ADM2 = SOURCES


@pytest.fixture
def geo_dir(shared_dir):
    return shared_dir / "geo"


def stored(settings) -> list[str]:
    folder = settings.boundaries_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_missing_boundaries_say_how_to_get_them(settings):
    with pytest.raises(BoundariesMissing) as err:
        require_boundaries(settings)
    line = err.value.one_line()
    assert "\n" not in line
    assert "spsc boundaries fetch" in line and "spsc boundaries import PATH" in line


def test_maps_without_boundaries_print_one_line_and_succeed(settings, capsys):
    assert main(["maps", "--period", "2024Q4"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("maps skipped: ")
    assert "spsc boundaries import PATH" in out[0]


def test_import_from_folder_verifies_and_stores_both(settings, geo_dir):
    paths = import_boundaries(settings, geo_dir)
    assert sorted(p.name for p in paths) == [ADM2.file_name, ADM3.file_name]
    assert stored(settings) == [ADM2.file_name, ADM3.file_name]
    assert (settings.boundaries_dir / ADM3.file_name).read_bytes() == (
        geo_dir / ADM3.file_name).read_bytes()


def test_import_rejects_a_tampered_copy(settings, geo_dir, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(geo_dir / ADM2.file_name, folder)
    data = (geo_dir / ADM3.file_name).read_bytes()
    (folder / ADM3.file_name).write_bytes(data.replace(b"Drvar", b"Drvor", 1))
    with pytest.raises(RejectedFile, match=r"does not match the pinned geoBoundaries ADM3"):
        import_boundaries(settings, folder)
    assert stored(settings) == []  # neither file stored


def test_import_recognises_a_renamed_file_by_hash(settings, geo_dir, tmp_path):
    renamed = tmp_path / "bih_adm2.geojson"
    shutil.copy(geo_dir / ADM2.file_name, renamed)
    assert [p.name for p in import_boundaries(settings, renamed)] == [ADM2.file_name]


def test_import_rejects_an_unknown_file(settings, geo_dir, tmp_path):
    other = tmp_path / "other.geojson"
    shutil.copy(geo_dir / "bih_entities_from_adm3.geojson", other)
    with pytest.raises(RejectedFile, match="not one of the pinned geoBoundaries"):
        import_boundaries(settings, other)


def test_import_command_reports_the_derived_geography(settings, geo_dir, capsys):
    assert main(["boundaries", "import", str(geo_dir)]) == 0
    out = capsys.readouterr().out
    assert "142 municipalities (FBiH 79, RS 62, BD 1); IEBL 1,078.9 km in 4 parts" in out
    assert "known exception: Istočni Stari Grad is RS" in out
    assert (settings.processed_dir / "geo" / "municipalities.parquet").is_file()


def test_import_command_with_one_file_says_what_is_missing(settings, geo_dir, capsys):
    assert main(["boundaries", "import", str(geo_dir / ADM2.file_name)]) == 0
    assert f"still missing: {ADM3.file_name}" in capsys.readouterr().out


def test_fetch_unreachable_fails_in_one_line(settings, monkeypatch, capsys):
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:9/")
    with pytest.raises(SpscError, match=r"cannot download geoBoundaries ADM3") as err:
        fetch_boundaries(settings, timeout=5)
    assert "http://127.0.0.1:9/ADM3/geoBoundaries-BIH-ADM3.geojson" in err.value.one_line()
    assert main(["boundaries", "fetch"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "spsc boundaries import PATH" in lines[0]
    assert stored(settings) == []


@pytest.fixture
def release_server(tmp_path):
    """A local HTTP server laid out like the release folder (ADM3/, ADM2/)."""
    root = tmp_path / "release"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _publish(root, geo_dir, tamper: bool = False) -> None:
    for source in SOURCES:
        (root / source.level).mkdir(parents=True)
        data = (geo_dir / source.file_name).read_bytes()
        if tamper and source.level == "ADM2":
            data = data + b" "
        (root / source.level / source.file_name).write_bytes(data)


def test_fetch_downloads_and_verifies(settings, geo_dir, release_server):
    root, url = release_server
    _publish(root, geo_dir)
    paths = fetch_boundaries(settings, url)
    assert sorted(p.name for p in paths) == [ADM2.file_name, ADM3.file_name]
    assert require_boundaries(settings)["ADM3"].stat().st_size == ADM3.size


def test_fetch_of_a_changed_file_stores_nothing(settings, geo_dir, release_server):
    root, url = release_server
    _publish(root, geo_dir, tamper=True)
    with pytest.raises(RejectedFile, match="ADM2"):
        fetch_boundaries(settings, url)
    assert stored(settings) == []
