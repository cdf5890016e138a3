import { NumaxError } from "../errors/numax-error.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { formatSize, parseSize } from "./size.ts";
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from "./socket-address.ts";

/**
 * How one configuration value is read from numax.toml, from text (an `NX_*` variable or a CLI
 * flag) and written back as TOML (for `nx config init` and `show`). Each schema key has one kind;
 * the kind normalizes (durations to ms, sizes to bytes) and checks the range.
 */
export interface ValueKind<T> {
  /** The type as the docs name it: "integer", "duration", "host:port" ... */
  readonly typeName: string;
  /**
   * The accepted range or members as the docs show them, e.g. "1..1024"; "" when unconstrained.
   * Made when asked (the docs, `nx config init`): a plain `nx run` builds every kind and asks for
   * none, and formatting the ranges of the durations and sizes was 8 KB of the young generation
   * it fills before its first scavenge.
   */
  constraint(): string;
  fromToml(value: unknown): KindResult<T>;
  fromText(text: string): KindResult<T>;
  toToml(value: T): TomlWritable;
}

export type KindResult<T> =
  /** `note` is something worth telling the user about a value that was accepted. */
  | { readonly ok: true; readonly value: T; readonly note?: string }
  | {
      readonly ok: false;
      readonly kind: "wrong-type" | "invalid-value" | "out-of-range";
      readonly message: string;
    };

/** A value as written in numax.toml. */
export type TomlWritable = string | number | boolean | readonly string[];

const ok = <T>(value: T): KindResult<T> => ({ ok: true, value });
const unconstrained = (): string => "";
const wrongType = (expected: string, got: unknown): KindResult<never> => ({
  ok: false,
  kind: "wrong-type",
  message: `expected ${expected}, got ${describeTomlValue(got)}`,
});
const invalidValue = (message: string): KindResult<never> => ({ ok: false, kind: "invalid-value", message });
const outOfRange = (message: string): KindResult<never> => ({ ok: false, kind: "out-of-range", message });

