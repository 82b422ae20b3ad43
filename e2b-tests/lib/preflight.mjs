// `npm test` runs this first (the pretest script): one clear message when the environment
// cannot run the suite, instead of the same failure once per test file.
import { configMessage, configProblems } from './config.mjs';

const problems = configProblems();
if (problems.length > 0) {
  console.error(configMessage(problems));
  process.exit(1);
}
