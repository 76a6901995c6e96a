#!/usr/bin/env python3
"""The REST surface tested from its own document: Schemathesis generates requests from
/api/v1/openapi.json (documented examples, boundary values, then random ones) against the
real binary on a fresh SQLite database, as an admin, with ids of real records in the paths.
It fails on any 5xx and on any answer the document does not describe (status, content
type, body, headers). Run: ALPES_BIN=target/debug/alpes python3 tests/openapi/check.py
(installs Schemathesis from PyPI when missing). ALPES_SCHEMATHESIS_SEED picks another run.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
])
ADMIN = ("admin@example.com", "openapi check password")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def graphql(base, token, query, variables=None):
    answer = call("POST", f"{base}/graphql", {"query": query, "variables": variables or {}}, token)
    if answer.get("errors"):
        raise RuntimeError(answer["errors"])
    return answer["data"]


def schemathesis():
    """The command, run from this Python (its scripts need not be on PATH)."""
    try:
        import schemathesis.cli  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "schemathesis"], check=True)
    return [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]


def main():
    alpes_bin = os.environ.get("ALPES_BIN", "target/debug/alpes")
    st = schemathesis()
    work = tempfile.mkdtemp(prefix="alpes-openapi-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ,
               DATABASE_URL=f"sqlite://{work}/alpes.db?mode=rwc", ALPES_DATA_DIR=f"{work}/data",
               ALPES_ADDR=f"127.0.0.1:{port}", ALPES_ADMIN_EMAIL=ADMIN[0], ALPES_ADMIN_PASSWORD=ADMIN[1],
               STRIPE_WEBHOOK_SECRET="whsec_openapi", RUST_LOG="warn")
    env.pop("ALPES_JWT_SECRET", None)
    log = open(f"{work}/alpes.log", "w")
    server = subprocess.Popen([alpes_bin], env=env, stdout=log, stderr=subprocess.STDOUT)
    passed = False
    try:
        deadline = time.time() + 60
        while True:
            try:
                call("GET", f"{base}/health")
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("alpes did not start")
                time.sleep(0.2)
        token = graphql(base, None, "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                        {"e": ADMIN[0], "p": ADMIN[1]})["login"]["token"]
        # Real records, so that the generated paths also reach existing ones.
        affiliate = call("POST", f"{base}/api/v1/afiliados", {
            "nombre": "OpenAPI Partner", "email": "openapi@example.com",
            "configuracion_comisiones": {"comision_base": 10, "minimo_pago": 50}}, token)
        campaign = call("POST", f"{base}/api/v1/campanas", {
            "nombre": "OpenAPI Campaign", "fecha_inicio": "2026-01-01T00:00:00Z", "moneda": "USD",
            "configuracion_comisiones": {"comision_venta": 10}}, token)
        ids = {"affiliate": affiliate.get("afiliado_id") or affiliate.get("id"),
               "campaign": campaign.get("campana_id") or campaign.get("id")}
        print(f"records: {ids}")
        config = f"{work}/schemathesis.toml"
        with open(config, "w") as f:
            f.write(f"""
[parameters]
"path.id" = "{ids['affiliate']}"
"path.campaign" = "{ids['campaign']}"

[[operations]]
include-path-regex = "^/api/v1/campanas/"
parameters = {{ "path.id" = "{ids['campaign']}" }}
""")
        seed = os.environ.get("ALPES_SCHEMATHESIS_SEED", "20261205")
        run = subprocess.run([
            *st, "--config-file", config, "run", f"{base}/api/v1/openapi.json",
            "-H", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--max-examples", "50",
            "--seed", seed,
            "--workers", "2",
            # Fills the database with demo data: exercised by its own tests.
            "--exclude-path", "/api/v1/admin/seed",
        ], cwd=work)
        passed = run.returncode == 0
        if server.poll() is not None:
            passed = False
            print("alpes stopped during the run")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        if not passed:
            print(f"--- {work}/alpes.log (last lines)")
            print("".join(open(f"{work}/alpes.log").readlines()[-30:]))
    print(f"test result: {'ok' if passed else 'FAILED'}. {1 if passed else 0} passed; {0 if passed else 1} failed; tests/openapi/check.py")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
