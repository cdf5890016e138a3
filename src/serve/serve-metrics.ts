import type { NodeMetrics } from "../observe/metrics.ts";

/** The route label of a request no route answered (404, 405, or refused before routing). */
export const UNMATCHED_ROUTE = "unmatched";

/** What one listener reports per request, connection and stream. */
export interface ServeMetrics {
  /** A request answered with `status` on `route` (a route's `METHOD /path`, or {@link UNMATCHED_ROUTE}). */
  answered(route: string, status: number): void;
  handlerSeconds(route: string, seconds: number): void;
  sseStreams(by: 1 | -1): void;
  webSockets(by: 1 | -1): void;
}

type Handle = { inc(): void };

/**
 * The node's serving metrics for the listener `listener` (its address), with every series
 * resolved once and kept by route: a request costs a map lookup and an increment, not
 * prom-client's hashing of a label object.
 */
export function serveMetrics(metrics: NodeMetrics, listener: string): ServeMetrics {
  const answered = new Map<string, Handle[]>();
  const durations = new Map<string, { observe(value: number): void }>();
  return {
    answered(route, status) {
      let byClass = answered.get(route);
      if (byClass === undefined) {
        byClass = [1, 2, 3, 4, 5].map((digit) =>
          metrics.httpRequests.series({ listener, route, status: `${digit}xx` }),
        );
        answered.set(route, byClass);
      }
      byClass[Math.min(5, Math.max(1, Math.floor(status / 100))) - 1]!.inc();
    },
    handlerSeconds(route, seconds) {
      let series = durations.get(route);
      if (series === undefined) {
        series = metrics.httpHandlerSeconds.series({ listener, route });
        durations.set(route, series);
      }
      series.observe(seconds);
    },
    sseStreams: (by) => metrics.httpSseStreams.inc(by),
    webSockets: (by) => metrics.httpWebSockets.inc(by),
  };
}
