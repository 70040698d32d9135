// People who run the real `circle` binary, each in a temporary home of their own, and the
// browser they open circle in. Every node started here is killed when its test file ends,
// also when a test fails or the process exits early.
'use strict';

const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const run = promisify(execFile);

/** The `circle` binary under test (CIRCLE_BIN, or the debug build of this repository). */
const CIRCLE = path.resolve(
  process.env.CIRCLE_BIN || path.join(__dirname, '..', '..', 'target', 'debug', 'circle'),
);
/** The passphrase everyone uses. */
const PASSPHRASE = 'web tests: seven quiet lanterns by the river';
/** Longest a one-shot command may take (a join waits up to 20 s for the inviter). */
const COMMAND_TIMEOUT = 60_000;
/** Longest a node may take to say it runs. */
const UP_TIMEOUT = 30_000;
/** Longest a message may take to reach another member (gossip is immediate; sync is the slow
 * path, every 30 s, plus a redial). */
const DELIVERY_TIMEOUT = 90_000;
/** Longest a page may take to show something. */
const PAGE_TIMEOUT = 30_000;

const everyone = new Set();
process.on('exit', () => {
  for (const person of everyone) person.kill();
});

/** Calls `probe` until it returns something truthy, or fails after `timeout` ms saying what
 * it waited for. */
async function eventually(what, probe, timeout = DELIVERY_TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

class Person {
  /** Someone who has run `circle init --name NICK` in a new home. */
  static async init(name, nick = name) {
    const person = new Person(name);
    await person.ok(['init', '--name', nick]);
    return person;
  }

  constructor(name) {
    this.name = name;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `circle-web-${name}-`));
    this.home = path.join(this.dir, 'home');
    this.node = null;
    everyone.add(this);
  }

  env() {
    // CIRCLE_TEST_KDF: cheap argon2id for test homes (honoured by debug builds only).
    const env = { ...process.env, CIRCLE_PASSPHRASE: PASSPHRASE, CIRCLE_TEST_KDF: 'cheap' };
    delete env.CIRCLE_PASSPHRASE_FILE;
    delete env.CIRCLE_HOME;
    return env;
  }

  /** Runs `circle --home H ARGS...`; its standard output, or an error with what it said. */
  async ok(args) {
    try {
      const { stdout } = await run(CIRCLE, ['--home', this.home, ...args], {
        env: this.env(),
        timeout: COMMAND_TIMEOUT,
        maxBuffer: 16 << 20,
      });
      return stdout.trim();
    } catch (e) {
      throw new Error(`${this.name}: circle ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
    }
  }

  /** `circle --json ARGS...`, its JSON lines parsed. */
  async json(args) {
    const out = await this.ok(['--json', ...args]);
    return out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  /** Starts `circle up` on loopback without mDNS and waits until it says it runs. */
  async up() {
    if (this.node) throw new Error(`${this.name}'s node is already up`);
    const log = fs.openSync(path.join(this.dir, 'node.log'), 'w');
    this.node = spawn(
      CIRCLE,
      ['--home', this.home, 'up', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'],
      { env: this.env(), stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const node = this.node;
    let exited = null;
    node.on('exit', (code, signal) => { exited = signal || code; });
    await eventually(`${this.name}'s node to run`, async () => {
      if (exited !== null) {
        throw new Error(`it stopped (${exited}): ${this.log().trim().split('\n').pop()}`);
      }
      const [status] = await this.json(['status']);
      return status.running === true;
    }, UP_TIMEOUT);
  }

  /** What their node printed. */
  log() {
    try {
      return fs.readFileSync(path.join(this.dir, 'node.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Starts a circle; its id. */
  async create(name, extra = []) {
    return (await this.json(['create', name, ...extra]))[0].id;
  }

  /** An invite to a circle. */
  async invite(circle, extra = []) {
    return this.ok(['invite', circle, ...extra]);
  }

  /** Joins with an invite, without asking; the circle's id. */
  async join(invite) {
    return (await this.json(['join', invite, '--yes']))[0].id;
  }

  async share(circle, text) {
    return (await this.json(['share', circle, text]))[0].id;
  }

  /** Their feed of a circle, as the CLI gives it. */
  async feed(circle) {
    return this.json(['feed', circle]);
  }

  /** A one-time sign-in link to their node's web app, at its secret host name. */
  async signInUrl() {
    const url = await this.ok(['open', '--print']);
    if (!/^http:\/\/[a-z2-7]{26}\.localhost:\d+\/sign-in\?code=/.test(url)) {
      throw new Error(`${this.name}: circle open --print printed ${JSON.stringify(url)}`);
    }
    return url;
  }

  /** Their node's web address (http://SECRET.localhost:PORT). */
  async origin() {
    return new URL(await this.signInUrl()).origin;
  }

  /** Opens the web app in a new page of `context`, signed in with a fresh link. */
  async signIn(context) {
    const page = await context.newPage();
    const response = await page.goto(await this.signInUrl());
    if (response.status() !== 200) {
      throw new Error(`${this.name}: signing in ended at ${page.url()} (${response.status()})`);
    }
    await landed(page);
    return page;
  }

  /** Kills their node at once (the end of a story). */
  kill() {
    if (this.node && this.node.exitCode === null && this.node.signalCode === null) {
      this.node.kill('SIGKILL');
    }
  }

  /** Stops their node and removes their home. */
  async stop() {
    const node = this.node;
    if (node && node.exitCode === null && node.signalCode === null) {
      const gone = new Promise((r) => node.once('exit', r));
      node.kill('SIGINT');
      const timer = setTimeout(() => node.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    this.node = null;
    everyone.delete(this);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits until a page that just signed in has gone on to the home page (the sign-in page
 * does that itself, so that the browser sends the SameSite=Strict cookie). */
async function landed(page) {
  await page.waitForURL((u) => u.pathname === '/', { timeout: PAGE_TIMEOUT });
  await page.waitForLoadState('load');
}

/** Stops everyone's node (call it in `after`, so it runs when a test failed too). */
async function stopAll(people) {
  await Promise.all(people.filter(Boolean).map((p) => p.stop()));
}

/** alice's circle with the others in it, all nodes up; the circle's id. */
async function circleOf(alice, others, name = 'Tuesday evening', extra = []) {
  const id = await alice.create(name, extra);
  const invite = await alice.invite(name, ['--uses', String(others.length)]);
  for (const friend of others) {
    const joined = await friend.join(invite);
    if (joined !== id) throw new Error(`${friend.name} joined ${joined}, not ${id}`);
  }
  return id;
}

module.exports = {
  CIRCLE,
  DELIVERY_TIMEOUT,
  PAGE_TIMEOUT,
  Person,
  circleOf,
  eventually,
  landed,
  stopAll,
};
