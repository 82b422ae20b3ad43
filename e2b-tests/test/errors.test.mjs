// Bad input: wrong credentials on either plane, commands past their deadline, reads of what is not
// a file. Each must fail with the SDK's error for it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError, FileNotFoundError, InvalidArgumentError, Sandbox, TimeoutError,
} from 'e2b';
import { sandboxForBlock, TEMPLATE, envdUrl } from '../lib/kiln.mjs';

const isA = (type, what) => (err) => {
  assert.ok(err instanceof type, `${what} raises ${type.name}, got ${err?.name}: ${err?.message}`);
  return true;
};

describe('bad input', () => {
  const box = sandboxForBlock();

  test('a wrong API key is refused with AuthenticationError', { timeout: 60_000 }, async () => {
    const apiKey = 'kiln-e2b-tests-wrong-key';
    await assert.rejects(
      Sandbox.create(TEMPLATE, { apiKey, timeoutMs: 60_000 }).then((made) => {
        box.sandboxes.track(made.sandboxId);
        return made;
      }),
      isA(AuthenticationError, 'create with a wrong API key'));
    await assert.rejects(Sandbox.list({ apiKey }).nextItems(), isA(AuthenticationError, 'list with a wrong API key'));
    await assert.rejects(Sandbox.connect(box.sbx.sandboxId, { apiKey }),
      isA(AuthenticationError, 'connect to an existing sandbox with a wrong API key'));
    await assert.rejects(Sandbox.getInfo(box.sbx.sandboxId, { apiKey }),
      isA(AuthenticationError, 'getInfo with a wrong API key'));
  });

  test('envd refuses a request with a wrong or missing access token', { timeout: 60_000 }, async (t) => {
    // The SDK always sends the right token, so this speaks the wire protocol directly.
    const base = envdUrl(box.sbx);
    const stat = (token) => fetch(`${base}/filesystem.Filesystem/Stat`, {
      method: 'POST',
      headers: {
        'E2b-Sandbox-Id': box.sbx.sandboxId,
        'Content-Type': 'application/json',
        'Connect-Protocol-Version': '1',
        ...(token === undefined ? {} : { 'X-Access-Token': token }),
      },
      body: JSON.stringify({ path: '/root' }),
    });

    for (const [token, what] of [['wrong', 'a wrong access token'], [undefined, 'no access token']]) {
      const res = await stat(token);
      const body = await res.text();
      assert.equal(res.status, 401, `Stat with ${what} is refused with 401; got ${res.status} ${body}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/i, 'the refusal is a Connect JSON error');
      assert.equal(JSON.parse(body).code, 'unauthenticated', `the Connect error code is unauthenticated; got ${body}`);
    }

    const download = await fetch(`${base}/files?path=${encodeURIComponent('/etc/hostname')}`, {
      headers: { 'E2b-Sandbox-Id': box.sbx.sandboxId, 'X-Access-Token': 'wrong' },
    });
    await download.arrayBuffer();
    assert.equal(download.status, 401, `a file download with a wrong access token is refused with 401; got ${download.status}`);

    // The same requests with the token the API handed the SDK succeed: the refusals were about the token.
    if (box.sbx.envdAccessToken) {
      const ok = await stat(box.sbx.envdAccessToken);
      assert.equal(ok.status, 200, `Stat with the sandbox's own token succeeds; got ${ok.status} ${await ok.text()}`);
    } else {
      t.diagnostic('the API returned no envdAccessToken for the sandbox; skipped the check with the right token');
    }
  });

  test('a command that outlives its timeoutMs raises TimeoutError', { timeout: 60_000 }, async () => {
    const started = Date.now();
    await assert.rejects(box.sbx.commands.run('sleep 30', { timeoutMs: 1_000 }),
      isA(TimeoutError, 'a 30 s sleep with timeoutMs 1000'));
    const took = Date.now() - started;
    assert.ok(took < 20_000, `the timeout ended the wait early (took ${took} ms, the sleep would take 30 s)`);
  });

  test('reading a directory or a missing path raises the matching error', { timeout: 60_000 }, async () => {
    await assert.rejects(box.sbx.files.read('/root'), isA(InvalidArgumentError, 'read of a directory'));
    await assert.rejects(box.sbx.files.read('/root/no/such/file'), isA(FileNotFoundError, 'read of a missing path'));
    await assert.rejects(box.sbx.files.read('/root/no-such-file', { format: 'bytes' }),
      isA(FileNotFoundError, 'read of a missing path as bytes'));
  });
});
