/**
 * A fuzz target: one decoder that a peer or a file can reach, run on arbitrary bytes. `run`
 * returns when the input is accepted or refused the documented way (the decoder's named error);
 * anything else it lets escape (a TypeError, a RangeError, a broken round trip it asserts) is a
 * finding. docs/supply-chain.md lists the targets.
 */
export interface FuzzTarget {
  readonly name: string;
  /** One line: what is fuzzed and what counts as a finding. */
  readonly description: string;
  /** Inputs longer than this are cut: the decoders' interesting shapes are small. */
  readonly inputBytesMax: number;
  /** Byte strings the mutator splices in: the format's markers and keywords. */
  readonly dictionary: readonly Uint8Array[];
  run(input: Uint8Array): void;
}

/** A target's input that made it fail: the input and what escaped. */
export class FuzzFinding extends Error {
  readonly input: Uint8Array;

  constructor(input: Uint8Array, cause: unknown) {
    super(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause), { cause });
    this.input = input;
    this.name = "FuzzFinding";
  }
}

const encoder = new TextEncoder();

/** A dictionary from text tokens (UTF-8) and raw byte strings. */
export function dictionaryOf(...entries: readonly (string | readonly number[])[]): Uint8Array[] {
  return entries.map((entry) => (typeof entry === "string" ? encoder.encode(entry) : Uint8Array.from(entry)));
}
