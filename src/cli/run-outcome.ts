// What a run amounts to, and what it leaves behind: its status and exit code (never "passed"
// for what was not checked), the output file only when the result can be trusted (with
// __metadata__ saying how it was made), and the JSON report, flushed before the process exits.

import type { RunResult } from '../model/engine.js';
import { basename } from 'node:path';
import { escapeUntrusted } from '../io/escape.js';
import { writeOutputFile, type SafetensorsFile } from '../node/safetensors-file.js';
import type { Verification } from '../verify/exact.js';
import { PACKAGE_VERSION } from '../version.js';
import type { Flags } from './args.js';
import { ConfigError } from '../model/config.js';
import { describeStop, STOP_EXIT, type StopReason } from './interrupts.js';

export function notVerified(): Verification {
  return { mode: 'none', passed: null, maxAbsError: null, maxRelError: null, worstRatio: null, tolerance: 'none', failedLayers: [], detail: 'not verified (--verify none)' };
}

/** What the run amounts to, in order of precedence: interrupted, non-finite, failed, not verified, passed. */
export function runOutcome(result: RunResult, v: Verification, signal: StopReason | null): { status: RunStatus; exitCode: number; message: string } {
  const planned = result.config.layers;
  if (signal) {
    return { status: 'interrupted', exitCode: STOP_EXIT[signal], message: `${describeStop(signal)} after layer ${result.layersRun} of ${planned}${v.mode !== 'none' ? `; verification: ${v.passed === null ? 'incomplete' : v.passed ? 'passed for the layers that ran' : 'FAILED'}` : ''}` };
  }
  if (result.firstNonFiniteLayer !== null) {
    return { status: 'non-finite', exitCode: 3, message: `the output is not finite: the residual stream first held NaN or Inf after layer ${result.firstNonFiniteLayer} (0-based)` };
  }
  if (v.passed === false) return { status: 'failed', exitCode: 1, message: `verification FAILED (${v.mode}) in layer(s) ${v.failedLayers.join(', ') || '-'}` };
  if (v.passed === null) return { status: 'not-verified', exitCode: 0, message: 'not verified (--verify none); the output is finite' };
  return { status: 'passed', exitCode: 0, message: `verification passed (${v.mode})` };
}

export type RunStatus = 'passed' | 'failed' | 'not-verified' | 'non-finite' | 'interrupted';

/**
 * The output file, only for a result that can be trusted: passed, or not verified but finite.
 * A failed or non-finite result is written only with --keep-failed-output, an interrupted one
 * only with --keep-partial-output, and then its __metadata__ says so.
 */
export function writeOutput(path: string | null, flags: Flags, result: RunResult, v: Verification, outcome: ReturnType<typeof runOutcome>, provenance: Record<string, string> = {}):
  { path: string | null; written: boolean; reason: string } {
  if (!path) return { path: null, written: false, reason: 'no --output' };
  const keep = outcome.status === 'interrupted' ? flags['keep-partial-output'] === true
    : outcome.status === 'failed' || outcome.status === 'non-finite' ? flags['keep-failed-output'] === true : true;
  if (!keep) {
    const flag = outcome.status === 'interrupted' ? '--keep-partial-output' : '--keep-failed-output';
    const reason = `not written: the run is ${outcome.status} (${flag} writes it anyway, marked as such)`;
    console.error(`--output ${reason}`);
    return { path, written: false, reason };
  }
  writeOutputFile(path, result.output, result.config, outputDtype(flags) === 'f16' ? 'F16' : 'F32', {
    'webgpu-attention.version': PACKAGE_VERSION,
    'webgpu-attention.config': JSON.stringify(result.config),
    'webgpu-attention.adapter': result.adapter.name,
    'webgpu-attention.precision': result.config.precision,
    'webgpu-attention.output-dtype': outputDtype(flags),
    'webgpu-attention.attention': result.plan.attention,
    'webgpu-attention.verify': v.mode,
    'webgpu-attention.verdict': v.passed === null ? 'not verified' : v.passed ? 'passed' : 'failed',
    'webgpu-attention.status': outcome.status,
    'webgpu-attention.layers-run': `${result.layersRun} of ${result.config.layers}`,
    'webgpu-attention.partial': String(result.layersRun < result.config.layers),
    'webgpu-attention.finite': String(result.firstNonFiniteLayer === null),
    'webgpu-attention.engine-adapter-software': String(result.adapter.isSoftware),
    ...provenance,
  }, result.logits && !result.stopped ? { logits: { shape: [result.logits.length], data: result.logits } } : {});
  return { path, written: true, reason: outcome.status };
}

/**
 * What the output was computed from, for its __metadata__: the seed, and for each file given its
 * name (escaped, without the folder), size in bytes and a SHA-256 of its header (the tensor
 * names, shapes and offsets; the data is not hashed, which would read the file once more).
 */
export function provenanceOf(seed: number, files: { flag: 'weights' | 'input'; file: SafetensorsFile | null }[]): Record<string, string> {
  const out: Record<string, string> = { 'webgpu-attention.seed': String(seed) };
  for (const { flag, file } of files) {
    if (!file) {
      out[`webgpu-attention.${flag}`] = `seeded (seed ${seed})`;
      continue;
    }
    out[`webgpu-attention.${flag}`] = escapeUntrusted(basename(file.path), 255);
    out[`webgpu-attention.${flag}-bytes`] = String(file.size);
    out[`webgpu-attention.${flag}-header-sha256`] = file.headerSha256();
  }
  return out;
}

/** A checkpoint's safetensors files for __metadata__: `.model-files` (names, escaped) and per file its size and header SHA-256. */
export function modelFilesProvenance(files: readonly SafetensorsFile[]): Record<string, string> {
  const out: Record<string, string> = { 'webgpu-attention.model-files': files.map((f) => escapeUntrusted(basename(f.path), 255)).join(', ') };
  files.forEach((f, i) => {
    out[`webgpu-attention.model-file-${i}-bytes`] = String(f.size);
    out[`webgpu-attention.model-file-${i}-header-sha256`] = f.headerSha256();
  });
  return out;
}

/** --output-dtype: f32 (default) or f16 (narrowed, refusing values beyond f16's range). */
export function outputDtype(flags: Flags): 'f32' | 'f16' {
  const v = flags['output-dtype'] === undefined ? 'f32' : String(flags['output-dtype']);
  if (v !== 'f32' && v !== 'f16') throw new ConfigError(`--output-dtype must be f32 or f16, got '${v}'`);
  return v;
}

/**
 * Prints the JSON report and resolves once it is flushed (a piped stdout is written
 * asynchronously). A write error is not thrown here: main's drainStdout reports it (stdout.ts).
 */
export function printJson(report: unknown): Promise<void> {
  return new Promise((resolve) => process.stdout.write(JSON.stringify(report, null, 2) + '\n', () => resolve()));
}
