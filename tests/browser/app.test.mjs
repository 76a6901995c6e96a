// The admin app and the affiliate portal in real Chromium against the real server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, postStripeEvent, graphql, ADMIN, ROOT } from "./harness.mjs";

const SHOTS = process.env.ALPES_SCREENSHOTS ? join(ROOT, process.env.ALPES_SCREENSHOTS) : null;
const SEED_DAYS = Number(process.env.ALPES_BROWSER_SEED_DAYS ?? "3");
let server;
let browser;
let admin; // the admin's page, signed in once
const state = {};
/** What the browser refused under the app's Content-Security-Policy: must stay empty. */
const cspViolations = [];

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

/** Chooses in a searchable picker: types part of a name, then clicks the match. */
async function pick(input, typed, name) {
  await input.fill(typed);
  await input.page().getByRole("option", { name: new RegExp(`^${name}\\b`) }).click();
  assert.equal(await input.inputValue(), name);
}

async function signIn(page, email, password) {
  await page.goto(`${server.base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

before(async () => {
  server = await startServer({ seedDays: SEED_DAYS });
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(10000);
  admin = await context.newPage();
  admin.on("pageerror", (e) => console.error("page error:", e));
  admin.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("a wrong password is refused in words, the right one opens the dashboard", async () => {
  await admin.goto(`${server.base}/affiliates`);
  await admin.waitForURL(/\/login\?next=/);
  await admin.getByLabel("Email").fill(ADMIN.email);
  await admin.getByLabel("Password").fill("not-the-password");
  await admin.getByRole("button", { name: "Sign in" }).click();
  await admin.getByRole("alert").waitFor();
  assert.match(await admin.getByRole("alert").innerText(), /sign in again|invalid|password/i);
  await admin.getByLabel("Password").fill(ADMIN.password);
  await admin.getByRole("button", { name: "Sign in" }).click();
  // Back to the page that was asked for.
  await admin.waitForURL(/\/affiliates$/);
  await admin.getByRole("heading", { name: "Affiliates" }).waitFor();
  await admin.goto(`${server.base}/`);
  await admin.getByRole("heading", { name: "Dashboard" }).waitFor();
  await admin.locator(".kpi", { hasText: "Conversion rate" }).waitFor();
  await admin.getByLabel("Period").selectOption("7d");
  await admin.waitForURL(/period=7d/);
  await admin.locator(".kpi").first().waitFor();
  await admin.goto(`${server.base}/?period=30d`);
  await admin.locator(".chart svg").waitFor();
  await shot(admin, "dashboard");

  // "Commissions pending" is money owed: calculated amounts and what those awaiting
  // calculation are expected to pay, as the API sums them, never their sale amounts.
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const { dashboard } = await graphql(server.base, token,
    'query { dashboard(period: "30d") { currency commissions { status count amount } } }');
  const open = dashboard.commissions.filter((c) => c.status === "PENDING" || c.status === "CALCULATED");
  const owed = open.reduce((sum, c) => sum + Number(c.amount), 0);
  const awaiting = dashboard.commissions.find((c) => c.status === "PENDING").count;
  const kpi = await admin.locator(".kpi", { hasText: "Commissions pending" }).innerText();
  const shown = new Intl.NumberFormat("en-US", { style: "currency", currency: dashboard.currency }).format(owed);
  assert.ok(kpi.includes(shown), `${kpi} should show ${shown}`);
  if (awaiting > 0) assert.match(kpi, new RegExp(`${awaiting} awaiting calculation`));
});

test("create a campaign and activate it", async () => {
  await admin.goto(`${server.base}/campaigns`);
  await admin.getByRole("link", { name: "New campaign" }).click();
  await admin.getByLabel("Name", { exact: true }).fill("Browser Spring Launch");
  await admin.getByLabel("Code").fill("browser-spring");
  await admin.getByLabel("Budget").fill("5000");
  await admin.getByLabel("Currency").fill("USD");
  await admin.getByLabel("Sale rate (%)").fill("12.5");
  await admin.getByLabel("Model").selectOption("LINEAR");
  await admin.getByRole("button", { name: "Create campaign" }).click();
  await admin.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/);
  await admin.getByRole("heading", { name: "Browser Spring Launch" }).waitFor();
  assert.equal(await admin.locator(".page-head .badge").innerText(), "Draft");
  await admin.getByRole("button", { name: "Activate" }).click();
  await admin.locator(".page-head .badge", { hasText: "Active" }).waitFor();
  assert.ok(await admin.getByText("Linear, 30-day lookback").isVisible());
  state.campaignUrl = admin.url();
});

test("a bad campaign form shows the server's error in words and writes nothing", async () => {
  await admin.goto(`${server.base}/campaigns/new`);
  await admin.getByLabel("Name", { exact: true }).fill("Broken");
  await admin.getByLabel("Currency").fill("XX");
  await admin.getByRole("button", { name: "Create campaign" }).click();
  const alert = admin.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /check the form/i);
  assert.match(admin.url(), /\/campaigns\/new$/);
});

test("create an affiliate; bank details come back masked; give portal access", async () => {
  await admin.goto(`${server.base}/affiliates/new`);
  await admin.getByLabel("Name", { exact: true }).fill("Browser Partner");
  await admin.getByLabel("Email").fill("partner@browser.test");
  await admin.getByLabel("Code").fill("browser-partner");
  await admin.getByLabel("Base rate (%)").fill("15");
  await admin.getByLabel("Bank", { exact: true }).fill("Banco Alpino");
  await admin.getByLabel("Account type").fill("savings");
  await admin.getByLabel("Account number").fill("0012345678");
  await admin.getByRole("button", { name: "Create affiliate" }).click();
  await admin.waitForURL(/\/affiliates\/[0-9a-f-]{36}$/);
  await admin.getByRole("heading", { name: "Browser Partner" }).waitFor();
  const account = await admin.getByTestId("account-number").innerText();
  assert.ok(!account.includes("0012345678"), `account shown unmasked: ${account}`);
  assert.match(account, /5678$/);
  await admin.getByLabel("Sign-in email").fill("portal@browser.test");
  await admin.getByLabel("Password").fill("portal-pass-123");
  await admin.getByRole("button", { name: "Give portal access" }).click();
  await admin.locator(".toast", { hasText: "Portal access" }).waitFor();

  // The list finds it by search, and the search is in the URL.
  await admin.goto(`${server.base}/affiliates`);
  await admin.getByLabel("Search affiliates").fill("browser-par");
  await admin.waitForURL(/q=browser-par/);
  await admin.getByRole("link", { name: "Browser Partner" }).waitFor();
  await admin.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
  await admin.getByLabel("Search affiliates").fill("");
  await admin.waitForURL((u) => !u.search.includes("q="));
  await admin.locator("tbody tr").first().waitFor();
  await shot(admin, "affiliates");
});

test("a tracking link for the affiliate, with a copy button", async () => {
  await admin.goto(state.campaignUrl);
  await admin.getByLabel("Affiliate").fill("browser-partner");
  await admin.getByLabel("Destination URL").fill("https://shop.example.com/spring");
  await admin.getByRole("button", { name: "Create link" }).click();
  const row = admin.locator("tbody tr", { hasText: "Browser Partner" });
  await row.waitFor();
  state.link = (await row.locator(".mono").innerText()).trim();
  assert.match(state.link, /\/r\/[A-Za-z0-9_-]+$/);
  await row.getByRole("button", { name: /Copy/ }).click();
  await admin.locator(".toast", { hasText: "Link copied" }).waitFor();
  await shot(admin, "campaign");
});

test("a signed Stripe payment shows up live in the event feed and in conversions", async () => {
  await admin.goto(`${server.base}/events`);
  await admin.getByTestId("feed-state").filter({ hasText: "listening" }).waitFor();
  await admin.waitForTimeout(300);

  // A visitor follows the link; the shop passes the click id to Stripe.
  const click = await fetch(state.link.replace(/^https?:\/\/[^/]+/, server.base), { redirect: "manual" });
  assert.equal(click.status, 302);
  const cid = new URL(click.headers.get("location")).searchParams.get("alpes_cid");
  assert.ok(cid, "redirect carries alpes_cid");

  const now = Math.floor(Date.now() / 1000);
  const event = {
    id: `evt_browser_${now}`, object: "event", type: "checkout.session.completed", livemode: false, created: now,
    data: { object: {
      id: `cs_browser_${now}`, object: "checkout.session", amount_total: 12900, currency: "usd", payment_status: "paid",
      payment_intent: `pi_browser_${now}`, client_reference_id: cid,
      customer_details: { email: "buyer@example.com" },
      metadata: { campaign: "browser-spring", source: "browser", product_id: "SPRING-1" },
    } },
  };
  const answer = await postStripeEvent(server.base, event);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));

  await admin.locator("[data-testid=feed] li", { hasText: "conversion_registrada" }).first().waitFor({ timeout: 10000 });
  const paid = admin.locator("[data-testid=feed] li", { hasText: "pedido_pagado" }).first();
  await paid.waitFor();
  // In plain words, with the amount and the campaign by name.
  await paid.getByText("Order paid").waitFor();
  await paid.getByText("$129.00").waitFor();
  await paid.getByRole("link", { name: "Browser Spring Launch" }).waitFor();
  // Its state reads in English; the Spanish wire name stays only as the event's name.
  await paid.getByText("paid", { exact: true }).waitFor();
  assert.doesNotMatch(await paid.locator(".details").innerText(), /pagado/);
  await admin.locator("[data-testid=feed] li", { hasText: "Conversion recorded" }).first().waitFor();
  await shot(admin, "live-feed");
  // Every topic can be chosen, and choosing one narrows what is already listed.
  const topics = await admin.getByLabel("Topic").locator("option").allInnerTexts();
  for (const topic of ["interaccion-registrada", "evento-impresion-registrada", "comisiones.eventos"]) {
    assert.ok(topics.some((t) => t.includes(topic)), `${topic} in ${topics.join(", ")}`);
  }
  await admin.getByLabel("Topic").selectOption("conversiones.eventos");
  await admin.waitForURL(/topic=conversiones/);
  const listed = await admin.locator("[data-testid=feed] li code").allInnerTexts();
  assert.ok(listed.length > 0 && listed.every((t) => /^(pedido|conversion)_/.test(t)), listed.join(", "));
  await admin.getByLabel("Topic").selectOption("");

  const campaignId = state.campaignUrl.split("/").pop();
  await admin.goto(`${server.base}/conversions?campaign=${campaignId}`);
  const row = admin.locator("tbody tr", { hasText: "$129.00" });
  await row.waitFor();
  assert.equal(await admin.locator("tbody tr").count(), 1);
  assert.ok((await row.innerText()).includes("Browser Partner"));
  await row.getByRole("link").click();
  await admin.getByRole("heading", { name: "Sale of $129.00" }).waitFor();
  // The attribution worker credits it a moment later: the journey, then credits per model.
  const journey = admin.getByTestId("journey");
  for (let i = 0; i < 40 && !(await journey.isVisible()); i++) {
    await admin.waitForTimeout(250);
    await admin.reload();
    await admin.getByRole("heading", { name: "Sale of $129.00" }).waitFor();
  }
  assert.match(await journey.innerText(), /Click/);
  const credits = await admin.getByTestId("credits").innerText();
  assert.match(credits, /last click/i);
  assert.match(credits, /\$129\.00/);
  state.conversionUrl = admin.url();
  await shot(admin, "conversion");
  // What was bought, as a table rather than raw JSON (or said to be missing).
  const products = await admin.getByTestId("products").innerText();
  assert.match(products, /SPRING-1/);
  assert.match(products, /\$129\.00/);
  // A flat campaign shows its amount per conversion, not rates that do not apply.
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const { createCampaign: flat } = await graphql(server.base, token,
    `mutation { createCampaign(input: { name: "Browser Flat", code: "browser-flat", startsAt: "2024-01-01T00:00:00Z",
      currency: "USD", commissionConfig: { commissionType: FLAT, flatAmount: "5", saleRate: "10" } }) { id } }`);
  await admin.goto(`${server.base}/campaigns/${flat.id}`);
  const rules = admin.locator(".panel", { hasText: "Rules" });
  await rules.getByText("$5.00 per conversion").waitFor();
  assert.doesNotMatch(await rules.innerText(), /Sale rate/);

  await admin.goto(`${server.base}/orders`);
  await admin.locator("tbody tr", { hasText: `cs_browser_${now}` }).waitFor();
  await shot(admin, "orders");
  await admin.goto(`${server.base}/webhooks`);
  const processed = admin.locator("tbody tr", { hasText: `evt_browser_${now}` });
  await processed.waitFor();
  await shot(admin, "webhooks");
  // A processed event cannot be replayed, so none is offered.
  await processed.getByText("Processed").waitFor();
  assert.equal(await processed.getByRole("button", { name: "Replay" }).count(), 0);
});

test("its commission is calculated, approved from the list and exported as CSV", async () => {
  await admin.goto(state.conversionUrl);
  await admin.getByRole("link", { name: /Commissions of this conversion/ }).click();
  await admin.waitForURL(/\/commissions\?conversion=/);
  const row = admin.locator("tbody tr", { hasText: "Browser Partner" });
  await row.waitFor();
  assert.equal(await admin.locator("tbody tr").count(), 1);
  assert.match(await row.innerText(), /Pending/);
  // Before it is calculated it shows what it is expected to pay, marked as such.
  assert.match(await row.innerText(), /≈ \$16\.12/);
  // The filter that came in the link is shown, and can be removed.
  const chips = admin.getByLabel("Active filters");
  assert.match(await chips.innerText(), /Conversion/);
  admin.once("dialog", (d) => d.accept());
  await admin.getByRole("button", { name: "Calculate all pending (1)" }).click();
  await admin.locator(".toast", { hasText: "1 commissions calculated" }).waitFor();
  await row.locator(".badge", { hasText: "Calculated" }).waitFor();
  // 12.5 % of $129.00 is 16.125: rounded half-even, once.
  assert.match(await row.innerText(), /\$16\.12/);
  await row.getByRole("checkbox").check();
  await admin.getByRole("button", { name: "Approve selected (1)" }).click();
  await row.locator(".badge", { hasText: "Approved" }).waitFor();
  await admin.locator(".toast", { hasText: "1 commissions approved" }).waitFor();

  const [download] = await Promise.all([admin.waitForEvent("download"), admin.getByRole("button", { name: "Export CSV" }).click()]);
  const path = await download.path();
  const csv = (await import("node:fs")).readFileSync(path, "utf8");
  const lines = csv.trim().split("\n");
  assert.ok(lines.length >= 2, csv);
  const conversionId = state.conversionUrl.split("/").pop();
  assert.ok(lines.some((l) => l.includes(conversionId) && /aprobada|approved/i.test(l)), csv.slice(0, 500));
  await chips.getByRole("button", { name: "Remove the conversion filter" }).click();
  await admin.waitForURL((url) => !url.searchParams.has("conversion"));
  assert.equal(await admin.getByLabel("Active filters").count(), 0);

  await admin.goto(`${server.base}/commissions?status=APPROVED`);
  await admin.locator("tbody tr").first().waitFor();
  await shot(admin, "commissions");
  await admin.goto(`${server.base}/payouts`);
  await admin.getByRole("heading", { name: "Payouts" }).waitFor();
  await shot(admin, "payouts");
  // A payout is of one currency, chosen in the form: none approved in EUR, said in words.
  const form = admin.getByRole("form", { name: "New payout" });
  await pick(form.getByLabel("Pay out the approved commissions of"), "browser", "Browser Partner");
  await form.getByLabel("in currency").fill("eur");
  await form.getByRole("button", { name: "Create payout" }).click();
  await admin.locator(".toast", { hasText: /no approved, unpaid commissions in EUR/ }).waitFor();
});

test("an attribution is reverted as fraud from its conversion page", async () => {
  const click = await fetch(state.link.replace(/^https?:\/\/[^/]+/, server.base), { redirect: "manual" });
  const cid = new URL(click.headers.get("location")).searchParams.get("alpes_cid");
  const now = Math.floor(Date.now() / 1000);
  const answer = await postStripeEvent(server.base, {
    id: `evt_browser_fraud_${now}`, object: "event", type: "checkout.session.completed", livemode: false, created: now,
    data: { object: {
      id: `cs_browser_fraud_${now}`, object: "checkout.session", amount_total: 4900, currency: "usd", payment_status: "paid",
      payment_intent: `pi_browser_fraud_${now}`, client_reference_id: cid, metadata: { campaign: "browser-spring" },
    } },
  });
  assert.equal(answer.status, 200);
  const campaignId = state.campaignUrl.split("/").pop();
  await admin.goto(`${server.base}/conversions?campaign=${campaignId}`);
  await admin.locator("tbody tr", { hasText: "$49.00" }).getByRole("link").click();
  await admin.getByRole("heading", { name: "Sale of $49.00" }).waitFor();
  const revert = admin.getByRole("button", { name: "Revert as fraud" });
  for (let i = 0; i < 40 && !(await revert.isVisible()); i++) {
    await admin.waitForTimeout(250);
    await admin.reload();
    await admin.getByRole("heading", { name: "Sale of $49.00" }).waitFor();
  }
  admin.once("dialog", (d) => d.accept());
  await revert.click();
  await admin.locator(".toast", { hasText: "Attribution reverted" }).waitFor();
  await admin.getByText("Reverted fraud").first().waitFor();
  assert.ok(await revert.isDisabled());
  // Its credits no longer show as earned.
  const chips = admin.locator("[data-testid=journey] .credit");
  assert.ok((await chips.count()) > 0);
  for (const chip of await chips.all()) {
    assert.match(await chip.getAttribute("class"), /credit-void/);
    assert.match(await chip.getAttribute("title"), /Not counted/);
  }
});

test("the attribution report compares the models", async () => {
  await admin.goto(`${server.base}/attribution?by=CAMPAIGN`);
  await admin.getByRole("heading", { name: "Attribution" }).waitFor();
  await admin.locator("tbody tr", { hasText: "browser-spring" }).first().waitFor();
  assert.match(await admin.locator("thead").innerText(), /Markov/i);
  await shot(admin, "attribution");
});

test("the reconciliation shows the books balance and names a bad period in words", async () => {
  await admin.goto(`${server.base}/reconciliation?period=30d`);
  await admin.getByRole("heading", { name: "Reconciliation" }).waitFor();
  await admin.getByRole("status").getByText("The books balance").waitFor();

  // The USD books count every order Stripe paid in the period: the seeded ones and this
  // suite's $129.00 and $49.00 (the one reverted as fraud is still a paid order).
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const orders = [];
  for (let after = null; ; ) {
    const { orders: page } = await graphql(server.base, token,
      "query($f: OrderFilter, $a: String) { orders(filter: $f, first: 100, after: $a) { pageInfo { hasNextPage endCursor } nodes { amount currency status stripeSessionId } } }",
      { f: { from: since }, a: after });
    orders.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  const paid = orders.filter((o) => o.currency === "USD" && ["PAID", "PARTIALLY_REFUNDED", "REFUNDED"].includes(o.status));
  const ours = paid.filter((o) => o.stripeSessionId.startsWith("cs_browser_")).map((o) => Number(o.amount)).sort((a, b) => a - b);
  assert.deepEqual(ours, [49, 129]);
  const cents = paid.reduce((sum, o) => sum + Math.round(Number(o.amount) * 100), 0);
  const usdMoney = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  const usd = admin.getByRole("region", { name: "Books in USD" });
  await usd.waitFor();
  const books = await usd.innerText();
  assert.match(books, new RegExp(`Stripe orders\\s+${paid.length}\\b`), books);
  assert.ok(books.includes(`Paid\n${usdMoney.format(cents / 100)}`), `USD paid should be ${usdMoney.format(cents / 100)}:\n${books}`);

  // Every check is listed, in words, with its status.
  const { reconciliation } = await graphql(server.base, token, 'query { reconciliation(period: "30d") { checks { code } } }');
  assert.equal(await admin.locator("table.check-table tbody tr").count(), reconciliation.checks.length);
  const payouts = admin.locator('tr[data-code="PAYOUT_MATCHES_COMMISSIONS"]');
  const payoutsText = await payouts.innerText();
  assert.match(payoutsText, /Payout matches commissions/);
  assert.match(payoutsText, /\bOk\b/);
  await shot(admin, "reconciliation");

  // A period the server does not take: its error in words, naming the period.
  await admin.getByLabel("Or any period").fill("13x");
  await admin.getByRole("button", { name: "Show" }).click();
  await admin.waitForURL(/period=13x/);
  const alert = admin.getByRole("alert");
  await alert.getByText(/is not a period/).waitFor();
  assert.match(await alert.innerText(), /check the form \(period\): '13x' is not a period/i);
  // A preset brings the books back.
  await admin.getByLabel(/^Period/).selectOption("30d");
  await admin.waitForURL(/period=30d/);
  await admin.getByRole("status").getByText("The books balance").waitFor();
});

test("integrations: deliveries and the attempt log, switchable and bookmarkable", async () => {
  await admin.goto(`${server.base}/integrations`);
  await admin.getByRole("heading", { name: "Integrations" }).waitFor();
  // No platform is configured on this server, so no delivery was made: an empty state that says why.
  await admin.getByText("Each paid order gets one per configured integration").waitFor();
  await admin.getByRole("button", { name: "Log" }).click();
  await admin.waitForURL(/view=log/);
  await admin.getByText("No attempts logged yet.").waitFor();
});

test("an API key for the shop's server: shown once, records a conversion, revoked it is refused", async () => {
  await admin.goto(`${server.base}/api-keys`);
  await admin.getByRole("heading", { name: "API keys" }).waitFor();
  await admin.getByLabel("Name").fill("shop server");
  await admin.getByLabel("Role").selectOption("ANALYST");
  await admin.getByLabel("May record conversions").check();
  await admin.getByRole("button", { name: "Create key" }).click();
  const secret = (await admin.getByTestId("api-key-secret").innerText()).trim();
  assert.match(secret, /^alpes_sk_[A-Za-z0-9]{40}$/);
  const row = admin.locator("tbody tr", { hasText: "shop server" });
  await row.waitFor();
  assert.ok(!(await row.innerText()).includes(secret), "the list shows only the key's first characters");
  await shot(admin, "api-keys");

  const conversion = (id) => ({
    id, "campaña_id": "browser-spring", tipo_conversion: "VENTA", valor: 42, moneda: "USD",
  });
  const post = (key, id) =>
    fetch(`${server.base}/tracking/conversiones`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
      body: JSON.stringify(conversion(id)),
    });
  assert.equal((await post(null, "browser-keyless")).status, 401);
  const recorded = await post(secret, "browser-keyed");
  assert.equal(recorded.status, 201, await recorded.text());

  admin.once("dialog", (dialog) => dialog.accept());
  await row.getByRole("button", { name: "Revoke" }).click();
  await admin.locator(".toast", { hasText: "revoked" }).waitFor();
  await row.getByText("revoked").waitFor();
  assert.equal((await post(secret, "browser-after-revoke")).status, 401);
});

test("the affiliate signs in and sees only their own data", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  await signIn(page, "portal@browser.test", "portal-pass-123");
  const nav = await page.getByRole("navigation", { name: "Main" }).innerText();
  assert.match(nav, /My links/);
  assert.doesNotMatch(nav, /Affiliates|Campaigns|Orders|Users|GraphiQL/);

  await page.goto(`${server.base}/links`);
  await page.getByRole("heading", { name: "My links" }).waitFor();
  await page.locator("tbody tr").first().waitFor();
  assert.equal(await page.locator("tbody tr").count(), 1);
  assert.ok((await page.locator("tbody").innerText()).includes(state.link));

  await page.goto(`${server.base}/conversions`);
  await page.locator("tbody tr").first().waitFor();
  const rows = await page.locator("tbody tr").allInnerTexts();
  assert.equal(rows.length, 2, rows.join("\n"));
  assert.ok(rows.some((r) => /\$129\.00/.test(r)), rows.join("\n"));
  await shot(page, "portal-conversions");

  await page.goto(`${server.base}/commissions`);
  await page.getByRole("heading", { name: "My commissions" }).waitFor();
  await page.locator("tbody tr").first().waitFor();
  const commissions = await page.locator("tbody tr").allInnerTexts();
  assert.ok(commissions.some((r) => /Approved/.test(r) && /\$16\.12/.test(r)), commissions.join("\n"));
  assert.equal(await page.getByRole("button", { name: /Approve/ }).count(), 0);

  // Their overview: what they earned, per currency, and how far the next payout is.
  await page.goto(`${server.base}/`);
  const earnings = page.getByRole("region", { name: "Your earnings" });
  const usd = earnings.locator("tbody tr", { hasText: "USD" });
  await usd.waitFor();
  const line = await usd.innerText();
  assert.match(line, /\$16\.12/, line);
  assert.match(line, /ready to be paid out|more to reach the/, line);

  // Admin pages are not theirs: the router sends them home, the API refuses.
  await page.goto(`${server.base}/affiliates`);
  await page.waitForURL(`${server.base}/`);
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const r = await fetch(`${server.base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: "{ affiliates(first: 100) { totalCount nodes { code } } }" }),
  });
  const body = await r.json();
  assert.deepEqual(body.data.affiliates.nodes.map((n) => n.code), ["browser-partner"]);
  await context.close();
});

