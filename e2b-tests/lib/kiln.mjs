// What every test file shares: the run's configuration (from the environment, checked once at
// import), sandbox bookkeeping so each file kills what it made, and ways to wait on events with
// a deadline instead of sleeping.
import { after, before } from 'node:test';
import { Sandbox } from 'e2b';
import { configMessage, configProblems } from './config.mjs';

const env = process.env;

{
  const problems = configProblems();
  if (problems.length > 0) throw new Error(configMessage(problems));
}

export const TEMPLATE = env.KILN_E2B_TEMPLATE;

/** Sandbox lifetime for every sandbox the suite makes: long enough for the slowest file. */
export const SANDBOX_TIMEOUT_MS = 300_000;

/**
 * The envd base URL of a sandbox, as the SDK derives it: one URL routed by the E2b-Sandbox-Id
 * header in the plain mode, a host per sandbox in the domain mode.
 */
export function envdUrl(sbx) {
  return env.E2B_SANDBOX_URL || `https://49983-${sbx.sandboxId}.${sbx.sandboxDomain}`;
}

/** Creates sandboxes from the template and kills every one of them in killAll(). */
export class Sandboxes {
  #created = [];

  async create(opts = {}) {
    let sbx;
    try {
      sbx = await Sandbox.create(TEMPLATE, { timeoutMs: SANDBOX_TIMEOUT_MS, ...opts });
    } catch (err) {
      // "fetch failed" alone does not say where or why.
      const causes = [];
      for (let c = err.cause; c; c = c.cause) causes.push(c.code ? `${c.code}: ${c.message}` : c.message);
      const api = env.E2B_API_URL || `https://api.${env.E2B_DOMAIN}`;
      throw new Error(`could not create a sandbox from template ${TEMPLATE} through ${api}: `
        + `${err.name}: ${err.message}${causes.length ? ` (${causes.join('; ')})` : ''}`, { cause: err });
    }
    this.#created.push(sbx.sandboxId);
    return sbx;
  }

  /** Remembers a sandbox made some other way, so it is killed as well. */
  track(sandboxId) {
    this.#created.push(sandboxId);
  }

  async killAll() {
    const ids = this.#created.splice(0);
    const results = await Promise.allSettled(ids.map((id) => Sandbox.kill(id)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') console.error(`could not kill sandbox ${ids[i]}: ${r.reason}`);
    });
  }
}

/**
 * One sandbox for the tests of a describe block (call it inside the block): made before the first
 * test, killed after the last with any other the block tracked in `.sandboxes`.
 */
export function sandboxForBlock(opts = {}) {
  const block = { sandboxes: new Sandboxes(), sbx: undefined };
  before(async () => {
    block.sbx = await block.sandboxes.create(opts);
  }, { timeout: 120_000 });
  after(() => block.sandboxes.killAll(), { timeout: 60_000 });
  return block;
}

/** Rejects with a message naming what was awaited when the promise takes longer than ms. */
export async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How a promise ended, as {value} or {error}: never rejects, so it can be awaited later. */
export function settle(promise) {
  return promise.then((value) => ({ value }), (error) => ({ error }));
}

/**
 * Accumulates streamed text (command output, terminal data) and lets a test wait until it
 * matches a pattern. Feed it strings or bytes.
 */
export class Output {
  #text = '';
  #decoder = new TextDecoder();
  #waiters = new Set();

  push = (chunk) => {
    this.#text += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    for (const w of this.#waiters) w.check();
  };

  get text() {
    return this.#text;
  }

  /** Where new output starts now: pass it to until() to ignore what came before. */
  mark() {
    return this.#text.length;
  }

  /** Resolves with the match once the text from `from` on matches `pattern`. */
  until(pattern, { from = 0, ms = 30_000, what = `output matching ${pattern}` } = {}) {
    let waiter;
    const matched = new Promise((resolve) => {
      waiter = {
        check: () => {
          const m = this.#text.slice(from).match(pattern);
          if (m) {
            this.#waiters.delete(waiter);
            resolve(m);
          }
        },
      };
      this.#waiters.add(waiter);
      waiter.check();
    });
    return within(ms, what, matched).catch((err) => {
      this.#waiters.delete(waiter);
      err.message += `; got so far: ${JSON.stringify(this.#text.slice(from).slice(-500))}`;
      throw err;
    });
  }
}

/** Collects watchDir events and lets a test wait for one that satisfies a predicate. */
export class Events {
  all = [];
  #waiters = new Set();

  push = (event) => {
    this.all.push(event);
    for (const w of this.#waiters) w(event);
  };

  until(predicate, { ms = 30_000, what = 'an event' } = {}) {
    let waiter;
    const found = new Promise((resolve) => {
      const seen = this.all.find(predicate);
      if (seen) return resolve(seen);
      waiter = (e) => {
        if (predicate(e)) {
          this.#waiters.delete(waiter);
          resolve(e);
        }
      };
      this.#waiters.add(waiter);
    });
    return within(ms, what, found).catch((err) => {
      this.#waiters.delete(waiter);
      err.message += `; events so far: ${JSON.stringify(this.all.map(({ name, type }) => ({ name, type })))}`;
      throw err;
    });
  }
}

/**
 * Re-checks an asynchronous condition until it holds or the deadline passes: for state the
 * server offers no event for (a guest process's counter advancing). Resolves with the last value.
 */
export async function eventually(what, check, { ms = 30_000, everyMs = 250 } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last.ok) return last.value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last seen: ${JSON.stringify(last.value)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
