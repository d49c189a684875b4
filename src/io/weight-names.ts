// The tensor names of the project's weights layout (--weights files, PyTorch Linear: weight [out, in], bias [out]):
// layers.{l}.self_attn.{q,k,v,o}_proj.{weight,bias} and layers.{l}.input_layernorm.{weight,bias}. One place for the
// names the writer's callers use and the layer set (./layer-set.ts) checks.

export type ProjectionName = 'q' | 'k' | 'v' | 'o';

/** A projection's tensor within its layer. */
export const projectionPart = (proj: ProjectionName, kind: 'weight' | 'bias'): string => `self_attn.${proj}_proj.${kind}`;

/** The pre-attention LayerNorm's tensor within its layer: weight (gain) or bias, each [d_model]. */
export const layerNormPart = (kind: 'weight' | 'bias'): string => `input_layernorm.${kind}`;

/** Tensor names of the model's layout (PyTorch Linear: weight [out, in], bias [out]). */
export const weightName = (layer: number, proj: ProjectionName, kind: 'weight' | 'bias' = 'weight'): string => `layers.${layer}.${projectionPart(proj, kind)}`;

/** The pre-attention LayerNorm of a layer: weight (gain) and bias, each [d_model]. */
export const layerNormName = (layer: number, kind: 'weight' | 'bias'): string => `layers.${layer}.${layerNormPart(kind)}`;
