// Two sandboxes driven at once: each request reaches its own sandbox and no other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Sandboxes } from '../lib/kiln.mjs';

describe('two sandboxes at once', () => {
  const sandboxes = new Sandboxes();
  let pair;

  before(async () => {
    pair = await Promise.all([sandboxes.create(), sandboxes.create()]);
  }, { timeout: 120_000 });

  after(() => sandboxes.killAll(), { timeout: 60_000 });

  test('two sandboxes are distinct', () => {
    assert.notEqual(pair[0].sandboxId, pair[1].sandboxId);
  });

  test('concurrent files and commands each reach their own sandbox', { timeout: 120_000 }, async () => {
    // The same path in both, with different content, written at the same time.
    await Promise.all(pair.map((sbx) => sbx.files.write('/root/whoami.txt', sbx.sandboxId)));
    await Promise.all(pair.map((sbx) => sbx.files.write(`/root/only-in-${sbx.sandboxId}.txt`, 'mine')));

    const [catOutputs, reads] = await Promise.all([
      Promise.all(pair.map((sbx) => sbx.commands.run('cat /root/whoami.txt; echo; ls /root'))),
      Promise.all(pair.map((sbx) => sbx.files.read('/root/whoami.txt'))),
    ]);
    pair.forEach((sbx, i) => {
      const other = pair[1 - i];
      assert.equal(reads[i], sbx.sandboxId, `files.read in ${sbx.sandboxId} returns its own file`);
      const [whoami, ...listing] = catOutputs[i].stdout.split('\n');
      assert.equal(whoami, sbx.sandboxId, `a command in ${sbx.sandboxId} reads its own file`);
      assert.ok(listing.includes(`only-in-${sbx.sandboxId}.txt`), `${sbx.sandboxId} has its own file: ${listing}`);
      assert.ok(!listing.includes(`only-in-${other.sandboxId}.txt`), `${sbx.sandboxId} does not have the other's file: ${listing}`);
    });

    const exists = await Promise.all(pair.map((sbx, i) => sbx.files.exists(`/root/only-in-${pair[1 - i].sandboxId}.txt`)));
    assert.deepEqual(exists, [false, false], 'neither sandbox sees the other\'s file through files.exists');
  });

  test('many interleaved commands keep their outputs apart', { timeout: 180_000 }, async () => {
    const rounds = 5;
    const runs = pair.flatMap((sbx) => Array.from({ length: rounds }, (_, n) =>
      sbx.commands.run(`echo ${sbx.sandboxId}-${n}; cat /root/whoami.txt`)
        .then((r) => ({ sbx, n, stdout: r.stdout }))));
    for (const { sbx, n, stdout } of await Promise.all(runs)) {
      assert.equal(stdout, `${sbx.sandboxId}-${n}\n${sbx.sandboxId}`, `command ${n} in ${sbx.sandboxId} got its own output`);
    }
  });
});
