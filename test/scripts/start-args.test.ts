// npm start's flags: the user's own flags replace the defaults (the command refuses a flag given twice).
import { describe, expect, it } from 'vitest';
import { startArgs } from '../../scripts/start-args.mjs';

describe('startArgs', () => {
  it('the defaults, sized to the adapter', () => {
    expect(startArgs([], true)).toEqual(['run', '--preset', 'gpt3', '--seq', '16', '--layers', '2']);
    expect(startArgs([], false)).toEqual(['run', '--preset', 'gpt3']);
  });

  it('a flag the user gives is not given twice', () => {
    expect(startArgs(['--seq', '32', '--json'], true)).toEqual(['run', '--preset', 'gpt3', '--layers', '2', '--seq', '32', '--json']);
    expect(startArgs(['--layers=4', '--preset', 'gpt3'], true)).toEqual(['run', '--seq', '16', '--layers=4', '--preset', 'gpt3']);
    const args = startArgs(['--seq', '8', '--layers', '1'], true);
    for (const flag of ['--seq', '--layers', '--preset']) expect(args.filter((a) => a === flag)).toHaveLength(1);
  });
});
