"""`SourceFile.read` reads the size the walk saw and one byte more: a file that changed since
the walk is still read whole, to its end."""

from __future__ import annotations

from pathlib import Path

from secretsync.walk import walk


def test_a_file_is_read_whole_whatever_happened_since_the_walk(tmp_path: Path) -> None:
    (tmp_path / "same.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "grew.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "shrank.yaml").write_bytes(b"a: 1\nb: 2\n")
    (tmp_path / "empty.yaml").write_bytes(b"")
    (tmp_path / "big.yaml").write_bytes(b"k: v\n" * 50_000)
    _, files, _ = walk([tmp_path])
    by = {f.rel: f for f in files}
    (tmp_path / "grew.yaml").write_bytes(b"a: 1\n" + b"b: 2\n" * 30_000)
    (tmp_path / "shrank.yaml").write_bytes(b"a: 1\n")
    assert by["same.yaml"].read() == b"a: 1\n"
    assert by["grew.yaml"].read() == b"a: 1\n" + b"b: 2\n" * 30_000
    assert by["shrank.yaml"].read() == b"a: 1\n"
    assert by["empty.yaml"].read() == b""
    assert by["big.yaml"].read() == b"k: v\n" * 50_000
