// The file URLs the SDK signs with the sandbox's access token (uploadUrl/downloadUrl), for a browser
// or another program to use without the token. Their URLs name the sandbox only in E2B's host-name
// scheme (https://49983-<id>.<domain>), so they are tested when the suite runs with E2B_DOMAIN.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sandboxForBlock } from '../lib/kiln.mjs';

const domainMode = Boolean(process.env.E2B_DOMAIN);
const skip = domainMode ? false : 'signed URLs name no sandbox with a single E2B_SANDBOX_URL: they are tested in the E2B_DOMAIN run';

describe('signed file URLs', { skip }, () => {
  const box = sandboxForBlock();

  test('an upload URL writes and a download URL reads, without the access token', { timeout: 60_000 }, async () => {
    const form = new FormData();
    form.append('file', new Blob(['signed hello']), 'signed.txt');
    const up = await fetch(await box.sbx.uploadUrl('/tmp/signed.txt'), { method: 'POST', body: form });
    assert.equal(up.status, 200, `upload through the signed URL: ${await up.clone().text()}`);
    const down = await fetch(await box.sbx.downloadUrl('/tmp/signed.txt', { useSignatureExpiration: 60_000 }));
    assert.equal(down.status, 200, 'download through the signed URL');
    assert.equal(await down.text(), 'signed hello');
  });

  test('a URL whose signature or path was changed is refused', { timeout: 60_000 }, async () => {
    const url = await box.sbx.downloadUrl('/tmp/signed.txt');
    const forged = await fetch(url.replace('signature=v1_', 'signature=v1_x'));
    assert.equal(forged.status, 401, 'a changed signature');
    const otherPath = await fetch(url.replace(encodeURIComponent('/tmp/signed.txt'), encodeURIComponent('/etc/shadow')));
    assert.equal(otherPath.status, 401, 'the signature of another path');
  });
});
