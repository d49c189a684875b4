// @module-tag slow (headless Chromium): `npm test` runs it, `npm run test:fast` does not.
// A Hugging Face checkpoint opened in the page (test/golden/checkpoints, numpy-made: GPT-2 and OPT
// layouts, one file and shards, F32 and F16): picked as a folder (<input webkitdirectory>) or as
// its files, the text tokenized with its tokenizer.json, the whole block run on a software
// adapter, every layer and both ends of the model verified in the worker, the next tokens equal to
// numpy's (cases.json), the model view's layers × heads cells drawn and one enlarged; and bad
// checkpoints refused with the CLI's one-line messages.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { CHECKPOINTS_DIR, editJson, useCheckpointCopies } from '../helpers/checkpoint-copies.js';
import { parseSafetensorsHeader } from '../../src/io/safetensors.js';
import { judge } from '../../src/verify/tolerance.js';
import { checkpointOracle, probabilityReach, topTokensDisagreement } from '../helpers/oracle-reach.js';
import type { Profile } from './chromium.js';
import { lastRun, openPage, pageText, useBrowserPage, waitForOutcome } from './page-helpers.js';
import { OUT_FILE, startServer } from './server.js';

interface CheckpointCase {
  name: string; family: 'gpt2' | 'opt'; layers: number; heads: number; dModel: number; vocab: number;
  text: string; tokens: number[]; top: { id: number; p: number }[];
}
const DIR = CHECKPOINTS_DIR;
const CASES: CheckpointCase[] = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));
const byName = (name: string) => CASES.find((c) => c.name === name)!;

const { copyOf } = useCheckpointCopies('page-ckpt-');

const server = startServer(import.meta.filename);

/** Opens a checkpoint: a folder through the folder picker, or a list of files through the files picker. */
async function open(page: Page, what: { folder: string } | { files: string[] }): Promise<void> {
  await openPage(page, server.url() + '?verify=exact');
  if ('folder' in what) await page.setInputFiles('#checkpoint-folder', what.folder);
  else await page.setInputFiles('#checkpoint-files', what.files);
  await page.waitForFunction(() => {
    const info = document.getElementById('checkpoint-info')?.textContent ?? '';
    return (info !== '' && !info.startsWith('opening')) || !document.getElementById('error')!.hidden;
  }, null, { timeout: 30_000 });
}

