// Preloaded (NODE_OPTIONS=--import) by the HTTPS run of the suite: names under KILN_TEST_DOMAIN
// resolve to KILN_TEST_DOMAIN_ADDRESS in this process only, so E2B's host-name scheme
// (api.<domain>, 49983-<sandbox>.<domain>) reaches the test's daemon without touching the
// machine's resolver or /etc/hosts. Every other name resolves as usual.
import dns from 'node:dns'

const domain = process.env.KILN_TEST_DOMAIN
const address = process.env.KILN_TEST_DOMAIN_ADDRESS
if (!domain || !address) throw new Error('resolve-domain.mjs needs KILN_TEST_DOMAIN and KILN_TEST_DOMAIN_ADDRESS')

const lookup = dns.lookup
dns.lookup = function (hostname, options, callback) {
  if (typeof options === 'function') [callback, options] = [options, {}]
  if (typeof options === 'number') options = { family: options }
  const name = String(hostname).toLowerCase()
  if (name === domain || name.endsWith('.' + domain)) {
    if (options?.all) return process.nextTick(callback, null, [{ address, family: 4 }])
    return process.nextTick(callback, null, address, 4)
  }
  return lookup.call(this, hostname, options, callback)
}
