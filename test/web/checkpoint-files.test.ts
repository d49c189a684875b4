// The page's checkpoint reader (web/checkpoint-files.ts, File objects read with File.slice) against
// the CLI's (src/node/checkpoint.ts, files on disk), in Node without a browser: on every golden
// checkpoint the same config, layout, dtypes, notes, every layer's re-laid-out tensors and the
// model's tables, value for value; and every refusal the same one-line message, the folder named
// as the page names it instead of --model.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/node/checkpoint.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { droppedFiles, PageCheckpoint, pickedFolder, type CheckpointFiles } from '../../web/checkpoint-files.js';

const DIR = join(GOLDEN_DIR, 'checkpoints');
const CASES: { name: string; tokens: number[] }[] = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));

/** The folder's files as a browser's folder picker gives them (webkitRelativePath "folder/name"). */
function folderFiles(name: string, edit: (files: Map<string, Uint8Array>) => void = () => undefined): CheckpointFiles {
  const files = new Map(readdirSync(join(DIR, name)).map((f) => [f, new Uint8Array(readFileSync(join(DIR, name, f)))] as const));
  edit(files);
  return pickedFolder([...files].map(([f, bytes]) => Object.assign(new File([bytes], f), { webkitRelativePath: `${name}/${f}` })));
}
const json = (files: Map<string, Uint8Array>, name: string, edit: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(new TextDecoder().decode(files.get(name)!));
  edit(j);
  files.set(name, new TextEncoder().encode(JSON.stringify(j)));
};

describe.each(CASES)('$name: the page reads what the CLI reads', ({ name }) => {
  it('config, layout, dtypes, notes, every layer and the tables, value for value', async () => {
    const page = await PageCheckpoint.open(folderFiles(name));
    const cli = Checkpoint.open(join(DIR, name));
    try {
      expect(page.config).toEqual(cli.config);
      expect(page.layout.specs).toEqual(cli.layout.specs);
      expect(page.layout.prefix).toBe(cli.layout.prefix);
      expect(page.dtypes()).toBe(cli.dtypes());
      expect(page.files.map((f) => f.file.name)).toEqual(cli.files.map((f) => f.path.split('/').pop()));
      // The same notes, the folder named by its name instead of its path.
      expect(page.notes).toEqual(cli.notes.map((n) => n.replaceAll(join(DIR, name), name)));
      for (let l = 0; l < cli.config.layers; l++) expect(await page.layerTensors(l)).toEqual(cli.layerTensors(l));
      const [pt, ct] = [await page.modelTensors(), cli.modelTensors()];
      expect(pt).toEqual(ct);
      expect(pt.unembedding === pt.tokenEmbedding).toBe(ct.unembedding === ct.tokenEmbedding);
      await page.scanFinite();
      expect(page.tokenizer()!.encode('a fluffy blue creature')).toEqual(cli.tokenizer()!.encode('a fluffy blue creature'));
    } finally {
      cli.close();
    }
  });
});

describe('refusals: the CLI\'s one-line messages', () => {
  const refused = async (files: CheckpointFiles) => {
    try {
      await PageCheckpoint.open(files);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('not refused');
  };
  it.each<[string, () => CheckpointFiles, RegExp]>([
    ['a missing shard', () => folderFiles('opt-sharded-f32', (f) => f.delete('model-00003-of-00003.safetensors')),
      /^opt-sharded-f32\/model\.safetensors\.index\.json: names shard 'model-00003-of-00003\.safetensors' \(for tensor '.*'\), which is not in "opt-sharded-f32"$/],
    ['a tensor absent from its shard', () => folderFiles('gpt2-sharded-f16', (f) => json(f, 'model.safetensors.index.json', (j) => { (j.weight_map as Record<string, string>)['transformer.h.2.ln_2.bias'] = 'model-00001-of-00002.safetensors'; })),
      /^gpt2-sharded-f16\/model\.safetensors\.index\.json: maps tensor 'transformer\.h\.2\.ln_2\.bias' to shard 'model-00001-of-00002\.safetensors', which does not hold it$/],
    ['a shard named by a path', () => folderFiles('gpt2-sharded-f16', (f) => json(f, 'model.safetensors.index.json', (j) => { (j.weight_map as Record<string, string>)['transformer.wte.weight'] = '../x.safetensors'; })),
      /^gpt2-sharded-f16\/model\.safetensors\.index\.json: shard '\.\.\/x\.safetensors' \(for tensor 'transformer\.wte\.weight'\) is not a file name in the checkpoint's folder$/],
    ['a shape against config.json', () => folderFiles('opt-untied-f16', (f) => json(f, 'config.json', (j) => { j.ffn_dim = 95; })),
      /^opt-untied-f16: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[96, 32\] but config\.json gives \[95, 32\] \(hidden_size 32, ffn_dim 95\)$/],
    ['a truncated safetensors file', () => folderFiles('gpt2-f32', (f) => f.set('model.safetensors', f.get('model.safetensors')!.subarray(0, 5000))),
      /^gpt2-f32\/model\.safetensors: .*/],
    ['no weights', () => folderFiles('gpt2-f32', (f) => f.delete('model.safetensors')), /^"gpt2-f32" has no model\.safetensors or model\.safetensors\.index\.json$/],
    ['two files of one name', () => droppedFiles([new File(['{}'], 'config.json'), new File(['{}'], 'config.json')]), /^"2 dropped files": two files named 'config\.json': give one checkpoint's files$/],
  ])('%s', async (_what, files, message) => {
    const m = await refused(files());
    expect(m).toMatch(message);
    expect(m.split('\n')).toHaveLength(1);
  });

  it('the same text as the CLI for the same fault, the folder named by its name', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'page-ckpt-')), 'opt-sharded-f32');
    mkdirSync(dir);
    try {
      const files = folderFiles('opt-sharded-f32', (f) => {
        f.delete('model-00002-of-00003.safetensors');
        for (const [n, bytes] of f) writeFileSync(join(dir, n), bytes);
      });
      let cliMessage = '';
      try {
        Checkpoint.open(dir).close();
      } catch (e) {
        cliMessage = (e as Error).message;
      }
      expect(cliMessage).not.toBe('');
      expect(await refused(files)).toBe(cliMessage.replaceAll(dir, 'opt-sharded-f32'));
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });
});

describe('the text through the checkpoint\'s tokenizer, refused as the CLI refuses --text', () => {
  it('its ids (what the tokenizer adds included), more tokens than positions refused, no tokenizer.json refused', async () => {
    const { checkpointTokens, loadCheckpoint } = await import('../../web/checkpoint-view.js');
    const opt = await loadCheckpoint(folderFiles('opt-sharded-f32'));
    expect(checkpointTokens(opt, 'a fluffy blue creature').ids).toEqual(CASES.find((c) => c.name === 'opt-sharded-f32')!.tokens);
    const gpt2 = await loadCheckpoint(folderFiles('gpt2-f32'));
    expect(() => checkpointTokens(gpt2, 'the '.repeat(30))).toThrow(/^the text gives \d+ tokens, more than the model's 24 positions \(config\.json n_positions\)$/);
    expect(() => checkpointTokens(gpt2, '')).toThrow(/^the text gives no tokens: the model needs at least one$/);
    const bare = await loadCheckpoint(folderFiles('gpt2-f32', (f) => f.delete('tokenizer.json')));
    expect(() => checkpointTokens(bare, 'a')).toThrow(/^The text needs the checkpoint's tokenizer\.json, which "gpt2-f32" lacks: add it to the files$/);
  });
});
