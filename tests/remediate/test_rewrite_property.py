"""Property: plant values in generated YAML of many shapes, rewrite every one, and check that each
value is gone, each reference is right, and every byte outside the edited spans is unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secretsync.documents import parse, parse_yaml
from secretsync.rewrite import edit_bytes, ref_splice

KEYS = ["alpha", "beta", "clientId", "tunnelId", "endpoint", "chatId", "host", "token", "x-y",
        "with.dot", "UPPER_KEY"]
WORDS = ["kubernetes", "true", "3", "", "a b c", "it's", "say \"hi\"", "#not-a-comment", "x:y"]


@dataclass
class Planted:
    value: str
    env: bool


def _quote(value: str, style: str) -> str:
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, list[Planted]]:
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    w = draw(st.sampled_from([2, 4]))
    planted: list[Planted] = []
    counter = [0]

    def plant() -> str:
        counter[0] += 1
        tail = draw(st.text("abcdefghkmnpqrstuvwxyzABCDEFGH23456789", min_size=6, max_size=12))
        return f"PLANT{counter[0]}x{tail}"

    def scalar(value: str) -> str:
        styles = ["single", "double"] + (["plain"] if value.startswith("PLANT") else [])
        return _quote(value, draw(st.sampled_from(styles)))

    def comment() -> str:
        return draw(st.sampled_from(["", "  # note", "    # keep: me"]))

    def mapping(depth: int, indent: int) -> list[str]:
        lines: list[str] = []
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=4, unique=True))
        for key in keys:
            pad = " " * indent
            shape = draw(st.sampled_from(["scalar", "nested", "env", "plain"]
                                         if depth < 2 else ["scalar", "plain"]))
            if shape == "nested":
                lines.append(f"{pad}{key}:{comment()}")
                lines.extend(mapping(depth + 1, indent + w))
            elif shape == "env":
                lines.append(f"{pad}{key}:")
                for i in range(draw(st.integers(1, 3))):
                    is_secret = draw(st.booleans())
                    value = plant() if is_secret else draw(st.sampled_from(WORDS))
                    if is_secret:
                        planted.append(Planted(value, True))
                    name = f"VAR_{i}"
                    if draw(st.booleans()):
                        lines.append(f"{pad}{' ' * w}- {{name: {name}, value: {scalar(value)}}}")
                    else:
                        seq_pad = pad + " " * w
                        lines.append(f"{seq_pad}- name: {name}")
                        lines.append(f"{seq_pad}  value: {scalar(value)}{comment()}")
            elif shape == "scalar":
                value = plant()
                planted.append(Planted(value, False))
                lines.append(f"{pad}{key}: {scalar(value)}{comment()}")
            else:
                lines.append(f"{pad}{key}: {scalar(draw(st.sampled_from(WORDS)))}{comment()}")
        return lines

    lines = ["# generated", *mapping(0, 0)]
    text = nl.join(lines) + (nl if draw(st.booleans()) else "")
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    return bom + text.encode(), planted


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_rewrite_plants(doc: tuple[bytes, list[Planted]]) -> None:
    data, planted = doc
    pf, warnings = parse("t.yaml", data)
    assert pf.fallback is None, warnings
    splices = []
    expected: dict[str, tuple[tuple[str | int, ...], str]] = {}
    for i, p in enumerate(planted):
        sc = next(s for s in pf.scalars if s.value == p.value and s.style != "comment")
        name = f"NAME_{i}"
        if p.env:
            fields = {"secretKeyRef.name": "app-doppler", "secretKeyRef.key": name}
            new_key = "valueFrom"
        else:
            fields = {"name": "app-doppler", "key": name}
            new_key = f"{sc.ctx.key_path[-1]}SecretRef"
        sp = ref_splice(pf.text, sc, new_key, fields, doc=sc.doc)
        splices.append(sp)
        expected[name] = ((*sc.ctx.key_path[:-1], new_key), p.value)
    out = edit_bytes("t.yaml", data, pf, splices)
    # Each value is gone.
    for p in planted:
        assert p.value.encode() not in out
    # The BOM stays exactly as it was.
    assert out.startswith(b"\xef\xbb\xbf") == data.startswith(b"\xef\xbb\xbf")
    text = out.decode("utf-8-sig")
    # Each reference is right: its key path holds the Secret name and the Doppler name.
    after = parse_yaml("t.yaml", text)
    got = {(s.ctx.key_path, s.value) for s in after.scalars if s.style != "comment"}
    for name, (base, _) in expected.items():
        if base[-1] == "valueFrom":
            assert ((*base, "secretKeyRef", "key"), name) in got
            assert ((*base, "secretKeyRef", "name"), "app-doppler") in got
        else:
            assert ((*base, "key"), name) in got
            assert ((*base, "name"), "app-doppler") in got
    # Every byte outside the spans is unchanged: walk the original and the result together.
    src = pf.text
    pos_src = pos_out = 0
    for sp in sorted(splices, key=lambda s: s.start):
        gap = src[pos_src:sp.start]
        assert text[pos_out:pos_out + len(gap)] == gap
        pos_out += len(gap)
        assert text[pos_out:pos_out + len(sp.new)] == sp.new
        pos_out += len(sp.new)
        pos_src = sp.end
    assert text[pos_out:] == src[pos_src:]
    # Line endings are the file's own: no bare LF in a CRLF file, no CR in an LF file.
    if "\r\n" in src:
        assert text.count("\n") == text.count("\r\n")
    else:
        assert "\r" not in text
