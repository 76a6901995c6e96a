// The public GraphQL-over-HTTP audit suite (graphql-http's `serverAudits`) against the real
// `alpes` binary on a fresh SQLite database: every MUST and every SHOULD passes, with
// neither a failure nor a warning.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serverAudits } from "graphql-http";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function binary() {
  if (process.env.ALPES_BIN) return process.env.ALPES_BIN;
  return join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "debug", "alpes");
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

let child;
let url;

before(async () => {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`alpes binary not found at ${bin}: cargo build -p alpes (or set ALPES_BIN)`);
  const dataDir = mkdtempSync(join(tmpdir(), "alpes-graphql-http-"));
  const port = await freePort();
  const env = {
    ...process.env,
    ALPES_ADDR: `127.0.0.1:${port}`,
    ALPES_DATA_DIR: dataDir,
    DATABASE_URL: `sqlite://${join(dataDir, "alpes.db")}?mode=rwc`,
    ALPES_ADMIN_EMAIL: "admin@example.com",
    ALPES_ADMIN_PASSWORD: "graphql-http-admin-pass-1",
    RUST_LOG: "warn",
  };
  child = spawn(bin, ["serve"], { env, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  url = `${base}/graphql`;
});

after(() => child?.kill("SIGTERM"));

test("every GraphQL-over-HTTP audit passes, MUST and SHOULD alike", async () => {
  const results = [];
  for (const audit of serverAudits({ url })) {
    results.push({ audit, result: await audit.fn() });
  }
  const line = ({ audit, result }) => `${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason}`;
  // MUST (error) and SHOULD (warn) are required; a MAY left out is a notice, shown.
  const problems = results.filter(({ result }) => result.status === "error" || result.status === "warn").map(line);
  const notices = results.filter(({ result }) => result.status === "notice").map(line);
  const ok = results.filter(({ result }) => result.status === "ok").length;
  console.log(`${results.length} audits: ${ok} ok, ${problems.length} failures or warnings, ${notices.length} notices (MAY)`);
  for (const notice of notices) console.log(`  ${notice}`);
  assert.ok(results.length > 30, `only ${results.length} audits ran`);
  assert.deepEqual(problems, []);
});
