import { z } from "zod";
import { GateError } from "./gate-error.ts";

/**
 * The load guests' reports: one JSON object per stdout line after the prefix "@gate " (written
 * by bench/guests/lib/open-loop.ts and the guests' own start/final lines). Other stdout lines are
 * not the guest's reports and are left alone.
 */

export const GUEST_LINE_PREFIX = "@gate ";

const count = z.number().int().nonnegative();

const startLine = z.object({
  type: z.literal("start"),
  rate: count,
  duration_ms: count,
  resumed: count.optional(),
  peers: z.number().int().optional(),
  counter_before: count.optional(),
});

const intervalLine = z.object({
  type: z.literal("interval"),
  t_us: count,
  ops: count,
  errors: count,
  done: count,
  p50_us: count,
  p99_us: count,
  max_us: count,
  lag_us: count,
  /** The interval's histogram, when the guest was asked for it (NX_GATE_INTERVAL_HIST=1). */
  hist: z.array(z.tuple([count, count])).optional(),
});

const summaryLine = z.object({
  type: z.literal("summary"),
  ops: count,
  errors: count,
  done: count,
  elapsed_us: count,
  scheduled_ms: count,
  rate: count,
  hist_sub_bucket_bits: count,
  hist: z.array(z.tuple([count, count])),
});

const finalLine = z.object({
  type: z.literal("final"),
  done: count,
  counter_local: count,
});

const guestLine = z.discriminatedUnion("type", [startLine, intervalLine, summaryLine, finalLine]);

export type StartLine = z.infer<typeof startLine>;
export type IntervalLine = z.infer<typeof intervalLine>;
export type SummaryLine = z.infer<typeof summaryLine>;
export type FinalLine = z.infer<typeof finalLine>;
export type GuestLine = z.infer<typeof guestLine>;

/** The report on `line`, undefined for a line that is not one; GATE_GUEST_PROTOCOL if malformed. */
export function parseGuestLine(line: string): GuestLine | undefined {
  if (!line.startsWith(GUEST_LINE_PREFIX)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(line.slice(GUEST_LINE_PREFIX.length));
  } catch (error) {
    throw new GateError("GATE_GUEST_PROTOCOL", `guest report is not JSON: ${line.slice(0, 120)}`, {
      cause: error,
    });
  }
  const parsed = guestLine.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GateError(
      "GATE_GUEST_PROTOCOL",
      `guest report ${line.slice(0, 80)}: ${issue?.path.join(".") ?? ""} ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}