test("phone width: the menu folds away and the pages still work", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page, ADMIN.email, ADMIN.password);
  const sidebar = page.getByRole("navigation", { name: "Main" });
  assert.equal(await sidebar.isVisible(), false);
  await page.getByRole("button", { name: /Menu/ }).click();
  await sidebar.getByRole("link", { name: "Conversions" }).click();
  await page.getByRole("heading", { name: "Conversions" }).waitFor();
  assert.equal(await sidebar.isVisible(), false);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page scrolls sideways by ${overflow}px`);
  await shot(page, "phone-conversions");
  // The reconciliation's books and checks fit the phone too.
  await page.getByRole("button", { name: /Menu/ }).click();
  await sidebar.getByRole("link", { name: "Reconciliation" }).click();
  await page.getByRole("status").getByText("The books balance").waitFor();
  await page.getByRole("region", { name: "Books in USD" }).waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(wide <= 1, `the reconciliation scrolls sideways by ${wide}px`);
  await shot(page, "phone-reconciliation");
  await context.close();
});

test("no list scrolls sideways, at 1280 px nor on a 390 px phone (cards there)", async () => {
  const pages = ["/", "/affiliates", "/campaigns", "/links", "/conversions", "/attribution", "/commissions", "/payouts",
    "/reconciliation", "/orders", "/webhooks", "/integrations", "/events", "/users", "/api-keys"];
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    const context = await browser.newContext({ viewport: { width, height } });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    await signIn(page, ADMIN.email, ADMIN.password);
    for (const path of pages) {
      await page.goto(`${server.base}${path}`);
      await page.locator("main h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      const wide = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth - window.innerWidth,
        lists: [...document.querySelectorAll("main .table-wrap, main table")]
          .filter((e) => e.scrollWidth > e.clientWidth + 1)
          .map((e) => `${e.tagName.toLowerCase()} by ${e.scrollWidth - e.clientWidth}px`),
      }));
      assert.ok(wide.page <= 1, `${path} at ${width} px scrolls sideways by ${wide.page}px`);
      assert.deepEqual(wide.lists, [], `${path} at ${width} px: a list scrolls sideways`);
    }
    if (width === 390) {
      // On the phone, each commission is a card: its status and actions are on screen.
      await page.goto(`${server.base}/commissions`);
      const card = page.locator("tbody tr").first();
      await card.waitFor();
      const cell = card.locator("td[data-label=Status]");
      assert.equal(await cell.evaluate((td) => getComputedStyle(td).display), "block");
      const status = await cell.boundingBox();
      assert.ok(status && status.x >= 0 && status.x + status.width <= width, `status at ${JSON.stringify(status)}`);
      await shot(page, "phone-commissions");
    }
    await context.close();
  }
});

test("GraphiQL and the API docs come from the binary: offline, signed in, explorer and subscriptions", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(15000);
  // No internet: any request that leaves this server is refused and remembered.
  const outside = [];
  await context.route((url) => !url.href.startsWith(server.base), (route) => {
    outside.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const problems = [];
  context.on("console", (msg) => {
    if (msg.type() === "error" || /Content Security Policy/i.test(msg.text())) problems.push(msg.text());
  });
  await signIn(page, ADMIN.email, ADMIN.password);
  // Opened from the admin app, already signed in: nothing to paste.
  const [graphiql] = await Promise.all([context.waitForEvent("page"), page.getByRole("link", { name: /GraphiQL/ }).click()]);
  graphiql.on("pageerror", (e) => problems.push(String(e)));
  await graphiql.locator(".graphiql-query-editor .CodeMirror").waitFor();
  // The explorer plugin reads the schema (the standard introspection query).
  await graphiql.getByRole("button", { name: /GraphiQL Explorer/ }).click();
  await graphiql.locator(".graphiql-explorer-root").getByText("dashboard").waitFor();
  await graphiql.getByRole("button", { name: /Execute query/ }).click();
  const result = graphiql.getByLabel("Result Window");
  await result.getByText('"revenue"').waitFor();
  assert.doesNotMatch(await result.innerText(), /UNAUTHENTICATED|errors/);
  await shot(graphiql, "graphiql");

  // A subscription over the WebSocket, signed in the same way.
  await graphiql.evaluate(() =>
    document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(
      'subscription Live { events(topics: ["marketing.eventos"]) { topic eventType } }'));
  await graphiql.waitForTimeout(800);
  await graphiql.getByRole("button", { name: /Execute query/ }).click();
  await graphiql.waitForTimeout(1000);
  const token = await graphiql.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  await graphql(server.base, token,
    'mutation { createCampaign(input: {name: "Live from GraphiQL", code: "graphiql-live", startsAt: "2024-01-01T00:00:00Z", currency: "USD"}) { id } }');
  await result.getByText('"campana_creada"').waitFor();

  // The REST API's OpenAPI document, rendered by the embedded viewer.
  await page.goto(`${server.base}/docs`);
  const docs = page.locator("rapi-doc");
  await docs.waitFor();
  await page.waitForFunction(() => /conversiones/.test(document.querySelector("rapi-doc")?.shadowRoot?.textContent ?? ""));
  await shot(page, "api-docs");
  assert.deepEqual(outside, [], "nothing is fetched from outside the server");
  assert.deepEqual(problems, []);
  await context.close();
});

test("users: an admin changes a role and resets a password, given once", async () => {
  await admin.goto(`${server.base}/users`);
  const form = admin.getByRole("form", { name: "New user" });
  await form.getByLabel("Email").fill("ops@browser.test");
  await form.getByLabel("Password").fill("ops-first-password-1");
  await form.getByLabel("Role").selectOption("ANALYST");
  await form.getByRole("button", { name: "Add user" }).click();
  await admin.locator(".toast", { hasText: "ops@browser.test created" }).waitFor();
  admin.once("dialog", (d) => d.accept());
  await admin.getByLabel("Role of ops@browser.test").selectOption("ADMIN");
  await admin.locator(".toast", { hasText: "ops@browser.test is now admin" }).waitFor();
  const row = admin.locator("tbody tr", { hasText: "ops@browser.test" });
  admin.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Reset password" }).click();
  const password = await admin.getByTestId("new-password").innerText();
  assert.ok(password.length >= 16, password);
  await admin.getByRole("button", { name: "Done" }).click();
  assert.equal(await admin.getByTestId("new-password").count(), 0, "shown once");
  // The new password signs in (a moment later: sessions before the reset are refused).
  await admin.waitForTimeout(1100);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await signIn(page, "ops@browser.test", password);
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await context.close();
});

test("a form names every wrong field beside it at once; a lost connection offers Try again", async () => {
  await admin.goto(`${server.base}/affiliates/new`);
  await admin.getByLabel("Name", { exact: true }).fill(" ");
  await admin.getByLabel("Email").fill("not-an-email");
  await admin.getByLabel("Base rate (%)").fill("101");
  await admin.getByRole("button", { name: "Create affiliate" }).click();
  const alert = admin.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.innerText(), /3 fields need attention/);
  // Each message beside its own field, and the summary links to each.
  for (const [label, text] of [["Name", /required|empty/i], ["Email", /email/i], ["Base rate (%)", /100/]]) {
    const field = admin.locator(".field.invalid", { has: admin.getByLabel(label, { exact: true }) });
    assert.match(await field.locator("[data-field-error]").innerText(), text, label);
  }
  assert.equal(await admin.locator("[data-field-error]").count(), 3);
  assert.equal(await alert.getByRole("link").count(), 3);
  assert.match(admin.url(), /\/affiliates\/new$/);

  // Fixed, then sent while the connection is down: said in words, kept, and sent again.
  await admin.getByLabel("Name", { exact: true }).fill("Offline Partner");
  await admin.getByLabel("Email").fill("offline@browser.test");
  await admin.getByLabel("Base rate (%)").fill("10");
  await admin.route("**/graphql", (route) => route.abort("internetdisconnected"));
  await admin.getByRole("button", { name: "Create affiliate" }).click();
  await alert.getByText(/cannot be reached/).waitFor();
  assert.doesNotMatch(await alert.innerText(), /TypeError|Failed to fetch/);
  assert.equal(await admin.locator("[data-field-error]").count(), 0);
  await admin.unroute("**/graphql");
  await alert.getByRole("button", { name: "Try again" }).click();
  await admin.waitForURL(/\/affiliates\/[0-9a-f-]{36}$/);
  await admin.getByRole("heading", { name: "Offline Partner" }).waitFor();
});

test("pickers find any affiliate by typing, keep its name from a link, and clear", async () => {
  await admin.goto(`${server.base}/commissions`);
  const picker = () => admin.getByRole("combobox", { name: "Affiliate" });
  await pick(picker(), "browser-par", "Browser Partner");
  await admin.waitForURL(/affiliate=[0-9a-f-]{36}/);
  // From a link (a reload), the picker names the affiliate, not its id.
  await admin.reload();
  await admin.waitForFunction(() => [...document.querySelectorAll("input[role=combobox]")].some((i) => i.value === "Browser Partner"));
  // By keyboard: the first match of what is typed.
  await picker().fill("");
  await picker().press("Tab");
  await admin.waitForURL((u) => !u.searchParams.has("affiliate"));
  await picker().focus();
  await picker().pressSequentially("offline");
  await admin.getByRole("option", { name: /^Offline Partner/ }).waitFor();
  await picker().press("Enter");
  await admin.waitForURL(/affiliate=[0-9a-f-]{36}/);
  assert.equal(await picker().inputValue(), "Offline Partner");
  // A name that matches nothing says so.
  await picker().fill("zzz-nobody");
  await admin.getByRole("option", { name: "No match" }).or(admin.getByText("No match")).first().waitFor();
  await picker().press("Escape");
  assert.equal(await picker().inputValue(), "Offline Partner");
});

test("the dashboard chart has a scale on each side and a tap shows a day's figures", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page, ADMIN.email, ADMIN.password);
  const chart = page.locator(".chart");
  await chart.waitFor();
  const left = await chart.locator(".axis-left span").allInnerTexts();
  assert.ok(left.length >= 3 && left[0] === "$0" && left.every((t) => t.includes("$")), left.join(" | "));
  const right = await chart.locator(".axis-right span").allInnerTexts();
  assert.ok(right.length >= 3 && right[0] === "0", right.join(" | "));
  const box = await chart.locator("svg").boundingBox();
  await chart.locator("svg").tap({ position: { x: box.width - 5, y: box.height / 2 } });
  const tip = chart.locator(".chart-tip");
  await tip.waitFor();
  assert.match(await tip.innerText(), /\d{4}-\d{2}-\d{2}[\s\S]*revenue[\s\S]*clicks/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the dashboard scrolls sideways by ${overflow}px`);
  await shot(page, "phone-chart");
  await context.close();
});

