// The static fleet page in Debian's headless Chromium: open the file, check that it asks for nothing
// outside itself, that the plots named in FLEET_PANELS have lines with points, that the tables are
// there; keep a full-page screenshot. Prints one JSON line with what it saw; exits non-zero on a failure.
//
// Environment: FLEET_PAGE (HTML path), FLEET_SCREENSHOT (PNG path), FLEET_PANELS (comma-separated
// panel ids that must have data), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const page_path = env('FLEET_PAGE');
const shot = env('FLEET_SCREENSHOT');
const required = env('FLEET_PANELS', '').split(',').filter(Boolean);

// Headless, no sandbox (root in a container), and none of Chromium's own calls home.
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
});
const result = { requests: [], panels: {} };
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const url = pathToFileURL(page_path).href;
  // Every request the page makes besides itself would be an external asset.
  page.on('request', (req) => { if (req.url() !== url) result.requests.push(req.url()); });
  await page.goto(url, { waitUntil: 'load' });
  result.title = await page.title();
  result.targets_summary = (await page.locator('#targets-summary').innerText()).trim();
  result.alerts_summary = (await page.locator('#alerts-summary').innerText()).trim();
  result.target_rows = await page.locator('#targets tr').count() - 1;
  for (const svg of await page.locator('svg.chart').all()) {
    const id = await svg.getAttribute('data-panel');
    const box = await svg.boundingBox();
    result.panels[id] = {
      series: Number(await svg.getAttribute('data-series')),
      points: Number(await svg.getAttribute('data-points')),
      lines: await svg.locator('polyline.line').count(),
      rendered: box !== null && box.width > 100 && box.height > 100,
    };
  }
  await page.screenshot({ path: shot, fullPage: true });
  const empty = required.filter((id) => !(result.panels[id] && result.panels[id].rendered
    && result.panels[id].points > 0 && result.panels[id].lines > 0));
  result.empty_required = empty;
  result.ok = empty.length === 0 && result.requests.length === 0 && result.target_rows > 0;
} catch (err) {
  result.ok = false;
  result.error = String(err && err.stack ? err.stack : err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
