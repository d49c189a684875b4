// A built page and a static server per test file (vitest runs files in parallel: each builds
// into its own folder); screenshots go to test/out/ (ignored by git).

import { mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildWeb } from '../../scripts/build-web.mjs';
import { serve } from '../../scripts/serve.mjs';

export const OUT = join(import.meta.dirname, '..', 'out');
export const OUT_FILE = (name: string): string => join(OUT, name);

export function startServer(testFile: string): { url: () => string } {
  let server: Awaited<ReturnType<typeof serve>>;
  const dir = join(import.meta.dirname, '..', '..', 'dist', `web-test-${basename(testFile).replace(/\W+/g, '-')}`);
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    await buildWeb({ outdir: dir });
    server = await serve({ port: 0, dir });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: () => server.url };
}