test("Calculate all pending calculates every page under the filters, not only the one listed", async () => {
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const { createAffiliate: a } = await graphql(server.base, token,
    `mutation { createAffiliate(input: { name: "Many Pending", email: "many@browser.test", commissionConfig: { baseRate: "10", minimumPayout: "1" } }) { id } }`);
  for (let i = 0; i < 30; i++) {
    await graphql(server.base, token, `mutation { createCommission(input: { affiliateId: "${a.id}", baseAmount: "10.00", currency: "USD" }) { id } }`);
  }
  await admin.goto(`${server.base}/commissions?affiliate=${a.id}&status=PENDING`);
  await admin.locator("tbody tr").first().waitFor();
  assert.equal(await admin.locator("tbody tr").count(), 25, "one page listed");
  admin.once("dialog", (d) => {
    assert.match(d.message(), /30 pending/);
    d.accept();
  });
  await admin.getByRole("button", { name: "Calculate all pending (30)" }).click();
  await admin.locator(".toast", { hasText: "30 commissions calculated" }).waitFor();
  await admin.getByText("No commissions match these filters.").waitFor();
  const left = await graphql(server.base, token, `{ commissions(filter: { affiliateId: "${a.id}", status: PENDING }) { totalCount } }`);
  assert.equal(left.commissions.totalCount, 0);
  await admin.getByRole("button", { name: "Calculate all pending (0)" }).waitFor();
});

