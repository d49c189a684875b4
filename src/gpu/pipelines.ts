// Compiles each kernel variant once. A variant is the kernel name (and entry point), its
// preprocessor flags and its override constants; sizes ride in uniforms, so a new shape never builds a new pipeline.

import type { GpuContext } from './device.js';
import { GpuError } from './errors.js';
import { preprocess, sourceLine } from './preprocess.js';

export interface KernelVariant {
  name: string;
  source: string;
  flags?: string[];
  constants?: Record<string, number>;
  entryPoint?: string;
}

export function variantKey(v: KernelVariant): string {
  const flags = [...(v.flags ?? [])].sort().join(',');
  const constants = Object.entries(v.constants ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, val]) => `${k}=${val}`)
    .join(',');
  return `${v.name}${v.entryPoint ? `.${v.entryPoint}` : ''}[${flags}]{${constants}}`;
}

/** Compile errors as `FILE.wgsl:LINE:COL message` lines, each naming the file the line comes from (withShared). */
export function compileErrorLines(name: string, code: string, errors: readonly Pick<GPUCompilationMessage, 'lineNum' | 'linePos' | 'message'>[]): string {
  return errors.map((m) => {
    const { file, line } = sourceLine(code, m.lineNum, `${name}.wgsl`);
    return `  ${file}:${line}:${m.linePos} ${m.message}`;
  }).join('\n');
}

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly gpu: GpuContext) {}

  get(variant: KernelVariant): Promise<GPUComputePipeline> {
    const key = variantKey(variant);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.build(key, variant);
      pipeline.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }

  private async build(key: string, v: KernelVariant): Promise<GPUComputePipeline> {
    const code = preprocess(v.source, new Set(v.flags ?? []));
    const device = this.gpu.device;
    const module = await this.gpu.scoped(`compiling ${key}`, () => device.createShaderModule({ code, label: key }));
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new GpuError(`WGSL compilation of ${key} failed:\n${compileErrorLines(v.name, code, errors)}`, 'validation');
    }
    try {
      return await device.createComputePipelineAsync({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: v.entryPoint ?? 'main', constants: v.constants ?? {} },
      });
    } catch (e) {
      throw new GpuError(`creating the pipeline ${key} failed: ${(e as Error).message}`, 'validation');
    }
  }
}
