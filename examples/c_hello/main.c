/*
 * A C guest: logs a greeting with its module id, counts its runs in the local store and hashes
 * a text with the host's SHA-256. No libc: everything comes from sdk/c/nx.h.
 */
#include "nx.h"

static const char RUNS_KEY[] = "c_hello/runs";

/* Writes the decimal form of `value` into `out` (NUL-terminated); returns its length. */
static uint32_t format_u64(uint64_t value, char *out) {
  char reversed[20];
  uint32_t length = 0;
  do {
    reversed[length++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (uint32_t i = 0; i < length; i++) out[i] = reversed[length - 1 - i];
  out[length] = '\0';
  return length;
}

/* Appends NUL-terminated `text` at `out + at`; returns the new length. */
static uint32_t append(char *out, uint32_t at, const char *text) {
  while (*text != '\0') out[at++] = *text++;
  out[at] = '\0';
  return at;
}

__attribute__((export_name("run"))) void run(void) {
  char line[160];
  char id[64];
  int32_t id_len = nx_module_id(id, sizeof id - 1);
  if (id_len < 0) nx_fail("module_id failed");
  id[id_len] = '\0';
  append(line, append(line, 0, "hello from C, module "), id);
  nx_log(NX_LOG_INFO, line);

  /* The stored count is decimal text; 20 digits hold any u64. */
  char stored[21];
  int32_t stored_len = nx_db_get_str(RUNS_KEY, stored, sizeof stored - 1);
  uint64_t runs = 0;
  if (stored_len >= 0) {
    for (int32_t i = 0; i < stored_len; i++) runs = runs * 10 + (uint64_t)(stored[i] - '0');
  } else if (stored_len != NX_ERR_NOT_FOUND) {
    nx_fail("db_get failed");
  }
  runs++;
  uint32_t count_len = format_u64(runs, stored);
  if (nx_db_set(RUNS_KEY, sizeof RUNS_KEY - 1, stored, count_len) != NX_OK) nx_fail("db_set failed");
  append(line, append(line, append(line, 0, "c_hello has run "), stored), " time(s) on this datastore");
  nx_log(NX_LOG_INFO, line);

  static const char text[] = "hello";
  uint8_t digest[NX_DIGEST_BYTES];
  if (nx_hash_sha256(text, sizeof text - 1, digest, sizeof digest) != (int32_t)NX_DIGEST_BYTES) {
    nx_fail("hash_sha256 failed");
  }
  char hex[2 * NX_DIGEST_BYTES + 1];
  nx_hex(digest, NX_DIGEST_BYTES, hex);
  append(line, append(line, 0, "sha256(\"hello\") = "), hex);
  nx_log(NX_LOG_INFO, line);
}