function describeTomlValue(value: unknown): string {
  if (typeof value === "bigint") return `the integer ${value}`;
  if (typeof value === "number") return `the float ${value}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "boolean") return `the boolean ${value}`;
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  return "a table";
}

/** Runs a parser that throws a NumaxError for bad input and turns that error into a result. */
function fromThrowing<T>(parse: () => T): KindResult<T> {
  try {
    return ok(parse());
  } catch (error) {
    if (error instanceof NumaxError) return invalidValue(error.message);
    throw error;
  }
}

function inRange<T extends number>(
  value: T,
  min: number,
  max: number,
  show: (n: number) => string,
): KindResult<T> {
  if (value < min || value > max) {
    return outOfRange(`must be between ${show(min)} and ${show(max)}, got ${show(value)}`);
  }
  return ok(value);
}

/** An integer in [min, max]. TOML integers only: `64.0` and `"64"` are refused in the file. */
export function integerKind(range: { min: number; max: number }): ValueKind<number> {
  const check = (value: number) => inRange(value, range.min, range.max, String);
  return {
    typeName: "integer",
    constraint: () => `${range.min}..${range.max}`,
    fromToml(value) {
      if (typeof value !== "bigint") return wrongType("an integer", value);
      if (value < BigInt(range.min) || value > BigInt(range.max)) {
        return outOfRange(`must be between ${range.min} and ${range.max}, got ${value}`);
      }
      return ok(Number(value));
    },
    fromText(text) {
      if (!/^-?\d+$/.test(text)) return invalidValue(`expected an integer, got ${JSON.stringify(text)}`);
      const value = Number(text);
      if (!Number.isSafeInteger(value))
        return outOfRange(`must be between ${range.min} and ${range.max}, got ${text}`);
      return check(value);
    },
    toToml: (value) => value,
  };
}

/** Whole seconds in the file (keys named `*_secs`), milliseconds once normalized. */
export function secondsKind(range: { minSecs: number; maxSecs: number }): ValueKind<number> {
  const seconds = integerKind({ min: range.minSecs, max: range.maxSecs });
  const toMs = (result: KindResult<number>): KindResult<number> =>
    result.ok ? ok(result.value * 1000) : result;
  return {
    typeName: "integer",
    constraint: seconds.constraint,
    fromToml: (value) => toMs(seconds.fromToml(value)),
    fromText: (text) => toMs(seconds.fromText(text)),
    toToml: (ms) => ms / 1000,
  };
}

/** A duration string (`500ms`, `30s`, `2m`, `1h`), normalized to milliseconds. */
export function durationKind(range: { minMs: number; maxMs: number }): ValueKind<number> {
  const fromText = (text: string): KindResult<number> => {
    const parsed = fromThrowing(() => parseDuration(text));
    return parsed.ok ? inRange(parsed.value, range.minMs, range.maxMs, formatDuration) : parsed;
  };
  return {
    typeName: "duration",
    constraint: () => `${formatDuration(range.minMs)}..${formatDuration(range.maxMs)}`,
    fromToml: (value) =>
      typeof value === "string" ? fromText(value) : wrongType('a duration string such as "30s"', value),
    fromText,
    toToml: formatDuration,
  };
}

/** A size string (`16MiB`, `512KiB`) or an integer number of bytes, normalized to bytes. */
export function sizeKind(range: { minBytes: number; maxBytes: number }): ValueKind<number> {
  const check = (bytes: number) => inRange(bytes, range.minBytes, range.maxBytes, formatSize);
  const fromText = (text: string): KindResult<number> => {
    const parsed = fromThrowing(() => parseSize(text));
    return parsed.ok ? check(parsed.value) : parsed;
  };
  return {
    typeName: "size",
    constraint: () => `${formatSize(range.minBytes)}..${formatSize(range.maxBytes)}`,
    fromToml(value) {
      if (typeof value === "string") return fromText(value);
      if (typeof value === "bigint") {
        if (value < BigInt(range.minBytes) || value > BigInt(range.maxBytes)) {
          return outOfRange(
            `must be between ${formatSize(range.minBytes)} and ${formatSize(range.maxBytes)}, got ${value} bytes`,
          );
        }
        return ok(Number(value));
      }
      return wrongType('a size such as "16MiB" or an integer number of bytes', value);
    },
    fromText,
    toToml: formatSize,
  };
}

/** A non-empty string naming a file or directory; relative paths are relative to the working directory. */
export function pathKind(): ValueKind<string> {
  const fromText = (text: string): KindResult<string> =>
    text.length === 0 ? invalidValue("must not be empty") : ok(text);
  return {
    typeName: "path",
    constraint: unconstrained,
    fromToml: (value) => (typeof value === "string" ? fromText(value) : wrongType("a string", value)),
    fromText,
    toToml: (value) => value,
  };
}

/** `true` / `false` in the file; `true`, `false`, `1` or `0` as text. */
export function booleanKind(): ValueKind<boolean> {
  return {
    typeName: "boolean",
    constraint: unconstrained,
    fromToml: (value) => (typeof value === "boolean" ? ok(value) : wrongType("true or false", value)),
    fromText(text) {
      if (text === "true" || text === "1") return ok(true);
      if (text === "false" || text === "0") return ok(false);
      return invalidValue(`expected true, false, 1 or 0, got ${JSON.stringify(text)}`);
    },
    toToml: (value) => value,
  };
}

/** An accepted older spelling of an enum member: read, never written, and noted when used. */
export interface EnumAlias<T extends string> {
  readonly member: T;
  readonly note: string;
}

/** One of a fixed set of strings, plus aliases kept for files written for earlier versions. */
export function enumKind<const T extends string>(
  members: readonly T[],
  aliases: Readonly<Record<string, EnumAlias<T>>> = {},
): ValueKind<T> {
  const memberList = members.map((member) => JSON.stringify(member)).join(", ");
  const fromText = (text: string): KindResult<T> => {
    if ((members as readonly string[]).includes(text)) return ok(text as T);
    if (Object.hasOwn(aliases, text))
      return { ok: true, value: aliases[text].member, note: aliases[text].note };
    return invalidValue(`expected one of ${memberList}, got ${JSON.stringify(text)}`);
  };
  return {
    typeName: "string",
    constraint: () => members.join(" | "),
    fromToml: (value) =>
      typeof value === "string" ? fromText(value) : wrongType(`one of ${memberList}`, value),
    fromText,
    toToml: (value) => value,
  };
}

/** `host:port`; see parseSocketAddress. */
export function addressKind(options: { allowPortZero: boolean }): ValueKind<SocketAddress> {
  const fromText = (text: string) => fromThrowing(() => parseSocketAddress(text, options));
  return {
    typeName: "host:port",
    constraint: unconstrained,
    fromToml: (value) =>
      typeof value === "string" ? fromText(value) : wrongType('a string such as "0.0.0.0:9000"', value),
    fromText,
    toToml: formatSocketAddress,
  };
}

/** `host:port`, or `off` for a listener that is on by default and can be turned off. */
export function addressOrOffKind(options: { allowPortZero: boolean }): ValueKind<SocketAddress | "off"> {
  const address = addressKind(options);
  const fromText = (text: string): KindResult<SocketAddress | "off"> =>
    text === "off" ? ok("off") : address.fromText(text);
  return {
    typeName: 'host:port or "off"',
    constraint: unconstrained,
    fromToml: (value) =>
      typeof value === "string"
        ? fromText(value)
        : wrongType('a string such as "127.0.0.1:9102" or "off"', value),
    fromText,
    toToml: (value) => (value === "off" ? "off" : formatSocketAddress(value)),
  };
}

/** How one list item is read and written. */
export interface ListItem<T> {
  readonly typeName: string;
  parse(text: string): T;
  format(value: T): string;
}

/**
 * A list: a TOML array of strings in the file, comma-separated as text (`a,b,c`). Empty items and
 * duplicates are refused: both are almost always a typo.
 */
export function listKind<T>(item: ListItem<T>): ValueKind<readonly T[]> {
  const fromItems = (items: readonly string[]): KindResult<readonly T[]> => {
    const values: T[] = [];
    const seen = new Set<string>();
    for (const [index, text] of items.entries()) {
      if (text.length === 0) return invalidValue(`item ${index + 1} is empty`);
      const parsed = fromThrowing(() => item.parse(text));
      if (!parsed.ok) return { ...parsed, message: `item ${index + 1}: ${parsed.message}` };
      const canonical = item.format(parsed.value);
      if (seen.has(canonical)) return invalidValue(`${JSON.stringify(canonical)} is listed twice`);
      seen.add(canonical);
      values.push(parsed.value);
    }
    return ok(values);
  };
  return {
    typeName: `list of ${item.typeName}`,
    constraint: unconstrained,
    fromToml(value) {
      const expected = `an array of ${item.typeName} strings`;
      if (!Array.isArray(value)) return wrongType(expected, value);
      const notString = value.find((entry) => typeof entry !== "string");
      if (notString !== undefined) return wrongType(`${expected} (an item is not a string)`, notString);
      return fromItems(value as string[]);
    },
    fromText: (text) => fromItems(text.split(",").map((part) => part.trim())),
    toToml: (values) => values.map((value) => item.format(value)),
  };
}

const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * A DNS name: dot-separated labels of letters, digits, `-` and `_` (service labels such as
 * `_numax._tcp` start with one), at most 253 characters, an optional final dot dropped.
 */
export function dnsNameKind(): ValueKind<string> {
  const fromText = (text: string): KindResult<string> => {
    const name = text.endsWith(".") ? text.slice(0, -1) : text;
    if (name.length === 0 || name.length > 253 || !name.split(".").every((label) => DNS_LABEL.test(label))) {
      return invalidValue(
        `${JSON.stringify(text)} is not a DNS name (labels of letters, digits, - and _, separated by dots), e.g. "_numax._tcp.example.com"`,
      );
    }
    return ok(name);
  };
  return {
    typeName: "DNS name",
    constraint: unconstrained,
    fromToml: (value) => (typeof value === "string" ? fromText(value) : wrongType("a string", value)),
    fromText,
    toToml: (value) => value,
  };
}

/** An IPv4 address, e.g. `192.168.1.10`. */
export function ipv4Kind(): ValueKind<string> {
  const fromText = (text: string): KindResult<string> =>
    process.getBuiltinModule("node:net").isIP(text) === 4
      ? ok(text)
      : invalidValue(`${JSON.stringify(text)} is not an IPv4 address, e.g. "192.168.1.10"`);
  return {
    typeName: "IPv4 address",
    constraint: unconstrained,
    fromToml: (value) => (typeof value === "string" ? fromText(value) : wrongType("a string", value)),
    fromText,
    toToml: (value) => value,
  };
}

/** `ip:port` (`[ipv6]:port`): an address to reach without a name lookup, such as a DNS server's. */
export function ipEndpointKind(): ValueKind<SocketAddress> {
  const address = addressKind({ allowPortZero: false });
  const fromText = (text: string): KindResult<SocketAddress> => {
    const parsed = address.fromText(text);
    if (parsed.ok && process.getBuiltinModule("node:net").isIP(parsed.value.host) === 0) {
      return invalidValue(
        `${JSON.stringify(text)} must be an IP address and port, e.g. "10.0.0.53:53" (no host name)`,
      );
    }
    return parsed;
  };
  return {
    typeName: "ip:port",
    constraint: unconstrained,
    fromToml: (value) =>
      typeof value === "string" ? fromText(value) : wrongType('a string such as "10.0.0.53:53"', value),
    fromText,
    toToml: formatSocketAddress,
  };
}
