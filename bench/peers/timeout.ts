// A peer library can hang (onnxruntime's fp16 FlashAttention never finished on lavapipe): the benchmark must
// report that and go on instead of waiting forever, so every peer call goes through withTimeout.

export class PeerTimeoutError extends Error {
  constructor(readonly what: string, readonly ms: number) {
    super(`${what} did not finish within ${ms} ms (peer call cut off; the peer may be hung and unusable now)`);
    this.name = 'PeerTimeoutError';
  }
}

/**
 * Resolves or rejects like `promise`, or rejects with PeerTimeoutError after `ms`.
 * The timer is cleared as soon as the call settles, so it never keeps Node alive afterwards. It is
 * deliberately not unref'd: while a hung call is pending, the timer is what keeps the process alive long
 * enough to report the hang (an unref'd timer would let Node exit silently with the promise unsettled).
 * Note: this cannot stop the work itself (a hung GPU queue or a synchronous native call stays hung);
 * a native call that blocks the JS thread cannot be cut off from inside the process at all.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PeerTimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
