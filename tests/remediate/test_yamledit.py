"""yamledit.delete_keys: a key is removed with its whole value, and nothing else moves."""

from __future__ import annotations

import pytest

from secretsync import reading
from secretsync.documents import parse_yaml
from secretsync.remediate import yamledit
from secretsync.rewrite import Splice

TEXT = """a:
  keep: 1
  text: |
    first: x
    second: y

  after: 2
b: 3
"""


def _apply(text: str, sps: list[Splice]) -> str:
    for sp in sorted(sps, key=lambda s: -s.start):
        text = text[:sp.start] + sp.new + text[sp.end:]
    return text


@pytest.mark.parametrize("style", ["|", ">-", "|+"])
def test_a_block_scalar_goes_with_its_lines_and_the_blank_line_after_stays(style: str) -> None:
    text = TEXT.replace("text: |", f"text: {style}")
    pf = parse_yaml("v.yaml", text)
    (doc,) = pf.documents
    target = next(s for s in pf.scalars if s.ctx.key_path == ("a", "text"))
    sps = yamledit.delete_keys(pf, doc, [target])
    assert sps is not None
    out = _apply(text, sps)
    assert reading.load_all(out)[0] == {"a": {"keep": 1, "after": 2}, "b": 3}
    assert out == "a:\n  keep: 1\n\n  after: 2\nb: 3\n"


def test_the_only_key_of_a_mapping_leaves_it_empty_not_null() -> None:
    text = "configMap:\n  config.yaml: |\n    tunnel: x\n\nnext: 1\n"
    pf = parse_yaml("v.yaml", text)
    (doc,) = pf.documents
    target = next(s for s in pf.scalars if s.ctx.key_path == ("configMap", "config.yaml"))
    sps = yamledit.delete_keys(pf, doc, [target])
    assert sps is not None
    assert reading.load_all(_apply(text, sps))[0] == {"configMap": {}, "next": 1}
