// Node's WebGPU: Dawn through the `webgpu` npm package. The only module of the engine that
// imports it; everything else takes a GPU object, so the browser passes navigator.gpu instead.

import { create, globals } from 'webgpu';

let installed = false;
const keep: GPU[] = [];

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
  keep.push(gpu); // Dawn's instance must outlive every device made from it
  return gpu;
}
