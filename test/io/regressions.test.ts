// The tester's cases, kept as committed files under test/io/regressions/: each is refused, by the
// right rule, with one bounded, printable line naming the file.

import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensorsHeader, SafetensorsError, MAX_MESSAGE } from '../../src/io/safetensors.js';
import { SafetensorsFile, weightFileShape } from '../../src/node/safetensors-file.js';
import { REGRESSIONS } from './regressions/cases.js';

const DIR = join(import.meta.dirname, 'regressions');

if (process.env.WRITE_REGRESSIONS) {
  for (const c of REGRESSIONS) writeFileSync(join(DIR, c.file), c.bytes());
}

function refusal(f: () => unknown): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('accepted');
}

describe('regression files', () => {
  it.each(REGRESSIONS.map((c) => [c.file, c] as const))('%s is refused by its rule', (file, c) => {
    const path = join(DIR, file);
    expect(existsSync(path), `${file} is committed`).toBe(true);
    const bytes = new Uint8Array(readFileSync(path));
    const open = () => {
      const f = new SafetensorsFile(path);
      try {
        return weightFileShape(f);
      } finally {
        f.close();
      }
    };
    if (c.stage === 'header') {
      const e = refusal(() => parseSafetensorsHeader(bytes, path));
      expect(e.rule).toBe(c.rule);
      expect(e.message).toMatch(c.message);
    } else {
      expect(() => parseSafetensorsHeader(bytes, path)).not.toThrow();
    }
    // The same through the file reader the CLI uses (header first, then the layer set).
    const e = refusal(open);
    expect(e.rule).toBe(c.rule);
    expect(e.message).toMatch(c.message);
    expect(e.message).toContain(file);
    expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
    // One printable line: no control, format or separator character.
    expect(e.message).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  });

  it('the recipes in cases.ts still make the committed files byte for byte', () => {
    for (const c of REGRESSIONS) {
      expect(Buffer.from(c.bytes()).equals(readFileSync(join(DIR, c.file))), c.file).toBe(true);
    }
  });
});
