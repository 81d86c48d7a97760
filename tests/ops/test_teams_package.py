"""`app.py teams-package`: a zip Teams accepts — manifest at the root, icons as named."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from integrations.ops.teams_package import (
    MANIFEST_VERSION,
    SCHEMA_URL,
    Developer,
    PackageError,
    build_manifest,
    build_package,
)
from tests.ops.support import ROOT, run_app
from tests.support import make_settings

APP_ID = "6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b"
OURS = ROOT / "tests" / "schemas" / "teams" / "calbot-manifest.schema.json"
OFFICIAL = [
    ROOT.parent / "shared" / "schemas" / "teams" / "v1.29" / "MicrosoftTeams.schema.json",
    ROOT / "tests" / "schemas" / "teams" / "MicrosoftTeams.schema.v1.29.json",
]


def _settings(**overrides: Any):
    values = {
        "MICROSOFT_APP_ID": APP_ID,
        "MICROSOFT_APP_PASSWORD": "secret",
        "PUBLIC_BASE_URL": "https://calbot.example.com:8443",
    }
    values.update(overrides)
    return make_settings("sqlite+aiosqlite:///unused.db", **values)


def _png(data: bytes) -> tuple[int, int, int, int, list[bytes]]:
    """(width, height, bit depth, colour type, rows) of an unfiltered, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert interlace == 0
    raw = zlib.decompress(idat)
    stride = width * 4 + 1
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows), "filter type 0 on every row"
    return width, height, depth, color, [row[1:] for row in rows]


def _pixels(rows: list[bytes]) -> set[tuple[int, ...]]:
    return {tuple(row[i : i + 4]) for row in rows for i in range(0, len(row), 4)}


def _unzip(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_package_holds_manifest_and_icons_at_the_root() -> None:
    files = _unzip(build_package(build_manifest(_settings())))
    assert set(files) == {"manifest.json", "color.png", "outline.png"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}

    width, height, depth, color, rows = _png(files["color.png"])
    assert (width, height, depth, color) == (192, 192, 8, 6)
    assert all(p[3] == 255 for p in _pixels(rows)), "the colour icon is opaque"

    width, height, depth, color, rows = _png(files["outline.png"])
    assert (width, height, depth, color) == (32, 32, 8, 6)
    pixels = _pixels(rows)
    assert pixels <= {(255, 255, 255, 255), (0, 0, 0, 0)}, "white on transparent only"
    assert len(pixels) == 2


def test_manifest_content() -> None:
    manifest = build_manifest(_settings(), developer=Developer(name="Contoso Recruiting"))
    assert manifest["$schema"] == SCHEMA_URL
    assert manifest["manifestVersion"] == MANIFEST_VERSION == "1.29"
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    [commands] = bot["commandLists"]
    assert [c["title"] for c in commands["commands"]] == [
        "connect",
        "status",
        "team",
        "propose",
        "help",
    ]
    assert manifest["validDomains"] == ["calbot.example.com"]
    assert manifest["developer"]["name"] == "Contoso Recruiting"
    assert manifest["developer"]["privacyUrl"] == "https://calbot.example.com:8443"
    assert "webApplicationInfo" not in manifest
    assert "secret" not in json.dumps(manifest)


def test_manifest_validates_against_the_strict_schema() -> None:
    schema = json.loads(OURS.read_text())
    Draft4Validator.check_schema(schema)
    manifest = build_manifest(_settings(), version="2.3.4")
    errors = list(Draft4Validator(schema).iter_errors(manifest))
    assert errors == []


def test_the_strict_schema_has_teeth() -> None:
    validator = Draft4Validator(json.loads(OURS.read_text()))
    good = build_manifest(_settings())
    broken = json.loads(json.dumps(good))
    broken["bots"][0]["botId"] = "calbot"
    del broken["accentColor"]
    broken["bots"][0]["scopes"].append("groupchat")  # the pre-1.x spelling
    messages = sorted(e.message for e in validator.iter_errors(broken))
    assert any("'accentColor' is a required property" in m for m in messages)
    assert any("does not match" in m for m in messages)
    assert any("'groupchat' is not one of" in m for m in messages)


def test_manifest_validates_against_the_official_schema_when_vendored() -> None:
    path = next((p for p in OFFICIAL if p.exists()), None)
    if path is None:
        pytest.skip("official v1.29 MicrosoftTeams.schema.json not vendored (see README)")
    schema = json.loads(path.read_text())
    assert list(Draft4Validator(schema).iter_errors(build_manifest(_settings()))) == []


def test_same_settings_same_bytes() -> None:
    assert build_package(build_manifest(_settings())) == build_package(build_manifest(_settings()))


@pytest.mark.parametrize(
    ("app_id", "message"),
    [(None, "MICROSOFT_APP_ID is not set"), ("my-bot", "MICROSOFT_APP_ID must be a GUID")],
)
def test_refuses_without_a_usable_app_id(app_id: str | None, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        build_manifest(_settings(MICROSOFT_APP_ID=app_id))


def test_cli_writes_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "pkg.zip"
    result = run_app(
        ["teams-package", "--out", str(out)],
        tmp_path,
        MICROSOFT_APP_ID=APP_ID,
        PUBLIC_BASE_URL="https://calbot.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "manifest v1.29" in result.stdout
    assert set(_unzip(out.read_bytes())) == {"manifest.json", "color.png", "outline.png"}


def test_cli_refuses_without_app_id_in_one_line(tmp_path: Path) -> None:
    result = run_app(["teams-package", "--out", str(tmp_path / "x.zip")], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "calbot: MICROSOFT_APP_ID is not set: the package needs the bot's Microsoft app id"
    ]
    assert not (tmp_path / "x.zip").exists()
