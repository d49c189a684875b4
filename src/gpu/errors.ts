// Errors the engine raises. Each names what failed and, where one applies, the limit it hit.

/** Bad input caught before any GPU work: names the argument and the limit. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A WebGPU validation error, out-of-memory or internal error, with the step that raised it. */
export class GpuError extends Error {
  constructor(
    message: string,
    readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'lost' | 'no-adapter',
  ) {
    super(message);
    this.name = 'GpuError';
  }
}

/** The plan needs more memory than the adapter offers; lists the sizes that did not fit. */
export class OutOfMemoryError extends GpuError {
  constructor(message: string) {
    super(message, 'out-of-memory');
    this.name = 'OutOfMemoryError';
  }
}

export const MiB = 1024 * 1024;
export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB`
    : bytes >= MiB / 10 ? `${(bytes / MiB).toFixed(1)} MiB`
      : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB`
        : `${bytes} B`;
