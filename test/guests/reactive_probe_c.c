/*
 * The C twin of test/guests/reactive_probe.ts (the reference: same lines, same environment, same
 * failures), written against sdk/c/nx.h without libc. It exports every callback of a reactive
 * module and prints one stdout line per call, exactly:
 *   init | shutdown | tick | remote <family> <key> <origin> | peer-connected <node id> |
 *   peer-disconnected <node id> | message <topic> <payload as UTF-8> <origin, or - when none>
 * Environment (read in init):
 *   NX_PROBE_TICK_MS=ms          tick_every(ms) in init
 *   NX_PROBE_SUBSCRIBE=pattern   msg_subscribe(pattern) in init
 *   NX_PROBE_PUBLISH_TOPIC=topic, NX_PROBE_PUBLISH_COUNT=N
 *                                on every tick, after printing `tick`, publish "1".."N" in order
 *   NX_PROBE_FAIL_IN=<export>    that callback fails every time, after printing its line
 *   NX_PROBE_FAIL_HOW=trap|loop|alloc   unreachable (default); spin forever; grow memory a page
 *                                at a time until the host refuses, then trap
 * On a node with sync, init increments the GCounter probe/inits before printing `init`, and
 * shutdown increments probe/shutdowns before printing `shutdown`.
 */
#include "nx.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) uint32_t
wasi_fd_write(uint32_t fd, const void *iovs, uint32_t iovs_len, uint32_t *nwritten);

#define SETTING_BYTES_MAX 256u
#define NODE_ID_BYTES_MAX 64u
#define LINE_PARTS_MAX 8u

/* One stdout line written with a single fd_write, from pieces that stay where they are. */
static struct {
  struct {
    const void *ptr;
    uint32_t len;
  } parts[LINE_PARTS_MAX + 1];
  uint32_t count;
} line;

static void line_add(const void *ptr, uint32_t len) {
  if (line.count == LINE_PARTS_MAX) nx_fail("reactive_probe_c: a line has too many parts");
  line.parts[line.count].ptr = ptr;
  line.parts[line.count].len = len;
  line.count++;
}

static void line_add_str(const char *text) { line_add(text, nx_strlen(text)); }

static void line_end(void) {
  uint32_t written;
  line_add("\n", 1);
  wasi_fd_write(1, line.parts, line.count, &written);
  line.count = 0;
}

static void print(const char *text) {
  line_add_str(text);
  line_end();
}

typedef struct {
  char bytes[SETTING_BYTES_MAX];
  uint32_t len;
} setting;

static setting fail_in, fail_how, publish_topic, subscribe_pattern, tick_ms, publish_count;
static int sync_enabled;
static volatile uint64_t spins;

static void read_setting(const char *name, setting *into) {
  int32_t n = nx_env_get(name, nx_strlen(name), into->bytes, SETTING_BYTES_MAX);
  if (n == NX_ERR_BUFFER_TOO_SMALL) nx_fail("reactive_probe_c: an NX_PROBE_* value is longer than 256 bytes");
  into->len = n < 0 ? 0 : (uint32_t)n;
}

static int setting_is(const setting *value, const char *text) {
  uint32_t len = nx_strlen(text);
  if (value->len != len) return 0;
  for (uint32_t i = 0; i < len; i++)
    if (value->bytes[i] != text[i]) return 0;
  return 1;
}

static uint32_t setting_u32(const setting *value) {
  uint32_t result = 0;
  for (uint32_t i = 0; i < value->len && value->bytes[i] >= '0' && value->bytes[i] <= '9'; i++)
    result = result * 10 + (uint32_t)(value->bytes[i] - '0');
  return result;
}

