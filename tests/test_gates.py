"""The file-level gates asked of a batch of files at once (`GatePlan.per_file`: one
Aho-Corasick pass for every keyword and literal prefix) answer what each file's own gates
(`GatePlan.active`, a search per pattern) answer."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from secretsync.detection import Finder, GatePlan, needles
from secretsync.detectors import load_detectors
from secretsync.scan import scan_file
from secretsync.walk import SourceFile

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


@settings(max_examples=200, deadline=None)
@given(_TEXT, st.integers(1, 9))
def test_the_finder_finds_every_place_across_its_windows(text: str, window: int) -> None:
    # The automaton is asked a window at a time; a place that straddles two windows is found
    # once, in the window it starts in.
    from unittest import mock

    from secretsync import detection

    low = text.lower()
    with mock.patch.object(detection, "_WINDOW", window):
        found = Finder(_WORDS).places(low)
    for w in _WORDS:
        assert found.get(w, []) == [i for i in range(len(low)) if low.startswith(w, i)], w


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


# generic-secret's gate skips lines `find` never reports (a boolean alone; ESO's
# `secretKey: <name>`): a file with nothing else is never parsed, and one where such a line
# hides a real value still is.
_DETECTORS = load_detectors()
_KEYS = st.sampled_from(["secretKey", "secretAccessKey", "SECRET_KEY", "awsSecretKey",
                         "my secretKey", "automountServiceAccountToken", "password", "token",
                         "api key", "the api key"])
_VALUES = st.sampled_from([
    "false", "'true'", "null", "~", "no # keep", "password", "DB_PASSWORD", "db-password",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Zq8xR2mV9tLw4Kp7Hs3N", "\"Zq8xR2mV9tLw4Kp7Hs3N\"",
    "hunter2hunter2", "\"a\\u0041Zq8xR2mV9tLw4Kp7Hs3N\"", "false, other: Zq8xR2mV9tLw4Kp7Hs3N",
    "x7kq9m2vl5pr8tzw", "falsehood7Kq9m2Vl5pR8", "authentik-postgres-password-value",
    "ZqxRmVtLwKpHsNabcdefgh",
])
_LINE = st.tuples(st.sampled_from(["", "  ", "  - ", "- ", "    \""]), _KEYS,
                  st.sampled_from([": ", "\": ", "=", ":  "]), _VALUES).map("".join)


def _found(text: str, gated: bool) -> list[tuple[str, int]]:
    src = SourceFile(Path("f.yaml"), "f.yaml", False)
    fs = scan_file(src, text.encode(), _DETECTORS, None if gated else _DETECTORS)
    return sorted((f.detector, f.line) for f in fs.findings)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=4))
@example(["my secretKey: x7kq9m2vl5pr8tzw"])  # the key is `my secretKey`, not `secretKey`
@example(["token: falsehood7Kq9m2Vl5pR8"])  # starts with a boolean word, is not one
def test_the_keyword_gate_never_hides_a_finding(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    assert _found(text, gated=True) == _found(text, gated=False)


def test_external_secret_key_names_and_booleans_are_never_parsed() -> None:
    text = ("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nspec:\n  data:\n"
            "    - secretKey: password\n      remoteRef:\n        key: DB_PASSWORD\n"
            "    - secretKey: \"api-token\"\n"
            "    - secretKey: cloudflare-tunnel-credentials-json\n"
            "automountServiceAccountToken: false\n")
    src = SourceFile(Path("es.yaml"), "es.yaml", False)
    assert not scan_file(src, text.encode(), _DETECTORS).was_parsed
    leaked = text + "---\naws:\n  credentials:\n    secretKey: Zq8xR2mV9tLw4Kp7Hs3N\n"
    fs = scan_file(src, leaked.encode(), _DETECTORS)
    assert fs.was_parsed and [f.detector for f in fs.findings] == ["generic-secret"]


_DELIMITED = [
    r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])",
    r"(?<![A-Za-z0-9_-])(?=[0-9a-fA-F]*[g-zG-Z_-])[A-Za-z0-9_-]{64,}",
    r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])",
    r"(?<![A-Za-z0-9_-])(?=[0-9a-fA-F]*[g-zG-Z_-])[A-Za-z0-9_-]{40}(?![A-Za-z0-9_-])",
    r"(?<![0-9a-zA-Z/+])[0-9a-zA-Z/+]{40}(?![0-9a-zA-Z/+])",
    r"(?<![0-9A-Za-z-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
    r"-[0-9a-fA-F]{12}(?![0-9A-Za-z-])",
]
# Runs of the shapes' characters of every length around the thresholds, and delimiters.
_RUNS = st.lists(st.one_of(
    st.sampled_from([" ", "\n", ":", "-", "_", "/", "+", ".", "=", "\"", "é"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "f", "G", "z", "0", "9"]),
              st.integers(1, 70)),
    st.just("0123abcd-4567-89ab-cdef-0123456789ab"),
), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(_RUNS)
def test_a_delimited_gate_holds_where_its_lookbehind_regex_does(text: str) -> None:
    import re

    from secretsync.detectors._common import Delimited

    for p in _DELIMITED:
        assert (Delimited(p).search(text) is not None) == (re.search(p, text) is not None), p
