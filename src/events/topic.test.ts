import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isValidTopic, parseTopicPattern, TOPIC_MAX_BYTES, topicMatches } from "./topic.ts";

const topicChar = fc.constantFrom(..."abcXYZ019_-.:/");
const topic = fc.string({ unit: topicChar, minLength: 1, maxLength: 40 });

test("a topic is 1 to 256 bytes of letters, digits and _ - . : /", () => {
  assert.equal(isValidTopic("chat/lines"), true);
  assert.equal(isValidTopic("a".repeat(TOPIC_MAX_BYTES)), true);
  for (const bad of ["", "a".repeat(TOPIC_MAX_BYTES + 1), "chat/*", "sp ace", "é", "a\nb"]) {
    assert.equal(isValidTopic(bad), false, JSON.stringify(bad));
  }
});

test("patterns: an exact topic, or a prefix with one trailing *", () => {
  assert.deepEqual(parseTopicPattern("chat/lines"), { kind: "exact", topic: "chat/lines" });
  assert.deepEqual(parseTopicPattern("chat/*"), { kind: "prefix", prefix: "chat/" });
  assert.deepEqual(parseTopicPattern("*"), { kind: "prefix", prefix: "" });
  for (const bad of ["", "**", "a*b", "*a", "sp ace*", "a".repeat(TOPIC_MAX_BYTES + 1)]) {
    assert.equal(parseTopicPattern(bad), undefined, JSON.stringify(bad));
  }
});

test("matching agrees with a model: exact equality, or the prefix before the *", () => {
  fc.assert(
    fc.property(topic, topic, fc.boolean(), (subscribed, published, wildcard) => {
      const pattern = parseTopicPattern(wildcard ? `${subscribed}*` : subscribed);
      assert.ok(pattern !== undefined);
      const expected = wildcard ? published.startsWith(subscribed) : published === subscribed;
      assert.equal(topicMatches(pattern, published), expected);
      // A topic always matches itself, exactly or as its own prefix.
      assert.equal(topicMatches(pattern, subscribed), true);
    }),
    { seed: 12, numRuns: 500 },
  );
});
