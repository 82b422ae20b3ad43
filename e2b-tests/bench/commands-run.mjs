// `kiln bench`'s E2B line: the unmodified SDK's commands.run('true') round trip through Kiln's E2B
// API, after three unmeasured runs. Prints one JSON line, {"ms":[...]}, for the bench to read.
// Environment: E2B_API_KEY, E2B_API_URL, E2B_SANDBOX_URL, KILN_E2B_TEMPLATE, KILN_BENCH_ROUNDS.
import { Sandbox } from 'e2b'

const rounds = Number(process.env.KILN_BENCH_ROUNDS ?? 30)
const sbx = await Sandbox.create(process.env.KILN_E2B_TEMPLATE, { timeoutMs: 600_000 })
try {
  for (let i = 0; i < 3; i++) await sbx.commands.run('true')
  const ms = []
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint()
    await sbx.commands.run('true')
    ms.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  console.log(JSON.stringify({ ms }))
} finally {
  await sbx.kill()
}
