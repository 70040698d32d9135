// Story 1: alice signs in with the one-time link `circle open` gives her; the link does not
// work twice, and a browser without her cookie sees how to sign in, not her circles.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { execFile } = require('node:child_process');
const { CIRCLE, Person, eventually, landed, stopAll } = require('../lib/circle');
const { context, launch } = require('../lib/browser');

let alice;
let circle;
let browser;

before(async () => {
  alice = await Person.init('alice');
  await alice.up();
  circle = await alice.create('Tuesday evening');
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  await stopAll([alice]);
});

test('the sign-in link shows your circles once, then says it was already used', async () => {
  const url = await alice.signInUrl();
  const ctx = await context(browser);
  const page = await ctx.newPage();

  const first = await page.goto(url);
  assert.equal(first.status(), 200);
  await landed(page);
  assert.equal(new URL(page.url()).pathname, '/', 'the link lands on the home page');
  assert.match(new URL(page.url()).hostname, /^[a-z2-7]{26}\.localhost$/, 'at the secret name');
  assert.equal(await page.locator('h1').innerText(), 'Your circles');
  await page.getByRole('link', { name: 'Tuesday evening' }).waitFor();
  assert.ok(!page.url().includes('code='), 'the code does not stay in the address bar');

  const [cookie, ...more] = await ctx.cookies();
  assert.equal(more.length, 0, 'one cookie');
  assert.equal(cookie.httpOnly, true, 'the page script cannot read the session');
  assert.equal(cookie.sameSite, 'Strict', 'other sites cannot send it');

  const second = await page.goto(url);
  assert.equal(second.status(), 410);
  assert.match(await page.locator('main').innerText(), /already used/);
  assert.doesNotMatch(await page.locator('main').innerText(), /Tuesday evening/);
  await ctx.close();
});

test('the private page `circle open` hands to the browser signs it in', async () => {
  // A stand-in for the desktop's opener that records what it was given, as the browser would
  // be: the path of a page in alice's home, never the sign-in link.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circle-opener-'));
  const asked = path.join(dir, 'args');
  fs.writeFileSync(path.join(dir, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${asked}'\n`, { mode: 0o755 });
  try {
    await promisify(execFile)(CIRCLE, ['--home', alice.home, 'open'], {
      env: { ...alice.env(), PATH: `${dir}:${process.env.PATH}` },
    });
    const target = fs.readFileSync(asked, 'utf8');
    assert.match(target, /^file:\/\/.*\/open\.html$/);
    const ctx = await context(browser);
    const page = await ctx.newPage();
    await page.goto(target);
    await landed(page);
    assert.match(new URL(page.url()).hostname, /^[a-z2-7]{26}\.localhost$/);
    assert.equal(await page.locator('h1').innerText(), 'Your circles');
    await page.getByRole('link', { name: 'Tuesday evening' }).waitFor();
    await ctx.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a browser that never signed in is told how to open circle, and sees no circle', async () => {
  const origin = await alice.origin();
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const response = await page.goto(origin + '/');
  assert.equal(response.status(), 401);
  const main = await page.locator('main').innerText();
  assert.match(main, /not signed in/);
  assert.match(main, /circle open/);
  assert.doesNotMatch(await page.content(), /Tuesday evening/);
  await ctx.close();
});

/** Another web site on this computer: a server on another port of 127.0.0.1 (perhaps another
 * user's), whose page tries to share in alice's circle; it records the cookies the browser
 * sends it. */
function otherSite(target) {
  const page = `<!doctype html><title>other</title><script>
    fetch(${JSON.stringify(target)}, {
      method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ text: 'written by another site' }),
    }).then(() => { document.title = 'sent'; }, () => { document.title = 'failed'; });
  </script>`;
  const cookies = [];
  const server = http.createServer((req, res) => {
    cookies.push(req.headers.cookie || '');
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  server.cookies = cookies;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test("another web site on this computer never receives alice's cookie and cannot write", async () => {
  const ctx = await context(browser);
  const page = await alice.signIn(ctx);
  const origin = new URL(page.url()).origin;
  const shares = `${origin}/v1/circles/${circle}/shares`;
  const refused = page.waitForResponse((r) => r.url() === shares);
  // What Chromium really sent (Playwright's own view of headers leaves cookies out).
  const sent = [];
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => sent.push(e.headers));
  const server = await otherSite(shares);
  try {
    // Browsers keep cookies per host, not per port: had the cookie been set for 127.0.0.1,
    // this server would receive it. It is set for alice's secret *.localhost name alone.
    for (const host of ['127.0.0.1', 'localhost']) {
      await page.goto(`http://${host}:${server.address().port}/`);
      await page.waitForFunction(() => document.title !== 'other');
    }
    assert.equal(server.cookies.length >= 2, true, 'the other site was visited');
    for (const cookie of server.cookies) assert.doesNotMatch(cookie, /circle_session/);
    const response = await refused;
    assert.equal(response.status(), 403);
    const headers = await eventually('the headers Chromium sent', () =>
      sent.find((h) => (h.Origin || h.origin) && (h['Sec-Fetch-Site'] || h['sec-fetch-site'])), 10_000);
    assert.doesNotMatch(headers.Cookie || headers.cookie || '', /circle_session=/);
  } finally {
    server.close();
  }
  const feed = await alice.feed(circle);
  assert.ok(!feed.some((i) => i.text === 'written by another site'), 'nothing was shared');
  await ctx.close();
});
