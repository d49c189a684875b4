// Progress on stderr: a redrawn bar on a terminal, one line per layer otherwise (CI logs).

import type { LayerProgress } from '../model/engine.js';

export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (p: LayerProgress, note?: string) => void {
  const tty = stream.isTTY === true;
  let flopsDone = 0;
  let gpuMs = 0;
  return (p, note) => {
    flopsDone += p.flops;
    gpuMs += p.layerMs;
    const done = p.layer + 1;
    const eta = (p.elapsedMs / done) * (p.layers - done);
    const tflops = gpuMs > 0 ? flopsDone / (gpuMs * 1e9) : 0;
    const width = 24;
    const filled = Math.round((done / p.layers) * width);
    const bar = tty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    const line =
      `${bar}layer ${done}/${p.layers}  ${p.layerMs.toFixed(1)} ms  elapsed ${formatSeconds(p.elapsedMs)}  ` +
      `ETA ${formatSeconds(eta)}  ${tflops.toFixed(tflops < 0.1 ? 4 : 2)} TFLOP/s${note ? '  ' + note : ''}`;
    if (tty) stream.write(`\r\x1b[K${line}${done === p.layers ? '\n' : ''}`);
    else stream.write(line + '\n');
  };
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}
