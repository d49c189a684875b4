// scripts/check-skips.mjs, CI's check that no test skipped quietly: on vitest JSON reports written here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'wa-skips-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
let reports = 0;

function check(tests: { title: string; status: string }[]) {
  const path = join(dir, `report-${++reports}.json`);
  const assertionResults = tests.map((t) => ({ ...t, fullName: `suite ${t.title}` }));
  writeFileSync(path, JSON.stringify({ testResults: [{ name: '/x/test/kernels/a.test.ts', assertionResults }] }));
  return spawnSync(process.execPath, ['scripts/check-skips.mjs', path], { encoding: 'utf8' });
}

it('passes a run with nothing skipped', () => {
  expect(check([{ title: 'a', status: 'passed' }, { title: 'b', status: 'failed' }]).status).toBe(0);
});

it('fails a skipped or todo test, naming it', () => {
  const r = check([{ title: 'f16 matmul', status: 'passed' }, { title: 'f16 softmax', status: 'skipped' }, { title: 'later', status: 'todo' }]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('test/kernels/a.test.ts: suite f16 softmax');
  expect(r.stderr).toContain('suite later');
  expect(r.stderr).toMatch(/2 test\(s\) skipped/);
});

it('allows the documented root-only skip only as root', () => {
  const r = check([{ title: 'refuses a folder it cannot write to (skipped as root: root writes anywhere)', status: 'skipped' }]);
  expect(r.status).toBe(isRoot ? 0 : 1);
});
