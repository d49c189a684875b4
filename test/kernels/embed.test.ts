// shaders/embed.wgsl against float64: x[i] = table[tok_i] + positions[i + offset], every element
// checked (one f32 rounding of the sum allowed), for odd widths (13, 40), a token table bound in
// row chunks (each dispatch writes only its rows' tokens: together every element once), position
// offsets that do not start on an aligned row, f32 and f16 tables; x poisoned with NaN first, so
// an unwritten element fails. Planted: positions one row off, each chunk's rows one off.
import { describe, expect, it } from 'vitest';
import { freshSeed, rng, runDispatch, useGpuContext } from '../helpers/gpu.js';
import { createStorage, poison, readBack, upload } from '../../src/gpu/buffers.js';
import { roundArrayToF16 } from '../../src/io/half.js';
import { prepareEmbed } from '../../src/kernels/embed.js';
import { Usage } from '../../src/gpu/usage.js';
import { embed } from '../../src/reference/model-ends.js';
import { judge, U32 } from '../../src/verify/tolerance.js';

const { ctx, cache } = useGpuContext();

interface Case { seq: number; dModel: number; vocab: number; positionRows: number; positionOffset: number; chunkRows?: number; precision: 'f32' | 'f16' }

async function run(c: Case, seed: number) {
  const g = ctx();
  const next = rng(seed);
  const table = (n: number) => {
    const a = Float32Array.from({ length: n }, () => 2 * next() - 1);
    return c.precision === 'f16' ? roundArrayToF16(a) : a;
  };
  const tokenEmbedding = table(c.vocab * c.dModel), positionEmbedding = table(c.positionRows * c.dModel);
  const tokens = Uint32Array.from({ length: c.seq }, (_, i) => (i === 0 ? c.vocab - 1 : i === 1 ? 0 : Math.floor(next() * c.vocab)));
  const tokenBuffer = g.device.createBuffer({ size: Math.ceil((tokens.byteLength) / 16) * 16, usage: Usage.STORAGE | Usage.COPY_DST, label: 'tokens' });
  g.device.queue.writeBuffer(tokenBuffer, 0, tokens);
  const buffers = [tokenBuffer, upload(g, tokenEmbedding, 'table', c.precision), upload(g, positionEmbedding, 'positions', c.precision), createStorage(g, c.seq * c.dModel + 4, 'x')];
  try {
    poison(g, buffers[3]!);
    const dispatches = await prepareEmbed(g, cache(), {
      label: 'embed', tokens: buffers[0]!, table: buffers[1]!, positions: buffers[2]!, x: buffers[3]!,
      seq: c.seq, dModel: c.dModel, vocab: c.vocab, positionRows: c.positionRows, positionOffset: c.positionOffset, chunkRows: c.chunkRows, precision: c.precision,
    });
    expect(dispatches).toHaveLength(Math.ceil(c.vocab / (c.chunkRows ?? c.vocab)));
    for (const d of dispatches.slice(0, -1)) await runDispatch(g, d, 'embed');
    await runDispatch(g, dispatches.at(-1)!, 'embed');
    const x = await readBack(g, buffers[3]!, c.seq * c.dModel + 4);
    return { x, tokens, tables: { vocab: c.vocab, tokenEmbedding, positionEmbedding, positionOffset: c.positionOffset, finalGain: [], finalBias: [], unembedding: [] } };
  } finally {
    for (const b of buffers) b.destroy();
  }
}

/** x = token row + position row: one f32 add, one rounding (u·|x|, src/verify/tolerance.ts), not a λ-estimate. */
const firstFailure = (x: Float32Array, ref: Float64Array): string | null => {
  const verdict = judge(x, ref, ref.map((v) => U32 * Math.abs(v)));
  return verdict.passed ? null : verdict.detail;
};

describe('embed kernel against float64', () => {
  it.each<Case>([
    { seq: 9, dModel: 40, vocab: 301, positionRows: 20, positionOffset: 2, precision: 'f32' },
    // 64-row chunks: 301 rows in 5 dispatches; d_model 40 f32 is 160 bytes a row, 64 rows 10 KiB (256-aligned).
    { seq: 9, dModel: 40, vocab: 301, positionRows: 20, positionOffset: 3, chunkRows: 64, precision: 'f32' },
    { seq: 17, dModel: 13, vocab: 257, positionRows: 40, positionOffset: 5, chunkRows: 128, precision: 'f32' },
    { seq: 17, dModel: 13, vocab: 257, positionRows: 40, positionOffset: 5, chunkRows: 128, precision: 'f16' },
    { seq: 1, dModel: 40, vocab: 7, positionRows: 1, positionOffset: 0, precision: 'f16' },
  ])('%o', async (c) => {
    if (c.precision === 'f16' && !ctx().hasF16) throw new Error('this adapter lacks shader-f16');
    const seed = freshSeed();
    const { x, tokens, tables } = await run(c, seed);
    const ref = embed(tables, tokens, c.dModel);
    expect(firstFailure(x, ref), `seed ${seed}`).toBeNull();
    for (let n = ref.length; n < x.length; n++) expect(Number.isNaN(x[n]!), `seed ${seed}: element ${n} past x written`).toBe(true);
    // Planted: positions one row off (where the table has another row) fail the same check.
    if (c.positionOffset > 0) expect(firstFailure(x, embed(tables, tokens, c.dModel, -1)), `seed ${seed}`).not.toBeNull();
    if (c.seq + c.positionOffset < c.positionRows) expect(firstFailure(x, embed(tables, tokens, c.dModel, 1)), `seed ${seed}`).not.toBeNull();
  });

  it('refuses more tokens than position rows', async () => {
    const g = ctx();
    const b = createStorage(g, 64, 'b');
    try {
      await expect(prepareEmbed(g, cache(), { label: 'embed', tokens: b, table: b, positions: b, x: b, seq: 9, dModel: 4, vocab: 4, positionRows: 10, positionOffset: 2 }))
        .rejects.toThrow(/9 tokens from position row 2 need 11 position rows, the table has 10/);
    } finally {
      b.destroy();
    }
  });
});
