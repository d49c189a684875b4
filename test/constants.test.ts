// Constants the WGSL kernels and their TypeScript hosts both rely on, kept in two languages: the
// shader sizes its register arrays by them, the host refuses tile configs that would overrun those
// arrays. Read from the .wgsl text and checked against the host's exported copies and against what
// the host accepts (no GPU needed): if one side changes alone, a tile the host lets through would
// index past the shader's arrays, which WGSL clamps silently instead of failing.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as attention from '../src/kernels/attention.js';
import { attentionTileProblem, chooseAttentionTile, MAX_FUSED_D_HEAD, type AttentionTile } from '../src/kernels/attention.js';
import * as matmul from '../src/kernels/matmul.js';
import { tileProblem, type TiledTile, type TileLimits } from '../src/kernels/matmul.js';

const shader = (name: string) => readFileSync(new URL(`../shaders/${name}.wgsl`, import.meta.url), 'utf8');

/** `const NAME: u32 = 8u;` (the value of its one declaration), or with a `//#flag const NAME…` variant, every value. */
function wgslConst(source: string, name: string): number[] {
  const re = new RegExp(`(?:^|//#\\w+ )const ${name}\\s*(?::\\s*u32)?\\s*=\\s*(\\d+)u?\\s*;`, 'gm');
  const values = [...source.matchAll(re)].map((m) => Number(m[1]));
  if (values.length === 0) throw new Error(`no const ${name} in the shader`);
  return values;
}
const one = (source: string, name: string): number => {
  const v = wgslConst(source, name);
  expect(v, `const ${name} is declared once`).toHaveLength(1);
  return v[0]!;
};

/** Limits far above any tile here, so only the shader's own preconditions can refuse one. */
const HUGE: TileLimits = {
  maxComputeInvocationsPerWorkgroup: 1 << 20,
  maxComputeWorkgroupSizeX: 1 << 20,
  maxComputeWorkgroupSizeY: 1 << 20,
  maxComputeWorkgroupStorageSize: 1 << 30,
};

describe('shaders/matmul.wgsl and src/kernels/matmul.ts', () => {
  const src = shader('matmul');
  const MAX_STAGED = one(src, 'MAX_STAGED');

  it('MAX_STAGED is the same number in both', () => {
    expect(matmul.MAX_STAGED).toBe(MAX_STAGED);
  });

  it(`register blocks: the shader's RM and RN variants are the rb values tileProblem accepts`, () => {
    const rm = wgslConst(src, 'RM').sort();
    expect(wgslConst(src, 'RN').sort()).toEqual(rm);
    for (const rb of [1, 2, 3, 4, 5, 6, 7, 8, 12, 16]) {
      const problem = tileProblem({ wgX: 8, wgY: 8, tk: 4, rb: rb as TiledTile['rb'], stages: 1 }, HUGE);
      expect(problem === null, `rb ${rb}: ${problem}`).toBe(rm.includes(rb));
    }
  });

  it(`MAX_STAGED ${MAX_STAGED}: a tile is refused for staging exactly when the shader's LOADS_A or LOADS_B exceeds it`, () => {
    // LOADS_A = ceil(TM·TK/4 / THREADS), TM = WG_Y·RM (and LOADS_B with TN = WG_X·RN): the vec4 words
    // each thread stages per operand into array<vec4f, MAX_STAGED>.
    let accepted = 0, refused = 0, atTheBound = 0;
    for (const rb of wgslConst(src, 'RM') as TiledTile['rb'][]) {
      for (const tk of [4, 8, 16, 32]) {
        for (let wgX = 1; wgX <= 32; wgX++) {
          for (const wgY of [1, 2, 3, 4, 7, 8, 16, 32]) {
            const threads = wgX * wgY;
            const loads = Math.max(Math.ceil((wgY * rb * tk) / 4 / threads), Math.ceil((wgX * rb * tk) / 4 / threads));
            const problem = tileProblem({ wgX, wgY, tk, rb, stages: 1, vec4: true, groupM: 8 }, HUGE);
            const staging = problem !== null && /stage/.test(problem);
            expect(staging, `wg ${wgX}×${wgY} rb ${rb} tk ${tk}: ${loads} loads per thread, ${problem}`).toBe(loads > MAX_STAGED);
            if (loads > MAX_STAGED) refused++;
            else accepted++;
            if (loads === MAX_STAGED) atTheBound++;
          }
        }
      }
    }
    // Both sides of the bound were tried, and the bound itself.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(atTheBound).toBeGreaterThan(0);
  });
});

