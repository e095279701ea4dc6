// Drives Warren's management UI in headless Chromium (the Debian `chromium` package):
// login -> overview -> queues -> queue page -> Get messages, saving a screenshot at each step.
// Usage: node ui.test.js BASE_URL QUEUE SCREENSHOT_DIR   (prints "PASS ui" on success)
"use strict";
const path = require("path");
const fs = require("fs");
const { chromium } = require("playwright-core");

const [base, queue, shots] = process.argv.slice(2);
if (!base || !queue || !shots) {
  console.error("usage: node ui.test.js BASE_URL QUEUE SCREENSHOT_DIR");
  process.exit(64);
}
fs.mkdirSync(shots, { recursive: true });

function check(cond, what) {
  if (!cond) { throw new Error("check failed: " + what); }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const external = [];
  page.on("request", r => { if (!r.url().startsWith(base)) { external.push(r.url()); } });
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  const shot = name => page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
  try {
    // 1. A wrong password shows the error on the login form (no browser dialog).
    await page.goto(base + "/");
    await page.waitForSelector("#login-username", { state: "visible" });
    await page.fill("#login-username", "guest");
    await page.fill("#login-password", "wrong");
    await page.click("#login-submit");
    await page.waitForSelector("#login-error:not([hidden])");
    check((await page.textContent("#login-error")).includes("Login failed"), "login error text");
    await shot("01-login-failed");

    // 2. Log in; the overview shows totals and the rate chart.
    await page.fill("#login-password", "guest");
    await page.click("#login-submit");
    await page.waitForSelector("#queue-totals");
    await page.waitForSelector("#chart svg", { timeout: 15000 });
    const ready = await page.textContent('#queue-totals [data-total="Ready"]');
    check(Number(ready.replace(/,/g, "")) >= 3, "overview ready total >= 3, got " + ready);
    check((await page.textContent("#whoami")) === "guest", "user shown");
    await shot("02-overview");

    // 3. The queues tab lists the queue with its counts.
    await page.click('a[data-tab="queues"]');
    const link = page.locator("a.queue-link", { hasText: queue });
    await link.waitFor();
    const row = page.locator("tr", { has: link });
    check((await row.textContent()).includes("3"), "queue row shows 3 messages");
    await shot("03-queues");

    // 4. The queue page: counts, bindings, then Get messages (requeue) shows the payloads.
    await link.click();
    await page.waitForSelector("#queue-name");
    check((await page.textContent("#queue-name")) === queue, "queue page title");
    check((await page.textContent("#q-ready")) === "3", "ready count on the queue page");
    await page.selectOption('#get-form select[name="ackmode"]', "ack_requeue_true");
    await page.fill('#get-form input[name="count"]', "2");
    await page.click("#get-messages");
    await page.waitForSelector("#messages .message");
    const payloads = await page.locator("#messages pre.payload").allTextContents();
    check(payloads.length === 2, "two messages shown, got " + payloads.length);
    check(payloads[0] === "car-1 {\"lock\":true}", "first payload: " + payloads[0]);
    await shot("04-queue-get-messages");

    // 5. Publish from the queue page, then the exchanges and admin tabs render.
    await page.fill('#publish-queue textarea[name="payload"]', "from the browser");
    await page.click('#publish-queue button[type="submit"]');
    await page.waitForSelector("#toast:not([hidden])");
    check((await page.textContent("#toast")).includes("published"), "publish toast");
    await page.click('a[data-tab="exchanges"]');
    await page.locator("a.exchange-link", { hasText: "webos.topic" }).waitFor();
    await shot("05-exchanges");
    await page.click('a[data-tab="admin"]');
    await page.waitForSelector("#add-user");
    await shot("06-admin");

    check(errors.length === 0, "no page errors: " + errors.join("; "));
    check(external.length === 0, "no requests leave the broker: " + external.join(", "));
    console.log("PASS ui");
  } catch (e) {
    await shot("99-failure").catch(() => {});
    console.error(e && e.stack ? e.stack : e);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
