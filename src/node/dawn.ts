// Node's WebGPU: Dawn through the `webgpu` npm package. The only module of the engine that
// imports it; everything else takes a GPU object, so the browser passes navigator.gpu instead.
//
// Lifetime. Dawn's instance (the GPU object `create()` returns) must outlive every device made
// from it: its event loop settles the devices' promises (onSubmittedWorkDone, mapAsync, lost).
// The package has no call that frees an instance; it is freed when the GPU object is garbage
// collected. So this module holds each GPU object strongly exactly while a device made from it
// is alive (requested and not yet destroyed or lost), and weakly (through its adapters and
// devices) while any of those is still reachable; after that the caller's reference alone keeps
// it, and dropping that frees the instance. Callers that write `Engine.create(createNodeGpu())`
// need do nothing more than `engine.destroy()`.

import { create, globals } from 'webgpu';

let installed = false;

/** GPU objects with at least one device not yet destroyed or lost, and how many. */
const held = new Map<GPU, number>();
/** Each adapter and device to the GPU object it came from: keeps the instance while they are reachable. */
const origin = new WeakMap<object, GPU>();

/**
 * Creates Dawn's GPU object. Its globals (GPUBufferUsage, …) are installed once; the GPU object
 * itself stays off globalThis, or the process would not exit.
 * `vulkan_enable_f16_on_nvidia` exposes shader-f16 and subgroup matrices on NVIDIA's Vulkan driver.
 */
export function createNodeGpu(extraOptions: string[] = []): GPU {
  if (!installed) {
    Object.assign(globalThis, globals);
    installed = true;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', ...extraOptions]);
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  Object.defineProperty(gpu, 'requestAdapter', {
    configurable: true,
    value: async (options?: GPURequestAdapterOptions): Promise<GPUAdapter | null> => {
      const adapter = await requestAdapter(options);
      if (adapter) trackAdapter(gpu, adapter);
      return adapter;
    },
  });
  return gpu;
}

function trackAdapter(gpu: GPU, adapter: GPUAdapter): void {
  origin.set(adapter, gpu);
  const requestDevice = adapter.requestDevice.bind(adapter);
  Object.defineProperty(adapter, 'requestDevice', {
    configurable: true,
    value: async (descriptor?: GPUDeviceDescriptor): Promise<GPUDevice> => {
      // Held before the request, so the instance cannot go while the device is being made.
      hold(gpu);
      let device: GPUDevice;
      try {
        device = await requestDevice(descriptor);
      } catch (e) {
        unhold(gpu);
        throw e;
      }
      origin.set(device, gpu);
      // One handler per device: destroy() settles `lost` too (reason 'destroyed').
      void device.lost.then(() => unhold(gpu));
      return device;
    },
  });
}

function hold(gpu: GPU): void {
  held.set(gpu, (held.get(gpu) ?? 0) + 1);
}

function unhold(gpu: GPU): void {
  const count = (held.get(gpu) ?? 1) - 1;
  if (count > 0) held.set(gpu, count);
  else held.delete(gpu);
}

/** How many Dawn instances this module holds now (each with a live device): 0 once every device is destroyed. */
export function heldNodeGpus(): number {
  return held.size;
}
