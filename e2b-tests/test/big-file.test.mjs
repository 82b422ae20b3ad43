// A 50 MiB file through the files API, checked by a hash computed in the guest and on the way back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sandboxForBlock } from '../lib/kiln.mjs';

const SIZE = 50 * 1024 * 1024;
// Under software emulation moving and hashing 50 MiB takes a while: generous, but bounded.
const SLOW_MS = 300_000;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

describe('a 50 MiB file', () => {
  // The sandbox must outlive the test's own (generous) timeout.
  const box = sandboxForBlock({ timeoutMs: 4 * SLOW_MS });

  test('is written, hashed identically in the guest, and read back unchanged', { timeout: 3 * SLOW_MS }, async () => {
    const data = randomBytes(SIZE);
    const expected = sha256(data);

    const info = await box.sbx.files.write('/root/big.bin', data, { requestTimeoutMs: SLOW_MS });
    assert.equal(info.path, '/root/big.bin');
    assert.equal((await box.sbx.files.getInfo('/root/big.bin')).size, SIZE, 'the guest file has all 50 MiB');

    const hashed = await box.sbx.commands.run('sha256sum /root/big.bin', { timeoutMs: SLOW_MS });
    assert.equal(hashed.stdout.split(/\s+/)[0], expected, 'sha256sum in the guest matches the bytes sent');

    const back = await box.sbx.files.read('/root/big.bin', { format: 'bytes', requestTimeoutMs: SLOW_MS });
    assert.equal(back.length, SIZE, 'the whole file is read back');
    assert.equal(sha256(back), expected, 'the bytes read back are the bytes written');
  });
});
