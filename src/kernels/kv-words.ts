// Host side of shaders/kv_words.wgsl: k and v rows read a vec4 word at a time (fetchK, fetchV), the
// piece attention_shuffle.wgsl and decode.wgsl share, appended to theirs (withShared).

import kvWordsSource from '../../shaders/kv_words.wgsl';
import type { SharedWgsl } from '../gpu/preprocess.js';

export const KV_WORDS: SharedWgsl = { file: 'kv_words.wgsl', text: kvWordsSource };
