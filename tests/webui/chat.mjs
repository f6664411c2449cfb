// A person's path through Open WebUI in Debian's headless Chromium: sign in with the generated admin,
// check the served model is the selected one, send a message, watch the assistant's reply stream in,
// keep a screenshot. Prints one JSON line with what it saw; exits non-zero on any failure.
//
// Environment: WEBUI_URL, WEBUI_EMAIL, WEBUI_PASSWORD, WEBUI_MODEL, WEBUI_SCREENSHOT (PNG path),
// WEBUI_MESSAGE (optional), WEBUI_MESSAGE_REPEAT (the message that many times: an over-long chat),
// WEBUI_EXPECT (reply, the default, or error: the service refuses and the chat must say why),
// WEBUI_EXPECT_DESCRIPTION (text the new-chat screen must show under the model's name; its screenshot
// in WEBUI_START_SCREENSHOT if given),
// CHROMIUM (default /usr/bin/chromium), WEBUI_TIMEOUT_MS (default 120000).
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const url = env('WEBUI_URL');
const email = env('WEBUI_EMAIL');
const password = env('WEBUI_PASSWORD');
const model = env('WEBUI_MODEL');
const shot = env('WEBUI_SCREENSHOT');
const message = env('WEBUI_MESSAGE', '你好！请用中文介绍一下你自己。').repeat(Number(env('WEBUI_MESSAGE_REPEAT', '1')));
const expect = env('WEBUI_EXPECT', 'reply');
const description = env('WEBUI_EXPECT_DESCRIPTION', '');
const timeout = Number(env('WEBUI_TIMEOUT_MS', '120000'));

// Headless, no sandbox (root in a container), and none of Chromium's own calls home: this network
// reaches no Google service, and a test must not wait on one.
const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
});
const result = { steps: [] };
const t0 = Date.now();
const step = (name) => result.steps.push({ name, ms: Date.now() - t0 });
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);

  await page.goto(`${url}/auth`, { waitUntil: 'domcontentloaded' });
  await page.locator('input[type="email"]').fill(email);
  await page.locator('input[type="password"]').fill(password);
  await page.locator('input[type="password"]').press('Enter');
  await page.locator('#chat-input').waitFor({ state: 'visible' });
  step('signed in');

  // A user's first sign-in opens the release notes over the chat: acknowledge them (their last button).
  const notes = page.locator('div[role="dialog"]');
  if (await notes.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) {
    await notes.locator('button').last().click();
    await notes.waitFor({ state: 'hidden' });
    step('release notes closed');
  }

  // DEFAULT_MODELS: the served model is already the selected one, nobody picks it.
  const selector = page.locator('button[id^="model-selector-"][aria-haspopup="listbox"]').first();
  await selector.waitFor({ state: 'visible' });
  result.selected_model = (await selector.innerText()).trim();
  if (!result.selected_model.includes(model)) {
    throw new Error(`the model selector shows "${result.selected_model}", not ${model}`);
  }
  step('model preselected');

  // The model's description (its limits, from the role) under its name on the new-chat screen.
  if (description) {
    const shown = page.getByText(description, { exact: false }).first();
    await shown.waitFor({ state: 'visible' });
    result.description = (await shown.innerText()).trim();
    step('description shown');
    const startShot = env('WEBUI_START_SCREENSHOT', '');
    if (startShot) await page.screenshot({ path: startShot, fullPage: false });
  }

  // Every rendered state of the newest assistant reply, recorded in the page by a MutationObserver
  // (installed before the message is sent): a fast model's whole reply can arrive between two polls
  // from here, but not between two DOM updates. Streamed = more than one non-empty length rendered.
  const REPLY = 'div[id^="message-"]:not(.user-message):not([id^="message-input"])';
  await page.evaluate((sel) => {
    const before = document.querySelectorAll(sel).length;
    // The reply this message gets (null until it appears): its element and its text box.
    window.__vaccReply = () => {
      const replies = document.querySelectorAll(sel);
      if (replies.length <= before) return null;
      const last = replies[replies.length - 1];
      return { last, box: last.querySelector('#response-content-container') };
    };
    window.__vaccReplyLengths = [];
    new MutationObserver(() => {
      const reply = window.__vaccReply();
      if (!reply) return;
      const n = reply.box ? reply.box.innerText.trim().length : 0;
      const seen = window.__vaccReplyLengths;
      if (seen.length === 0 || seen[seen.length - 1] !== n) seen.push(n);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, REPLY);

  await page.locator('#chat-input').click();
  // A long text arrives as one insertion, as a paste does (typing 30000 characters would take minutes).
  if (message.length > 500) await page.keyboard.insertText(message);
  else await page.keyboard.type(message);
  const sent = Date.now();
  await page.keyboard.press('Enter');
  await page.locator('.chat-user').filter({ hasText: message.slice(0, 60) }).first().waitFor({ state: 'visible' });
  step('message sent');

  // A reply is finished when it has text and its action buttons (copy, regenerate, ...) appear; a
  // refusal when the reply shows text and no longer the pulsing cursor of a reply still coming.
  const text = await (await page.waitForFunction((expect) => {
    const reply = window.__vaccReply();
    const text = reply && reply.box ? reply.box.innerText.trim() : '';
    if (!text) return null;
    if (expect === 'error') return reply.last.querySelector('.animate-cursor-pulse') ? null : text;
    return reply.last.querySelector('button') ? text : null;
  }, expect)).jsonValue();
  result.reply_ms = Date.now() - sent;
  const lengths = await page.evaluate(() => window.__vaccReplyLengths);
  step(expect === 'error' ? 'refusal shown' : 'reply complete');
  // Open WebUI also raises a toast with an error; what it said, if it is still up.
  result.toasts = await page.locator('[data-sonner-toast]').allInnerTexts().catch(() => []);
  result.reply = text;
  result.reply_lengths_seen = lengths;
  result.streamed = lengths.filter((n) => n > 0).length > 1;
  await page.screenshot({ path: shot, fullPage: false });
  step('screenshot');
  result.ok = text.length > 0;
} catch (err) {
  result.ok = false;
  result.error = String(err && err.stack ? err.stack : err);
  if (page) await page.screenshot({ path: shot, fullPage: false }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
