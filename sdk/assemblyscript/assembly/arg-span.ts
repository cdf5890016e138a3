// Turns a key, field or value argument into the (ptr, len) pair the host reads.
// Bytes (Uint8Array, ArrayBuffer) are passed in place; strings are UTF-8 encoded into a scratch
// buffer owned by the span, reused across calls, so a string argument allocates nothing once the
// scratch is large enough. One span per argument position keeps two arguments of one call apart.

import { abortWith } from "./error";

/** One argument position of a host call: string, Uint8Array or ArrayBuffer as (ptr, len). */
export class ArgSpan {
  ptr: usize = 0;
  len: usize = 0;
  private scratch: ArrayBuffer = new ArrayBuffer(128);

  /** Points this span at `value` and returns it. `value` must stay alive until the host call returns. */
  of<T>(value: T): ArgSpan {
    // A `string | null` local keeps its nullable type even after a null check, so nullable
    // arguments are accepted and null is refused when it actually arrives.
    if (isNullable<T>()) {
      if (changetype<usize>(value) == 0) abortWith("nx SDK: a key, field or value is null");
    }
    if (isString<T>()) {
      const text = changetype<string>(value);
      const byteLength = <usize>String.UTF8.byteLength(text);
      if (byteLength > <usize>this.scratch.byteLength) {
        this.scratch = new ArrayBuffer(<i32>max(byteLength, <usize>this.scratch.byteLength << 1));
      }
      this.ptr = changetype<usize>(this.scratch);
      this.len = String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, this.ptr);
    } else if (value instanceof Uint8Array) {
      this.ptr = value.dataStart;
      this.len = <usize>value.byteLength;
    } else if (value instanceof ArrayBuffer) {
      this.ptr = changetype<usize>(value);
      this.len = <usize>value.byteLength;
    } else {
      ERROR("nx SDK: keys, fields and values are string, Uint8Array or ArrayBuffer");
    }
    return this;
  }

  /** Points this span at nothing (`len = 0`), e.g. "no parent" or "from the first row". */
  empty(): ArgSpan {
    this.ptr = 0;
    this.len = 0;
    return this;
  }
}

/** First argument of a call: the key, prefix or hashed input. */
export const keyArg = new ArgSpan();
/** Second argument: map field, set element, RGA parent or id, scan "after" key, event payload. */
export const fieldArg = new ArgSpan();
/** Last argument: the value written. */
export const valueArg = new ArgSpan();
