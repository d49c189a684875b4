// The shapes each suite runs. On a hardware adapter: GPT-3's attention (d_model 12288, 96 heads of 128,
// n = 2048) and square matmuls 1024..8192. On a software adapter (lavapipe does about 4 GFLOP/s and compiles
// each new pipeline in seconds) every suite is scaled down, so that `--quick` with every peer stays under a
// minute; the record's shape always says what ran.

export interface ModelShape {
  heads: number;
  seq: number;
  dHead: number;
  dModel: number;
}

export interface Scale {
  label: string;
  /** Square matmul sizes n (n×n · n×n). */
  squares: number[];
  model: ModelShape;
  /** Layers of the whole-stack suite. */
  stackLayers: number;
  /** Whether the stack suite runs without being asked for. */
  stackByDefault: boolean;
  /** The decode suite: one step of one layer's attention core at each cache length n_kv. */
  decode: { heads: number; dHead: number; lengths: number[] };
}

export const GPT3_SHAPE: ModelShape = { heads: 96, seq: 2048, dHead: 128, dModel: 12288 };

export function chooseScale(software: boolean, quick: boolean): Scale {
  if (!software) {
    return {
      label: quick ? 'GPT-3 shapes, quick (squares to 4096, no stack)' : 'GPT-3 shapes',
      squares: quick ? [1024, 2048, 4096] : [1024, 2048, 4096, 8192],
      model: GPT3_SHAPE,
      stackLayers: 96,
      stackByDefault: !quick,
      decode: { heads: 96, dHead: 128, lengths: quick ? [2048] : [2048, 32768] },
    };
  }
  return quick
    ? {
        label: 'scaled down for a software adapter, quick',
        squares: [128, 256, 512],
        model: { heads: 4, seq: 128, dHead: 32, dModel: 128 },
        stackLayers: 8,
        stackByDefault: false,
        decode: { heads: 8, dHead: 64, lengths: [512, 2048] },
      }
    : {
        label: 'scaled down for a software adapter',
        squares: [128, 256, 512, 1024],
        model: { heads: 8, seq: 256, dHead: 64, dModel: 512 },
        stackLayers: 12,
        stackByDefault: false,
        decode: { heads: 8, dHead: 64, lengths: [512, 2048, 8192, 16384, 32768] },
      };
}
