import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { escapeHtml, Html, html } from "./html.ts";

test("every interpolated value is escaped; Html, arrays and empty values are not", () => {
  const key = `<script>alert("x")</script>&'`;
  assert.equal(
    html`<td title="${key}">${key}</td>`.text,
    '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</td>',
  );
  assert.equal(html`<p>${html`<b>${"<i>"}</b>`}</p>`.text, "<p><b>&lt;i&gt;</b></p>");
  assert.equal(html`${["<a>", new Html("<b>")]}`.text, "&lt;a&gt;<b>");
  assert.equal(html`${undefined}${null}${false}${0}`.text, "0");
});

test("escaped text holds no markup characters and reads back as the original (property)", () => {
  const decode = (text: string) =>
    text
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"')
      .replaceAll("&#39;", "'")
      .replaceAll("&amp;", "&");
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      const escaped = escapeHtml(text);
      assert.doesNotMatch(escaped, /[<>"']/);
      assert.equal(decode(escaped), text);
    }),
    { seed: 15, numRuns: 500 },
  );
});
