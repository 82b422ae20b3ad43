// Lifecycle: timeouts, info, listing by metadata, pause and resume with running processes, kill.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { SANDBOX_TIMEOUT_MS, Sandboxes, TEMPLATE, eventually } from '../lib/kiln.mjs';

// The server keeps whole seconds; allow for that and for the time a call takes.
const SLACK_MS = 5_000;

/** Every sandbox the paginator yields, page by page. */
async function listAll(opts) {
  const paginator = Sandbox.list(opts);
  const all = [];
  while (paginator.hasNext) all.push(...await paginator.nextItems());
  return all;
}

function assertEndsAround(info, from, to, timeoutMs, what) {
  const end = info.endAt.getTime();
  assert.ok(end >= from + timeoutMs - SLACK_MS && end <= to + timeoutMs + SLACK_MS,
    `${what}: endAt ${info.endAt.toISOString()} should be ${timeoutMs / 1000} s after the call `
    + `(between ${new Date(from + timeoutMs - SLACK_MS).toISOString()} and ${new Date(to + timeoutMs + SLACK_MS).toISOString()})`);
}

describe('lifecycle', () => {
  const sandboxes = new Sandboxes();
  // Unique to this run, so sandboxes left by other runs never match the filters.
  const run = `run-${randomUUID()}`;
  let first;
  let second;

  before(async () => {
    [first, second] = await Promise.all([
      sandboxes.create({ metadata: { suite: 'kiln-e2b-tests', run, role: 'first' } }),
      sandboxes.create({ metadata: { suite: 'kiln-e2b-tests', run, role: 'second' } }),
    ]);
  }, { timeout: 120_000 });

  after(() => sandboxes.killAll(), { timeout: 60_000 });

  test('getInfo describes a sandbox, through the instance and by id', { timeout: 60_000 }, async () => {
    const before = Date.now();
    const info = await Sandbox.getInfo(first.sandboxId);
    assert.equal(info.sandboxId, first.sandboxId);
    assert.ok(info.templateId === TEMPLATE || info.name === TEMPLATE,
      `the sandbox was made from template ${TEMPLATE}; got templateId ${info.templateId}, name ${info.name}`);
    assert.deepEqual(info.metadata, { suite: 'kiln-e2b-tests', run, role: 'first' }, 'getInfo returns the metadata given at create');
    assert.equal(info.state, 'running');
    assert.ok(info.startedAt.getTime() <= before + SLACK_MS, `startedAt ${info.startedAt.toISOString()} is not in the future`);
    assert.ok(info.endAt.getTime() > info.startedAt.getTime(), 'endAt is after startedAt');

    const viaInstance = await first.getInfo();
    assert.equal(viaInstance.sandboxId, first.sandboxId);
    assert.deepEqual(viaInstance.metadata, info.metadata);
  });

  test('setTimeout moves the end of the sandbox\'s life', { timeout: 60_000 }, async () => {
    for (const timeoutMs of [SANDBOX_TIMEOUT_MS * 2, SANDBOX_TIMEOUT_MS / 2, SANDBOX_TIMEOUT_MS]) {
      const from = Date.now();
      await first.setTimeout(timeoutMs);
      const to = Date.now();
      assertEndsAround(await first.getInfo(), from, to, timeoutMs, `after setTimeout(${timeoutMs})`);
    }
  });

  test('list filters by metadata', { timeout: 60_000 }, async () => {
    const onlyFirst = await listAll({ query: { metadata: { run, role: 'first' } } });
    assert.deepEqual(onlyFirst.map((s) => s.sandboxId), [first.sandboxId],
      'filtering on run and role finds exactly the sandbox created with them');
    assert.deepEqual(onlyFirst[0].metadata, { suite: 'kiln-e2b-tests', run, role: 'first' });

    const both = await listAll({ query: { metadata: { run } } });
    assert.deepEqual(both.map((s) => s.sandboxId).sort(), [first.sandboxId, second.sandboxId].sort(),
      'filtering on run alone finds both sandboxes of this run');

    const none = await listAll({ query: { metadata: { run, role: 'nobody' } } });
    assert.deepEqual(none, [], 'a filter no sandbox matches finds none');
  });

  test('list pages through results with limit', { timeout: 60_000 }, async () => {
    const paginator = Sandbox.list({ query: { metadata: { run } }, limit: 1 });
    const pages = [];
    while (paginator.hasNext) {
      pages.push(await paginator.nextItems());
      assert.ok(pages.length <= 3, 'two sandboxes in pages of one take at most three pages');
    }
    const ids = pages.flat().map((s) => s.sandboxId);
    assert.ok(pages.every((p) => p.length <= 1), `no page exceeds the limit of 1: ${JSON.stringify(pages.map((p) => p.length))}`);
    assert.deepEqual(ids.sort(), [first.sandboxId, second.sandboxId].sort(), 'the pages together hold both sandboxes, once each');
  });

  test('pause keeps files and running processes, and connect resumes', { timeout: 240_000 }, async () => {
    await first.files.write('/root/before-pause.txt', 'kept');
    // One process that only waits, one that shows it keeps running by counting.
    const sleeper = await first.commands.run('sleep 1000', { background: true, timeoutMs: 0 });
    const counter = await first.commands.run(
      'i=0; while true; do i=$((i+1)); echo $i > /root/counter; sleep 1; done',
      { background: true, timeoutMs: 0 });
    // A read can catch the file between truncation and write: that counts as no progress.
    const readCounter = async (sbx) => Number((await sbx.files.read('/root/counter').catch(() => '')).trim()) || 0;
    await eventually('the counter to start', async () => {
      const n = await readCounter(first);
      return { ok: n > 0, value: n };
    });
    // The processes must outlive this client's streams.
    await sleeper.disconnect();
    await counter.disconnect();

    assert.equal(await first.pause(), true, 'pause of a running sandbox returns true');
    assert.equal((await Sandbox.getInfo(first.sandboxId)).state, 'paused', 'a paused sandbox is listed as paused');
    assert.equal(await Sandbox.pause(first.sandboxId), false, 'pausing a paused sandbox returns false');

    const resumed = await Sandbox.connect(first.sandboxId, { timeoutMs: SANDBOX_TIMEOUT_MS });
    assert.equal(resumed.sandboxId, first.sandboxId);
    assert.equal((await Sandbox.getInfo(first.sandboxId)).state, 'running', 'connect resumed the sandbox');

    assert.equal(await resumed.files.read('/root/before-pause.txt'), 'kept', 'a file written before the pause is there after');
    const pids = (await resumed.commands.list()).map((p) => p.pid);
    assert.ok(pids.includes(sleeper.pid), `the background sleep (pid ${sleeper.pid}) still runs after resume; listed: ${pids}`);
    assert.ok(pids.includes(counter.pid), `the counter (pid ${counter.pid}) still runs after resume; listed: ${pids}`);

    const atResume = await eventually('a counter value after resume', async () => {
      const n = await readCounter(resumed);
      return { ok: n > 0, value: n };
    });
    await eventually('the counter to advance after resume', async () => {
      const n = await readCounter(resumed);
      return { ok: n > atResume, value: n };
    });

    assert.equal(await resumed.commands.kill(sleeper.pid), true);
    assert.equal(await resumed.commands.kill(counter.pid), true);
  });

  test('kill ends a sandbox; unknown ids are reported as such', { timeout: 60_000 }, async () => {
    assert.equal(await second.kill(), true, 'kill of a running sandbox returns true');
    await assert.rejects(Sandbox.getInfo(second.sandboxId), SandboxNotFoundError, 'getInfo of a killed sandbox raises SandboxNotFoundError');
    assert.equal(await Sandbox.kill(second.sandboxId), false, 'killing it again returns false');
    const remaining = await listAll({ query: { metadata: { run } } });
    assert.ok(!remaining.some((s) => s.sandboxId === second.sandboxId), 'a killed sandbox is no longer listed');

    assert.equal(await Sandbox.kill('no-such-sandbox-id'), false, 'kill of an unknown id returns false');
    await assert.rejects(Sandbox.getInfo('no-such-sandbox-id'), SandboxNotFoundError, 'getInfo of an unknown id raises SandboxNotFoundError');
  });
});
