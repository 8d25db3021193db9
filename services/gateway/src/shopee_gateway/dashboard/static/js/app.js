// The dashboard's entry point: sign-in, navigation, the shop and period, the live stream.
// What is on screen lives in the URL (#/page?shop=&days=&end=), so a view can be bookmarked
// or shared within the organisation.

import { Api } from "./api.js";
import { destroyCharts, el } from "./charts.js";
import { LiveStream, liveUrl } from "./live.js";
import { LIVE_MINUTE_KPIS, LIVE_TODAY_KPIS, PAGES } from "./pages.js";
import { LiveBuckets, periodOf } from "./series.js";

const HOUR_MS = 3_600_000;
const PERIODS = ["7", "30", "90"];
const api = new Api();
const $ = (id) => document.getElementById(id);

const state = { me: null, registry: null, stream: null, streamShop: null, buckets: null, listeners: new Map(), render: 0 };

/** The view the URL asks for, with defaults for what it leaves out or gets wrong. */
function view() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const params = new URLSearchParams(query);
  const page = PAGES.find((p) => p.id === path) ?? PAGES[0];
  const shop = state.me.shops.find((s) => s.id === params.get("shop")) ?? state.me.shops[0];
  const days = PERIODS.includes(params.get("days")) ? params.get("days") : "30";
  const end = /^\d{4}-\d{2}-\d{2}$/.test(params.get("end") ?? "") ? params.get("end") : "";
  return { page, shop, days, end };
}

function hashOf({ page, shop, days, end }) {
  const params = new URLSearchParams({ shop: shop.id, days });
  if (end) params.set("end", end);
  return `#/${page.id}?${params}`;
}

function go(changes) {
  location.hash = hashOf({ ...view(), ...changes });
}

function showProblem(error) {
  $("problem").textContent = error ? `Could not load this page: ${error.message}` : "";
  $("problem").hidden = !error;
}

function showSignIn(message) {
  state.stream?.stop();
  state.stream = state.streamShop = state.me = null;
  $("shell").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message ?? "";
  $("sign-in-error").hidden = !message;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    await api.signIn(form.get("username"), form.get("password"), form.get("organisation"));
    event.target.reset();
    await start();
  } catch (error) {
    showSignIn(error.message);
  } finally {
    button.disabled = false;
  }
}

/** One live stream for the shop on screen: today's day bucket and the last hour's minutes. */
function streamShop(shop) {
  if (state.streamShop === shop.id) return;
  state.stream?.stop();
  state.streamShop = shop.id;
  state.buckets = { today: new LiveBuckets(2), minutes: new LiveBuckets(60) };
  const iso = (ms) => new Date(ms).toISOString();
  state.stream = new LiveStream({
    api,
    url: liveUrl(location),
    subscriptions: [
      // The last 24 h of day buckets hold today's (local) day, whatever the shop's zone.
      { id: "today", shops: [shop.id], kpis: LIVE_TODAY_KPIS, interval: "day", since: () => iso(Date.now() - 24 * HOUR_MS) },
      { id: "minutes", shops: [shop.id], kpis: LIVE_MINUTE_KPIS, interval: "minute", since: () => iso(Date.now() - HOUR_MS) },
    ],
    onSnapshot: (snapshot) => {
      const buckets = state.buckets[snapshot.subscription];
      if (!buckets || snapshot.shop_id !== shop.id) return;
      buckets.apply(snapshot);
      state.listeners.get(snapshot.subscription)?.(buckets);
    },
    onState: (status, detail) => {
      if (status === "signed-out") return showSignIn("Your session ended; sign in again.");
      $("live").textContent = status === "live" ? "live" : status === "error" ? "stream error" : "offline";
      $("live").title = detail ?? "Live KPI stream";
      $("live").classList.toggle("on", status === "live");
    },
  });
  state.stream.start();
}

async function render() {
  const ticket = ++state.render;
  const { page, shop, days, end } = view();
  for (const link of $("nav").children) {
    link.href = hashOf({ page: PAGES.find((p) => p.id === link.dataset.page), shop, days, end });
    if (link.dataset.page === page.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("shop").value = shop.id;
  $("period").value = days;
  $("end").value = end;
  streamShop(shop);
  const main = el("div", { "data-page": page.id, "data-shop": shop.id });
  destroyCharts();
  $("page").replaceChildren(main);
  state.listeners.clear();
  showProblem(null);
  const ctx = {
    api,
    registry: state.registry,
    shop,
    period: periodOf(Number(days), shop.time_zone, end),
    main,
    onLive: (subscription, listener) => {
      state.listeners.set(subscription, listener);
      if (state.buckets[subscription].latest()) listener(state.buckets[subscription]);
    },
  };
  try {
    await page.render(ctx);
    if (ticket === state.render) main.dataset.ready = "true";
  } catch (error) {
    if (error.status === 401) return showSignIn("Your session ended; sign in again.");
    if (ticket === state.render) showProblem(error);
  }
}

async function start() {
  const [me, registry] = await Promise.all([api.get("/api/me"), api.get("/api/kpis/registry")]);
  state.me = me;
  state.registry = new Map(registry.map((kpi) => [kpi.name, kpi]));
  $("who").textContent = `${me.email ?? me.subject} · ${me.organisation} · ${me.role}`;
  $("shop").replaceChildren(...me.shops.map((s) => el("option", { value: s.id }, `${s.name} (${s.market})`)));
  $("sign-in").hidden = true;
  $("shell").hidden = false;
  if (me.shops.length === 0) {
    $("page").replaceChildren(el("p", { class: "empty" }, "Your organisation has no shop yet."));
    return;
  }
  await render();
}

function boot() {
  $("nav").replaceChildren(...PAGES.map((page) => el("a", { "data-page": page.id }, page.title)));
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", async () => {
    await api.signOut();
    showSignIn();
  });
  $("shop").addEventListener("change", () => go({ shop: state.me.shops.find((s) => s.id === $("shop").value) }));
  $("period").addEventListener("change", () => go({ days: $("period").value }));
  $("end").addEventListener("change", () => go({ end: $("end").value }));
  window.addEventListener("hashchange", () => state.me && render());
  if (!api.signedIn) return showSignIn();
  start().catch((error) => showSignIn(error.status === 401 ? "Your session ended; sign in again." : error.message));
}

boot();
