// An ordinary E2B program, as written for E2B's cloud: nothing in it names Kiln. Pointed at Kiln by
// environment variables alone (docs/e2b.md): E2B_API_KEY, and E2B_API_URL with E2B_SANDBOX_URL, or E2B_DOMAIN.
import { Sandbox } from 'e2b'

const sbx = await Sandbox.create('base', { timeoutMs: 600_000, metadata: { job: 'demo' } })
try {
  const r = await sbx.commands.run('python3 -c "print(6*7)"')
  console.log(r.stdout.trim())
  await sbx.files.write('notes/hello.txt', 'hello from E2B code')
  console.log(await sbx.files.read('notes/hello.txt'))
} finally {
  await sbx.kill()
}
