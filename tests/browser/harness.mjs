// Starts the real `alpes` binary on a fresh SQLite database and a headless Chromium
// (Debian's package) driven by playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, existsSync } from "node:fs";
import { createHmac } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, "../..");
export const ADMIN = { email: "admin@example.com", password: "browser-admin-pass-1" };
export const STRIPE_SECRET = "whsec_browser_test_secret";

function binary() {
  if (process.env.ALPES_BIN) return process.env.ALPES_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
  return join(target, "debug", "alpes");
}

function chromiumPath() {
  for (const p of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && existsSync(p)) return p;
  }
  throw new Error("Chromium not found: apt-get install chromium (or set CHROMIUM_PATH)");
}

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}

/** A running server with its own data directory; `seedDays` fills demo data first. */
export async function startServer({ seedDays = 0 } = {}) {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`alpes binary not found at ${bin}: cargo build -p alpes (or set ALPES_BIN)`);
  const dataDir = mkdtempSync(join(tmpdir(), "alpes-browser-"));
  const port = await freePort();
  const env = {
    ...process.env,
    ALPES_ADDR: `127.0.0.1:${port}`,
    ALPES_DATA_DIR: dataDir,
    DATABASE_URL: `sqlite://${join(dataDir, "alpes.db")}?mode=rwc`,
    ALPES_ADMIN_EMAIL: ADMIN.email,
    ALPES_ADMIN_PASSWORD: ADMIN.password,
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    RUST_LOG: "warn",
  };
  if (seedDays > 0) execFileSync(bin, ["seed", "--days", String(seedDays)], { env, stdio: "inherit" });
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) return { base, child, dataDir, stop: () => child.kill("SIGTERM") };
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null) throw new Error(`alpes exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("alpes did not answer /health in 20 s");
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** Posts a Stripe event signed as Stripe does (`t=…,v1=HMAC-SHA256(t.body)`). */
export async function postStripeEvent(base, event) {
  const body = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", STRIPE_SECRET).update(`${t}.${body}`).digest("hex");
  const r = await fetch(`${base}/api/v1/webhooks/stripe`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` },
    body,
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

export async function graphql(base, token, query, variables = {}) {
  const r = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
