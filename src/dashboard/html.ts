/**
 * HTML built from templates in which every interpolated value is escaped unless it is already
 * {@link Html}: CRDT keys, values, module ids and peer addresses are user data, and a key named
 * `<script>` must show as text.
 *
 * @example
 * html`<td>${key}</td>` // key "<b>" renders as &lt;b&gt;
 */

/** Markup that is safe to insert as is (built by `html`). */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text as HTML content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** A value inside a template: Html as is, arrays joined, null/undefined/false as nothing, the rest escaped. */
function part(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): Html {
  let text = strings[0]!;
  for (let index = 0; index < values.length; index++) text += part(values[index]) + strings[index + 1]!;
  return new Html(text);
}