test("a week's money work: pay out in two currencies, mark paid with its figure, cancel, fix a bank", async () => {
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const q = (query) => graphql(server.base, token, query);
  const { affiliates } = await q(`{ affiliates(filter: { search: "many@browser.test" }) { nodes { id } } }`);
  const id = affiliates.nodes[0].id;
  // Two sales in pesos beside the 30 commissions in dollars calculated before; all approved.
  for (const base of ["250000", "150000"]) {
    await q(`mutation { createCommission(input: { affiliateId: "${id}", baseAmount: "${base}", currency: "COP" }) { id } }`);
  }
  await q(`mutation { calculatePendingCommissions(filter: { affiliateId: "${id}" }) { calculated } }`);
  const { commissions } = await q(`{ commissions(filter: { affiliateId: "${id}", status: CALCULATED }, first: 100) { nodes { id } } }`);
  const ids = commissions.nodes.map((n) => `"${n.id}"`).join(",");
  await q(`mutation { approveCommissions(ids: [${ids}]) { id } }`);

  await admin.goto(`${server.base}/payouts`);
  const form = admin.getByRole("form", { name: "New payout" });
  await pick(form.getByLabel("Pay out the approved commissions of"), "many", "Many Pending");
  await form.getByLabel("in currency").fill("");
  await form.getByRole("button", { name: "Create payout" }).click();
  await admin.locator(".toast", { hasText: "Payout of $30.00 for 30 commissions created" }).waitFor();
  await form.getByLabel("in currency").fill("cop");
  await form.getByRole("button", { name: "Create payout" }).click();
  await admin.locator(".toast", { hasText: /Payout of COP\s?40,000(\.00)? for 2 commissions created/ }).waitFor();

  await admin.goto(`${server.base}/payouts?affiliate=${id}`);
  const usd = admin.locator("tbody tr", { hasText: "$30.00" });
  const cop = admin.locator("tbody tr", { hasText: /COP\s?40,000/ });
  await usd.waitFor();
  await cop.waitFor();
  // The file to hand to Wise for the pesos: every pending payout in COP, nothing changed.
  const fileForm = admin.getByRole("form", { name: "Payment file" });
  await fileForm.getByLabel("Payment file of the pending payouts").selectOption("wise");
  await fileForm.getByLabel("in currency").fill("COP");
  const [wise] = await Promise.all([admin.waitForEvent("download"), fileForm.getByRole("button", { name: "Download file" }).click()]);
  assert.match(wise.suggestedFilename(), /^payouts-wise-cop-.*\.csv$/);
  const wiseCsv = (await import("node:fs")).readFileSync(await wise.path(), "utf8");
  assert.match(wiseCsv, /^name,recipientEmail,/);
  assert.match(wiseCsv, /Many Pending,many@browser\.test,.*,40000\.00,COP,COP,/);
  // SEPA needs the paying account configured: said in words, naming the settings.
  await fileForm.getByLabel("Payment file of the pending payouts").selectOption("sepa");
  await fileForm.getByRole("button", { name: "Download file" }).click();
  await admin.locator(".toast", { hasText: /ALPES_SEPA_DEBTOR_IBAN/ }).waitFor();
  // Paying asks once more, naming the figure.
  let asked = "";
  admin.once("dialog", (d) => {
    asked = d.message();
    d.accept();
  });
  await usd.getByRole("button", { name: "Mark paid" }).click();
  await usd.locator(".badge", { hasText: "Paid" }).waitFor();
  assert.match(asked, /\$30\.00 \(30 commissions\)/);
  // The pesos payout is canceled before it is paid: its commissions wait for the next one.
  admin.once("dialog", (d) => d.accept("wrong account"));
  await cop.getByRole("button", { name: "Cancel" }).click();
  await cop.locator(".badge", { hasText: "Canceled" }).waitFor();
  const again = await q(`{ commissions(filter: { affiliateId: "${id}", status: APPROVED }) { totalCount } }`);
  assert.equal(again.commissions.totalCount, 2);

  // The affiliate's bank changes, the account number on file is kept without retyping it.
  await admin.goto(`${server.base}/affiliates`);
  await admin.getByRole("link", { name: "Browser Partner" }).click();
  await admin.getByRole("link", { name: "Edit" }).click();
  await admin.getByLabel("Bank", { exact: true }).fill("Banco del Valle");
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.waitForURL(/\/affiliates\/[0-9a-f-]{36}$/);
  await admin.getByText("Banco del Valle").waitFor();
  assert.match(await admin.getByTestId("account-number").innerText(), /5678$/);
});

