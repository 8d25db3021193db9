// `WS /ws/kpis` for the pages: subscribe, answer heartbeats, reconnect and refill the gap.

const SUBPROTOCOL = "shopee.kpis.v1";
const CLOSE_UNAUTHENTICATED = 4401;
const LONGEST_WAIT_MS = 30_000;

export function liveUrl(location) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/kpis`;
}

/**
 * A live stream that stays connected until stopped. Each subscription is
 * {id, shops, kpis, interval, since}, `since` a function giving the RFC 3339 time to refill from
 * at every (re)connection, so that buckets changed while disconnected are sent again.
 */
export class LiveStream {
  constructor({ api, url, subscriptions, onSnapshot, onState }) {
    Object.assign(this, { api, url, subscriptions, onSnapshot, onState });
    this.socket = null;
    this.stopped = false;
    this.failures = 0;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.#connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, "page closed");
    this.socket = null;
  }

  #connect() {
    const token = this.api.accessToken;
    if (!token) return;
    // The token travels in the subprotocol header, never in the URL (access logs keep URLs).
    const socket = new WebSocket(this.url, [SUBPROTOCOL, `bearer.${token}`]);
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
    });
    socket.addEventListener("message", (event) => this.#receive(socket, JSON.parse(event.data)));
    socket.addEventListener("close", (event) => this.#closed(socket, event.code, opened));
  }

  #receive(socket, message) {
    switch (message.type) {
      case "ready":
        this.failures = 0;
        this.onState("live");
        for (const { since, ...subscription } of this.subscriptions) {
          socket.send(JSON.stringify({ type: "subscribe", ...subscription, since: since?.() }));
        }
        break;
      case "snapshot":
        this.onSnapshot(message);
        break;
      case "ping":
        socket.send(JSON.stringify({ type: "pong" }));
        break;
      case "error":
        this.onState("error", message.detail);
        break;
      default:
        break;
    }
  }

  async #closed(socket, code, opened) {
    if (socket !== this.socket || this.stopped) return;
    this.onState("offline");
    // An expired token ends the session (4401), or refuses the handshake before it opens.
    if (code === CLOSE_UNAUTHENTICATED || (!opened && this.api.accessExpired())) {
      try {
        await this.api.refresh();
      } catch (error) {
        if (error.status === 401) {
          this.onState("signed-out");
          return;
        }
      }
    }
    const wait = Math.min(LONGEST_WAIT_MS, 1000 * 2 ** this.failures);
    this.failures += 1;
    this.timer = setTimeout(() => this.#connect(), wait);
  }
}
