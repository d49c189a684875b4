// safetensors: an 8-byte little-endian u64 header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}},
// then the data area; data_offsets are relative to the data area's start (8 + N).
// Pure TypeScript (no Node imports) so it also runs in a browser or a Web Worker.
//
// The reader is strict: a file is accepted only when it follows every rule of the format
// (https://github.com/huggingface/safetensors, "Format"), because a file that bends one (a header
// length a few bytes short, a duplicate name, a hole between tensors) is read wrong by some
// reader, silently. The rules, each refused with its own SafetensorsError.rule:
//   prefix          the file holds at least the 8-byte header length
//   header-size     N ≤ 16 MiB (16,777,216) and 8 + N ≤ the file size
//   header-start    the header begins with '{' (no BOM, no whitespace before it)
//   header-utf8     the header is valid UTF-8
//   header-json     the header is valid JSON (strings without lone surrogate escapes)
//   header-padding  after the closing '}' only spaces (0x20)
//   nesting         a flat object of entries: {name: {dtype, shape: [..], data_offsets: [..]}},
//                   nothing nested deeper (checked while scanning, so depth never recurses)
//   duplicate-name  no tensor name (or __metadata__) twice, no metadata key twice
//   entry           an entry has exactly the fields dtype, shape and data_offsets, once each
//   metadata        __metadata__ is an object of string → string
//   dtype           a dtype of the format (DTYPE_SIZE)
//   shape           shape is an array of non-negative safe integers
//   offsets         data_offsets is [begin, end] of non-negative safe integers, begin ≤ end
//   byte-length     end − begin = product(shape) · dtype size
//   out-of-bounds   end ≤ the data area's size
//   data-start      sorted by offset, the tensors start at byte 0 of the data area
//   hole            … and each starts where the previous one ends (no hole)
//   overlap         … (no overlap)
//   trailing-bytes  … and the last one ends at the end of the file
// Reading adds: missing-tensor, tensor-dtype, tensor-shape, truncated, non-finite.
// Every message is one line of at most MAX_MESSAGE characters naming the file, the tensor and

export * from './safetensors-core.js';
export * from './safetensors-parse.js';
export * from './safetensors-tensors.js';
export * from './safetensors-write.js';
export * from './weight-names.js';
