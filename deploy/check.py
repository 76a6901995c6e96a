#!/usr/bin/env python3
"""Checks the monitoring in deploy/ for real, against the running binary.

1. `promtool check rules`, `promtool test rules` and `promtool check config`.
2. Starts `alpes` (ALPES_BIN) on a fresh SQLite database and a Prometheus that scrapes
   it every second and evaluates the alert rules every second.
3. Drives traffic: sign-in, named GraphQL queries and a mutation, tracking events, signed
   Stripe checkouts (one repeated), requests that miss.
4. Asks Prometheus for every expression of every Grafana dashboard panel and of every
   alert rule: each must evaluate without error, and the main ones must return data.
   Every alert rule must be loaded and healthy.

5. Checks the deploy files hold together: the compose file (and `docker compose config`
   where Docker has its compose plugin), the Dockerfile, the systemd unit
   (`systemd-analyze verify`).

Usage: ALPES_BIN=target/debug/alpes python3 deploy/check.py
Needs `prometheus` and `promtool` (Debian's `prometheus` package), `systemd-analyze`
(Debian's `systemd`) and PyYAML.
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

DEPLOY = os.path.dirname(os.path.abspath(__file__))
SECRET = "whsec_deploy_check"
ADMIN = ("ops@alpes.test", "ops-check-password-1")
# Panels whose first query must return data once traffic has flowed.
MAIN_PANELS = [
    "Requests/s",
    "Tracking events/s",
    "Requests/s by route",
    "Events published/s by topic",
    "HTTP latency",
    "GraphQL p95 by operation",
    "Conversions today (UTC)",
    "Revenue today (UTC)",
    "Stripe webhook events/s",
    "Deliveries waiting or DEAD",
    "Outbox",
    "Attribution",
    "Database pool",
    "Resident memory",
]
RATE_WINDOW = "30s"

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok   {what}")
    else:
        failed += 1
        print(f"  FAIL {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "content-type" not in {k.lower() for k in request.headers}:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(url, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def promtool():
    print("==> promtool")
    for args in (
        ["check", "rules", "prometheus/alerts.yml"],
        ["test", "rules", "prometheus/alerts.test.yml"],
        ["check", "config", "prometheus/prometheus.yml"],
    ):
        run = subprocess.run(["promtool", *args], cwd=DEPLOY, capture_output=True, text=True)
        check(run.returncode == 0, "promtool " + " ".join(args) + ("" if run.returncode == 0 else "\n" + run.stdout + run.stderr))


def deploy_files(alpes_bin):
    """The compose file, the Dockerfile and the systemd unit hold together."""
    print("==> deploy files")
    import yaml  # PyYAML (pip install pyyaml)

    with open(os.path.join(DEPLOY, "compose.yaml")) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    for name in ("postgres", "nats", "migrate", "alpes", "proxy", "prometheus", "grafana"):
        check(name in services, f"compose: service {name}")
    alpes = services.get("alpes", {})
    check(alpes.get("deploy", {}).get("replicas", 1) >= 2, "compose: two Alpes replicas or more")
    env = alpes.get("environment", {})
    check(str(env.get("DATABASE_URL", "")).startswith("postgres://") and "ALPES_NATS_URL" in env,
          "compose: replicas share PostgreSQL and NATS")
    check(all(k in env for k in ("ALPES_JWT_SECRET", "ALPES_IP_HASH_SALT")), "compose: shared secrets set on every replica")
    check(services.get("migrate", {}).get("command") == ["migrate"]
          and alpes.get("depends_on", {}).get("migrate", {}).get("condition") == "service_completed_successfully",
          "compose: migrations run once before the replicas")
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                check(os.path.exists(os.path.join(DEPLOY, source)), f"compose: {name} mounts {source}, which exists")
    with open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")) as f:
        prometheus = yaml.safe_load(f)
    names = [n for job in prometheus["scrape_configs"] for sd in job.get("dns_sd_configs", []) for n in sd["names"]]
    check(names == ["alpes"], "prometheus: scrapes each replica of the alpes service")
    with open(os.path.join(DEPLOY, "grafana", "provisioning", "datasources", "prometheus.yml")) as f:
        datasource = yaml.safe_load(f)["datasources"][0]
    check(datasource["url"] == "http://prometheus:9090", "grafana: reads the prometheus service")
    with open(os.path.join(DEPLOY, "caddy", "Caddyfile")) as f:
        check("dynamic a alpes 8000" in f.read(), "proxy: spreads requests over every replica")
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        example = os.path.join(DEPLOY, ".env.example")
        values = dict(line.split("=", 1) for line in open(example).read().splitlines() if "=" in line and not line.startswith("#"))
        filled = {k: (v or "x" * 40) for k, v in values.items()}
        run = subprocess.run(["docker", "compose", "-f", os.path.join(DEPLOY, "compose.yaml"), "config", "-q"],
                             env=dict(os.environ, **filled), capture_output=True, text=True)
        check(run.returncode == 0, "docker compose config" + ("" if run.returncode == 0 else ": " + run.stderr))

    with open(os.path.join(DEPLOY, "..", "Dockerfile")) as f:
        dockerfile = f.read()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    check(len(stages) >= 3 and stages[-1].startswith("debian:"), "Dockerfile: multi-stage, small runtime image")
    check(re.search(r"^USER alpes$", dockerfile, re.M) is not None, "Dockerfile: runs as a user without privileges")
    health = re.search(r'HEALTHCHECK .*CMD \["alpes", "health"', dockerfile)
    help_text = subprocess.run([alpes_bin, "health", "--help"], capture_output=True, text=True)
    check(health is not None and help_text.returncode == 0, "Dockerfile: the health check is a command of the binary")

    with tempfile.TemporaryDirectory() as unit_dir:
        unit = open(os.path.join(DEPLOY, "alpes.service")).read().replace("/usr/local/bin/alpes", os.path.abspath(alpes_bin))
        path = os.path.join(unit_dir, "alpes.service")
        open(path, "w").write(unit)
        run = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        problems = (run.stdout + run.stderr).strip()
        check(run.returncode == 0 and not problems, "systemd-analyze verify alpes.service" + (": " + problems if problems else ""))


def drive(base):
    """Traffic of every kind the dashboards show."""
    status, body = http("POST", f"{base}/graphql", {
        "query": "mutation SignIn($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        "operationName": "SignIn", "variables": {"e": ADMIN[0], "p": ADMIN[1]},
    })
    token = json.loads(body)["data"]["login"]["token"]
    auth = {"authorization": f"Bearer {token}"}
    http("POST", f"{base}/graphql", {
        "query": 'mutation NewCampaign { createCampaign(input: {name: "Ops", code: "ops-check", startsAt: "2024-01-01T00:00:00Z", currency: "USD"}) { id } }',
    }, auth)
    for i in range(40):
        http("POST", f"{base}/graphql", {"query": 'query Dashboard { dashboard(period: "7d") { clicks revenue } }'}, auth)
        http("POST", f"{base}/graphql", {"query": "query Campaigns { campaigns(first: 5) { totalCount } }"}, auth)
        http("POST", f"{base}/tracking/impresiones", {
            "id": f"ops-imp-{i}", "campaña_id": "ops-check", "tipo_evento": "IMPRESION", "usuario_id": f"u{i}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        http("GET", f"{base}/api/v1/afiliados/00000000-0000-0000-0000-00000000000{i % 10}", headers=auth)
    for n in range(3):
        event = {
            "id": f"evt_ops_{n}", "object": "event", "type": "checkout.session.completed", "livemode": False,
            "created": int(time.time()), "data": {"object": {
                "id": f"cs_ops_{n}", "object": "checkout.session", "amount_total": 4900, "currency": "usd",
                "payment_status": "paid", "metadata": {},
            }},
        }
        body = json.dumps(event).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        for _ in range(2 if n == 0 else 1):
            http("POST", f"{base}/api/v1/webhooks/stripe", body, {"stripe-signature": f"t={stamp},v1={signature}"})


def query(prom, expr):
    status, body = http("GET", f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    answer = json.loads(body)
    return status == 200 and answer.get("status") == "success", answer


def main():
    alpes_bin = os.environ.get("ALPES_BIN")
    if not alpes_bin:
        sys.exit("set ALPES_BIN to the alpes binary")
    for tool, package in (("prometheus", "prometheus"), ("promtool", "prometheus"), ("systemd-analyze", "systemd")):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install {package}")
    promtool()
    deploy_files(alpes_bin)

    work = tempfile.mkdtemp(prefix="alpes-deploy-check-")
    alpes_port, prom_port = free_port(), free_port()
    base, prom = f"http://127.0.0.1:{alpes_port}", f"http://127.0.0.1:{prom_port}"
    env = dict(os.environ, ALPES_DATA_DIR=work, ALPES_ADDR=f"127.0.0.1:{alpes_port}",
               ALPES_ADMIN_EMAIL=ADMIN[0], ALPES_ADMIN_PASSWORD=ADMIN[1], STRIPE_WEBHOOK_SECRET=SECRET,
               RUST_LOG="warn")
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {os.path.join(DEPLOY, "prometheus", "alerts.yml")}
scrape_configs:
  - job_name: alpes
    static_configs:
      - targets: ["127.0.0.1:{alpes_port}"]
""")
    processes = []
    try:
        processes.append(subprocess.Popen([alpes_bin, "serve"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=open(os.path.join(work, "alpes.log"), "w")))
        if not wait_for(f"{base}/ready", 60):
            sys.exit("alpes did not become ready")
        processes.append(subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "prometheus.log"), "w")))
        if not wait_for(f"{prom}/-/ready", 60):
            sys.exit("prometheus did not become ready")

        print("==> traffic, scraped every second")
        # Two rounds with scrapes between, so rates over the window have two points.
        drive(base)
        time.sleep(4)
        drive(base)
        time.sleep(6)

        ok, answer = query(prom, 'up{job="alpes"}')
        check(ok and answer["data"]["result"] and answer["data"]["result"][0]["value"][1] == "1",
              "Prometheus scrapes the binary (up == 1)")

        print("==> every dashboard expression evaluates")
        with open(os.path.join(DEPLOY, "grafana", "dashboards", "alpes.json")) as f:
            dashboard = json.load(f)
        for panel in dashboard["panels"]:
            for n, target in enumerate(panel.get("targets", [])):
                expr = target["expr"].replace("$__rate_interval", RATE_WINDOW)
                ok, answer = query(prom, expr)
                has_data = ok and bool(answer["data"]["result"])
                main_one = panel["title"] in MAIN_PANELS and n == 0
                what = f'{panel["title"]} [{target["refId"]}]: {expr}'
                if not ok:
                    check(False, f"{what} -> {answer.get('error')}")
                elif main_one:
                    check(has_data, f"{what} returns data" if has_data else f"{what} returned no data")
                else:
                    check(True, what)

        print("==> every alert expression evaluates, every rule is loaded and healthy")
        with open(os.path.join(DEPLOY, "prometheus", "alerts.yml")) as f:
            text = f.read()
        status, body = http("GET", f"{prom}/api/v1/rules")
        rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
        expected = len(re.findall(r"^\s*- alert:", text, re.M))
        check(len(rules) == expected, f"{len(rules)} of {expected} alert rules loaded")
        for rule in rules:
            ok, answer = query(prom, rule["query"])
            check(ok and rule.get("health") in ("ok", "unknown"),
                  f'{rule["name"]}: evaluates ({rule.get("health")}{", " + rule["lastError"] if rule.get("lastError") else ""})')
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if failed:
            for log in ("alpes.log", "prometheus.log"):
                path = os.path.join(work, log)
                if os.path.exists(path):
                    print(f"--- {log} (last lines)")
                    print("".join(open(path).readlines()[-20:]))
        shutil.rmtree(work, ignore_errors=True)

    print(f"test result: {'ok' if not failed else 'FAILED'}. {passed} passed; {failed} failed; deploy/check.py")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
