"""Generate a deterministic synthetic GitOps tree for benchmarking scanners.

    python benchmarks/gen_tree.py [--files 6000] [--out benchmarks/out/tree] [--seed 1]

The tree holds realistic shapes and sizes: Deployments, Services, Flux HelmReleases, Argo CD
Applications, Helm values files, CloudNativePG clusters, ConfigMaps with block scalars
(application.properties, nginx.conf, cloudflared config), Grafana dashboards as JSON inside
ConfigMaps, multi-document files, and a few large (~200 KB) files. About 3% of the files carry
one planted account-specific value (tailnet, Tailscale client id, Auth0 domain or client id,
Cloudflare tunnel id or R2 endpoint, Telegram chat id or bot token, a password); the rest carry
only the usual noise (image digests, checksums, uids, secret references, templates).

Everything comes from one seeded `random.Random`: the same arguments give byte-identical trees.
Where each planted value is goes to `<out>.planted.json` (beside the tree, not inside it).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
_WORDS = (
    "orders payments ledger billing invoices catalog search checkout cart profile auth "
    "notifications mailer reports analytics gateway inventory shipping pricing reviews media "
    "uploads scheduler worker webhooks audit feeds recommender sessions accounts quotes"
)
WORDS = tuple(_WORDS.split(" "))
TEAMS = ("core", "growth", "data", "platform", "payments", "identity", "edge", "ml")
GEN_VERSION = 3  # bump when the output changes, so bench_scan.py regenerates
AREAS = ("apps", "infrastructure", "clusters", "deploy", "platform")
ENVS = ("dev", "stg", "prd")
AUTH0_REGIONS = ("us", "eu", "au", "jp", "ca", "uk", "us-3", "eu-2")


def rhex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(HEX) for _ in range(n))


def ralnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(n))


def ruuid(rng: random.Random) -> str:
    h = rhex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


# --------------------------------------------------------------------------- planted values


@dataclass(frozen=True)
class Plant:
    kind: str      # the detector id secretsync is expected to report
    env: str       # an environment-variable style name
    key: str       # a YAML key for mapping contexts
    value: str


def make_plant(rng: random.Random) -> Plant:
    kind = rng.choice((
        "tailscale-tailnet", "tailscale-oauth-client-id", "auth0-domain", "auth0-client-id",
        "cloudflare-tunnel-id", "cloudflare-r2-endpoint", "cloudflare-account-id",
        "telegram-chat-id", "telegram-bot-token", "generic-secret",
    ))
    if kind == "tailscale-tailnet":
        return Plant(kind, "TS_TAILNET", "tailnet", f"tail{rhex(rng, 6)}")
    if kind == "tailscale-oauth-client-id":
        return Plant(kind, "TS_OAUTH_CLIENT_ID", "clientId", ralnum(rng, 12) + "CNTRL")
    if kind == "auth0-domain":
        tenant = rng.choice(("dev-", "prod-", "")) + ralnum(rng, 16).lower()
        return Plant(kind, "AUTH0_DOMAIN", "domain",
                     f"{tenant}.{rng.choice(AUTH0_REGIONS)}.auth0.com")
    if kind == "auth0-client-id":
        return Plant(kind, "AUTH0_CLIENT_ID", "clientId", ralnum(rng, 32))
    if kind == "cloudflare-tunnel-id":
        return Plant(kind, "CLOUDFLARE_TUNNEL_ID", "tunnelId", ruuid(rng))
    if kind == "cloudflare-r2-endpoint":
        return Plant(kind, "S3_ENDPOINT", "endpointURL",
                     f"https://{rhex(rng, 32)}.r2.cloudflarestorage.com")
    if kind == "cloudflare-account-id":
        return Plant(kind, "CLOUDFLARE_ACCOUNT_ID", "accountId", rhex(rng, 32))
    if kind == "telegram-chat-id":
        return Plant(kind, "TELEGRAM_CHAT_ID", "chatId",
                     "-100" + "".join(rng.choice(string.digits) for _ in range(10)))
    if kind == "telegram-bot-token":
        digits = str(rng.randint(10**9, 10**10 - 1))
        return Plant(kind, "TELEGRAM_BOT_TOKEN", "botToken",
                     f"{digits}:AA{ralnum(rng, 33)}")
    return Plant(kind, "DB_PASSWORD", "password",
                 ralnum(rng, 10) + rng.choice("!#%+") + ralnum(rng, 9))


# --------------------------------------------------------------------------- noise


def digest(rng: random.Random) -> str:
    return "sha256:" + rhex(rng, 64)


def image(rng: random.Random, name: str) -> str:
    if rng.random() < 0.4:
        return f"ghcr.io/example-org/{name}@{digest(rng)}"
    version = f"{rng.randint(0, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    return f"ghcr.io/example-org/{name}:{version}"


def labels(name: str, team: str, indent: int) -> str:
    pad = " " * indent
    return (f"{pad}app.kubernetes.io/name: {name}\n{pad}app.kubernetes.io/part-of: {team}\n"
            f"{pad}app.kubernetes.io/managed-by: argocd\n")


def env_block(rng: random.Random, name: str, env: str, indent: int,
              plant: Plant | None) -> str:
    pad = " " * indent
    out = [f"{pad}- name: SPRING_PROFILES_ACTIVE\n{pad}  value: \"kubernetes,{env}\"\n",
           f"{pad}- name: JAVA_TOOL_OPTIONS\n{pad}  value: \"-XX:MaxRAMPercentage=75\"\n",
           f"{pad}- name: OTEL_SERVICE_NAME\n{pad}  value: {name}\n"]
    for k in rng.sample(("URL", "USERNAME", "PASSWORD", "HOST"), rng.randint(1, 3)):
        out.append(f"{pad}- name: DB_{k}\n{pad}  valueFrom:\n{pad}    secretKeyRef:\n"
                   f"{pad}      name: {name}-db-{env}-cluster-app\n{pad}      key: {k.lower()}\n")
    for i in range(rng.randint(2, 8)):
        out.append(f"{pad}- name: FEATURE_{rng.choice(WORDS).upper()}_{i}\n"
                   f"{pad}  value: \"{rng.choice(('true', 'false', '30s', '100', 'INFO'))}\"\n")
    if plant:
        out.insert(rng.randint(0, len(out)),
                   f"{pad}- name: {plant.env}\n{pad}  value: \"{plant.value}\"\n")
    return "".join(out)


# --------------------------------------------------------------------------- file kinds

Gen = Callable[[random.Random, str, str, str, "Plant | None"], str]


def deployment(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n"
        f"  namespace: {team}-{env}\n  labels:\n{labels(name, team, 4)}"
        f"spec:\n  replicas: {rng.randint(1, 4)}\n  revisionHistoryLimit: 3\n"
        f"  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n"
        f"  template:\n    metadata:\n      labels:\n{labels(name, team, 8)}"
        f"      annotations:\n        checksum/config: {rhex(rng, 64)}\n"
        f"        prometheus.io/scrape: \"true\"\n    spec:\n"
        f"      serviceAccountName: {name}\n      securityContext:\n        runAsNonRoot: true\n"
        f"        runAsUser: {rng.choice((1000, 10001, 65532))}\n      containers:\n"
        f"        - name: {name}\n          image: {image(rng, name)}\n"
        f"          imagePullPolicy: IfNotPresent\n          ports:\n"
        f"            - name: http\n              containerPort: {rng.choice((8080, 3000, 8000))}\n"
        f"          env:\n{env_block(rng, name, env, 12, plant)}"
        f"          envFrom:\n            - secretRef:\n                name: {name}-env\n"
        f"          resources:\n            requests:\n"
        f"              cpu: {rng.choice((50, 100, 250))}m\n"
        f"              memory: {rng.choice((128, 256, 512))}Mi\n            limits:\n"
        f"              memory: {rng.choice((512, 1024))}Mi\n"
        f"          livenessProbe:\n            httpGet:\n              path: /healthz\n"
        f"              port: http\n          readinessProbe:\n            httpGet:\n"
        f"              path: /ready\n              port: http\n"
    )


def service(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    return (
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {team}-{env}\n"
        f"  uid: {ruuid(rng)}\n  labels:\n{labels(name, team, 4)}spec:\n  type: ClusterIP\n"
        f"  ports:\n    - name: http\n      port: 80\n      targetPort: http\n"
        f"  selector:\n    app.kubernetes.io/name: {name}\n"
    )


def helmrelease(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    return (
        f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n"
        f"  namespace: {team}-{env}\nspec:\n  interval: {rng.choice((5, 10, 30))}m\n"
        f"  chart:\n    spec:\n      chart: {name}\n      version: 0.{rng.randint(1, 9)}.x\n"
        f"      sourceRef:\n        kind: HelmRepository\n        name: {team}-charts\n"
        f"        namespace: flux-system\n  install:\n    remediation:\n      retries: 3\n"
        f"  valuesFrom:\n    - kind: Secret\n      name: {name}-values\n      optional: true\n"
        f"  values:\n    replicaCount: {rng.randint(1, 3)}\n    image:\n"
        f"      repository: ghcr.io/example-org/{name}\n      tag: \"${{IMAGE_TAG}}\"\n"
        f"    ingress:\n      enabled: true\n      host: {name}.${{CLUSTER_DOMAIN}}\n"
        f"    env:\n{env_block(rng, name, env, 6, plant)}"
    )


def argo_app(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    inline = [f"replicaCount: {rng.randint(1, 3)}", "podAnnotations:",
              f"  checksum/secrets: {rhex(rng, 64)}", "service:", "  port: 80"]
    if plant:
        inline += ["integrations:", f"  {plant.key}: \"{plant.value}\""]
    values = "".join(f"          {ln}\n" for ln in inline)
    return (
        f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}-{env}\n"
        f"  namespace: argocd\n  annotations:\n"
        f"    argocd.argoproj.io/sync-wave: \"{rng.randint(0, 100)}\"\n"
        f"  finalizers:\n    - resources-finalizer.argocd.argoproj.io\nspec:\n  project: {team}\n"
        f"  source:\n    repoURL: https://github.com/example-org/{team}-deploy.git\n"
        f"    targetRevision: {rhex(rng, 40) if rng.random() < 0.3 else 'main'}\n"
        f"    path: charts/{name}\n    helm:\n      valueFiles:\n        - values.yaml\n"
        f"        - values-{env}.yaml\n      values: |\n{values}"
        f"  destination:\n    server: https://kubernetes.default.svc\n    namespace: {team}-{env}\n"
        f"  syncPolicy:\n    automated:\n      prune: true\n      selfHeal: true\n"
        f"    syncOptions:\n      - CreateNamespace=true\n"
    )


def values_file(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    lines = [f"# values-{env}.yaml for {name}", f"nameOverride: {name}", "image:",
             f"  repository: ghcr.io/example-org/{name}",
             f"  tag: \"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}\"",
             "ingress:", "  enabled: true", f"  className: {rng.choice(('nginx', 'tailscale'))}",
             "  hosts:", f"    - host: {name}.example.com", "      paths:", "        - /",
             "  tls:", f"    - secretName: {name}-tls", "      hosts:",
             f"        - {name}.example.com",
             "database:", f"  existingSecret: {name}-db-{env}-cluster-app", "  port: 5432",
             "config:"]
    for _ in range(rng.randint(10, 60)):
        val = rng.choice(("true", "false", str(rng.randint(1, 9999)), repr(rng.choice(WORDS))))
        lines.append(f"  {rng.choice(WORDS)}_{ralnum(rng, 4).lower()}: {val}")
    if plant:
        at = rng.randint(len(lines) - 5, len(lines))
        lines[at:at] = ["integrations:", f"  {plant.key}: \"{plant.value}\"", "config2:"]
        lines.append("  enabled: true")
    return "\n".join(lines) + "\n"


def cnpg(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    endpoint = f"https://s3.{rng.choice(('eu-west-1', 'us-east-1'))}.amazonaws.com"
    extra = ""
    if plant and plant.kind == "cloudflare-r2-endpoint":
        endpoint = plant.value
    elif plant:
        extra = f"  externalClusters:\n    - name: origin\n      {plant.key}: \"{plant.value}\"\n"
    return (
        f"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: {name}-db-{env}\n"
        f"  namespace: {team}-{env}\nspec:\n  instances: {rng.choice((1, 3))}\n"
        f"  imageName: ghcr.io/cloudnative-pg/postgresql:16.{rng.randint(1, 6)}@{digest(rng)}\n"
        f"  storage:\n    size: {rng.choice((5, 10, 20))}Gi\n    storageClass: longhorn\n"
        f"  bootstrap:\n    initdb:\n      database: {name.replace('-', '_')}\n"
        f"      owner: {name.replace('-', '_')}\n  postgresql:\n    parameters:\n"
        f"      max_connections: \"{rng.choice((100, 200))}\"\n      shared_buffers: 256MB\n"
        f"  backup:\n    retentionPolicy: 30d\n    barmanObjectStore:\n"
        f"      destinationPath: s3://{team}-pg-{env}/\n      endpointURL: {endpoint}\n"
        f"      s3Credentials:\n        accessKeyId:\n          name: backup-creds\n"
        f"          key: ACCESS_KEY_ID\n        secretAccessKey:\n          name: backup-creds\n"
        f"          key: ACCESS_SECRET_KEY\n{extra}"
    )


def configmap_block(rng: random.Random, name: str, team: str, env: str,
                    plant: Plant | None) -> str:
    style = rng.choice(("properties", "nginx", "cloudflared"))
    if plant and plant.kind == "cloudflare-tunnel-id":
        style = "cloudflared"
    body: list[str]
    if style == "properties":
        body = [f"spring.application.name={name}", "server.shutdown=graceful"]
        body += [f"app.{rng.choice(WORDS)}.{rng.choice(WORDS)}={rng.randint(1, 1000)}"
                 for _ in range(rng.randint(10, 80))]
        if plant:
            body.insert(rng.randint(0, len(body)), f"app.{plant.key}={plant.value}")
        key = "application.properties"
    elif style == "nginx":
        body = ["worker_processes auto;", "events { worker_connections 1024; }", "http {"]
        for i in range(rng.randint(3, 25)):
            body += [f"  upstream u{i} {{ server {rng.choice(WORDS)}.{team}.svc:80; }}",
                     f"  server {{ listen 80; server_name {rng.choice(WORDS)}{i}.example.com;",
                     f"    location / {{ proxy_pass http://u{i}; }} }}"]
        if plant:
            body.insert(3, f"  # {plant.key}: {plant.value}")
            body.insert(4, f"  map $host $x_{plant.key.lower()} {{ default \"{plant.value}\"; }}")
        body.append("}")
        key = "nginx.conf"
    else:
        tunnel = plant.value if plant and plant.kind == "cloudflare-tunnel-id" else "${TUNNEL_ID}"
        body = [f"tunnel: {tunnel}", "credentials-file: /etc/cloudflared/creds/credentials.json",
                "metrics: 0.0.0.0:2000", "ingress:"]
        for i in range(rng.randint(2, 20)):
            body += [f"  - hostname: {rng.choice(WORDS)}{i}.example.com",
                     f"    service: http://{rng.choice(WORDS)}.{team}.svc:80"]
        body.append("  - service: http_status:404")
        if plant and plant.kind != "cloudflare-tunnel-id":
            body.insert(3, f"{plant.key}: \"{plant.value}\"")
        key = "config.yaml"
    block = "".join(f"    {ln}\n" for ln in body)
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{style}\n"
            f"  namespace: {team}-{env}\ndata:\n  {key}: |\n{block}")


def dashboard_json(rng: random.Random, title: str, panels: int) -> str:
    ps = []
    for i in range(panels):
        ps.append({
            "id": i + 1, "type": rng.choice(("timeseries", "stat", "table", "logs")),
            "title": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)}",
            "datasource": {"type": "prometheus", "uid": ralnum(rng, 14)},
            "targets": [{"expr": f"sum(rate({rng.choice(WORDS)}_requests_total"
                                 f"{{namespace=\"{rng.choice(TEAMS)}\"}}[5m])) by (pod)",
                         "refId": "A"}],
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
            "fieldConfig": {"defaults": {"unit": rng.choice(("s", "bytes", "percent", "reqps"))}},
        })
    return json.dumps({"uid": ralnum(rng, 14), "title": title, "schemaVersion": 39,
                       "version": rng.randint(1, 40), "panels": ps}, indent=2)


def dashboard(rng: random.Random, name: str, team: str, env: str, plant: Plant | None,
              panels: int = 0) -> str:
    text = dashboard_json(rng, f"{name} overview", panels or rng.randint(3, 25))
    block = "".join(f"    {ln}\n" for ln in text.splitlines())
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dashboard-{name}\n"
            f"  namespace: monitoring\n  labels:\n    grafana_dashboard: \"1\"\n"
            f"data:\n  {name}.json: |\n{block}")


def multidoc(rng: random.Random, name: str, team: str, env: str, plant: Plant | None) -> str:
    cm = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-env\ndata:\n"
          f"  LOG_LEVEL: info\n  CACHE_TTL: \"{rng.randint(10, 600)}\"\n")
    if plant:
        cm += f"  {plant.env}: \"{plant.value}\"\n"
    hpa = (f"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n"
           f"  name: {name}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n"
           f"    kind: Deployment\n    name: {name}\n  minReplicas: 1\n"
           f"  maxReplicas: {rng.randint(3, 10)}\n  metrics:\n    - type: Resource\n"
           f"      resource:\n        name: cpu\n        target:\n          type: Utilization\n"
           f"          averageUtilization: 70\n")
    es = (f"apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n"
          f"  name: {name}-env\nspec:\n  secretStoreRef:\n    kind: ClusterSecretStore\n"
          f"    name: doppler-{env}\n  dataFrom:\n    - extract:\n        key: {name.upper()}\n")
    docs = [deployment(rng, name, team, env, None), service(rng, name, team, env, None),
            cm, hpa, es]
    return "---\n".join(docs[: rng.randint(3, 5)])


KINDS: list[tuple[str, int, Gen]] = [
    ("deployment", 22, deployment), ("service", 12, service),
    ("helmrelease", 12, helmrelease), ("application", 12, argo_app),
    ("values", 16, values_file), ("cnpg", 6, cnpg), ("configmap", 10, configmap_block),
    ("dashboard", 4, dashboard), ("multidoc", 6, multidoc),
]
PLANTABLE = {"deployment", "helmrelease", "application", "values", "cnpg", "configmap",
             "multidoc"}


def generate(
    n_files: int, out: Path, seed: int = 1, plant_rate: float = 0.03
) -> list[dict[str, object]]:
    """Write n_files YAML files under out (replacing it); return the planted-value records."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    n_large = max(2, n_files // 1000)
    planted_idx = set(rng.sample(range(n_large, n_files), round(n_files * plant_rate)))
    names, weights = [k[0] for k in KINDS], [k[1] for k in KINDS]
    gens = {k[0]: k[2] for k in KINDS}
    records: list[dict[str, object]] = []
    for i in range(n_files):
        area, team = rng.choice(AREAS), rng.choice(TEAMS)
        app = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"
        env = rng.choice(ENVS)
        plant = make_plant(rng) if i in planted_idx else None
        if i < n_large:
            kind = "large-dashboard"
            text = dashboard(rng, f"{app}-{i}", "monitoring", env, None, panels=320)
        else:
            kind = rng.choices(names, weights)[0]
            while plant and kind not in PLANTABLE:
                kind = rng.choices(names, weights)[0]
            text = gens[kind](rng, app, team, env, plant)
        rel = Path(area, team, f"{i // 50:03d}", f"{app}-{kind}-{env}-{i:05d}.yaml")
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if plant:
            # Every line holding the value: some shapes write it twice (nginx: a comment and
            # a map), and each occurrence is a finding.
            for line in (n for n, ln in enumerate(text.splitlines(), 1) if plant.value in ln):
                records.append({"path": rel.as_posix(), "line": line, "detector": plant.kind,
                                "file_kind": kind})
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=6000, help="number of YAML files (default 6000)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "tree")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.files < 100:
        ap.error("--files must be at least 100")
    records = generate(args.files, args.out, args.seed)
    manifest = args.out.parent / f"{args.out.name}.planted.json"
    manifest.write_text(json.dumps({"files": args.files, "seed": args.seed, "version": GEN_VERSION,
                                    "planted": records}, indent=1) + "\n")
    size = sum(p.stat().st_size for p in args.out.rglob("*.yaml"))
    print(f"{args.files} files, {size / 1e6:.1f} MB, {len(records)} planted values -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
