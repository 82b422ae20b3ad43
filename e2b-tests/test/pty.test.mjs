// Terminals: an interactive shell on a pty sized by the client, resized while it runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandExitError } from 'e2b';
import { Output, sandboxForBlock, settle, within } from '../lib/kiln.mjs';

const keys = (text) => new TextEncoder().encode(text);

describe('pty', () => {
  const box = sandboxForBlock();

  test('a shell sees the terminal size it was created with, and a resize', { timeout: 120_000 }, async () => {
    const screen = new Output();
    const terminal = await box.sbx.pty.create({ cols: 80, rows: 24, onData: screen.push, timeoutMs: 120_000 });
    const ended = settle(terminal.wait());
    try {
      // stty prints "rows cols".
      let from = screen.mark();
      await box.sbx.pty.sendInput(terminal.pid, keys('stty size\n'));
      await screen.until(/\b24 80\b/, { from, what: '"24 80" from stty size on the 80x24 terminal' });

      await box.sbx.pty.resize(terminal.pid, { cols: 100, rows: 30 });
      from = screen.mark();
      await box.sbx.pty.sendInput(terminal.pid, keys('stty size\n'));
      await screen.until(/\b30 100\b/, { from, what: '"30 100" from stty size after resizing to 100x30' });

      await box.sbx.pty.sendInput(terminal.pid, keys('exit\n'));
      const { value, error } = await within(30_000, 'the shell to end after exit', ended);
      assert.equal(error, undefined, `the shell exits cleanly after "exit"; got ${error}`);
      assert.equal(value.exitCode, 0, 'the shell\'s exit code is 0');
    } finally {
      await box.sbx.pty.kill(terminal.pid).catch(() => {});
    }
  });

  test('kill ends a running terminal', { timeout: 60_000 }, async () => {
    const screen = new Output();
    const terminal = await box.sbx.pty.create({ cols: 80, rows: 24, onData: screen.push, timeoutMs: 60_000 });
    const ended = settle(terminal.wait());
    assert.equal(await box.sbx.pty.kill(terminal.pid), true, 'kill of a running terminal returns true');
    const { error } = await within(30_000, 'the killed terminal\'s handle to end', ended);
    assert.ok(error instanceof CommandExitError,
      `wait() on a killed terminal raises CommandExitError; got ${error}`);
  });
});
