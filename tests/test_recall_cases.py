"""Whole files of the shapes public repositories leak in (issue 11's recall classes), each
scanned end to end: the finding's line and detector, and nothing else in the file."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from secretsync.detectors import load_detectors
from secretsync.scan import scan_file
from secretsync.walk import SourceFile

DETECTORS = load_detectors()
PEM = base64.b64encode(
    b"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAbogusKeyMaterialForTestsOnly0123456789\n"
    b"-----END RSA PRIVATE KEY-----\n").decode()
CRT = base64.b64encode(
    b"-----BEGIN CERTIFICATE-----\nMIIBbogusCertificateMaterialForTestsOnly0123456789ab\n"
    b"-----END CERTIFICATE-----\n").decode()
ACCT = "4aa95df965d3bc2bfaabe9012a35857c"

CASES = [
    ("tls-secret", f"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n"
                   f"  tls.crt: {CRT}\n  tls.key: {PEM}\n", [(6, "private-key-base64")]),
    ("talos-controlplane",
     "version: v1alpha1\nmachine:\n  type: controlplane\n  token: x7k2p9.q4m8v1c6z3w5n0ab\n"
     f"  ca:\n    crt: {CRT}\n    key: {PEM}\ncluster:\n  id: Qm9ndXNJZEZvclRlc3RzMTIzNDU2Nzg5MA==\n"
     "  secret: Zm9yVGVzdHNPbmx5QWJjZGVmMTIzNDU2Nzg5MGFiY2Q=\n"
     "  token: h3n8q2.w9x4k7m1p6z2c5v8\n"
     "  secretboxEncryptionSecret: Qm9ndXNLZXlGb3JUZXN0czEyMzQ1Njc4OTAxMjM0NTY=\n",
     [(4, "talos-token"), (7, "private-key-base64"), (10, "talos-cluster-secret"),
      (11, "talos-token"), (12, "talos-encryption-secret")]),
    ("aws-pair", "loki:\n  storage:\n    s3:\n      accessKeyId: AKIAZ3MSJV4XA2Q7RH5D\n"
                 "      secretAccessKey: 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\n",
     [(4, "aws-access-key"), (5, "generic-secret")]),
    ("s3-secretKey", "velero:\n  credentials:\n    aws:\n      accessKey: backup\n"
                     "      secretKey: Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa12\n",
     [(5, "generic-secret")]),
    ("idrive-e2", "backup:\n  endpoint: https://f3x8.va.idrivee2-45.com\n  bucket: k8s\n",
     [(2, "s3-account-endpoint")]),
    ("tunnel-account", "env:\n  - name: TUNNEL_ACCOUNT\n    value: " + ACCT + "\n",
     [(3, "cloudflare-account-id")]),
    ("grafana-variable",
     'data:\n  cf.json: |\n    {"templating": {"list": [{"name": "accountTag", "query": "'
     + ACCT + '", "type": "constant"}]}}\n', [(3, "cloudflare-account-id")]),
    ("appset-telegram",
     "kind: ApplicationSet\nspec:\n  template:\n    spec:\n      source:\n        helm:\n"
     "          values: |\n            telegram:\n              chat_id: -1001234567890\n",
     [(9, "telegram-chat-id")]),
    ("netdata-stream-api-key",
     "netdata:\n  child:\n    configs:\n      stream:\n        data: |\n          [stream]\n"
     "            enabled = yes\n            destination = netdata:19999\n"
     "            api key = 5e2c7a91-3f4b-4d8e-9a61-0b7c2d4e8f13\n"
     "            the api key: see the docs\n            log level = debug\n",
     [(9, "generic-secret")]),
]


@pytest.mark.parametrize(("name", "text", "want"), CASES, ids=[c[0] for c in CASES])
def test_recall_case(name: str, text: str, want: list[tuple[int, str]]) -> None:
    rel = f"{name}.yaml"
    fs = scan_file(SourceFile(Path(rel), rel, False), text.encode(), DETECTORS)
    assert sorted((f.line, f.detector) for f in fs.findings) == want
