/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = previous[j - 1] + (left[i - 1] === right[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length];
}

/**
 * The candidate closest to `input`, if it is close enough to be a likely typo: at most a third
 * of the input's length away (and at least 1, at most 3 edits). Ties go to the first candidate.
 */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  const allowed = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const inputLength = input.toLowerCase().length;
  for (const candidate of candidates) {
    // Words whose lengths (as editDistance compares them, lower-cased) are further apart than
    // `allowed` are at least that many edits apart: skip the table. Every NX_* variable given
    // to a guest is compared with every configuration variable at each start.
    if (Math.abs(candidate.toLowerCase().length - inputLength) > allowed) continue;
    const distance = editDistance(input, candidate);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
