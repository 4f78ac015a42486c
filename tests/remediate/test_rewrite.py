"""Surgical rewrites as before/after text: quoting, comments, CRLF, BOM, flow style, idempotency,
the meaning check, and all-or-nothing writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from secretsync.documents import ParsedFile, Scalar, parse
from secretsync.errors import RewriteError
from secretsync.rewrite import (
    FileChange,
    Splice,
    apply_splices,
    edit_bytes,
    ref_splice,
    write_all,
)

ENV = {"secretKeyRef.name": "app-doppler", "secretKeyRef.key": "AUTH0_DOMAIN"}
REF = {"name": "app-doppler", "key": "TAILSCALE_CLIENT_ID"}


def _scalar(pf: ParsedFile, key_path: tuple[str | int, ...]) -> Scalar:
    return next(s for s in pf.scalars if s.ctx.key_path == key_path and s.style != "comment")


def _rewrite(data: bytes, key_path: tuple[str | int, ...], new_key: str,
             fields: dict[str, str]) -> bytes:
    pf, _ = parse("f.yaml", data)
    sc = _scalar(pf, key_path)
    sp = ref_splice(pf.text, sc, new_key, fields, doc=sc.doc)
    return edit_bytes("f.yaml", data, pf, [sp])


def test_env_entry_becomes_secret_key_ref_keeping_comment() -> None:
    before = (b"env:\n"
              b"  - name: AUTH0_DOMAIN\n"
              b"    value: \"dev-x.us.auth0.com\"  # DEV in BASE file!\n"
              b"  - name: OTHER\n"
              b"    value: 'kept'\n")
    after = _rewrite(before, ("env", 0, "value"), "valueFrom", ENV)
    assert after == (b"env:\n"
                     b"  - name: AUTH0_DOMAIN\n"
                     b"    valueFrom:\n"
                     b"      secretKeyRef:\n"
                     b"        name: app-doppler\n"
                     b"        key: AUTH0_DOMAIN  # DEV in BASE file!\n"
                     b"  - name: OTHER\n"
                     b"    value: 'kept'\n")


def test_value_before_name_in_the_item() -> None:
    before = b"env:\n- value: dev-x.us.auth0.com\n  name: AUTH0_DOMAIN\n"
    after = _rewrite(before, ("env", 0, "value"), "valueFrom", ENV)
    assert after == (b"env:\n- valueFrom:\n    secretKeyRef:\n      name: app-doppler\n"
                     b"      key: AUTH0_DOMAIN\n  name: AUTH0_DOMAIN\n")


def test_seed_rule_client_id_secret_ref() -> None:
    before = (b"global:\n  tailscale:\n    clientId: k3r7wuCSzd11CNTRL          # Client ID\n"
              b"  other: 1\n")
    after = _rewrite(before, ("global", "tailscale", "clientId"), "clientIdSecretRef", REF)
    assert after == (b"global:\n  tailscale:\n    clientIdSecretRef:\n"
                     b"      name: app-doppler\n"
                     b"      key: TAILSCALE_CLIENT_ID          # Client ID\n"
                     b"  other: 1\n")


def test_crlf_bom_and_missing_final_newline_survive() -> None:
    before = b"\xef\xbb\xbf# head\r\na:\r\n  clientId: 'k3r7wuCSzd11CNTRL'\r\nb: [1, 2]"
    after = _rewrite(before, ("a", "clientId"), "clientIdSecretRef", REF)
    assert after == (b"\xef\xbb\xbf# head\r\na:\r\n  clientIdSecretRef:\r\n"
                     b"    name: app-doppler\r\n    key: TAILSCALE_CLIENT_ID\r\nb: [1, 2]")


def test_flow_mapping_gets_flow_reference() -> None:
    before = b"env: [{name: AUTH0_DOMAIN, value: dev-x.us.auth0.com}]\n"
    after = _rewrite(before, ("env", 0, "value"), "valueFrom", ENV)
    assert after == (b"env: [{name: AUTH0_DOMAIN, valueFrom: {secretKeyRef: {name: app-doppler, "
                     b"key: AUTH0_DOMAIN}}}]\n")


def test_multi_document_file_edits_only_its_document() -> None:
    before = b"a:\n  clientId: one1\n---\na:\n  clientId: two2\n"
    pf, _ = parse("f.yaml", before)
    sc = [s for s in pf.scalars if s.ctx.key_path == ("a", "clientId")][1]
    sp = ref_splice(pf.text, sc, "clientIdSecretRef", REF, doc=sc.doc)
    after = edit_bytes("f.yaml", before, pf, [sp])
    assert after.startswith(b"a:\n  clientId: one1\n---\na:\n  clientIdSecretRef:\n")


def test_meaning_check_refuses_a_wrong_edit() -> None:
    before = b"a:\n  clientId: k3r7\n  b: 1\n"
    pf, _ = parse("f.yaml", before)
    sc = _scalar(pf, ("a", "clientId"))
    good = ref_splice(pf.text, sc, "clientIdSecretRef", REF, doc=0)
    # Same claimed meaning, but text that silently drops the neighbour `b`.
    bad = Splice(good.start, len(pf.text), good.new + "\n", good.removes, good.adds)
    with pytest.raises(RewriteError) as exc:
        edit_bytes("f.yaml", before, pf, [bad])
    assert "k3r7" not in str(exc.value)
    unparsable = Splice(good.start, good.end, "x: [", good.removes, good.adds)
    with pytest.raises(RewriteError, match="would not parse"):
        edit_bytes("f.yaml", before, pf, [unparsable])


def test_overlapping_splices_are_refused() -> None:
    with pytest.raises(RewriteError):
        apply_splices("abcdef", [Splice(0, 3, "x"), Splice(2, 4, "y")])
    assert apply_splices("abcdef", [Splice(4, 6, "Z"), Splice(0, 1, "A")]) == "AbcdZ"


def test_write_all_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_bytes(b"a: 1\n")
    b.write_bytes(b"b: 1\n")
    os.chmod(a, 0o640)
    import secretsync.rewrite as rw

    real = rw._atomic_write
    calls = {"n": 0}

    def flaky(path: Path, data: bytes, mode: int | None) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # a, b written; the new file fails
            raise OSError("disk full")
        real(path, data, mode)

    monkeypatch.setattr(rw, "_atomic_write", flaky)
    with pytest.raises(OSError):
        write_all(tmp_path, [FileChange("a.yaml", b"a: 2\n"), FileChange("b.yaml", b"b: 2\n"),
                             FileChange("new/c.yaml", b"c: 1\n", new_file=True)])
    assert a.read_bytes() == b"a: 1\n" and b.read_bytes() == b"b: 1\n"
    assert not (tmp_path / "new" / "c.yaml").exists()
    monkeypatch.setattr(rw, "_atomic_write", real)
    write_all(tmp_path, [FileChange("a.yaml", b"a: 3\n")])
    assert a.read_bytes() == b"a: 3\n"
    assert stat.S_IMODE(a.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".secretsync")]


def test_write_all_refuses_to_clobber_a_new_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_bytes(b"mine\n")
    with pytest.raises(RewriteError):
        write_all(tmp_path, [FileChange("x.yaml", b"theirs\n", new_file=True)])
    assert (tmp_path / "x.yaml").read_bytes() == b"mine\n"
