// One adapter and its device: acquisition with the adapter's real limits, loss and
// uncaptured-error tracking, and error scopes that turn WebGPU errors into exceptions.
// Works with any GPU object: navigator.gpu in a browser, Dawn's create() in Node.

import { GpuError } from './errors.js';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, SwiftShader, WARP): correct, but slow. */
  isSoftware: boolean;
  /** Human name: the most specific of description, device, architecture, vendor. */
  name: string;
  /** The adapter's smallest subgroup width (0 when not reported): the shuffle matmul needs 8. */
  subgroupMinSize: number;
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for shader-f16 when offered (default true). */
  f16?: boolean;
  /** Compatibility-mode adapters (WebGPU on OpenGL ES) are accepted when nothing else exists. */
  allowCompatibility?: boolean;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|warp|software|microsoft basic render/i;

export function describeAdapter(info: GPUAdapterInfo | undefined): AdapterDescription {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const all = [vendor, architecture, device, description].join(' ');
  const name = description || device || [vendor, architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const subgroupMinSize = (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0;
  return { vendor, architecture, device, description, name, isSoftware: SOFTWARE_NAMES.test(all), subgroupMinSize };
}

export class GpuContext {
  readonly adapterInfo: AdapterDescription;
  readonly limits: GPUSupportedLimits;
  readonly hasTimestamps: boolean;
  readonly hasF16: boolean;
  readonly hasSubgroups: boolean;
  /** Set once the device is lost: every later check throws it. */
  lostReason: string | null = null;
  private uncaptured: string[] = [];
  private destroyed = false;
  /** The device's loss, once it happened (also after destroy()). */
  private lostInfo: GPUDeviceLostInfo | null = null;
  /**
   * The drains waiting now, each failed by the one device.lost handler. One handler per device:
   * a `.then` or Promise.race on device.lost per drain would keep a reaction (and its closure)
   * on that never-settling promise for every drain ever made.
   */
  private readonly lostWaiters = new Set<(info: GPUDeviceLostInfo) => void>();
  private readonly onUncaptured = (event: Event): void => {
    this.uncaptured.push((event as GPUUncapturedErrorEvent).error.message);
  };

  private constructor(
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
  ) {
    this.adapterInfo = describeAdapter(adapter.info);
    this.limits = device.limits;
    this.hasTimestamps = device.features.has('timestamp-query');
    this.hasF16 = device.features.has('shader-f16');
    this.hasSubgroups = device.features.has('subgroups');
    void device.lost.then((info) => {
      this.lostInfo = info;
      if (!this.destroyed) this.lostReason = `GPU device lost (${info.reason}): ${info.message}`;
      const waiters = [...this.lostWaiters];
      this.lostWaiters.clear();
      for (const fail of waiters) fail(info);
    });
    device.addEventListener('uncapturederror', this.onUncaptured);
  }

  /** Requests an adapter (a hardware one first) and a device with every limit the adapter offers. */
  static async create(gpu: GPU, options: DeviceOptions = {}): Promise<GpuContext> {
    let adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter && options.allowCompatibility !== false) {
      adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    }
    if (!adapter) {
      throw new GpuError(
        'No WebGPU adapter found. On Linux without a GPU, install a software Vulkan driver: ' +
          'run `bash scripts/install-software-vulkan.sh` (lavapipe from Mesa >= 24), then retry.',
        'no-adapter',
      );
    }
    // The default limits are far below what adapters offer (128 MiB vs 2 GiB storage bindings):
    // ask for every numeric limit the adapter reports.
    const requiredLimits: Record<string, number> = {};
    for (const key in adapter.limits) {
      const value = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof value === 'number') requiredLimits[key] = value;
    }
    const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups'];
    if (options.f16 !== false) wanted.push('shader-f16', 'chromium-experimental-subgroup-matrix' as GPUFeatureName);
    const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'webgpu-attention' });
    return new GpuContext(adapter, device);
  }

  /** Throws if the device was lost or an error escaped every scope. */
  check(step = 'GPU work'): void {
    if (this.lostReason) throw new GpuError(`${step}: ${this.lostReason}`, 'lost');
    if (this.uncaptured.length) {
      const messages = this.uncaptured.splice(0).join('\n');
      throw new GpuError(`${step}: uncaptured WebGPU error: ${messages}`, 'validation');
    }
  }

  /**
   * Runs `body` inside validation, out-of-memory and internal error scopes and throws the first
   * error any of them caught, labelled with `step`.
   */
  async scoped<T>(step: string, body: () => T | Promise<T>): Promise<T> {
    this.check(step);
    const d = this.device;
    d.pushErrorScope('internal');
    d.pushErrorScope('out-of-memory');
    d.pushErrorScope('validation');
    let result: T;
    try {
      result = await body();
    } finally {
      const validation = await d.popErrorScope();
      const oom = await d.popErrorScope();
      const internal = await d.popErrorScope();
      if (oom) throw new GpuError(`${step}: out of GPU memory: ${oom.message}`, 'out-of-memory');
      if (validation) throw new GpuError(`${step}: WebGPU validation error: ${validation.message}`, 'validation');
      if (internal) throw new GpuError(`${step}: internal GPU error: ${internal.message}`, 'internal');
    }
    this.check(step);
    return result;
  }

  /** Waits until the queue is empty, failing fast if the device is lost meanwhile. */
  async drain(step = 'GPU work'): Promise<void> {
    const lostError = (info: GPUDeviceLostInfo) => new GpuError(`${step}: GPU device lost (${info.reason}): ${info.message}`, 'lost');
    if (this.lostInfo) throw lostError(this.lostInfo);
    await new Promise<void>((resolve, reject) => {
      const fail = (info: GPUDeviceLostInfo) => reject(lostError(info));
      this.lostWaiters.add(fail);
      this.device.queue.onSubmittedWorkDone().then(
        () => {
          this.lostWaiters.delete(fail);
          resolve();
        },
        (e: unknown) => {
          this.lostWaiters.delete(fail);
          reject(e);
        },
      );
    });
    this.check(step);
  }

  /** Drains waiting for the queue or the device's loss now (0 between runs; the soak test reads it). */
  get pendingDrains(): number {
    return this.lostWaiters.size;
  }

  /**
   * Frees the device (every buffer, pipeline and query set made on it) and drops the listener,
   * so nothing the device holds points back at this context. Idempotent.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.removeEventListener('uncapturederror', this.onUncaptured);
    this.device.destroy();
  }
}
