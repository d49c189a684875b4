// issue 21's cases against `run --model DIR` checkpoints: --output may be none of the folder's
// files (safetensors, config.json, the index, the tokenizer's), a NaN or Inf in a later layer is
// refused before the adapter starts, and the output's __metadata__ names the seed and every
// safetensors file read, with its size and header hash.

import { createHash } from 'node:crypto';
import { existsSync, openSync, readdirSync, readFileSync, symlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, runCli, runCliShell } from '../helpers/cli.js';
import { CHECKPOINTS_DIR, useCheckpointCopies } from '../helpers/checkpoint-copies.js';
import { SafetensorsFile } from '../../src/node/safetensors-file.js';

const DIR = CHECKPOINTS_DIR;
const { scratch, copyOf } = useCheckpointCopies('wa-model-safety-');
const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));


describe('run --model: --output never replaces a file of the checkpoint', () => {
  it.each(['model.safetensors', 'config.json', 'tokenizer.json'])('--output DIR/%s is refused before the adapter starts, the folder unchanged', (name) => {
    const dir = copyOf('gpt2-f32');
    const before = snapshot(dir);
    const r = cli('run', '--model', dir, '--text', 'a fluffy', '--output', join(dir, name), '--json');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`--output ".*${name.replace('.', '\\.')}" is the same file as --model ".*${name.replace('.', '\\.')}"`));
    expect(r.stderr).not.toMatch(/adapter:/);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'error', exitCode: 1 });
    expect(snapshot(dir)).toEqual(before);
  });

  it('a symbolic link to a shard elsewhere is refused too', () => {
    const dir = copyOf('gpt2-sharded-f16');
    const shard = readdirSync(dir).find((f) => /^model-.*\.safetensors$/.test(f))!;
    symlinkSync(join(dir, shard), join(scratch, 'link.safetensors'));
    const r = cli('run', '--model', dir, '--text', 'a fluffy', '--output', join(scratch, 'link.safetensors'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is the same file as --model .*\(through a symbolic link\)/);
  });
});

describe('run --model: weights scanned before the GPU starts', () => {
  it.each([['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY]])('a %s in the last layer is refused naming the tensor, before any layer runs', (shown, bad) => {
    const dir = copyOf('gpt2-f32');
    const path = join(dir, 'model.safetensors');
    const file = new SafetensorsFile(path);
    const names = [...file.parsed.tensors.keys()].filter((n) => /(^|\.)h\.1\..*mlp\.c_proj\.weight$/.test(n));
    expect(names).toHaveLength(1);
    const info = file.parsed.tensors.get(names[0]!)!;
    expect(info.dtype).toBe('F32');
    file.close();
    const fd = openSync(path, 'r+');
    const bytes = new Uint8Array(new Float32Array([bad]).buffer);
    writeSync(fd, bytes, 0, 4, info.begin + 4 * 5);
    closeSync(fd);
    const r = cli('run', '--model', dir, '--text', 'a fluffy', '--verify', 'none');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`tensor '${names[0]}' has a non-finite value ${shown} at index 5`);
    expect(r.stderr).not.toMatch(/adapter:|layer 1\//);
  });
});

describe('decode steps and a failed stdout', () => {
  it('run --decode with stdout on a full disk: one line on stderr, exit 4, no stack trace', () => {
    const fd = openSync('/dev/full', 'w');
    const r = runCli(['run', '--layers', '1', '--heads', '2', '--d-model', '16', '--d-head', '8', '--seq', '3', '--no-tune', '--decode', '2', '--json'], { stdout: fd });
    closeSync(fd);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/^error: could not write the report to stdout: no space left on the device \(ENOSPC\)/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  // --decode's text is printed as it grows: once stdout fails nothing more can arrive, so the steps stop (19 would run).
  const DECODE_TEXT = ['run', '--model', join(DIR, 'gpt2-f32'), '--text', 'a fluffy blue creature', '--decode', '19', '--verify', 'none'];
  const stoppedEarly = (stderr: string, reason: RegExp) => {
    expect(stderr).toMatch(new RegExp(`stdout failed \\(${reason.source}\\): stopping after the current step`));
    const m = /^status: interrupted: stopped \(stdout could not be written\) after (\d+) of 19 decode step\(s\)$/m.exec(stderr);
    expect(m, stderr.slice(-1500)).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(19);
    expect(stderr).toMatch(/^error: could not write the report to stdout: .*\(the command's own status was 4; exiting 4\)$/m);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('the growing text into a full disk: the steps stop at once, the outcome on stderr, exit 4', () => {
    const fd = openSync('/dev/full', 'w');
    const r = runCli(DECODE_TEXT, { stdout: fd });
    closeSync(fd);
    expect(r.status).toBe(4);
    stoppedEarly(r.stderr, /no space left on the device \(ENOSPC\)/);
  });

  it('the growing text into a reader that has gone (EPIPE): the steps stop, exit 4', () => {
    const quoted = DECODE_TEXT.map((a) => `'${a}'`).join(' ');
    const r = runCliShell(`cli ${quoted} | true; echo "exit \${PIPESTATUS[0]}" >&2`);
    expect(r.stderr).toMatch(/^exit 4$/m);
    stoppedEarly(r.stderr, /the reading end was closed \(EPIPE\)/);
  });
});

describe("run --model: the output's __metadata__", () => {
  it('the seed, the folder, and each safetensors file with its size and header SHA-256', () => {
    const dir = copyOf('gpt2-sharded-f16');
    const out = join(scratch, 'model-out.safetensors');
    const r = cli('run', '--model', dir, '--text', 'a fluffy', '--seed', '9', '--verify', 'none', '--output', out);
    expect(r.status, r.stderr).toBe(0);
    const meta = new SafetensorsFile(out).parsed.metadata;
    expect(meta['webgpu-attention.seed']).toBe('9');
    const shards = meta['webgpu-attention.model-files']!.split(', ');
    expect(shards.length).toBeGreaterThan(1);
    shards.forEach((name, i) => {
      const bytes = readFileSync(join(dir, name));
      expect(meta[`webgpu-attention.model-file-${i}-bytes`]).toBe(String(bytes.length));
      const end = 8 + Number(bytes.readBigUInt64LE(0));
      expect(meta[`webgpu-attention.model-file-${i}-header-sha256`]).toBe(createHash('sha256').update(bytes.subarray(0, end)).digest('hex'));
    });
    expect(existsSync(join(dir, 'config.json'))).toBe(true);
  });
});
