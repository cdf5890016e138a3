import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTopicPattern, type TopicPattern, topicMatches } from "../events/topic.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";
import { type ClientTopics, ForwardedTopics, type ForwardFormat } from "./forwarded-topics.ts";

/** Client topics in memory: `publish` reaches every matching subscription at once, in order. */
function memoryTopics(): ClientTopics & {
  publish(topic: string, payload: Uint8Array): void;
  size(): number;
} {
  const subscriptions = new Set<{
    pattern: TopicPattern;
    deliver: (topic: string, payload: Uint8Array) => void;
  }>();
  return {
    subscribeClient(pattern, deliver) {
      const subscription = { pattern, deliver };
      subscriptions.add(subscription);
      return () => subscriptions.delete(subscription);
    },
    publish(topic, payload) {
      for (const { pattern, deliver } of subscriptions)
        if (topicMatches(pattern, topic)) deliver(topic, payload);
    },
    size: () => subscriptions.size,
  };
}

const text = new TextDecoder();
const bytes = (value: string) => new TextEncoder().encode(value);

test("one publish to many connections is formatted once; a reused, rewritten payload buffer is never served stale", () => {
  const topics = memoryTopics();
  let formats = 0;
  const format: ForwardFormat = (topic, data) => {
    formats++;
    return bytes(`${topic}=${data}`);
  };
  const received: string[][] = Array.from({ length: 100 }, () => []);
  const connections = received.map((into) => {
    const forwarded = new ForwardedTopics(topics, 2);
    assert.equal(
      forwarded.add(parseTopicPattern("room/*")!, format, (out) => into.push(text.decode(out))),
      OK,
    );
    return forwarded;
  });
  const payload = bytes("one");
  topics.publish("room/a", payload);
  assert.equal(formats, 1);
  payload.set(bytes("two"));
  topics.publish("room/a", payload);
  topics.publish("room/b", payload);
  assert.equal(formats, 3);
  for (const into of received) assert.deepEqual(into, ["room/a=one", "room/a=two", "room/b=two"]);
  for (const forwarded of connections) forwarded.clear();
  assert.equal(topics.size(), 0, "no subscription outlives its connection");
});

test("at most `max` patterns, and none without topics", () => {
  const forwarded = new ForwardedTopics(memoryTopics(), 1);
  const send = () => {};
  const format: ForwardFormat = () => new Uint8Array(0);
  assert.equal(forwarded.add(parseTopicPattern("a")!, format, send), OK);
  assert.equal(forwarded.add(parseTopicPattern("b")!, format, send), ERR_INTERNAL);
  assert.equal(new ForwardedTopics(undefined, 16).add(parseTopicPattern("a")!, format, send), ERR_INTERNAL);
});
