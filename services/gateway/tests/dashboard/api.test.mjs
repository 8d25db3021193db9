import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { Api, ApiError, queryString } from "../../src/shopee_gateway/dashboard/static/js/api.js";

class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.get(key) ?? null;
  }
  setItem(key, value) {
    this.items.set(key, value);
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

const jwt = (exp) => `h.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.s`;
const json = (status, body) => new Response(JSON.stringify(body), { status });
const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

test("arrays repeat their key and empty values are left out", () => {
  assert.equal(queryString({ shops: ["a", "b"], kpis: "gmv", limit: 5, to: null }), "?shops=a&shops=b&kpis=gmv&limit=5");
  assert.equal(queryString({}), "");
});

test("an expired access token is refreshed once and the call repeated", async () => {
  const storage = new MemoryStorage();
  const api = new Api("", storage);
  const calls = [];
  const answers = [
    json(200, { access_token: jwt(1), refresh_token: "r1" }),
    json(401, { title: "Unauthorized", detail: "token expired" }),
    json(200, { access_token: jwt(2e9), refresh_token: "r2" }),
    json(200, { ok: true }),
  ];
  globalThis.fetch = async (url, init = {}) => {
    calls.push({ url, auth: init.headers?.Authorization, body: init.body?.toString() });
    return answers.shift();
  };
  await api.signIn("ana@example.com", "secret", "");
  assert.ok(api.accessExpired());
  assert.deepEqual(await api.get("/api/me"), { ok: true });
  assert.equal(calls[2].url, "/api/auth/refresh");
  assert.equal(calls[2].body, JSON.stringify({ refresh_token: "r1" }));
  assert.equal(calls[3].auth, `Bearer ${jwt(2e9)}`);
  assert.ok(!api.accessExpired());
  // The session is the tab's: a new Api in the same tab is still signed in.
  assert.ok(new Api("", storage).signedIn);
});

test("a refused refresh ends the session; the problem's detail is the error", async () => {
  const api = new Api("", new MemoryStorage());
  const answers = [
    json(200, { access_token: jwt(1), refresh_token: "r1" }),
    json(401, { detail: "token expired" }),
    json(401, { detail: "refresh token already used" }),
  ];
  globalThis.fetch = async () => answers.shift();
  await api.signIn("ana@example.com", "secret");
  await assert.rejects(api.get("/api/me"), (error) => error instanceof ApiError && error.status === 401 && error.message === "refresh token already used");
  assert.ok(!api.signedIn);
});

test("a network failure during refresh keeps the session", async () => {
  const api = new Api("", new MemoryStorage());
  globalThis.fetch = async () => json(200, { access_token: jwt(1), refresh_token: "r1" });
  await api.signIn("ana@example.com", "secret");
  globalThis.fetch = async () => {
    throw new TypeError("fetch failed");
  };
  await assert.rejects(api.refresh(), TypeError);
  assert.ok(api.signedIn);
});

test("a POST sends JSON with the token; a 503 says how long to wait", async () => {
  const api = new Api("", new MemoryStorage());
  globalThis.fetch = async () => json(200, { access_token: jwt(2e9), refresh_token: "r1" });
  await api.signIn("ana@example.com", "secret");
  let seen = null;
  globalThis.fetch = async (url, init) => {
    seen = { url, init };
    return new Response(JSON.stringify({ detail: "the model is training" }), { status: 503, headers: { "Retry-After": "5" } });
  };
  await assert.rejects(
    api.post("/api/predict/sales", { shop_id: "s", horizon_days: 30 }),
    (error) => error.status === 503 && error.retryAfter === 5 && error.message === "the model is training",
  );
  assert.equal(seen.init.method, "POST");
  assert.equal(seen.init.headers["Content-Type"], "application/json");
  assert.equal(seen.init.headers.Authorization, `Bearer ${jwt(2e9)}`);
  assert.deepEqual(JSON.parse(seen.init.body), { shop_id: "s", horizon_days: 30 });
});
