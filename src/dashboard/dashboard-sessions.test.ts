import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DASHBOARD_SESSION_COOKIE,
  DASHBOARD_SESSION_TTL_MS,
  DASHBOARD_SESSIONS_MAX,
  DashboardSessions,
  sessionIdOf,
} from "./dashboard-sessions.ts";

test("a session is valid until it expires or is closed", () => {
  const sessions = new DashboardSessions();
  sessions.open("s1", 1000);
  assert.equal(sessions.valid("s1", 1000 + DASHBOARD_SESSION_TTL_MS - 1), true);
  assert.equal(sessions.valid("s1", 1000 + DASHBOARD_SESSION_TTL_MS), false);
  assert.equal(sessions.valid("s1", 1000), false, "an expired session is forgotten");
  sessions.open("s2", 0);
  sessions.close("s2");
  assert.equal(sessions.valid("s2", 0), false);
  assert.equal(sessions.valid(undefined, 0), false);
  assert.equal(sessions.valid("unknown", 0), false);
});

test("past DASHBOARD_SESSIONS_MAX the oldest session is closed", () => {
  const sessions = new DashboardSessions();
  for (let index = 0; index <= DASHBOARD_SESSIONS_MAX; index++) sessions.open(`s${index}`, 0);
  assert.equal(sessions.valid("s0", 0), false);
  assert.equal(sessions.valid("s1", 0), true);
  assert.equal(sessions.valid(`s${DASHBOARD_SESSIONS_MAX}`, 0), true);
});

test("the session id is read from the Cookie header among other cookies", () => {
  assert.equal(sessionIdOf(`a=1; ${DASHBOARD_SESSION_COOKIE}=abc-_1; b=2`), "abc-_1");
  assert.equal(sessionIdOf(`${DASHBOARD_SESSION_COOKIE}=`), undefined);
  assert.equal(sessionIdOf("other=1"), undefined);
  assert.equal(sessionIdOf(undefined), undefined);
});
