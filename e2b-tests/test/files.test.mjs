// Files: writing and reading text and bytes, listing, metadata, directories, renames, removal
// and watching a directory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FileNotFoundError, FilesystemEventType } from 'e2b';
import { Events, sandboxForBlock } from '../lib/kiln.mjs';

const DIR = '/root/files-test';
const allBytes = () => Uint8Array.from({ length: 256 }, (_, i) => i);

describe('files', () => {
  const box = sandboxForBlock();

  test('text written is read back, and the guest sees it', { timeout: 60_000 }, async () => {
    const info = await box.sbx.files.write(`${DIR}/hello.txt`, 'hello kiln\n');
    assert.equal(info.name, 'hello.txt', 'write returns the file\'s name');
    assert.equal(info.path, `${DIR}/hello.txt`, 'write returns the file\'s absolute path');

    assert.equal(await box.sbx.files.read(`${DIR}/hello.txt`), 'hello kiln\n');
    const cat = await box.sbx.commands.run(`cat ${DIR}/hello.txt`);
    assert.equal(cat.stdout, 'hello kiln\n', 'a command in the guest reads what files.write wrote');
  });

  test('relative paths resolve against the home directory', { timeout: 60_000 }, async () => {
    const info = await box.sbx.files.write('relative-dir/rel.txt', 'relative');
    assert.equal(info.path, '/root/relative-dir/rel.txt');
    assert.equal(await box.sbx.files.read('/root/relative-dir/rel.txt'), 'relative');
  });

  test('binary data round-trips byte for byte, from a Uint8Array and an ArrayBuffer', { timeout: 60_000 }, async () => {
    const bytes = allBytes();
    await box.sbx.files.write(`${DIR}/bytes.bin`, bytes);
    await box.sbx.files.write(`${DIR}/buffer.bin`, bytes.slice().buffer);

    for (const name of ['bytes.bin', 'buffer.bin']) {
      const back = await box.sbx.files.read(`${DIR}/${name}`, { format: 'bytes' });
      assert.ok(back instanceof Uint8Array, `read with format 'bytes' returns a Uint8Array, got ${back?.constructor?.name}`);
      assert.deepEqual(Buffer.from(back), Buffer.from(bytes), `${name} holds bytes 0..255 in order`);
    }
    const info = await box.sbx.files.getInfo(`${DIR}/bytes.bin`);
    assert.equal(info.size, 256, 'getInfo reports the size of the 256-byte file');
  });

  test('several files written in one call', { timeout: 60_000 }, async () => {
    const written = await box.sbx.files.write([
      { path: `${DIR}/multi/a.txt`, data: 'file a' },
      { path: `${DIR}/multi/b.txt`, data: 'file b' },
      { path: `${DIR}/multi/deeper/c.bin`, data: allBytes() },
    ]);
    assert.deepEqual(written.map((w) => w.path).sort(),
      [`${DIR}/multi/a.txt`, `${DIR}/multi/b.txt`, `${DIR}/multi/deeper/c.bin`],
      'the write returns one entry per file');
    assert.equal(await box.sbx.files.read(`${DIR}/multi/a.txt`), 'file a');
    assert.equal(await box.sbx.files.read(`${DIR}/multi/b.txt`), 'file b');
    assert.deepEqual(Buffer.from(await box.sbx.files.read(`${DIR}/multi/deeper/c.bin`, { format: 'bytes' })),
      Buffer.from(allBytes()));
  });

  test('list shows a directory\'s entries, and deeper ones with depth', { timeout: 60_000 }, async () => {
    await box.sbx.files.write([
      { path: `${DIR}/tree/top.txt`, data: 'top' },
      { path: `${DIR}/tree/sub/inner.txt`, data: 'inner' },
    ]);

    const shallow = await box.sbx.files.list(`${DIR}/tree`);
    assert.deepEqual(shallow.map((e) => [e.name, e.type, e.path]).sort(), [
      ['sub', 'dir', `${DIR}/tree/sub`],
      ['top.txt', 'file', `${DIR}/tree/top.txt`],
    ], 'depth 1 lists only the directory\'s own entries');

    const deep = await box.sbx.files.list(`${DIR}/tree`, { depth: 2 });
    assert.deepEqual(deep.map((e) => e.path).sort(),
      [`${DIR}/tree/sub`, `${DIR}/tree/sub/inner.txt`, `${DIR}/tree/top.txt`],
      'depth 2 also lists the subdirectory\'s entries');
  });

  test('exists and getInfo describe files and directories', { timeout: 60_000 }, async () => {
    await box.sbx.files.write(`${DIR}/info/eleven.txt`, 'eleven byte');
    assert.equal(await box.sbx.files.exists(`${DIR}/info/eleven.txt`), true, 'a written file exists');
    assert.equal(await box.sbx.files.exists(`${DIR}/info/never-written.txt`), false, 'a file never written does not exist');

    const file = await box.sbx.files.getInfo(`${DIR}/info/eleven.txt`);
    assert.equal(file.type, 'file');
    assert.equal(file.name, 'eleven.txt');
    assert.equal(file.path, `${DIR}/info/eleven.txt`);
    assert.equal(file.size, 11);
    assert.ok(file.modifiedTime instanceof Date && !Number.isNaN(file.modifiedTime.getTime()),
      `getInfo has a modification time, got ${file.modifiedTime}`);

    const dir = await box.sbx.files.getInfo(`${DIR}/info`);
    assert.equal(dir.type, 'dir');
  });

  test('makeDir creates a directory once', { timeout: 60_000 }, async () => {
    assert.equal(await box.sbx.files.makeDir(`${DIR}/made/nested`), true, 'makeDir of a new path returns true');
    assert.equal(await box.sbx.files.makeDir(`${DIR}/made/nested`), false, 'makeDir of an existing directory returns false');
    assert.equal((await box.sbx.files.getInfo(`${DIR}/made/nested`)).type, 'dir');
  });

  test('rename moves a file', { timeout: 60_000 }, async () => {
    await box.sbx.files.write(`${DIR}/old-name.txt`, 'moving');
    const moved = await box.sbx.files.rename(`${DIR}/old-name.txt`, `${DIR}/new-name.txt`);
    assert.equal(moved.path, `${DIR}/new-name.txt`, 'rename returns the entry at its new path');
    assert.equal(await box.sbx.files.exists(`${DIR}/old-name.txt`), false, 'the old path is gone');
    assert.equal(await box.sbx.files.read(`${DIR}/new-name.txt`), 'moving', 'the content moved with the name');
  });

  test('remove deletes files and whole directories', { timeout: 60_000 }, async () => {
    await box.sbx.files.write(`${DIR}/doomed.txt`, 'bye');
    await box.sbx.files.write(`${DIR}/doomed-dir/inside.txt`, 'bye too');
    await box.sbx.files.remove(`${DIR}/doomed.txt`);
    await box.sbx.files.remove(`${DIR}/doomed-dir`);
    assert.equal(await box.sbx.files.exists(`${DIR}/doomed.txt`), false, 'a removed file no longer exists');
    assert.equal(await box.sbx.files.exists(`${DIR}/doomed-dir`), false, 'a removed directory no longer exists');
  });

  test('missing paths raise FileNotFoundError', { timeout: 60_000 }, async () => {
    const isFileNotFound = (what) => (err) => {
      assert.ok(err instanceof FileNotFoundError, `${what} raises FileNotFoundError, got ${err?.name}: ${err?.message}`);
      return true;
    };
    await assert.rejects(box.sbx.files.read(`${DIR}/no-such-file.txt`), isFileNotFound('read of a missing file'));
    await assert.rejects(box.sbx.files.getInfo(`${DIR}/no-such-file.txt`), isFileNotFound('getInfo of a missing file'));
    await assert.rejects(box.sbx.files.list(`${DIR}/no-such-dir`), isFileNotFound('list of a missing directory'));
  });

  test('watchDir reports a file written and removed after the watch started', { timeout: 90_000 }, async () => {
    await box.sbx.files.makeDir(`${DIR}/watched`);
    const events = new Events();
    const watcher = await box.sbx.files.watchDir(`${DIR}/watched`, events.push, { timeoutMs: 90_000 });
    try {
      await box.sbx.files.write(`${DIR}/watched/new.txt`, 'watch me');
      await events.until((e) => e.name === 'new.txt' && e.type === FilesystemEventType.WRITE,
        { what: 'a write event for new.txt' });

      await box.sbx.files.remove(`${DIR}/watched/new.txt`);
      await events.until((e) => e.name === 'new.txt' && e.type === FilesystemEventType.REMOVE,
        { what: 'a remove event for new.txt' });
    } finally {
      await watcher.stop();
    }
  });
});
