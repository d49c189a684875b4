// "What ran, in the chapter's words": each step of the attention chapter beside the kernel and
// the stage that computed it in this run, with its shape and time.

import { planStages, type RunResult, type StageTimings } from '../src/index.js';

interface Step {
  words: string;
  kernel: string;
  stage: keyof StageTimings | null;
}

function steps(r: RunResult): Step[] {
  const c = r.config;
  const inner = `${c.heads}·${c.dHead}`;
  const run = planStages(r.plan.attention, c.norm, c.block);
  const all: Step[] = [
    { words: `embeddings e: the residual stream x [${c.seq} tokens × d_model ${c.dModel}]`, kernel: 'uploaded (input)', stage: null },
    { words: 'LN(x): GPT-3’s pre-LayerNorm (not in the chapter)', kernel: 'layernorm.wgsl', stage: 'norm' },
    {
      words: `Q = x·W_Q and K = ${c.cross ? 'c' : 'x'}·W_K (query and key maps); V = ${c.cross ? 'c' : 'x'}·W_V (value-down), every head at once [${c.seq} × ${inner}]`,
      kernel: 'matmul.wgsl', stage: 'qkv',
    },
    { words: `scores Q·Kᵀ / √d_head (√${c.dHead} = ${Math.sqrt(c.dHead).toPrecision(3)}), per head [${c.seq} × ${c.kvSeq}]`, kernel: 'matmul.wgsl', stage: 'scores' },
    { words: `${c.mask && !c.cross ? '−∞ for every key after its query (the mask), then ' : ''}softmax over the keys of each query: the pattern`, kernel: 'softmax.wgsl', stage: 'softmax' },
    { words: 'each query’s pattern-weighted sum of the value vectors', kernel: 'matmul.wgsl', stage: 'weighted' },
    { words: `scores / √d_head, ${c.mask && !c.cross ? '−∞ mask, ' : ''}softmax and the weighted sum of values in one pass (the pattern never stored)`, kernel: 'attention.wgsl', stage: 'fused' },
    { words: `value-up: the heads’ blocks of W_O [${c.dModel} × ${inner}] give Δe, added to the residual: e ← e + Δe`, kernel: 'matmul.wgsl', stage: 'output' },
    { words: 'LN2(x): the LayerNorm before the MLP', kernel: 'layernorm.wgsl', stage: 'mlp-norm' },
    { words: `the MLP's up-projection h = ${c.activation}(LN2(x)·fc1ᵀ + b1) [${c.seq} × ${c.ffn}]`, kernel: 'matmul.wgsl (activation in its epilogue)', stage: 'mlp-up' },
    { words: `the MLP's down-projection h·fc2ᵀ + b2, added to the residual: e ← e + MLP(e)`, kernel: 'matmul.wgsl', stage: 'mlp-down' },
  ];
  return all.filter((s) => s.stage === null || run.includes(s.stage));
}

export function renderChapterPanel(r: RunResult): void {
  const panel = document.getElementById('chapter-panel')!;
  const table = document.getElementById('chapter-steps') as HTMLTableElement;
  const stamps = r.timings.source === 'timestamp-query';
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of ['in the chapter', 'kernel (shaders/)', stamps ? 'GPU ms' : 'ms']) head.appendChild(document.createElement('th')).textContent = h;
  for (const s of steps(r)) {
    const row = table.insertRow();
    if (s.stage) row.dataset.stage = s.stage;
    row.insertCell().textContent = s.words;
    row.insertCell().textContent = s.kernel;
    row.insertCell().textContent = s.stage && stamps ? r.timings.stagesMs[s.stage].toFixed(3) : '–';
  }
  document.getElementById('chapter-layers')!.textContent =
    `Repeated for each of ${r.layersRun} layer${r.layersRun === 1 ? '' : 's'}, ${r.config.heads} heads in parallel in every dispatch.`;
  panel.hidden = false;
  delete panel.dataset.stale;
}
