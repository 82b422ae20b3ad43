// The environment the suite runs in, checked before anything talks to a server.

const env = process.env;

// E2B's own cloud domains: the suite must only ever talk to the Kiln under test.
const PUBLIC_E2B_DOMAINS = ['e2b.app', 'e2b.dev', 'e2b.pro', 'e2b-staging.dev'];

/** Why the environment cannot run the suite, one line per problem; empty when it can. */
export function configProblems() {
  const problems = [];
  if (!env.KILN_E2B_TEMPLATE) {
    problems.push('KILN_E2B_TEMPLATE is not set: the template id (or name) to create sandboxes from');
  }
  if (!env.E2B_API_KEY) {
    problems.push('E2B_API_KEY is not set: a Kiln API key (the SDK sends it as X-API-KEY)');
  }
  // Without a domain the SDK falls back to E2B's cloud for whatever URL is missing.
  if (!env.E2B_DOMAIN && !(env.E2B_API_URL && env.E2B_SANDBOX_URL)) {
    problems.push('set E2B_API_URL and E2B_SANDBOX_URL (both, e.g. http://127.0.0.1:PORT), '
      + 'or E2B_DOMAIN (https mode: API at https://api.DOMAIN, envd at https://49983-ID.DOMAIN)');
  }
  if (env.E2B_DOMAIN && PUBLIC_E2B_DOMAINS.includes(env.E2B_DOMAIN)) {
    problems.push(`E2B_DOMAIN=${env.E2B_DOMAIN} is E2B's cloud, not a Kiln`);
  }
  if ((env.E2B_DEBUG ?? '').toLowerCase() === 'true') {
    problems.push('E2B_DEBUG=true makes the SDK skip the API (one fake sandbox); unset it');
  }
  return problems;
}

export function configMessage(problems) {
  return 'kiln e2b-tests: cannot run in this environment:\n'
    + problems.map((p) => `  - ${p}`).join('\n')
    + '\n(scripts/e2b-tests.sh documents the variables; the Java harness sets them)';
}
