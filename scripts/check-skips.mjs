// CI's check that nothing was skipped quietly: reads vitest's JSON report and fails on every skipped
// (or todo) test except the documented root-only one, a test whose name says "(skipped as root"
// when CI runs as root (root writes anywhere, so a folder it cannot write to cannot be made).
// The CI adapter (lavapipe) has shader-f16 and subgroups, so no test may skip for want of them.
// Usage: node scripts/check-skips.mjs REPORT.json
import { readFileSync } from 'node:fs';

const [path] = process.argv.slice(2);
if (!path) {
  console.error('usage: node scripts/check-skips.mjs REPORT.json');
  process.exit(2);
}
const report = JSON.parse(readFileSync(path, 'utf8'));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const allowed = (title) => isRoot && /\(skipped as root\b/.test(title);
const skipped = [];
for (const file of report.testResults ?? []) {
  for (const t of file.assertionResults ?? []) {
    if (t.status !== 'skipped' && t.status !== 'pending' && t.status !== 'todo') continue;
    const where = `${file.name.replace(/^.*?\/test\//, 'test/')}: ${t.fullName}`;
    if (allowed(t.title)) console.log(`skipped as documented: ${where}`);
    else skipped.push(where);
  }
}
for (const s of skipped) console.error(`skipped on the CI adapter: ${s}`);
if (skipped.length) {
  console.error(`${skipped.length} test(s) skipped that must run here (scripts/check-skips.mjs says which may)`);
  process.exit(1);
}
