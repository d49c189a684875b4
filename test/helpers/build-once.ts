// vitest's globalSetup (vitest.config.ts): dist/ is built once a run, in the main process before any test file
// starts, for the tests that run the bundle as a user does (test/helpers/cli.ts). Built per file instead, one file's
// rebuild rewrote dist/cli.mjs while another worker's tests were running it, and cost ≈0.5 s a file.
import { buildAll } from '../../scripts/build.mjs';

export default async function buildOnce(): Promise<void> {
  await buildAll();
}