async function runAndCheck(page: Page, c: CheckpointCase, shot: string): Promise<void> {
  expect(await pageText(page, 'error')).toBe('');
  expect(await page.isChecked('input[name=weights][value=checkpoint]')).toBe(true);
  await page.fill('input[name=text]', c.text);
  // The estimate counts the checkpoint's parameters (not only the attention weights) and its tables.
  await page.waitForFunction(() => / parameters, GPU memory /.test(document.getElementById('estimate')!.textContent ?? ''));
  await page.click('#run');
  const outcome = await waitForOutcome(page, 120_000);
  expect(outcome.error, `#error: ${outcome.error}`).toBe('');
  // Every layer (attention and MLP) and both ends of the model, in the worker.
  expect(outcome.verification).toMatch(/^passed: /);
  expect(outcome.verification).toMatch(/embedding: passed/);
  expect(outcome.verification).toMatch(/logits: passed/);
  const r = await lastRun(page);
  expect(r.config).toMatchObject({ layers: c.layers, heads: c.heads, dModel: c.dModel, seq: c.tokens.length, block: 'full', norm: 'layernorm', mask: true });
  expect(r.tokens.ids).toEqual(c.tokens);
  expect(r.verification.passed).toBe(true);
  expect(r.verification.failedLayers).toEqual([]);
  expect(r.checkpoint.family).toBe(c.family);
  // The next tokens are numpy's (a float64 forward pass after Hugging Face's model code), within the reach of the one
  // judge's allowances through the stack (test/helpers/oracle-reach.ts).
  const o = checkpointOracle(DIR, c.name, c.layers, c.tokens.length);
  const next: { id: number; p: number }[] = r.nextTokens.slice(0, c.top.length);
  expect(topTokensDisagreement(next.map((t) => t.id), o.logits, o.reach.logits)).toBe('');
  const pReach = probabilityReach(o.p, o.logits, o.reach);
  const p = judge(next.map((t) => t.p), next.map((t) => c.top.find((u) => u.id === t.id)?.p ?? o.p[t.id]!), next.map((t) => pReach[t.id]!), (i) => `p of #${i + 1}`);
  expect(p.passed, p.detail).toBe(true);
  const rows = await page.$$eval('#next-table tr[data-id]', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  expect(rows[0]).toEqual(['1', String(next[0]!.id), expect.stringMatching(/^“.*”$/), next[0]!.p.toFixed(4)]); // the run's own, judged above
  // The model view: one cell per layer and head; choosing one enlarges it.
  expect(await page.locator('#model-view button.mv-cell').count()).toBe(c.layers * c.heads);
  await page.click(`#model-view button.mv-cell[data-layer="${c.layers - 1}"][data-head="${c.heads - 1}"]`);
  expect(await page.getAttribute('#heatmap', 'data-layer')).toBe(String(c.layers - 1));
  expect(await page.getAttribute('#heatmap', 'data-head')).toBe(String(c.heads - 1));
  expect(await page.getAttribute(`#model-view button.mv-cell[data-layer="${c.layers - 1}"][data-head="${c.heads - 1}"]`, 'aria-pressed')).toBe('true');
  expect(r.patterns).toHaveLength(c.layers);
  await page.screenshot({ path: OUT_FILE(shot), fullPage: true });
}

describe.each<[Profile, string[]]>([['swiftshader', ['gpt2-f32', 'opt-sharded-f32']], ['compat', ['gpt2-sharded-f16']]])('checkpoints in the page on %s', (profile, names) => {
  let page: Page;
  const errors = useBrowserPage(profile, (opened) => (page = opened));

  test.each(names)('%s: folder picked, run, verified, next tokens as numpy, model view', async (name) => {
    const c = byName(name);
    await open(page, { folder: join(DIR, name) });
    expect(await pageText(page, 'checkpoint-info')).toMatch(new RegExp(`^${name}: ${c.family === 'gpt2' ? 'GPT-2' : 'OPT'}, ${c.layers} layers × ${c.heads} heads`));
    await runAndCheck(page, c, `checkpoint-${profile}-${name}.png`);
    expect(errors).toEqual([]);
  });

  if (profile !== 'swiftshader') return;

  test('the files picked without their folder (OPT shards and their index)', async () => {
    const c = byName('opt-sharded-f32');
    await open(page, { files: readdirSync(join(DIR, c.name)).map((f) => join(DIR, c.name, f)) });
    expect(await pageText(page, 'checkpoint-info')).toMatch(/^6 picked files: OPT, 3 layers × 3 heads .* 3 safetensors file\(s\)/);
    await runAndCheck(page, c, 'checkpoint-files.png');
    // Back to seeded weights: the form's shape is editable again and the next-token list goes with the next run.
    await page.check('input[name=weights][value=seeded]');
    expect(await page.isDisabled('input[name=layers]')).toBe(false);
    await page.fill('input[name=layers]', '1');
    await page.dispatchEvent('input[name=layers]', 'change');
    await page.click('#run');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.verification).toMatch(/^passed: /);
    expect(await page.isHidden('#next-tokens')).toBe(true);
    expect((await lastRun(page)).weights).toMatch(/^seeded random weights/);
  });

  test('the files dropped on the page open as a checkpoint (one dropped file stays a weights file: states.test.ts)', async () => {
    const c = byName('opt-sharded-f32');
    await openPage(page, server.url());
    const files = readdirSync(join(DIR, c.name)).map((f) => [f, [...readFileSync(join(DIR, c.name, f))]] as const);
    await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const [n, b] of list) dt.items.add(new File([Uint8Array.from(b as number[])], n as string));
      document.getElementById('weights-drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, files);
    await page.waitForFunction(() => window.webgpuAttention.checkpoint !== null || !document.getElementById('error')!.hidden);
    expect(await pageText(page, 'error')).toBe('');
    expect(await pageText(page, 'checkpoint-info')).toMatch(/^6 dropped files: OPT, 3 layers × 3 heads/);
    expect(await page.isChecked('input[name=weights][value=checkpoint]')).toBe(true);
    expect(await pageText(page, 'weights-file-info')).toBe('');
  });

  test('a NaN in the last layer is refused at Run before any layer runs, naming the tensor and index', async () => {
    const name = 'h.1.mlp.c_proj.bias';
    const folder = copyOf('gpt2-f32', (d) => {
      const path = join(d, 'model.safetensors');
      const bytes = readFileSync(path);
      const info = parseSafetensorsHeader(new Uint8Array(bytes), path).tensors.get(name)!;
      bytes.writeFloatLE(NaN, info.begin + 4 * 7);
      writeFileSync(path, bytes);
    });
    await open(page, { folder });
    expect(await pageText(page, 'error')).toBe('');
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      // Every text the progress line was given (each assignment adds a text node), not only the last of a batch.
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) seen.push(n.textContent ?? '');
      }).observe(document.getElementById('progress-text')!, { childList: true });
    });
    await page.click('#run');
    const outcome = await waitForOutcome(page, 60_000);
    expect(outcome.error).toMatch(new RegExp(`^The checkpoint was refused: gpt2-f32-\\d+/model\\.safetensors: tensor '${name.replace(/\./g, '\\.')}' has a non-finite value NaN at index 7$`));
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    expect(seen.some((t) => /checking every value/.test(t))).toBe(true);
    expect(seen.filter((t) => /layer \d+\/\d+|compiling/.test(t))).toEqual([]);
    expect(await page.evaluate(() => window.webgpuAttention.lastRun)).toBeNull();
  });

  const refusals: [string, () => { folder: string } | { files: string[] }, RegExp][] = [
    ['an index naming a missing shard', () => ({ files: readdirSync(join(DIR, 'opt-sharded-f32')).filter((f) => !f.startsWith('model-00003')).map((f) => join(DIR, 'opt-sharded-f32', f)) }),
      /^The checkpoint was refused: 5 picked files\/model\.safetensors\.index\.json: names shard 'model-00003-of-00003\.safetensors' \(for tensor '.*'\), which is not in "5 picked files"$/],
    ['a tensor absent from its shard', () => ({ folder: copyOf('gpt2-sharded-f16', (d) => editJson(join(d, 'model.safetensors.index.json'), (j) => { (j.weight_map as Record<string, string>)['transformer.h.2.ln_2.bias'] = 'model-00001-of-00002.safetensors'; })) }),
      /^The checkpoint was refused: .*maps tensor 'transformer\.h\.2\.ln_2\.bias' to shard 'model-00001-of-00002\.safetensors', which does not hold it$/],
    ['a shape disagreeing with config.json', () => ({ folder: copyOf('opt-untied-f16', (d) => editJson(join(d, 'config.json'), (j) => { j.ffn_dim = 95; })) }),
      /^The checkpoint was refused: .*: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[96, 32\] but config\.json gives \[95, 32\] \(hidden_size 32, ffn_dim 95\)$/],
    ["OPT-350m's post-LayerNorm", () => ({ folder: copyOf('opt-sharded-f32', (d) => editJson(join(d, 'config.json'), (j) => { j.do_layer_norm_before = false; })) }),
      /^The checkpoint was refused: .*config\.json: do_layer_norm_before false \(post-LayerNorm, as OPT-350m\): only pre-LayerNorm blocks are supported$/],
    ['an unknown model_type, its text escaped', () => ({ folder: copyOf('gpt2-f32', (d) => editJson(join(d, 'config.json'), (j) => { j.model_type = 'llama\n<b>x</b>'; })) }),
      // JSON.stringify writes the newline as \n, and escaping doubles its backslash (as the CLI prints it); the tag stays text.
      /^The checkpoint was refused: .*config\.json: model_type "llama\\\\n<b>x<\/b>" is not supported; the engine runs GPT-2 and OPT checkpoints/],
    ['no config.json', () => ({ files: [join(DIR, 'gpt2-f32', 'model.safetensors'), join(DIR, 'gpt2-f32', 'tokenizer.json')] }),
      /^The checkpoint was refused: "2 picked files" has no config\.json: a Hugging Face checkpoint folder has config\.json beside its weights$/],
  ];
  test.each(refusals)('refused: %s, in one line, nothing run', async (_what, what, message) => {
    await open(page, what());
    const error = await pageText(page, 'error');
    expect(error).toMatch(message);
    expect(error.split('\n')).toHaveLength(1);
    expect(await page.locator('#error b').count()).toBe(0);
    expect(await pageText(page, 'checkpoint-info')).toBe('');
    expect(await page.isChecked('input[name=weights][value=checkpoint]')).toBe(false);
    expect(await page.isDisabled('input[name=weights][value=checkpoint]')).toBe(true);
    expect(await page.evaluate(() => window.webgpuAttention.state)).toBe('error');
  });
});