/* Decimal form of `value` into `out` (at least 10 bytes); returns its length. */
static uint32_t format_u32(uint32_t value, char *out) {
  char reversed[10];
  uint32_t len = 0;
  do {
    reversed[len++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (uint32_t i = 0; i < len; i++) out[i] = reversed[len - 1 - i];
  return len;
}

static void maybe_fail(const char *callback) {
  if (!setting_is(&fail_in, callback)) return;
  if (setting_is(&fail_how, "loop")) {
    for (;;) spins++;
  }
  if (setting_is(&fail_how, "alloc")) {
    size_t previous;
    while ((previous = __builtin_wasm_memory_grow(0, 1)) != (size_t)-1) {
      *(volatile uint8_t *)((previous + 1) * 65536 - 1) = 1;
    }
  }
  __builtin_trap();
}

static void count(const char *key) {
  if (sync_enabled && nx_crdt_gcounter_inc(key, nx_strlen(key), 1) != NX_OK) nx_fail("crdt_gcounter_inc failed");
}

/* The event's subject, payload or origin into a static buffer; NX_ERR_NOT_FOUND when absent. */
static uint8_t subject[NX_KEY_BYTES_MAX];
static uint8_t payload[NX_MESSAGE_PAYLOAD_MAX_BYTES];
static char origin[NODE_ID_BYTES_MAX];

static int32_t read_event(int32_t (*read)(void *, uint32_t), void *into, uint32_t cap) {
  int32_t n = read(into, cap);
  if (n < 0 && n != NX_ERR_NOT_FOUND) nx_fail("reactive_probe_c: reading the event failed");
  return n;
}

static void add_origin(void) {
  int32_t n = read_event(nx_event_origin, origin, sizeof origin);
  if (n == NX_ERR_NOT_FOUND) line_add_str("-");
  else line_add(origin, (uint32_t)n);
}

NX_EXPORT(init) void init(void) {
  char node_id[NODE_ID_BYTES_MAX];
  sync_enabled = nx_net_node_id(node_id, sizeof node_id) != NX_ERR_SYNC_DISABLED;
  read_setting("NX_PROBE_FAIL_IN", &fail_in);
  read_setting("NX_PROBE_FAIL_HOW", &fail_how);
  read_setting("NX_PROBE_PUBLISH_TOPIC", &publish_topic);
  read_setting("NX_PROBE_PUBLISH_COUNT", &publish_count);
  read_setting("NX_PROBE_TICK_MS", &tick_ms);
  read_setting("NX_PROBE_SUBSCRIBE", &subscribe_pattern);
  count("probe/inits");
  print("init");
  if (tick_ms.len > 0 && nx_tick_every(setting_u32(&tick_ms)) != NX_OK) nx_fail("tick_every failed");
  if (subscribe_pattern.len > 0 && nx_msg_subscribe(subscribe_pattern.bytes, subscribe_pattern.len) != NX_OK) {
    nx_fail("msg_subscribe failed");
  }
  maybe_fail("init");
}

NX_EXPORT(shutdown) void shutdown(void) {
  count("probe/shutdowns");
  print("shutdown");
  maybe_fail("shutdown");
}

NX_EXPORT(on_tick) void on_tick(void) {
  print("tick");
  if (publish_topic.len > 0) {
    uint32_t total = setting_u32(&publish_count);
    for (uint32_t i = 1; i <= total; i++) {
      char digits[10];
      uint32_t len = format_u32(i, digits);
      if (nx_msg_publish(publish_topic.bytes, publish_topic.len, digits, len) != NX_OK) nx_fail("msg_publish failed");
    }
  }
  maybe_fail("on_tick");
}

NX_EXPORT(on_remote_op) void on_remote_op(int32_t key_len, int32_t family) {
  (void)key_len;
  int32_t n = read_event(nx_event_subject, subject, sizeof subject);
  line_add_str("remote ");
  line_add_str(nx_family_name(family));
  line_add_str(" ");
  line_add(subject, n < 0 ? 0 : (uint32_t)n);
  line_add_str(" ");
  add_origin();
  line_end();
  maybe_fail("on_remote_op");
}

static void peer_line(const char *prefix) {
  int32_t n = read_event(nx_event_subject, subject, sizeof subject);
  line_add_str(prefix);
  line_add(subject, n < 0 ? 0 : (uint32_t)n);
  line_end();
}

NX_EXPORT(on_peer_connected) void on_peer_connected(int32_t node_id_len) {
  (void)node_id_len;
  peer_line("peer-connected ");
  maybe_fail("on_peer_connected");
}

NX_EXPORT(on_peer_disconnected) void on_peer_disconnected(int32_t node_id_len) {
  (void)node_id_len;
  peer_line("peer-disconnected ");
  maybe_fail("on_peer_disconnected");
}

NX_EXPORT(on_message) void on_message(int32_t topic_len, int32_t payload_len) {
  (void)topic_len;
  (void)payload_len;
  int32_t topic_n = read_event(nx_event_subject, subject, sizeof subject);
  int32_t payload_n = read_event(nx_event_payload, payload, sizeof payload);
  line_add_str("message ");
  line_add(subject, topic_n < 0 ? 0 : (uint32_t)topic_n);
  line_add_str(" ");
  line_add(payload, payload_n < 0 ? 0 : (uint32_t)payload_n);
  line_add_str(" ");
  add_origin();
  line_end();
  maybe_fail("on_message");
}
