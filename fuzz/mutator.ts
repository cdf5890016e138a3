import type { SeededRandom } from "../src/sync/seeded-random.ts";

/** Values that sit on the edges decoders check: lengths, signs, type markers. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xd9, 0xdc, 0xdd, 0xde, 0xdf];
const INTERESTING_U32 = [
  0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
];

/**
 * One mutation of `input` (libFuzzer's kinds): flip a bit, set a byte to a random or an
 * interesting value, write an interesting 32-bit value, insert or erase bytes, duplicate a
 * piece, splice in a dictionary word or a piece of another corpus input. Never longer than
 * `lengthMax`. Pure: the seeded `random` fixes every choice.
 */
export function mutateOnce(
  input: Uint8Array,
  random: SeededRandom,
  dictionary: readonly Uint8Array[],
  other: Uint8Array | undefined,
  lengthMax: number,
): Uint8Array {
  const at = (length: number) => random.int(0, Math.max(0, length - 1));
  const insert = (bytes: Uint8Array, position: number) => {
    const out = new Uint8Array(input.length + bytes.length);
    out.set(input.subarray(0, position));
    out.set(bytes, position);
    out.set(input.subarray(position), position + bytes.length);
    return out;
  };
  const overwrite = (bytes: Uint8Array, position: number) => {
    const out = Uint8Array.from(input);
    out.set(bytes.subarray(0, Math.max(0, out.length - position)), position);
    return out;
  };
  const kind = input.length === 0 ? random.int(4, 6) : random.int(0, 9);
  let out: Uint8Array;
  switch (kind) {
    case 0: {
      out = Uint8Array.from(input);
      out[at(out.length)]! ^= 1 << random.int(0, 7);
      break;
    }
    case 1: {
      out = Uint8Array.from(input);
      out[at(out.length)] = random.chance(0.5) ? random.int(0, 255) : random.pick(INTERESTING_BYTES);
      break;
    }
    case 2: {
      const value = random.pick(INTERESTING_U32);
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, value, random.chance(0.5));
      out = overwrite(bytes.subarray(0, random.pick([1, 2, 4])), at(input.length));
      break;
    }
    case 3: {
      const start = at(input.length);
      const length = random.int(1, Math.min(16, input.length - start));
      out = new Uint8Array(input.length - length);
      out.set(input.subarray(0, start));
      out.set(input.subarray(start + length), start);
      break;
    }
    case 4: {
      out = insert(random.fill(new Uint8Array(random.int(1, 8))), random.int(0, input.length));
      break;
    }
    case 5: {
      if (dictionary.length === 0) return mutateOnce(input, random, dictionary, other, lengthMax);
      const word = random.pick(dictionary);
      out =
        random.chance(0.5) || input.length === 0
          ? insert(word, random.int(0, input.length))
          : overwrite(word, at(input.length));
      break;
    }
    case 6: {
      if (other === undefined || other.length === 0)
        return mutateOnce(input, random, dictionary, undefined, lengthMax);
      const start = at(other.length);
      const piece = other.subarray(start, start + random.int(1, other.length - start));
      out = random.chance(0.5)
        ? insert(piece, random.int(0, input.length))
        : overwrite(piece, at(input.length));
      break;
    }
    case 7: {
      const start = at(input.length);
      const piece = input.slice(start, start + random.int(1, Math.min(32, input.length - start)));
      out = insert(piece, random.int(0, input.length));
      break;
    }
    case 8: {
      // Cut the tail: truncated input is what a closed connection or a short file gives.
      out = input.slice(0, at(input.length));
      break;
    }
    default: {
      out = Uint8Array.from(input);
      const position = at(out.length);
      out[position] = (out[position]! + random.pick([1, -1, 16, -16])) & 0xff;
    }
  }
  return out.length > lengthMax ? out.subarray(0, lengthMax) : out;
}

/** One to four stacked mutations, as libFuzzer applies them. */
export function mutate(
  input: Uint8Array,
  random: SeededRandom,
  dictionary: readonly Uint8Array[],
  other: Uint8Array | undefined,
  lengthMax: number,
): Uint8Array {
  let out = input;
  for (let count = random.int(1, 4); count > 0; count--)
    out = mutateOnce(out, random, dictionary, other, lengthMax);
  return out;
}
