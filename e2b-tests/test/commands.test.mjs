// Commands: foreground runs with streamed output, exit codes, environment and working directory,
// and a background process shared between two SDK instances.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandExitError, Sandbox } from 'e2b';
import { Output, sandboxForBlock, settle, within } from '../lib/kiln.mjs';

describe('commands', () => {
  // Sandbox-wide variables: every command sees them unless it sets its own.
  const box = sandboxForBlock({
    envs: { KILN_SANDBOX_VAR: 'from-create', KILN_OVERRIDDEN: 'from-create' },
  });

  test('run streams stdout and stderr to callbacks and returns the result', { timeout: 60_000 }, async () => {
    const stdout = new Output();
    const stderr = new Output();
    const result = await box.sbx.commands.run('echo out-line; echo err-line >&2', {
      onStdout: stdout.push,
      onStderr: stderr.push,
    });
    assert.equal(result.exitCode, 0, 'a command that succeeds has exit code 0');
    assert.equal(result.stdout, 'out-line\n', 'result.stdout holds what the command printed');
    assert.equal(result.stderr, 'err-line\n', 'result.stderr holds what the command printed to stderr');
    assert.equal(stdout.text, 'out-line\n', 'onStdout received the stdout');
    assert.equal(stderr.text, 'err-line\n', 'onStderr received the stderr');
  });

  test('a non-zero exit raises CommandExitError with the exit code and stderr', { timeout: 60_000 }, async () => {
    await assert.rejects(
      box.sbx.commands.run('echo partial; echo something failed >&2; exit 3'),
      (err) => {
        assert.ok(err instanceof CommandExitError, `expected CommandExitError, got ${err?.name}: ${err?.message}`);
        assert.equal(err.exitCode, 3, 'the error carries the exit code');
        assert.equal(err.stderr, 'something failed\n', 'the error carries the stderr');
        assert.equal(err.stdout, 'partial\n', 'the error carries the stdout');
        return true;
      },
    );
  });

  test('run honours envs and cwd, and defaults to the home directory', { timeout: 60_000 }, async () => {
    const result = await box.sbx.commands.run('echo "$GREETING"; pwd', {
      envs: { GREETING: 'hello from envs' },
      cwd: '/tmp',
    });
    assert.equal(result.stdout, 'hello from envs\n/tmp\n', 'the command saw its envs and ran in cwd');

    const home = await box.sbx.commands.run('pwd');
    assert.equal(home.stdout, '/root\n', 'without cwd a command runs in the default user\'s home');
  });

  test('sandbox-wide envs from create are seen by commands, and a command\'s envs win', { timeout: 60_000 }, async () => {
    const result = await box.sbx.commands.run('echo "$KILN_SANDBOX_VAR $KILN_OVERRIDDEN"', {
      envs: { KILN_OVERRIDDEN: 'from-command' },
    });
    assert.equal(result.stdout, 'from-create from-command\n');
  });

  test('a background process takes stdin, is seen and killed from a second SDK instance', { timeout: 120_000 }, async () => {
    const seenHere = new Output();
    // stdin stays open: cat echoes every line until it is killed.
    const handle = await box.sbx.commands.run('cat', {
      background: true,
      stdin: true,
      onStdout: seenHere.push,
      timeoutMs: 120_000,
    });
    assert.ok(Number.isInteger(handle.pid) && handle.pid > 0, `a background command has a pid, got ${handle.pid}`);
    const ended = settle(handle.wait());

    // Another program, knowing only the sandbox id, finds the process and attaches to it.
    const other = await Sandbox.connect(box.sbx.sandboxId);
    const processes = await other.commands.list();
    const listed = processes.find((p) => p.pid === handle.pid);
    assert.ok(listed, `commands.list() shows pid ${handle.pid}; listed: ${JSON.stringify(processes)}`);
    assert.ok([listed.cmd, ...listed.args].join(' ').includes('cat'),
      `the listed process is the one started; got ${JSON.stringify(listed)}`);

    const seenThere = new Output();
    const attached = await other.commands.connect(handle.pid, { onStdout: seenThere.push, timeoutMs: 120_000 });
    const attachedEnded = settle(attached.wait());

    await handle.sendStdin('first line from the creator\n');
    await seenThere.until(/first line from the creator\n/, { what: 'the creator\'s line in the attached instance' });
    await seenHere.until(/first line from the creator\n/, { what: 'the creator\'s line in its own handle' });

    await other.commands.sendStdin(handle.pid, 'second line from the other instance\n');
    await seenHere.until(/second line from the other instance\n/, { what: 'the other instance\'s line in the creator\'s handle' });

    assert.equal(await other.commands.kill(handle.pid), true, 'kill of a running process returns true');

    const endings = await within(30_000, 'both handles of the killed process to end', Promise.all([ended, attachedEnded]));
    for (const [who, result] of [['creator', endings[0]], ['attached', endings[1]]]) {
      assert.ok(result.error instanceof CommandExitError,
        `the ${who}'s wait() ends with CommandExitError for a killed process; got ${result.error ?? JSON.stringify(result.value)}`);
      assert.notEqual(result.error.exitCode, 0, `a killed process does not report exit code 0 to the ${who}`);
    }
  });

  test('kill of an unknown pid returns false', { timeout: 30_000 }, async () => {
    assert.equal(await box.sbx.commands.kill(999_999), false);
  });
});
