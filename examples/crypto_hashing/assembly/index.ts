// Hashes a fixed text with the host's SHA-256 and BLAKE3 and draws random bytes from its CSPRNG.

import { crypto, log, toHex } from "../../../sdk/assemblyscript/assembly";

const INPUT = "The quick brown fox jumps over the lazy dog";

export function run(): void {
  log.info(`input: "${INPUT}"`);
  log.info(`sha256: ${toHex(crypto.sha256(INPUT))}`);
  log.info(`blake3: ${toHex(crypto.blake3(INPUT))}`);
  const random = crypto.randomBytes(16);
  log.info(`16 random bytes: ${toHex(random)}`);
  // Distinct draws differ: equal 128-bit values would mean the generator is broken.
  log.info(`two draws differ: ${toHex(crypto.randomBytes(16)) != toHex(random)}`);
}
