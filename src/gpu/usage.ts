// WebGPU's buffer-usage and map-mode flags, by their values in the specification. Using the
// numbers rather than the GPUBufferUsage global keeps modules importable before (or without)
// an implementation installing its globals: Dawn in Node installs them only on request.

export const Usage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;

/** GPUMapMode, for mapAsync (READ happens to equal Usage.MAP_READ; they are different flags). */
export const MapMode = {
  READ: 0x0001,
} as const;
