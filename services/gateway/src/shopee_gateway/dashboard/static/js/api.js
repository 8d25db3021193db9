// The gateway's REST API as the signed-in user: tokens, refresh, problem details.

const STORAGE_KEY = "shopee.session";

/**
 * A refused request, its message the RFC 9457 problem's detail (which names the fields);
 * `retryAfter` is the seconds a 503 asks to wait (a model still training, say).
 */
export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

/** Query string of `params`; arrays repeat their key, as FastAPI reads them. */
export function queryString(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export class Api {
  constructor(base = "", storage = globalThis.sessionStorage) {
    this.base = base;
    this.storage = storage;
    // The tab's session only: closing the tab signs out.
    this.session = JSON.parse(storage.getItem(STORAGE_KEY) ?? "null");
    this.refreshing = null;
  }

  get signedIn() {
    return this.session !== null;
  }

  get accessToken() {
    return this.session?.access_token ?? null;
  }

  /** Whether the access token is past (or within 5 s of) its `exp`. */
  accessExpired(now = Date.now()) {
    const token = this.accessToken;
    if (!token) return true;
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(payload)).exp * 1000 < now + 5000;
    } catch {
      return true;
    }
  }

  async signIn(email, password, organisation) {
    const form = new URLSearchParams({ username: email, password, grant_type: "password" });
    if (organisation) form.set("organisation", organisation);
    const response = await fetch(`${this.base}/api/auth/token`, { method: "POST", body: form });
    this.#keep(await this.#json(response));
  }

  async signOut() {
    const refreshToken = this.session?.refresh_token;
    this.#keep(null);
    if (refreshToken) {
      await fetch(`${this.base}/api/auth/logout`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      }).catch(() => undefined);
    }
  }

  /** A new token pair from the refresh token (one refresh at a time; it is single-use). */
  refresh() {
    this.refreshing ??= (async () => {
      try {
        const response = await fetch(`${this.base}/api/auth/refresh`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: this.session?.refresh_token ?? "" }),
        });
        this.#keep(await this.#json(response));
      } catch (error) {
        // A refused refresh token ends the session; a network failure may pass.
        if (error instanceof ApiError) this.#keep(null);
        throw error;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /** GET `path` with `params`; an expired access token is refreshed once and the call repeated. */
  get(path, params = {}) {
    return this.#call(`${this.base}${path}${queryString(params)}`, {});
  }

  /** POST a JSON `body` to `path`, refreshing an expired access token like `get`. */
  post(path, body) {
    const init = { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
    return this.#call(`${this.base}${path}`, init);
  }

  async #call(url, init) {
    const send = () => fetch(url, { ...init, headers: { ...init.headers, ...this.#auth() } });
    let response = await send();
    if (response.status === 401 && this.session) {
      await this.refresh();
      response = await send();
    }
    return this.#json(response);
  }

  #auth() {
    return this.accessToken ? { Authorization: `Bearer ${this.accessToken}` } : {};
  }

  async #json(response) {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After")) || null;
      throw new ApiError(response.status, body, retryAfter);
    }
    return body;
  }

  #keep(tokens) {
    this.session = tokens && { access_token: tokens.access_token, refresh_token: tokens.refresh_token };
    if (this.session) this.storage.setItem(STORAGE_KEY, JSON.stringify(this.session));
    else this.storage.removeItem(STORAGE_KEY);
  }
}