test("joining: an application waits for an admin, an invite joins at once, the new partner builds a tagged link", async () => {
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const { createCampaign: open } = await graphql(server.base, token,
    `mutation { createCampaign(input: { name: "Browser Open", code: "browser-open", startsAt: "2024-01-01T00:00:00Z",
      currency: "USD", allowedDomains: ["shop.example.com"], commissionConfig: { saleRate: "10" } }) { id } }`);
  await graphql(server.base, token, `mutation { activateCampaign(id: "${open.id}") { id } }`);

  // Anyone may apply, from the sign-in page.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await page.getByRole("link", { name: "Apply to join" }).click();
  await page.getByRole("heading", { name: /Join the partner programme/ }).waitFor();
  await page.getByLabel("Name").fill("Nora Applicant");
  await page.getByLabel("Email").fill("nora@browser.test");
  await page.getByLabel("Password").fill("nora-partner-pass-1");
  await page.getByLabel("Website or channel").fill("https://nora.example.com");
  await page.getByLabel("About your audience").fill("Hiking videos, 12k subscribers");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByText("Thank you, your application is in.").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the application page scrolls sideways by ${overflow}px`);
  // Not before an admin approves.
  await page.goto(`${server.base}/login`);
  await page.getByLabel("Email").fill("nora@browser.test");
  await page.getByLabel("Password").fill("nora-partner-pass-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();

  // The admin finds it among the applications, reads it and approves it.
  await admin.goto(`${server.base}/affiliates?status=APPLIED`);
  await admin.getByRole("link", { name: "Nora Applicant" }).click();
  const told = admin.getByTestId("application");
  await told.getByText("https://nora.example.com").waitFor();
  assert.match(await told.innerText(), /Hiking videos/);
  admin.once("dialog", (d) => d.accept());
  await admin.getByRole("button", { name: "Approve" }).click();
  await admin.locator(".page-head .badge", { hasText: "Active" }).waitFor();

  // Approved: they sign in and build a link with UTM tags, ready to copy.
  await signIn(page, "nora@browser.test", "nora-partner-pass-1");
  await page.goto(`${server.base}/links`);
  await page.getByRole("heading", { name: "My links" }).waitFor();
  await page.getByLabel("Campaign", { exact: true }).fill("browser-open");
  await page.getByLabel("Destination URL").fill("https://shop.example.com/boots");
  await page.getByText("UTM tags (optional)").click();
  await page.getByLabel("utm_source").fill("youtube");
  await page.getByLabel("utm_medium").fill("video");
  await page.getByRole("button", { name: "Create link" }).click();
  await page.locator(".toast", { hasText: "created" }).waitFor();
  const row = page.locator("tbody tr", { hasText: "utm_source=youtube" });
  await row.waitFor();
  assert.match(await row.innerText(), /utm_medium=video/);
  await row.getByRole("button", { name: /Copy/ }).waitFor();
  await context.close();

  // An invite link: made once by the admin, the email it names is filled in, approved at once.
  await admin.goto(`${server.base}/affiliates`);
  await admin.getByRole("button", { name: "Invite links" }).click();
  await admin.getByLabel("For (email, optional)").fill("ivan@browser.test");
  await admin.getByRole("button", { name: "Make invite link" }).click();
  const link = (await admin.getByTestId("invite-link").locator("code").innerText()).trim();
  assert.match(link, /\/apply\?invite=inv_/);
  const invited = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  invited.setDefaultTimeout(10000);
  const ivan = await invited.newPage();
  await ivan.goto(link.replace(/^https?:\/\/[^/]+/, server.base));
  await ivan.getByText(/You were invited/).waitFor();
  assert.equal(await ivan.getByLabel("Email").inputValue(), "ivan@browser.test");
  await ivan.getByLabel("Name").fill("Ivan Invited");
  await ivan.getByLabel("Password").fill("ivan-partner-pass-1");
  await ivan.getByRole("button", { name: "Apply" }).click();
  await ivan.getByText("Welcome aboard.").waitFor();
  await ivan.getByRole("link", { name: "Sign in" }).click();
  await signIn(ivan, "ivan@browser.test", "ivan-partner-pass-1");
  await ivan.getByRole("navigation", { name: "Main" }).getByText("My links").waitFor();
  await invited.close();
  await admin.reload();
  await admin.getByRole("button", { name: "Invite links" }).click();
  await admin.locator("section[aria-label='Invite links'] tbody tr", { hasText: "ivan@browser.test" }).getByText("Used").waitFor();
});

test("a coupon code: added by the admin, shown in the portal, credits a checkout without a click, counted", async () => {
  await admin.goto(`${server.base}/affiliates`);
  await admin.getByRole("link", { name: "Browser Partner" }).click();
  await admin.waitForURL(/\/affiliates\/[0-9a-f-]{36}$/);
  const affiliateId = admin.url().split("/").pop();
  const coupons = admin.getByRole("region", { name: "Coupon codes" });
  await coupons.getByLabel("Code", { exact: true }).fill("partner15");
  await coupons.getByRole("button", { name: "Add code" }).click();
  await coupons.locator(".coupon-code", { hasText: "PARTNER15" }).waitFor();
  await coupons.getByLabel("Code", { exact: true }).fill("no spaces");
  await coupons.getByRole("button", { name: "Add code" }).click();
  assert.match(await coupons.locator("[data-field-error]").innerText(), /3 to 64/);

  // A checkout that used the code, without any click: the partner's sale.
  const now = Math.floor(Date.now() / 1000);
  const answer = await postStripeEvent(server.base, {
    id: `evt_coupon_${now}`, object: "event", type: "checkout.session.completed", livemode: false, created: now,
    data: { object: {
      id: `cs_coupon_${now}`, object: "checkout.session", amount_total: 4200, currency: "usd", payment_status: "paid",
      payment_intent: `pi_coupon_${now}`, customer_details: { email: "coupon-buyer@example.com" }, metadata: { coupon: "PARTNER15" },
    } },
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await admin.goto(`${server.base}/conversions?affiliate=${affiliateId}`);
  await admin.locator("tbody tr", { hasText: "$42.00" }).waitFor();

  // Counted in the report, by code.
  await admin.goto(`${server.base}/attribution`);
  const used = admin.getByRole("region", { name: "Coupon codes used" });
  await used.locator("tr", { hasText: "PARTNER15" }).getByText("$42.00").waitFor();

  // The partner finds the code in the portal, to share; nothing to add there.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  await signIn(page, "portal@browser.test", "portal-pass-123");
  await page.goto(`${server.base}/links`);
  const own = page.getByRole("region", { name: "Coupon codes" });
  await own.locator(".coupon-code", { hasText: "PARTNER15" }).waitFor();
  assert.equal(await own.getByRole("button", { name: "Add code" }).count(), 0);
  await context.close();
});

test("a sale after a sign-up goes to the sign-up's partner, and the dashboard shows leads to sales", async () => {
  const token = await admin.evaluate(() => JSON.parse(localStorage.getItem("alpes.session")).token);
  const { affiliates } = await graphql(server.base, token, `{ affiliates(filter: { search: "browser-partner" }) { nodes { id } } }`);
  const partner = affiliates.nodes[0].id;
  await graphql(server.base, token, `mutation { recordConversion(input: { id: "browser-signup-1", type: SIGNUP, value: "0",
    currency: "USD", campaignId: "browser-open", affiliateId: "${partner}", customerEmail: "trial@browser.test" }) { id } }`);
  const now = Math.floor(Date.now() / 1000);
  const answer = await postStripeEvent(server.base, {
    id: `evt_lead_${now}`, object: "event", type: "checkout.session.completed", livemode: false, created: now,
    data: { object: {
      id: `cs_lead_${now}`, object: "checkout.session", amount_total: 3100, currency: "usd", payment_status: "paid",
      payment_intent: `pi_lead_${now}`, customer_details: { email: "Trial@Browser.test" }, metadata: {},
    } },
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await admin.goto(`${server.base}/conversions?affiliate=${partner}`);
  await admin.locator("tbody tr", { hasText: "$31.00" }).waitFor();
  await admin.goto(`${server.base}/`);
  const funnel = admin.getByTestId("lead-funnel");
  await funnel.waitFor();
  assert.match(await funnel.innerText(), /leads → sales[\s\S]*[1-9]\d* of \d+ leads and sign-ups bought/i);
});

test("a subscription: the campaign's renewal rate, each renewal a sale of the partner, in the admin app and the portal", async () => {
  // The admin sets what renewals earn on the campaign.
  await admin.goto(`${server.base}/campaigns`);
  await admin.getByRole("link", { name: "Browser Spring Launch" }).click();
  await admin.getByRole("link", { name: "Edit", exact: true }).click();
  await admin.getByLabel("Renewal rate (%)").fill("5");
  await admin.getByLabel("Renewals earn for (months after the first sale)").fill("200");
  await admin.getByRole("button", { name: "Save" }).click();
  assert.match(await admin.locator("[data-field-error]").first().innerText(), /0 to 120 months/);
  await admin.getByLabel("Renewals earn for (months after the first sale)").fill("24");
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.getByText("5.0 %, for 24 months").waitFor();

  // The partner's customer subscribes at checkout; a month later Stripe bills the renewal.
  const now = Math.floor(Date.now() / 1000);
  const checkout = await postStripeEvent(server.base, {
    id: `evt_sub_${now}`, object: "event", type: "checkout.session.completed", livemode: false, created: now,
    data: { object: {
      id: `cs_sub_${now}`, object: "checkout.session", mode: "subscription", amount_total: 2000, currency: "usd",
      payment_status: "paid", customer: `cus_browser_${now}`, subscription: `sub_browser_${now}`, invoice: `in_browser_${now}_0`,
      customer_details: { email: "subscriber@browser.test" }, metadata: { affiliate: "browser-partner", campaign: "browser-spring" },
    } },
  });
  assert.equal(checkout.status, 200, JSON.stringify(checkout.body));
  const invoice = (n, reason) => ({
    id: `in_browser_${now}_${n}`, object: "invoice", billing_reason: reason, customer: `cus_browser_${now}`,
    amount_due: 2000, amount_paid: 2000, currency: "usd", created: now, status: "paid", status_transitions: { paid_at: now },
    parent: { type: "subscription_details", subscription_details: { subscription: `sub_browser_${now}` } },
    payments: { data: [{ payment: { type: "payment_intent", payment_intent: `pi_browser_sub_${now}_${n}` } }] },
  });
  for (const [n, reason] of [[0, "subscription_create"], [1, "subscription_cycle"]]) {
    const paid = await postStripeEvent(server.base, {
      id: `evt_in_browser_${now}_${n}`, object: "event", type: "invoice.paid", livemode: false, created: now,
      data: { object: invoice(n, reason) },
    });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    assert.equal(paid.body.status, "processed");
  }

  // The admin sees the subscription, its renewal and the renewal's commission (5 % of $20.00).
  await admin.goto(`${server.base}/subscriptions`);
  const row = admin.locator("tbody tr", { hasText: `sub_browser_${now}` });
  await row.getByText("Browser Partner").waitFor();
  await row.getByText(`cus_browser_${now}`).waitFor();
  await row.getByRole("button", { name: /Invoices/ }).click();
  const invoices = admin.getByRole("region", { name: `Invoices of sub_browser_${now}` });
  await invoices.locator("tr", { hasText: "First sale (the checkout)" }).waitFor();
  // The commission is reserved once attribution has run (in the background).
  for (let i = 0; i < 20 && (await invoices.locator("tr", { hasText: "Renewal" }).getByText("$1.00").count()) === 0; i++) {
    await admin.waitForTimeout(500);
    await admin.reload();
    await admin.locator("tbody tr", { hasText: `sub_browser_${now}` }).getByRole("button", { name: /Invoices/ }).click();
  }
  await invoices.locator("tr", { hasText: "Renewal" }).getByText("$1.00").waitFor();

  // The partner finds it in the portal, without the shop's customer id.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  await signIn(page, "portal@browser.test", "portal-pass-123");
  await page.goto(`${server.base}/subscriptions`);
  await page.getByRole("heading", { name: "My subscriptions" }).waitFor();
  const own = page.locator("tbody tr", { hasText: `sub_browser_${now}` });
  await own.waitFor();
  assert.equal(await page.getByText(`cus_browser_${now}`).count(), 0);
  await own.getByRole("button", { name: /Invoices/ }).click();
  await page.getByRole("region", { name: `Invoices of sub_browser_${now}` }).locator("tr", { hasText: "Renewal" }).getByText("$1.00").waitFor();
  await context.close();
});

test("tiers: the admin sets a monthly tier, the partner sees the month's sales and tier in the portal", async () => {
  await admin.goto(`${server.base}/tiers`);
  const tiers = admin.getByRole("region", { name: "Tiers" });
  await tiers.getByText("No tiers yet").waitFor();
  // Neither a rate nor a bonus: refused in words beside the field.
  await tiers.getByLabel("Name").fill("Browser Gold");
  await tiers.getByLabel("Monthly sales from").fill("10");
  await tiers.getByRole("button", { name: "Add tier" }).click();
  assert.match(await tiers.locator("[data-field-error]").first().innerText(), /a rate, a bonus or both/);
  await tiers.getByLabel("Rate (%)").fill("30");
  await tiers.getByLabel("Bonus", { exact: true }).fill("25");
  await tiers.getByRole("button", { name: "Add tier" }).click();
  const row = tiers.locator("tbody tr", { hasText: "Browser Gold" });
  await row.getByText("$10.00").waitFor();
  await row.getByText("30.0 %").waitFor();
  await row.getByText("$25.00").waitFor();

  // The partner's overview: this month's sales (they sold more than $10) reach the tier.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  await signIn(page, "portal@browser.test", "portal-pass-123");
  const mine = page.getByRole("region", { name: "Your tier" });
  await mine.getByText(/Browser Gold: 30\.0 % on sales and a \$25\.00 bonus/).waitFor();
  await mine.getByText("top tier reached").waitFor();
  await context.close();

  // Removed, it no longer lifts new sales (and the portal says nothing of tiers).
  admin.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Remove" }).click();
  await tiers.getByText("No tiers yet").waitFor();
});

test("the app runs under its Content-Security-Policy without a violation", async () => {
  await admin.goto(`${server.base}/?period=30d`);
  await admin.locator(".chart svg").waitFor();
  assert.deepEqual(cspViolations, []);
});
