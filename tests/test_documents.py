from __future__ import annotations

from secretsync.documents import parse

SRC = """\
# top comment
global:
  tailnet: tail876052   # trailing
  tailscale:
    clientId: k3r7wuCSzd11CNTRL
env:
  - name: AUTH0_DOMAIN
    value: "dev-tgrsoxiakeqdr1gg.us.auth0.com"
base: &b
  x: one-value
copy: *b
flow: {a: [1, 'q-value']}
cfg:
  config.yaml: |
    tunnel: f6746974-5104-49ef-beed-c66a048f5062
    credentials-file: /etc/x.json
  alloy: |
    prometheus.remote_write "x" {
      cluster = "k3s-home"
    }
  json: |
    {"AccountTag": "4aa95df965d3bc2bfaabe9012a35857c", "n": 1}
---
kind: Secret
metadata: {name: foo}
stringData:
  chat_id: -1003078665133
  API_TOKEN: abc
"""


def by_path(pf):  # type: ignore[no-untyped-def]
    return {(s.style, s.ctx.key_path): s for s in pf.scalars}


def test_key_paths_lines_columns_and_spans() -> None:
    pf, warnings = parse("a.yaml", SRC.encode())
    assert warnings == []
    s = by_path(pf)
    t = s[("plain", ("global", "tailnet"))]
    assert (t.line, t.column, t.value) == (3, 12, "tail876052")
    assert pf.text[t.start:t.end] == "tail876052"
    d = s[("double", ("env", 0, "value"))]
    assert d.ctx.env_name == "AUTH0_DOMAIN"
    assert pf.text[d.start:d.end] == '"dev-tgrsoxiakeqdr1gg.us.auth0.com"'
    assert pf.text[d.key_start:d.key_end] == "value"  # type: ignore[index]
    f = s[("single", ("flow", "a", 1))]
    assert f.value == "q-value" and f.line == 12


def test_aliases_are_reported_where_written_only() -> None:
    pf, _ = parse("a.yaml", SRC.encode())
    xs = [s for s in pf.scalars if s.value == "one-value"]
    assert [x.ctx.key_path for x in xs] == [("base", "x")]


def test_block_scalars_are_looked_into_with_real_lines() -> None:
    pf, _ = parse("a.yaml", SRC.encode())
    s = by_path(pf)
    tunnel = s[("embedded", ("cfg", "config.yaml", "tunnel"))]
    assert (tunnel.line, tunnel.column) == (15, 13)
    assert pf.text[tunnel.start:tunnel.end] == tunnel.value
    assert tunnel.ctx.embedded == "cloudflared"
    hcl = s[("embedded", ("cfg", "alloy", "cluster"))]
    assert hcl.line == 19 and hcl.value == "k3s-home" and hcl.ctx.embedded == "hcl"
    acct = s[("embedded", ("cfg", "json", "AccountTag"))]
    assert acct.line == 22 and pf.text[acct.start:acct.end] == acct.value
    assert acct.ctx.embedded == "json"


def test_multi_document_kind_and_yaml_int() -> None:
    pf, _ = parse("a.yaml", SRC.encode())
    s = by_path(pf)
    chat = s[("plain", ("stringData", "chat_id"))]
    assert chat.ctx.kind == "Secret" and chat.doc == 1 and chat.value == "-1003078665133"
    assert s[("plain", ("stringData", "API_TOKEN"))].ctx.env_name == "API_TOKEN"
    assert [d.kind for d in pf.documents] == [None, "Secret"]
    assert pf.documents[1].name == "foo"
    assert ("env",) in pf.documents[0].seq_paths


def test_comments_are_scanned_text() -> None:
    pf, _ = parse("a.yaml", SRC.encode())
    comments = [s for s in pf.scalars if s.style == "comment"]
    assert [c.value for c in comments] == ["top comment", "trailing"]
    assert comments[1].line == 3


def test_crlf_and_bom_keep_offsets() -> None:
    data = b"\xef\xbb\xbfa:\r\n  b: tail876052\r\n"
    pf, _ = parse("a.yaml", data)
    s = next(x for x in pf.scalars if x.value == "tail876052")
    assert pf.bom and (s.line, s.column) == (2, 6)
    assert pf.text[s.start:s.end] == "tail876052"


