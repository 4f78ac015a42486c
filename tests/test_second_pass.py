"""The second pass ("every other place a found value stands") follows only specific values:
UUIDs, long hex and digit ids, tokens; never words or placeholders, and a tailnet only as
`<name>.ts.net`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from secretsync.scan import ScanOptions, run_scan, specific

TUNNEL = "f6746974-5104-49ef-beed-c66a048f5062"


def rows(root: Path) -> list[tuple[str, int, str]]:
    result, _ = run_scan([root], ScanOptions(jobs=1))
    return sorted((f.path, f.line, f.detector) for f in result.findings)


def test_a_uuid_found_with_context_is_followed_where_it_stands_bare(
        tree: Callable[[dict[str, str]], Path]) -> None:
    root = tree({
        "a.yaml": f"cloudflare:\n  tunnelId: {TUNNEL}\n",
        "b.yaml": f"args:\n  - tunnel\n  - run\n  - {TUNNEL}\n",
    })
    assert rows(root) == [("a.yaml", 2, "cloudflare-tunnel-id"), ("b.yaml", 4, "cloudflare-tunnel-id")]


def test_a_word_password_is_not_followed_into_comments_and_templates(
        tree: Callable[[dict[str, str]], Path]) -> None:
    root = tree({
        "a.yaml": "db:\n  password: Tr0ub4dor3x\n",
        "b.yaml": "# set Tr0ub4dor3x in the vault\nurl: https://USERNAME:PASSWORD@example.com\n"
                  "tpl: '{{ .password }}'\nnote: Tr0ub4dor3x\n",
    })
    assert rows(root) == [("a.yaml", 2, "generic-secret")]


def test_a_tailnet_name_is_followed_only_as_a_ts_net_host(
        tree: Callable[[dict[str, str]], Path]) -> None:
    root = tree({
        "a.yaml": "tailscale:\n  tailnet: yak-bebop\n",
        "b.yaml": "host: grafana.yak-bebop.ts.net\nwebsite: https://yak-bebop.example.org\n",
    })
    assert rows(root) == [("a.yaml", 2, "tailscale-tailnet"), ("b.yaml", 1, "tailscale-tailnet")]


def test_specific_values() -> None:
    assert specific(TUNNEL, "cloudflare-tunnel-id")
    assert specific("4aa95df965d3bc2bfaabe9012a35857c", "cloudflare-account-id")
    assert specific("-1003078665133", "telegram-chat-id")
    assert specific("kHPdpIYtdtGXeSt7v2", "generic-secret")
    assert specific("kiMrmXmSov%d3ybGqzxr", "generic-secret")  # a password with a symbol
    assert not specific("hunter2hunter", "generic-secret")  # low entropy
    assert not specific("admin123", "generic-secret")  # short
    assert not specific("correcthorsebattery", "generic-secret")  # a phrase, no digit
    assert not specific("PASSWORD", "basic-auth-url")
    assert not specific("123456789", "telegram-chat-id")  # a short id is not rare enough


def test_the_second_pass_reads_every_encoding_the_first_does(tmp_path: Path) -> None:
    # The second pass passes over a file whose bytes hold none of the values before decoding
    # it: a Latin-1 file holds an ASCII value in the same bytes and is still followed.
    (tmp_path / "a.yaml").write_text(f"cloudflare:\n  tunnelId: {TUNNEL}\n")
    (tmp_path / "c.yaml").write_bytes(f"n: caf\xe9\nargs:\n  - {TUNNEL}\n".encode("latin-1"))
    (tmp_path / "d.yaml").write_text("args:\n  - run\n")
    assert rows(tmp_path) == [("a.yaml", 2, "cloudflare-tunnel-id"),
                              ("c.yaml", 3, "cloudflare-tunnel-id")]
