import assert from "node:assert/strict";
import { test } from "node:test";
import { unknownEnvWarnings } from "./unknown-env-names.ts";

const warning = (name: string, meant: string) =>
  `${name} is not a configuration variable; did you mean ${meant}? (the node ignores it; guests still see it)`;

test("a mistyped or cut-short NX_ variable gets one warning naming the closest configuration variable", () => {
  assert.deepEqual(
    unknownEnvWarnings({
      NX_LISTN: "0.0.0.0:9000",
      NX_LOGLEVEL: "debug",
      NX_PEER: "10.0.0.2:9000",
      NX_DATASTORE: "./data",
      NX_TLS_KEYS: "",
    }),
    [
      warning("NX_DATASTORE", "NX_DATASTORE_PATH"),
      warning("NX_LISTN", "NX_LISTEN"),
      warning("NX_LOGLEVEL", "NX_LOG_LEVEL"),
      warning("NX_PEER", "NX_PEERS"),
      warning("NX_TLS_KEYS", "NX_TLS_KEY"),
    ],
  );
});

test("configuration variables, guests' own NX_ variables and other names get none", () => {
  assert.deepEqual(
    unknownEnvWarnings({
      NX_LISTEN: "0.0.0.0:9000",
      NX_MAX_PEERS: "3",
      NX_NAME: "a guest's setting",
      NX_GREETING: "hello",
      NX_PROPERTY_RUNS: "100",
      NUMAX_LISTN: "not ours to judge",
      LISTN: "x",
    }),
    [],
  );
});
