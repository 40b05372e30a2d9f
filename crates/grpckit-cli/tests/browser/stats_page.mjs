// Loads the live stats page in headless Chromium while the Rust test generates traffic,
// and checks that the numbers change, a per-method row appears, the charts are drawn and
// no console error occurs. Usage: node stats_page.mjs URL SCREENSHOT_PATH
import { chromium } from "playwright-core";

const [url, shot] = process.argv.slice(2);
const fail = (msg) => { console.error("FAIL: " + msg); process.exit(1); };
if (!url || !shot) fail("usage: node stats_page.mjs URL SCREENSHOT_PATH");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
  const resp = await page.goto(url, { waitUntil: "load" });
  if (!resp || resp.status() !== 200) fail("page status " + (resp && resp.status()));
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("live"), null, { timeout: 15000 });
  const read = () => page.evaluate(() => ({
    calls: Number(document.getElementById("t-calls").textContent),
    rps: document.getElementById("t-rps").textContent,
    p99: document.getElementById("t-p99").textContent,
    err: document.getElementById("t-err").textContent,
    rows: [...document.querySelectorAll("#rows tr[data-method]")].map((r) => r.dataset.method),
  }));
  const first = await read();
  // Numbers must move as traffic arrives (the window counts complete seconds).
  await page.waitForFunction((before) => {
    const n = Number(document.getElementById("t-calls").textContent);
    return Number.isFinite(n) && n > 0 && n !== before && document.querySelector("#rows tr[data-method]");
  }, first.calls, { timeout: 30000 });
  const second = await read();
  await page.waitForTimeout(2500);
  const third = await read();
  // The charts have pixels on them.
  const inked = await page.evaluate(() => {
    const c = document.getElementById("c-rps");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ first, second, third, inked, errors }));
  if (inked < 50) fail("the RPS chart is empty");
  if (!second.rows.some((m) => m.endsWith("/GetUser"))) fail("no GetUser row: " + JSON.stringify(second.rows));
  if (JSON.stringify(second) === JSON.stringify(third) && JSON.stringify(first) === JSON.stringify(second)) fail("numbers did not change");
  if (!/ms|s$/.test(second.p99)) fail("p99 not shown: " + second.p99);
  if (errors.length) fail("console errors: " + JSON.stringify(errors));
} finally {
  await browser.close();
}
