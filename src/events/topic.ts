/**
 * Topics and subscription patterns of module messages (`msg_publish` / `msg_subscribe`, the
 * `Publish` wire message): the rules both the ABI and the wire check, so a topic a guest may
 * publish is exactly one a peer accepts. See docs/design/event-model.md.
 */

/** Longest topic (and pattern) in bytes. */
export const TOPIC_MAX_BYTES = 256;
/** Largest message payload in bytes: messages are notifications, state belongs in CRDTs. */
export const MESSAGE_PAYLOAD_MAX_BYTES = 64 * 1024;

/** ASCII letters, digits and `_ - . : /`, 1 to TOPIC_MAX_BYTES of them. */
const TOPIC = /^[A-Za-z0-9_\-.:/]+$/;

/** The topic checked last and found valid: a busy publisher uses one topic again and again. */
let lastValidTopic: string | undefined;

/** Whether `topic` may be published on. */
export function isValidTopic(topic: string): boolean {
  if (topic === lastValidTopic) return true;
  const valid = topic.length > 0 && topic.length <= TOPIC_MAX_BYTES && TOPIC.test(topic);
  if (valid) lastValidTopic = topic;
  return valid;
}

/** A subscription: an exact topic, or every topic starting with `prefix` (`chat/*`, `*`). */
export type TopicPattern =
  | { readonly kind: "exact"; readonly topic: string }
  | { readonly kind: "prefix"; readonly prefix: string };

/** The pattern `text` names, or undefined when it is not one (a `*` anywhere but at the end, a bad character). */
export function parseTopicPattern(text: string): TopicPattern | undefined {
  if (text.length === 0 || text.length > TOPIC_MAX_BYTES) return undefined;
  if (text.endsWith("*")) {
    const prefix = text.slice(0, -1);
    return prefix === "" || TOPIC.test(prefix) ? { kind: "prefix", prefix } : undefined;
  }
  return TOPIC.test(text) ? { kind: "exact", topic: text } : undefined;
}

export function topicMatches(pattern: TopicPattern, topic: string): boolean {
  return pattern.kind === "exact" ? pattern.topic === topic : topic.startsWith(pattern.prefix);
}
