// Debian's Chromium, driven by playwright-core (never Playwright's own browser download).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { PAGE_TIMEOUT } = require('./circle');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Chromium, headless, with nothing of its own on the network (see docs/STACK notes). */
async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package, or set CHROMIUM`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

/** A fresh browser profile (no cookies), with generous timeouts. */
async function context(browser, options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  ctx.setDefaultTimeout(PAGE_TIMEOUT);
  return ctx;
}

/** Records what a page's script tries to raise (alerts, notifications), before any script. */
async function recordAlertsAndNotifications(ctx) {
  await ctx.addInitScript(() => {
    window.__alerts = [];
    window.__notifications = [];
    const record = (what) => (...args) => { window.__alerts.push(what + ':' + String(args[0])); };
    window.alert = record('alert');
    window.confirm = record('confirm');
    window.prompt = record('prompt');
    const Real = window.Notification;
    if (Real) {
      class Recorded {
        constructor(title, options) {
          window.__notifications.push({ title, body: options && options.body });
        }
        static get permission() { return Real.permission; }
        static requestPermission() { return Real.requestPermission(); }
      }
      window.Notification = Recorded;
    }
  });
}

/** Goes to `url` and waits until the page's live stream from the node is open. */
async function openLive(page, url) {
  const stream = page.waitForResponse((r) => new URL(r.url()).pathname === '/app/events');
  await page.goto(url);
  const response = await stream;
  if (response.status() !== 200) throw new Error(`the live stream answered ${response.status()}`);
}

// The README's screenshots are refreshed only when asked (CIRCLE_SCREENSHOTS=../docs/screenshots),
// so an ordinary run leaves the working tree as it was.
const SHOTS = process.env.CIRCLE_SCREENSHOTS
  ? path.resolve(process.env.CIRCLE_SCREENSHOTS)
  : path.join(require('os').tmpdir(), 'circle-screenshots');

/** Saves `page` as SHOTS/NAME-WIDTH.png, the whole page, at its current width. */
async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const width = page.viewportSize().width;
  const file = path.join(SHOTS, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The serious and critical findings of an axe-core scan of `page`, one line each. */
async function seriousViolations(page) {
  const { AxeBuilder } = require('@axe-core/playwright');
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Presses Tab until the focused element matches `selector` (at most 60 times). */
async function tabTo(page, selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement.matches(s), selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

module.exports = {
  context,
  launch,
  openLive,
  recordAlertsAndNotifications,
  screenshot,
  seriousViolations,
  tabTo,
};
