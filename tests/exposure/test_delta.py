"""Which versions of a file exposure rescans: re-encrypted ciphertext is not a change."""

from __future__ import annotations

import base64
import hashlib

from secretsync.detectors import load_detectors
from secretsync.exposure.delta import Gates, changed_context, scan_versions

from .conftest import TOKEN


def sealed(seed: str, third: int = 0x80) -> str:
    """A SealedSecret-shaped value: base64 of `02 00 xx ...` (`AgA`..`AgD`), 728 characters."""
    body = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(17))
    return base64.b64encode(bytes([2, 0, third]) + body[:543]).decode()


def sops(seed: str) -> str:
    digest = base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()
    return f"ENC[AES256_GCM,data:{digest},iv:{digest[:16]},tag:{digest[:22]},type:str]"


def sealed_secret(seed: str, extra: str = "") -> bytes:
    return (
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: app\n"
        "spec:\n  encryptedData:\n"
        f"    api-key: {sealed(seed + 'a', 0x00)}\n"
        f"    github_token: {sealed(seed + 'b', 0x80)}\n"
        f"    password: \"{sealed(seed + 'c', 0x40)}\"\n"
        f"{extra}"
        "  template:\n    metadata:\n      name: app\n"
    ).encode()


def sops_secret(seed: str) -> bytes:
    return (
        "apiVersion: v1\nkind: Secret\nstringData:\n"
        f"  token: {sops(seed + 'a')}\n"
        f"  ADMIN_PASSWORD: {sops(seed + 'b')}\n"
        f"  list:\n    - {sops(seed + 'c')}\n"
        "sops:\n  encrypted_regex: ^(data|stringData)$\n"
    ).encode()


def test_resealing_every_value_is_no_change() -> None:
    context, removed = changed_context(sealed_secret("two"), sealed_secret("one"))
    assert context is None
    assert removed == frozenset()


def test_re_encrypting_with_sops_is_no_change() -> None:
    context, removed = changed_context(sops_secret("two"), sops_secret("one"))
    assert context is None
    assert removed == frozenset()


def test_a_line_added_beside_resealed_values_is_still_a_change() -> None:
    line = f"  telegramToken: \"{TOKEN}\"\n"
    context, removed = changed_context(sealed_secret("two", line), sealed_secret("one"))
    assert context is not None
    assert [c.strip() for c in context] == [b"spec:", line.strip().encode()]
    assert removed == frozenset()


def test_a_renamed_key_with_new_ciphertext_is_a_change() -> None:
    new = sealed_secret("two").replace(b"    api-key: ", b"    api_key: ")
    context, removed = changed_context(new, sealed_secret("one"))
    assert context is not None and len(context) == 3  # the key, encryptedData:, spec:
    assert b"api-key" in b"".join(removed)


def test_resealed_values_outside_encrypted_data_are_no_change() -> None:
    """Scan skips a whole Sealed Secrets ciphertext wherever it stands (a commented-out
    SealedSecret, a value copied elsewhere), whatever its third letter: resealing is no change."""
    for third in (0x00, 0x40, 0x80, 0xC0):  # AgA, AgB, AgC, AgD
        before = f"env:\n  password: {sealed('one', third)}\n  # token: {sealed('x', third)}\n"
        after = f"env:\n  password: {sealed('two', third)}\n  # token: {sealed('y', third)}\n"
        context, _ = changed_context(after.encode(), before.encode())
        assert context is None, hex(third)


def test_a_sealed_looking_value_that_scan_may_report_is_a_change() -> None:
    """Outside `encryptedData` only a value with a whole Sealed Secrets header and length is
    skipped: one too short for its RSA part, or followed by more text, may be reported, so its
    change counts."""
    short = sealed("one")[:300], sealed("two")[:300]  # 225 bytes: no 512-byte RSA part
    tail = sealed("one") + "-x", sealed("two") + "-x"
    for old, new in (short, tail):
        context, _ = changed_context(f"env:\n  password: {new}\n".encode(),
                                     f"env:\n  password: {old}\n".encode())
        assert context is not None and [c.split(b":")[0] for c in context] == [b"env",
                                                                             b"  password"]
    # Under encryptedData the place alone is enough.
    context, _ = changed_context(f"encryptedData:\n  password: {short[1]}\n".encode(),
                                 f"encryptedData:\n  password: {short[0]}\n".encode())
    assert context is None


def test_a_block_scalar_line_is_never_taken_for_a_scalar() -> None:
    before = f"data:\n  cert: |\n    {sealed('one', 0x40)}\n"
    after = f"data:\n  cert: |\n    {sealed('two', 0x40)}\n"
    context, _ = changed_context(after.encode(), before.encode())
    assert context is not None


def test_a_resealed_version_is_not_rescanned_and_keeps_its_values() -> None:
    gates = Gates(load_detectors())
    token = f"  bot:\n    telegramToken: \"{TOKEN}\"\n"
    first = sealed_secret("one") + f"other:\n{token}".encode()
    second = sealed_secret("two") + f"other:\n{token}".encode()
    a, b = scan_versions([("a" * 40, "s.yaml", False, first, None),
                          ("b" * 40, "s.yaml", False, second, first)], gates)
    assert a.findings is not None and [f.value for f in a.findings] == [TOKEN]
    assert b.findings is None and b.removed == frozenset()  # inherits the token


def test_a_predecessor_is_kept_until_its_last_use_and_no_longer() -> None:
    from secretsync.exposure.history import _Predecessors

    # b and c follow a (two branches); d follows c; e follows nothing; f follows a blob
    # read after it.
    order = [("a", None), ("x", None), ("b", "a"), ("c", "a"), ("d", "c"), ("e", None),
             ("f", "g"), ("g", None)]
    p = _Predecessors(order, budget=1 << 20)
    blobs = {sha: sha.encode() * 10 for sha, _ in order}
    got = {}
    for i, (sha, old) in enumerate(order):
        got[sha] = p.take(i, old)
        p.keep(i, sha, blobs[sha])
    assert got == {"a": None, "x": None, "b": blobs["a"], "c": blobs["a"], "d": blobs["c"],
                   "e": None, "f": None, "g": None}
    assert p._kept == {} and p._size == 0  # nothing outlives its last use


def test_over_budget_the_oldest_predecessor_is_dropped() -> None:
    from secretsync.exposure.history import _Predecessors

    order = [("a", None), ("b", None), ("c", "a"), ("d", "b")]
    p = _Predecessors(order, budget=15)
    p.keep(0, "a", b"a" * 10)
    p.keep(1, "b", b"b" * 10)
    assert p.take(2, "a") is None  # dropped: c is scanned in full
    assert p.take(3, "b") == b"b" * 10