describe('shaders/matmul_shuffle.wgsl and src/kernels/matmul-tiles.ts', () => {
  const src = shader('matmul_shuffle');
  it('lanes, rows and columns of a shuffle tile are the shader\'s S, RM and S·RN', () => {
    expect(one(src, 'S')).toBe(matmul.SHUFFLE_LANES);
    expect(one(src, 'RM')).toBe(matmul.SHUFFLE_ROWS);
    expect(one(src, 'S') * one(src, 'RN')).toBe(matmul.SHUFFLE_COLS);
  });
});

describe('shaders/attention.wgsl and src/kernels/attention.ts', () => {
  const src = shader('attention');
  const RPT = one(src, 'RPT');
  const MAX_G = one(src, 'MAX_G');
  const MAX_SC = one(src, 'MAX_SC');
  const ok = (t: AttentionTile, dHead = 16) => attentionTileProblem(t, dHead, HUGE);

  it('RPT, MAX_G and MAX_SC are the same numbers in both', () => {
    expect({ RPT: attention.RPT, MAX_G: attention.MAX_G, MAX_SC: attention.MAX_SC }).toEqual({ RPT, MAX_G, MAX_SC });
  });

  it(`RPT ${RPT}: rows per thread; br must be a multiple of it, tx at least it`, () => {
    // The shader's TY = BR / RPT threads along the rows, and THREADS = TX·TY ≥ BR needs TX ≥ RPT.
    expect(src).toMatch(/override TY: u32 = BR \/ RPT;/);
    for (let br = 1; br <= 4 * RPT; br++) {
      expect(ok({ br, bc: RPT, tx: RPT }) === null, `br ${br}`).toBe(br % RPT === 0);
    }
    expect(ok({ br: RPT, bc: RPT, tx: RPT })).toBeNull();
    expect(ok({ br: RPT, bc: RPT - 1, tx: RPT - 1 })).not.toBeNull();
  });

  it(`MAX_SC ${MAX_SC}: keys per thread (SC = BC / TX) up to it, no more`, () => {
    expect(src).toMatch(/override SC: u32 = BC \/ TX;/);
    expect(src).toMatch(/array<f32, RPT \* MAX_SC>/);
    for (const tx of [RPT, 2 * RPT, 16]) {
      for (let sc = 1; sc <= MAX_SC + 2; sc++) {
        expect(ok({ br: RPT, bc: sc * tx, tx }) === null, `tx ${tx}, bc ${sc * tx}`).toBe(sc <= MAX_SC);
      }
    }
  });

  it(`MAX_G ${MAX_G}: groups of 4 output columns per thread (G = ceil(d / 4·TX)) up to it, no more`, () => {
    expect(src).toMatch(/array<vec4f, RPT \* MAX_G>/);
    for (const tx of [RPT, 2 * RPT]) {
      for (let g = 1; g <= MAX_G + 1; g++) {
        for (const dHead of [4 * tx * (g - 1) + 1, 4 * tx * g]) {
          if (dHead > MAX_FUSED_D_HEAD) continue;
          expect(ok({ br: RPT, bc: tx, tx }, dHead) === null, `tx ${tx}, d_head ${dHead} (G ${g})`).toBe(g <= MAX_G);
        }
      }
    }
    // The widest head the host sends to the kernel fits the shader's registers with a shipped tile.
    expect(chooseAttentionTile(MAX_FUSED_D_HEAD, HUGE, false)).not.toBeNull();
    expect(chooseAttentionTile(MAX_FUSED_D_HEAD, HUGE, true)).not.toBeNull();
  });
});
