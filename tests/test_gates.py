"""The file-level gates asked of a batch of files at once (`GatePlan.per_file`: one
Aho-Corasick pass for every keyword and literal prefix) answer what each file's own gates
(`GatePlan.active`, a search per pattern) answer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from secretsync.detection import Finder, GatePlan, needles
from secretsync.detectors import load_detectors

_PLAN = GatePlan(load_detectors())
_WORDS = sorted({n for p in _PLAN.searchers for n in needles(p)})

# Pieces that make gates hold or nearly hold: every needle in three cases, keys with and
# without values, value shapes, separators, and text no gate wants.
_PIECES = st.sampled_from([
    *_WORDS, *(w.upper() for w in _WORDS), *(w.title() for w in _WORDS),
    "password: hunter2x", "apiKey: ", "- name: DB_PASSWORD\n  value: s3cr3tvalue",
    "client_id: ", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "0123456789abcdef0123456789abcdef", "tskey-auth-", "https://user:pw@host/", "\n", " ",
    ": ", "\"", "kind: Secret\n", "metadata:\n  name: x\n", "é", "İ", "\udcff", "日本",
])
_TEXT = st.lists(_PIECES, max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=6))
def test_the_batch_answers_what_each_file_answers(texts: list[str]) -> None:
    batch = [[d.id for d in ds] for ds in _PLAN.per_file(texts)]
    one_by_one = [[d.id for d in _PLAN.active(t)] for t in texts]
    assert batch == one_by_one


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_the_finder_finds_every_place_str_find_does(text: str) -> None:
    low = text.lower()
    found = Finder(_WORDS).places(low)
    for w in _WORDS:
        expected = [i for i in range(len(low)) if low.startswith(w, i)]
        assert found.get(w, []) == expected, w


def test_a_text_that_is_not_utf8_is_searched_word_by_word() -> None:
    # Undecodable bytes arrive as lone surrogates (surrogateescape), which the Rust
    # automaton cannot take.
    text = "password: \udcff\udcfe hunter2x\npassword"
    assert Finder(["password", "pass"]).places(text) == {"password": [0, 22],
                                                         "pass": [0, 22]}


def test_the_plan_knows_a_needle_for_every_keyword_gate() -> None:
    # The keyword gates (the most common kind) must reach the one-pass finder, else each
    # would go back to a pass of its own over every batch.
    assert {"password", "secret", "token", "tunnel", "client_id", "tskey-"} <= set(
        _PLAN.finder.words)
