// The little JSON the todo API needs beyond the SDK's `jsonString`: the one request body shape
// (`{ "title"?: string, "done"?: boolean }`), parsed strictly so a malformed body gets a 400
// naming what is wrong and where, never a trap.

/** Nesting a body may have (objects and arrays in values the API ignores): bounds the recursion. */
const NESTING_MAX = 32;

/** A request body's fields: the ones the API reads, with `error` set when it is not valid JSON. */
export class TodoFields {
  title: string | null = null;
  /** -1 absent, 0 false, 1 true. */
  done: i32 = -1;
  error: string = "";
}

/** Parses `{ "title"?: string, "done"?: boolean }`; other members are checked for syntax and ignored. */
export function parseTodoFields(text: string): TodoFields {
  const parser = new Parser(text);
  const fields = new TodoFields();
  parser.object(fields);
  if (parser.error == "") {
    parser.space();
    if (parser.at < text.length) parser.fail("end of the body");
  }
  fields.error = parser.error;
  return fields;
}

class Parser {
  at: i32 = 0;
  error: string = "";
  depth: i32 = 0;

  constructor(public text: string) {}

  fail(expected: string): void {
    if (this.error != "") return;
    const found = this.at < this.text.length ? `'${this.text.charAt(this.at)}'` : "the end";
    this.error = `malformed JSON at offset ${this.at}: expected ${expected}, found ${found}`;
  }

  space(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      this.at++;
    }
  }

  eat(c: i32): bool {
    this.space();
    if (this.at < this.text.length && this.text.charCodeAt(this.at) == c) {
      this.at++;
      return true;
    }
    return false;
  }

  /** The top-level object; `fields` gets title and done (members with another name are skipped). */
  object(fields: TodoFields): void {
    if (!this.eat(0x7b)) return this.fail("a JSON object '{'");
    if (this.eat(0x7d)) return;
    do {
      this.space();
      const name = this.string();
      if (this.error != "") return;
      if (!this.eat(0x3a)) return this.fail("':'");
      this.space();
      if (name == "title" && this.peek(0x22)) {
        fields.title = this.string();
      } else if (name == "done" && this.literal("true")) {
        fields.done = 1;
      } else if (name == "done" && this.literal("false")) {
        fields.done = 0;
      } else {
        // A value of another type is named as such only when it is valid JSON at all.
        this.value();
        if (this.error == "" && name == "title") this.member("title", "a string");
        if (this.error == "" && name == "done") this.member("done", "true or false");
      }
      if (this.error != "") return;
    } while (this.eat(0x2c));
    if (!this.eat(0x7d)) this.fail("',' or '}'");
  }

  member(name: string, expected: string): void {
    this.error = `"${name}" must be ${expected}`;
  }

  peek(c: i32): bool {
    return this.at < this.text.length && this.text.charCodeAt(this.at) == c;
  }

  literal(word: string): bool {
    if (this.text.substr(this.at, word.length) != word) return false;
    this.at += word.length;
    return true;
  }

  /** Any JSON value, checked and skipped. */
  value(): void {
    this.space();
    if (this.peek(0x22)) {
      this.string();
    } else if (this.peek(0x7b) || this.peek(0x5b)) {
      this.container();
    } else if (!this.literal("true") && !this.literal("false") && !this.literal("null")) {
      this.number();
    }
  }

  container(): void {
    if (++this.depth > NESTING_MAX) return this.fail(`at most ${NESTING_MAX} levels of nesting`);
    const isObject = this.peek(0x7b);
    const close = isObject ? 0x7d : 0x5d;
    this.at++;
    if (!this.eat(close)) {
      do {
        if (isObject) {
          this.space();
          this.string();
          if (this.error == "" && !this.eat(0x3a)) this.fail("':'");
        }
        if (this.error == "") this.value();
        if (this.error != "") return;
      } while (this.eat(0x2c));
      if (!this.eat(close)) return this.fail(isObject ? "',' or '}'" : "',' or ']'");
    }
    this.depth--;
  }

  number(): void {
    const start = this.at;
    if (this.peek(0x2d)) this.at++;
    if (this.peek(0x30)) this.at++;
    else if (this.digits() == 0) {
      this.at = start;
      return this.fail("a JSON value");
    }
    if (this.peek(0x2e)) {
      this.at++;
      if (this.digits() == 0) return this.fail("a digit");
    }
    if (this.peek(0x65) || this.peek(0x45)) {
      this.at++;
      if (this.peek(0x2b) || this.peek(0x2d)) this.at++;
      if (this.digits() == 0) return this.fail("a digit");
    }
  }

  digits(): i32 {
    const start = this.at;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c < 0x30 || c > 0x39) break;
      this.at++;
    }
    return this.at - start;
  }

  /** A string literal, unescaped; "" with `error` set when it is not one. */
  string(): string {
    if (!this.peek(0x22)) {
      this.fail("a string");
      return "";
    }
    this.at++;
    let out = "";
    let runStart = this.at;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c == 0x22) {
        out += this.text.substring(runStart, this.at);
        this.at++;
        return out;
      }
      if (c < 0x20) {
        this.fail("no control character in a string");
        return "";
      }
      if (c != 0x5c) {
        this.at++;
        continue;
      }
      out += this.text.substring(runStart, this.at);
      const unit = this.escape();
      if (unit < 0) return "";
      out += String.fromCharCode(unit);
      runStart = this.at;
    }
    this.fail("'\"' closing the string");
    return "";
  }

  /** The UTF-16 unit of the escape at `at` (a backslash), or -1 with `error` set. */
  escape(): i32 {
    this.at++;
    if (this.at >= this.text.length) {
      this.fail("an escape");
      return -1;
    }
    const c = this.text.charCodeAt(this.at++);
    if (c == 0x22 || c == 0x5c || c == 0x2f) return c;
    if (c == 0x62) return 0x08;
    if (c == 0x66) return 0x0c;
    if (c == 0x6e) return 0x0a;
    if (c == 0x72) return 0x0d;
    if (c == 0x74) return 0x09;
    if (c != 0x75) {
      this.at--;
      this.fail("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      return -1;
    }
    let unit = 0;
    for (let i = 0; i < 4; i++) {
      const d = this.at < this.text.length ? this.text.charCodeAt(this.at) : -1;
      const v = d >= 0x30 && d <= 0x39 ? d - 0x30 : d >= 0x61 && d <= 0x66 ? d - 0x57 : d >= 0x41 && d <= 0x46 ? d - 0x37 : -1;
      if (v < 0) {
        this.fail("4 hexadecimal digits after \\u");
        return -1;
      }
      unit = (unit << 4) | v;
      this.at++;
    }
    return unit;
  }
}