def test_malformed_yaml_falls_back_to_text_with_a_warning_that_holds_no_content() -> None:
    data = b"a: [unclosed\n  token: tail876052\n"
    pf, warnings = parse("bad.yaml", data)
    assert pf.fallback and len(warnings) == 1
    assert "tail876052" not in warnings[0] and "bad.yaml" in warnings[0]
    assert any(s.value == "tail876052" and s.ctx.key == "token" for s in pf.scalars)


def test_helm_template_is_text_with_indentation_context() -> None:
    data = b"spec:\n  env:\n    - name: X\n      value: {{ .Values.x }}\n    - name: TOKEN\n      value: literal-value\n"
    pf, _ = parse("t.yaml", data, template=True)
    lit = next(s for s in pf.scalars if s.value == "literal-value")
    assert lit.ctx.env_name == "TOKEN" and lit.line == 6 and lit.ctx.text_fallback


def test_alias_bomb_is_not_expanded() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join('*' + prev for _ in range(9))}]")
    pf, warnings = parse("bomb.yaml", "\n".join(lines).encode())
    assert warnings == [] and len(pf.scalars) == 9


def test_custom_tags_and_duplicate_keys_parse() -> None:
    pf, warnings = parse("t.yaml", b"a: !env_var FOO\nb: !!python/name:os.system x\na: again\n")
    assert warnings == []
    assert [s.value for s in pf.scalars] == ["FOO", "x", "again"]


def test_non_utf8_is_read_as_text_with_warning() -> None:
    pf, warnings = parse("l1.yaml", "key: caf\xe9 tail876052\n".encode("latin-1"))
    assert warnings and "UTF-8" in warnings[0]
    assert any("tail876052" in s.value for s in pf.scalars)


def test_spans_leave_out_anchors_and_tags() -> None:
    pf, _ = parse("a.yaml", b'a: &x0 tail876052\nb: !env_var FOO\nc: !!str &y "q"\n')
    tokens = [pf.text[s.start:s.end] for s in pf.scalars]
    assert tokens == ["tail876052", "FOO", '"q"']
    assert [s.column for s in pf.scalars] == [8, 13, 13]


def test_a_commented_out_quoted_value_is_the_text_inside_the_quotes() -> None:
    text = 'pilot:\n  enabled: false\n  # token: "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"\n'
    pf = parse("v.yaml", text.encode())[0]
    [c] = [s for s in pf.scalars if s.style == "comment"]
    assert c.value == "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
    assert c.ctx.key == "token"
    assert pf.text[c.start:c.end] == c.value


def test_a_list_entry_name_that_is_not_an_env_var_names_its_value() -> None:
    text = ("spec:\n  source:\n    helm:\n      parameters:\n"
            "        - name: alertmanager.telegram.chatId\n          value: '-1001234567890'\n"
            "        - name: LOG_LEVEL\n          value: debug\n")
    pf = parse("app.yaml", text.encode())[0]
    chat, level = [s for s in pf.scalars if s.ctx.key == "value"]
    assert (chat.ctx.entry_name, chat.ctx.env_name) == ("alertmanager.telegram.chatId", None)
    assert (level.ctx.entry_name, level.ctx.env_name) == (None, "LOG_LEVEL")


def test_yaml_events_come_from_the_c_parser_as_yaml_parse_gives_them() -> None:
    from ruamel.yaml import YAML

    from secretsync import documents

    assert documents._CParser is not None
    text = "a: &x [1, 'two', {b: !tag c}]\nd: *x\n---\n- |\n  block\n"

    def sig(events: object) -> list[tuple[object, ...]]:
        return [(type(e).__name__, getattr(e, "value", None), e.start_mark.index,
                 e.end_mark.index, getattr(e, "anchor", None), getattr(e, "style", None))
                for e in events]  # type: ignore[attr-defined]

    assert sig(documents.events(text)) == sig(YAML(typ="safe", pure=False).parse(text))
