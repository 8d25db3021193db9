// The pages: which KPIs each shows and from which route. Every KPI name is the registry's
// (`GET /api/kpis/registry`), and every title, unit and direction comes from there too.

import { barList, el, forecastChart, lineChart } from "./charts.js";
import { backtestScores, formatChange, formatValue, localTime, percent, signedPercent, tileValue } from "./format.js";
import { addDays, countedShort, forecastColumns, localDate, localMidnight, periodDays, seriesParams, splitPartial, toColumns } from "./series.js";

export const LIVE_TODAY_KPIS = ["gmv", "paid_orders", "unique_visitors", "conversion_rate", "aov"];
export const LIVE_MINUTE_KPIS = ["gmv", "paid_orders"];

export const PAGES = [
  { id: "overview", title: "Overview", render: overview },
  { id: "traffic", title: "Traffic", render: traffic },
  { id: "sales", title: "Sales", render: sales },
  { id: "campaigns", title: "Campaigns", render: campaigns },
  { id: "service", title: "Customer service", render: service },
  { id: "products", title: "Products", render: products },
  { id: "customers", title: "Customers", render: customers },
  { id: "anomalies", title: "Anomalies", render: anomalies },
];

function periodParams(ctx) {
  return { shops: [ctx.shop.id], from: ctx.period.from, to: ctx.period.to };
}

/** A table with a header row of `head` (texts) over `rows` (tr elements). */
function dataTable(attributes, head, rows) {
  return el("table", attributes, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows));
}

/** An amount of the shop's currency, from minor units. */
function money(ctx, minor) {
  return formatValue(minor, "money_minor", ctx.shop.currency);
}

function kpi(ctx, name) {
  const found = ctx.registry.get(name);
  if (!found) throw new Error(`the registry has no KPI ${name}`);
  return found;
}

/** Tiles of a summary answer's KPIs for the shop: the period's value and its change. */
function summaryTiles(ctx, answer, heading) {
  const mine = answer.shops.find((s) => s.shop_id === ctx.shop.id) ?? { kpis: [] };
  const tiles = el("div", { class: "tiles" });
  for (const change of mine.kpis) {
    const { text, tone } = formatChange(change);
    const shown = tileValue(change.current, change.unit, ctx.shop.currency);
    tiles.append(
      el(
        "div",
        { class: "tile", "data-kpi": change.kpi, "data-value": change.current ?? "" },
        el("div", { class: "title", title: kpi(ctx, change.kpi).formula }, change.title),
        el("div", { class: "value", title: shown.title }, shown.text),
        el("div", { class: `delta ${tone}` }, text),
      ),
    );
  }
  const note = `${answer.from} to ${answer.to} against ${answer.previous_from} to ${answer.previous_to}`;
  const section = el("section", {}, el("h2", {}, heading), tiles, el("p", { class: "note" }, note));
  const latest = mine.counted_until;
  if (latest !== undefined && countedShort(latest, answer.to, ctx.shop.time_zone)) {
    const text = latest === null
      ? "No events counted for this shop yet: its figures appear as the stream job counts them."
      : `Events counted up to ${localTime(latest, ctx.shop.time_zone)}: the figures after that are not in yet (a history still being loaded, or events that stopped arriving).`;
    section.append(el("p", { class: "notice", role: "status", "data-counted": latest ?? "none" }, text));
  }
  return section;
}

/** Day charts of KPI groups, each group one chart (its KPIs share a unit). */
async function dayCharts(ctx, groups) {
  const names = groups.flat();
  const answer = await ctx.api.get("/api/kpis", seriesParams(ctx.shop, names, ctx.period));
  const grid = el("div", { class: "grid2" });
  ctx.main.append(grid);
  // A period ending today (chosen as its end) holds today's day so far.
  const today = localDate(new Date(), ctx.shop.time_zone);
  const partialFrom = ctx.period.to >= today ? localMidnight(today, ctx.shop.time_zone) : Infinity;
  for (const group of groups) {
    lineChart(grid, {
      data: splitPartial(toColumns(answer, group.map((name) => kpi(ctx, name))), partialFrom),
      kpis: group.map((name) => kpi(ctx, name)),
      currency: ctx.shop.currency,
      timeZone: ctx.shop.time_zone,
      interval: "day",
    });
  }
}

async function summary(ctx, path, heading, kpis) {
  const params = kpis ? { ...periodParams(ctx), kpis } : periodParams(ctx);
  const answer = await ctx.api.get(path, params);
  ctx.main.append(summaryTiles(ctx, answer, heading));
  return answer;
}

/** This shop's current value of `name` in a summary answer (null if absent). */
function currentOf(ctx, answer, name) {
  const mine = answer.shops.find((s) => s.shop_id === ctx.shop.id);
  return mine?.kpis.find((k) => k.kpi === name)?.current ?? null;
}

function liveTiles(ctx) {
  const tiles = el("div", { class: "tiles" });
  const values = new Map();
  for (const name of LIVE_TODAY_KPIS) {
    const value = el("div", { class: "value" }, "–");
    values.set(name, value);
    tiles.append(
      el(
        "div",
        { class: "tile", "data-live-kpi": name },
        el("div", { class: "title" }, kpi(ctx, name).title),
        value,
      ),
    );
  }
  ctx.main.append(
    el("section", {}, el("h2", {}, "Today so far, live"), tiles, el("p", { class: "note" }, `Local day in ${ctx.shop.time_zone}, updated as events arrive.`)),
  );
  return (buckets) => {
    const today = buckets.latest();
    if (!today) return;
    for (const [name, node] of values) {
      const { unit } = kpi(ctx, name);
      const value = today[name] ?? (unit === "ratio" ? null : 0);
      const shown = tileValue(value, unit, ctx.shop.currency);
      node.textContent = shown.text;
      node.title = shown.title;
      node.dataset.value = value ?? "";
    }
  };
}

function liveMinutes(ctx) {
  const holder = el("div", {});
  ctx.main.append(holder);
  let chart = null;
  return (buckets) => {
    // The whole hour up to the counted minute: a minute without an order is a zero, not a gap.
    const data = buckets.columns(LIVE_MINUTE_KPIS, 60_000, { since: Date.now() - 3_600_000 });
    if (chart === null || chart.data[0].length === 0) {
      holder.replaceChildren();
      chart = lineChart(holder, {
        data,
        kpis: [kpi(ctx, "gmv")],
        title: "GMV per minute, last hour (live)",
        currency: ctx.shop.currency,
        timeZone: ctx.shop.time_zone,
        interval: "minute",
        xRange: () => [Date.now() / 1000 - 3600, Date.now() / 1000],
      });
    } else {
      chart.setData([data.xs, data.columns[0]]);
    }
  };
}

async function overview(ctx) {
  // Above the live tiles, asked for beside them rather than before them.
  const notices = el("div", {});
  ctx.main.append(notices);
  const going = ctx.api.get("/api/data-incomplete", { shop_id: ctx.shop.id, ongoing: true, limit: 1 });
  ctx.onLive("today", liveTiles(ctx));
  ctx.onLive("minutes", liveMinutes(ctx));
  for (const period of (await going).items) {
    const since = localTime(period.since, ctx.shop.time_zone);
    notices.append(
      el(
        "p",
        { class: "notice", role: "status", "data-incomplete": period.id },
        `Data incomplete since ${since}: ${period.reason}. The latest figures are short until the events arrive.`,
      ),
    );
  }
  await summary(ctx, "/api/kpis/summary", "This period");
  await dayCharts(ctx, [["gmv"], ["paid_orders"]]);
  const latest = await ctx.api.get("/api/anomalies", { shop_id: ctx.shop.id, limit: 5 });
  ctx.main.append(anomalyList(ctx, latest, "Latest anomalies"));
}

async function traffic(ctx) {
  await summary(ctx, "/api/kpis/summary", "Traffic", [
    "unique_visitors",
    "page_views",
    "product_views",
    "add_to_cart_rate",
    "conversion_rate",
    "cart_abandonment_rate",
  ]);
  const funnel = await ctx.api.get("/api/kpis/funnel", periodParams(ctx));
  const steps = funnel.funnels.find((f) => f.shop_id === ctx.shop.id)?.steps ?? [];
  barList(
    ctx.main,
    "Purchase funnel",
    steps.map((step) => ({
      label: kpi(ctx, step.kpi).title,
      value: step.count,
      text:
        formatValue(step.count, "count") +
        (step.rate_from_previous === null ? "" : ` (${formatValue(step.rate_from_previous, "ratio")})`),
    })),
    "Each step's share of the step before it in brackets.",
  );
  modelSection(ctx.main, "Traffic forecast", (holder) =>
    forecasts(ctx, holder, "/api/predict/traffic", [{ target: "visitors", kpi: "unique_visitors" }]),
  );
  await dayCharts(ctx, [["unique_visitors", "product_views"], ["conversion_rate", "add_to_cart_rate"]]);
}

async function sales(ctx) {
  await summary(ctx, "/api/kpis/summary", "Sales", [
    "gmv",
    "paid_orders",
    "units",
    "aov",
    "cancellation_rate",
    "return_rate",
  ]);
  modelSection(ctx.main, "Sales forecast", (holder) =>
    forecasts(ctx, holder, "/api/predict/sales", [
      { target: "gmv", kpi: "gmv" },
      { target: "orders", kpi: "paid_orders" },
    ]),
  );
  await dayCharts(ctx, [["gmv"], ["paid_orders", "units"], ["aov"], ["cancellation_rate", "return_rate"]]);
}

async function campaigns(ctx) {
  const answer = await summary(ctx, "/api/kpis/campaigns", "Campaigns and ads");
  const days = periodDays(ctx.period);
  const spend = currentOf(ctx, answer, "ads_spend");
  modelSection(ctx.main, "Budget split", (holder) => budgetSplit(ctx, holder, spend ? Math.round(spend / days) : 0));
  await dayCharts(ctx, [
    ["campaign_gmv", "flash_sale_gmv", "live_stream_gmv", "ads_gmv"],
    ["ads_spend", "discount_cost"],
    ["roas"],
    ["voucher_usage_rate"],
  ]);
}

async function service(ctx) {
  await summary(ctx, "/api/kpis/customer-service", "Customer service");
  modelSection(ctx.main, "Review and chat sentiment", (holder) => sentiment(ctx, holder));
  await dayCharts(ctx, [
    ["chat_response_rate"],
    ["avg_first_response_seconds"],
    ["csat", "avg_review_rating"],
    ["chat_conversations", "reviews"],
  ]);
}

const TOP_PRODUCTS = 10;

async function products(ctx) {
  const topBy = (name) => ctx.api.get("/api/kpis/top-products", { ...periodParams(ctx), kpi: name, limit: TOP_PRODUCTS });
  // The best sellers by GMV: listed below, and the products the advice sections are about.
  const bestSellers = topBy("gmv");
  modelSection(ctx.main, "Stock to reorder", (holder) => inventory(ctx, holder));
  modelSection(ctx.main, "Price advice", async (holder) => priceAdvice(ctx, holder, (await bestSellers).products));
  modelSection(ctx.main, "Bought together", async (holder) => boughtTogether(ctx, holder, (await bestSellers).products));
  const grid = el("div", { class: "grid2" });
  ctx.main.append(grid);
  for (const name of ["gmv", "units", "product_views", "add_to_cart_rate"]) {
    const definition = kpi(ctx, name);
    const top = await (name === "gmv" ? bestSellers : topBy(name));
    barList(
      grid,
      `Top products: ${definition.title}`,
      top.products.map((p) => ({
        label: p.name || p.product_id,
        value: p.value ?? 0,
        text: formatValue(p.value, definition.unit, ctx.shop.currency),
      })),
    );
  }
}

async function anomalies(ctx) {
  // The period's local days: a later anomaly is not in it, nor the first hours of a UTC day.
  const instant = (date) => new Date(localMidnight(date, ctx.shop.time_zone) * 1000).toISOString();
  const within = { shop_id: ctx.shop.id, from: instant(ctx.period.from), to: instant(addDays(ctx.period.to, 1)), limit: LIST_LIMIT };
  const [page, incomplete, refused, late, hours] = await Promise.all([
    ctx.api.get("/api/anomalies", within),
    ctx.api.get("/api/data-incomplete", within),
    ctx.api.get("/api/dead-letters", within),
    ctx.api.get("/api/late-events", within),
    ctx.api.get("/api/kpis", seriesParams(ctx.shop, ["gmv"], ctx.period, "hour")),
  ]);
  lineChart(ctx.main, {
    data: toColumns(hours, [kpi(ctx, "gmv")]),
    kpis: [kpi(ctx, "gmv")],
    title: "GMV per hour: the shop's anomalies shaded",
    name: "anomalies:gmv",
    currency: ctx.shop.currency,
    timeZone: ctx.shop.time_zone,
    interval: "hour",
    spans: anomalySpans(page.items, incomplete.items),
    caption: "Red: critical, amber: warning, grey: data incomplete (not judged). Product anomalies are listed below.",
  });
  if (incomplete.items.length > 0) ctx.main.append(incompleteList(ctx, incomplete.items));
  if (refused.items.length > 0) ctx.main.append(refusedList(ctx, refused.items));
  if (late.items.length > 0) ctx.main.append(lateList(ctx, late.items));
  ctx.main.append(anomalyList(ctx, page, "Anomalies in this period", { sayJudged: true }));
}

const SPAN_FILLS = {
  critical: "rgba(217, 48, 37, 0.28)",
  warning: "rgba(230, 162, 60, 0.30)",
  info: "rgba(45, 127, 238, 0.18)",
  incomplete: "rgba(104, 112, 133, 0.22)",
};

/** The shop-level anomalies and the periods of incomplete data as shaded spans of a chart. */
function anomalySpans(anomalies, incomplete) {
  const seconds = (iso) => Date.parse(iso) / 1000;
  return [
    ...incomplete.map((p) => ({
      from: seconds(p.since),
      to: p.until ? seconds(p.until) : Date.now() / 1000,
      fill: SPAN_FILLS.incomplete,
    })),
    ...anomalies
      .filter((a) => !a.product_id)
      .map((a) => ({ from: seconds(a.bucket_start), to: seconds(a.bucket_end), fill: SPAN_FILLS[a.severity] })),
  ];
}

// The routes' default page size: a full page says it shows only the latest.
const LIST_LIMIT = 100;

/** A card of one kind of entries of the period, under a title and what they mean. */
function entryCard(title, meaning, items, entry) {
  const more = items.length === LIST_LIMIT ? ` The latest ${LIST_LIMIT}.` : "";
  return el("section", { class: "card" }, el("h2", {}, title), el("p", { class: "empty" }, meaning + more), ...items.map(entry));
}

/** Periods whose events were late or missing: not judged for anomalies, their KPIs short. */
function incompleteList(ctx, items) {
  return entryCard("Data incomplete in this period", "Events were late or missing: these hours were not judged, and their figures may be short.", items, (item) => {
    const since = localTime(item.since, ctx.shop.time_zone);
    const until = item.ongoing ? "now (still incomplete)" : localTime(item.until, ctx.shop.time_zone);
    return periodEntry("anomaly incomplete", { "data-incomplete": item.id }, `data incomplete · ${since} to ${until}`, item.reason);
  });
}

/** Events the stream job refused in the period (sent to the topics by the seller's own producer). */
function refusedList(ctx, items) {
  return entryCard("Events refused in this period", "Not counted: each was sent to Kafka with the problem below.", items, (item) => {
    const when = `${item.reason} · ${localTime(item.failed_at, ctx.shop.time_zone)} · ${item.event_id || "unreadable record"}`;
    const what = item.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return periodEntry("anomaly refused", { "data-refused": item.id }, when, what);
  });
}

/** Events of the period that arrived past the late grace: recorded, not in their hours' figures. */
function lateList(ctx, items) {
  return entryCard("Events too late to count in this period", "Their hours were closed when they came: those hours' figures are short by them.", items, (item) => {
    const when = `${localTime(item.occurred_at, ctx.shop.time_zone)} · came ${formatValue(item.lateness_seconds, "seconds")} late · ${item.event_id}`;
    return periodEntry("anomaly late", { "data-late": item.event_id }, when, item.reason);
  });
}

/** One period of a list (an anomaly, a stretch of incomplete data): when and what, in a line each. */
function periodEntry(classes, data, when, text) {
  return el("article", { class: classes, ...data }, el("div", { class: "when" }, when), el("div", {}, text));
}

/**
 * An `/api/anomalies` page as a list, with how far the detector has judged the shop: when it is
 * behind (a new shop, an imported history being worked through) always, else if `sayJudged`.
 */
function anomalyList(ctx, page, heading, { sayJudged = false } = {}) {
  const card = el("section", { class: "card" }, el("h2", {}, heading));
  const judged = page.judged_until?.[ctx.shop.id];
  const note = judgedNote(ctx, judged, sayJudged);
  if (note) card.append(el("p", { class: "note", "data-judged": judged ?? "none" }, note));
  if (page.items.length === 0) card.append(el("p", { class: "empty" }, judged === null ? "Nothing judged yet." : "No anomaly found."));
  for (const item of page.items) {
    const where = item.product_id ? `product ${item.product_name || item.product_id}` : "whole shop";
    const start = localTime(item.bucket_start, ctx.shop.time_zone);
    const end = localTime(item.bucket_end, ctx.shop.time_zone);
    const when = `${item.severity} · ${start} to ${end} · ${where} · score ${item.score.toFixed(2)}`;
    card.append(periodEntry(`anomaly ${item.severity}`, { "data-anomaly": item.id }, when, item.explanation));
  }
  return card;
}

// An hour is judged once it has closed and its events are in; more behind than this is news.
const JUDGED_LAG_HOURS = 3;

function judgedNote(ctx, judged, always) {
  if (judged === undefined) return "";
  if (judged === null) {
    return "The detector has not judged this shop yet: it starts once the shop has a week of closed hours (by default), and works through an imported history from its start.";
  }
  const when = localTime(judged, ctx.shop.time_zone);
  if (Date.now() - Date.parse(judged) > JUDGED_LAG_HOURS * 3600 * 1000) {
    return `Judged up to ${when}: the hours after it are not judged yet (the detector is working through a history, or waiting for the shop's late events), so anomalies there are not shown yet.`;
  }
  return always ? `Judged up to ${when}; each hour is judged once it has closed.` : "";
}

const RETRIES = 60;

/**
 * A part of a page that a model service answers (forecast, insights). It loads on its own and
 * keeps its failures to itself: while a model trains (503) it says so and tries again when the
 * gateway says; too little data (409) and a role without the permission (403) are said plainly.
 * `data-state` on the holder says where it stands.
 */
function modelSection(parent, title, load) {
  const holder = el("div", { "data-model": title, "data-state": "loading" });
  parent.append(holder);
  const say = (state, text) => {
    holder.dataset.state = state;
    holder.replaceChildren(el("section", { class: "card" }, el("h2", {}, title), el("p", { class: "empty" }, text)));
  };
  const attempt = async (tries) => {
    try {
      const content = el("div", { class: "model-content" });
      await load(content);
      holder.replaceChildren(content);
      holder.dataset.state = "ready";
    } catch (error) {
      if (!holder.isConnected) return;
      if (error.status === 503 && tries < RETRIES) {
        const wait = error.retryAfter ?? 5;
        say("waiting", `The model is being prepared (models train on first use): ${error.message}. Trying again in ${wait} s.`);
        setTimeout(() => holder.isConnected && attempt(tries + 1), wait * 1000);
      } else if (error.status === 409) {
        say("not-enough-data", `Not enough data yet: ${error.message}`);
      } else if (error.status === 403) {
        say("forbidden", "Your role does not include this.");
      } else {
        say("error", `Unavailable: ${error.message}`);
      }
    }
  };
  say("loading", "Loading…");
  attempt(0);
  return holder;
}

/**
 * Each target of a forecast answer (its field, and the registry KPI it forecasts) against the
 * 60 days before it, with its bands.
 */
async function forecasts(ctx, holder, path, targets) {
  const answer = await ctx.api.post(path, { shop_id: ctx.shop.id, horizon_days: 30 });
  const end = answer[targets[0].target].history_end;
  const history = await ctx.api.get(
    "/api/kpis",
    seriesParams(ctx.shop, targets.map((t) => t.kpi), { from: addDays(end, -59), to: end }),
  );
  const grid = el("div", { class: "grid2" });
  holder.append(grid);
  for (const { target, kpi: name } of targets) {
    const forecast = answer[target];
    const definition = kpi(ctx, name);
    const best = forecast.backtest.find((b) => b.model === forecast.model) ?? forecast.backtest[0];
    const scores = best ? `; ${backtestScores(best)}` : "";
    // An expected count is a mean (861.26 orders); a seller reads it as about 861.
    const expected = definition.unit === "count" ? Math.round(forecast.expected_total) : forecast.expected_total;
    const total = formatValue(expected, definition.unit, ctx.shop.currency);
    forecastChart(grid, {
      data: forecastColumns(toColumns(history, [definition]), forecast, ctx.shop.time_zone),
      kpi: definition,
      title: `${definition.title}: the next ${answer.horizon_days} days`,
      currency: ctx.shop.currency,
      timeZone: ctx.shop.time_zone,
      caption: `Expected total ${total}. Model ${forecast.model} (version ${forecast.model_version})${scores}. Bands: 80% and 95% intervals; history to ${end}.`,
    });
  }
}

async function inventory(ctx, holder) {
  const advice = await ctx.api.post("/api/predict/inventory", { shop_id: ctx.shop.id });
  const number = (value) => el("td", { class: "number" }, formatValue(value, "count"));
  const table = dataTable(
    { "data-table": "inventory" },
    ["Product", "In stock", "Demand a day", "Reorder point", "Order", "Stock-out by", ""],
    advice.items.map((item) =>
      el(
        "tr",
        { "data-product": item.product_id },
        el("td", { title: item.product_id }, item.name || item.product_id),
        number(item.stock_on_hand),
        number(Math.round(item.mean_daily_demand * 10) / 10),
        number(Math.ceil(item.reorder_point)),
        number(item.suggested_order_quantity),
        el("td", {}, item.expected_stockout_date || "–"),
        el("td", { class: item.reorder_now ? "bad" : "neutral" }, item.reorder_now ? "reorder now" : ""),
      ),
    ),
  );
  const note = `Service level ${percent(advice.service_level, 0)}, supplier lead time ${advice.lead_time_days} days; from each product's demand forecast.`;
  holder.append(el("section", { class: "card" }, el("h2", {}, "Stock to reorder"), table, el("p", { class: "note" }, note)));
}

// The best sellers a seller would reprice first; one question each, asked together.
const PRICE_ADVICE_PRODUCTS = 8;

/**
 * One model question per product, asked together: the answers, or each product's failure. A
 * model still training (503) fails the whole section, which then tries again (modelSection).
 */
async function perProduct(products, ask) {
  const answers = await Promise.allSettled(products.map(ask));
  const training = answers.find((a) => a.status === "rejected" && a.reason.status === 503);
  if (training) throw training.reason;
  return answers;
}

function noProductsCard(holder, title) {
  holder.append(el("section", { class: "card" }, el("h2", {}, title), el("p", { class: "empty" }, "No product sold in this period to advise on.")));
}

/**
 * The profit-maximising price of the period's best sellers, from each one's measured price
 * elasticity (or its category's): a product the service cannot advise on (too little price
 * history) says why in its row; a model still training (503) retries the whole section.
 */
async function priceAdvice(ctx, holder, bestSellers) {
  const products = bestSellers.slice(0, PRICE_ADVICE_PRODUCTS);
  if (products.length === 0) return noProductsCard(holder, "Price advice");
  const answers = await perProduct(products, (p) =>
    ctx.api.post("/api/insights/optimize-price", { shop_id: ctx.shop.id, product_id: p.product_id }),
  );
  const rows = products.map((product, i) => {
    const name = product.name || product.product_id;
    const answer = answers[i];
    if (answer.status === "rejected") {
      return el("tr", { "data-product": product.product_id }, el("td", { title: product.product_id }, name), el("td", { colspan: "7", class: "neutral" }, answer.reason.message));
    }
    const advice = answer.value;
    const change = (advice.recommended_price_minor - advice.current_price_minor) / advice.current_price_minor;
    const basis = `${advice.source === "category" ? "category's" : "own"}${advice.significant ? "" : ", not significant"}`;
    return el(
      "tr",
      { "data-product": product.product_id, title: advice.explanation, class: advice.significant ? undefined : "uncertain" },
      el("td", { title: product.product_id }, name),
      el("td", { class: "number" }, money(ctx, advice.current_price_minor)),
      el("td", { class: "number" }, money(ctx, advice.recommended_price_minor)),
      el("td", { class: "number" }, signedPercent(change)),
      el("td", { class: "number" }, signedPercent(advice.expected_units_change_pct / 100)),
      el("td", { class: `number ${advice.expected_profit_change_pct > 0 ? "good" : "neutral"}` }, signedPercent(advice.expected_profit_change_pct / 100)),
      el("td", { class: "number" }, `${advice.elasticity.toFixed(2)} ± ${(1.96 * advice.elasticity_std_error).toFixed(2)}`),
      el("td", {}, basis),
    );
  });
  const head = ["Product", "Price now", "Suggested", "Change", "Units", "Profit", "Elasticity (95%)", "Measured on"];
  holder.append(
    el(
      "section",
      { class: "card" },
      el("h2", {}, "Price advice for the best sellers"),
      dataTable({ "data-table": "prices" }, head, rows),
      el(
        "p",
        { class: "note" },
        "The profit-maximising price within 70% to 130% of today's, from how the product's sales moved with its price, campaigns and sale days controlled for; " +
          "units and profit are the expected change at the suggested price. A row marked not significant rests on an elasticity the data do not pin down: test it before relying on it.",
      ),
    ),
  );
}

// Bundles worth a look: what buyers of the few best sellers also buy.
const BUNDLE_PRODUCTS = 3;
const BUNDLE_PARTNERS = 4;

async function boughtTogether(ctx, holder, bestSellers) {
  const products = bestSellers.slice(0, BUNDLE_PRODUCTS);
  if (products.length === 0) return noProductsCard(holder, "Bought together");
  const answers = await perProduct(products, (p) =>
    ctx.api.post("/api/insights/recommend", { shop_id: ctx.shop.id, product_id: p.product_id, limit: BUNDLE_PARTNERS }),
  );
  const rows = products.map((product, i) => {
    const answer = answers[i];
    const partners =
      answer.status === "rejected"
        ? el("td", { class: "neutral" }, answer.reason.message)
        : el(
            "td",
            {},
            ...answer.value.items.flatMap((item, j) => [j ? " · " : "", el("span", { title: item.reason }, item.name || item.product_id)]),
          );
    return el("tr", { "data-product": product.product_id }, el("td", { title: product.product_id }, product.name || product.product_id), partners);
  });
  holder.append(
    el(
      "section",
      { class: "card" },
      el("h2", {}, "Bought together with the best sellers"),
      dataTable({ "data-table": "bundles" }, ["Product", "Its buyers also buy"], rows),
      el("p", { class: "note" }, "Products most often in the same orders, over how popular they are anyway (the reason is the tooltip), in stock and active; topped up by popular products of the same category and price band when there are few. Candidates for bundle deals and for each other's product pages."),
    ),
  );
}

const CHANNEL_NAMES = {
  ads_search: "Search ads",
  ads_discovery: "Discovery ads",
  affiliate: "Affiliate",
  ads_external: "External ads",
  live_stream: "Live stream",
};

/**
 * A day's marketing budget (the period's ads spend a day) split by each channel's response
 * curve, against what each channel returned so far.
 */
async function budgetSplit(ctx, holder, dailyBudget) {
  if (dailyBudget <= 0) {
    holder.append(el("section", { class: "card" }, el("h2", {}, "Budget split"), el("p", { class: "empty" }, "No ads spend in this period to split.")));
    return;
  }
  const answer = await ctx.api.post("/api/insights/optimize-marketing", { shop_id: ctx.shop.id, total_budget_minor: dailyBudget });
  const rows = [...answer.allocations].sort((a, b) => b.budget_minor - a.budget_minor).map((a) =>
    el(
      "tr",
      { "data-channel": a.channel },
      el("td", {}, CHANNEL_NAMES[a.channel] ?? a.channel),
      el("td", { class: "number" }, money(ctx, a.budget_minor)),
      el("td", { class: "number" }, percent(a.budget_minor / dailyBudget, 0)),
      el("td", { class: "number" }, formatValue(a.expected_roas, "multiple")),
      el("td", { class: "number" }, formatValue(a.historical_roas, "multiple")),
    ),
  );
  const head = ["Channel", "Budget a day", "Share", "Expected ROAS", "ROAS so far"];
  const card = el(
    "section",
    { class: "card" },
    el("h2", {}, `Budget split: ${money(ctx, dailyBudget)} a day, this period's ads spend`),
    dataTable({ "data-table": "budget" }, head, rows),
    el(
      "p",
      { class: "note" },
      `Expected ${money(ctx, answer.expected_revenue_minor)} of revenue a day, ROAS ${formatValue(answer.expected_roas, "multiple")}: each channel's saturating response to spend, fitted on its history, and the split that maximises the expected revenue (linear programming).`,
    ),
  );
  // The curves are concave and start at 0, so a channel's last unit of spend returns no more
  // than its average, and at the best split every funded channel's last unit returns the same.
  // An average under 1 for the split means one for some channel, and so that shared last
  // return is under 1 too: a smaller budget loses less.
  if (answer.expected_roas < 1) {
    card.append(el("p", { class: "note bad" }, "At this budget the ads are expected to return less than they cost, however it is split: a smaller budget would lose less."));
  }
  holder.append(card);
}

async function sentiment(ctx, holder) {
  const answer = await ctx.api.get("/api/insights/sentiment", {
    shop_id: ctx.shop.id,
    from_date: ctx.period.from,
    to_date: ctx.period.to,
  });
  const overall = answer.overall;
  const note = overall
    ? `${formatValue(overall.texts, "count")} reviews and chats: ${percent(overall.positive_share)} positive, ${percent(overall.negative_share)} negative.`
    : "No review or chat text in this period.";
  barList(
    holder,
    "Sentiment by aspect (share of negative mentions)",
    answer.aspects.map((a) => ({
      label: `${a.aspect} (${formatValue(a.mentions, "count")})`,
      value: a.negative_share,
      text: percent(a.negative_share),
    })),
    note,
  );
}

async function customers(ctx) {
  modelSection(ctx.main, "Customer segments", async (holder) => {
    const answer = await ctx.api.get("/api/insights/segments", { shop_id: ctx.shop.id });
    const rows = answer.segments.map((segment) =>
      el(
        "tr",
        { "data-segment": segment.name, title: segment.description },
        el("td", {}, segment.name),
        el("td", { class: "number" }, formatValue(segment.buyers, "count")),
        el("td", { class: "number" }, percent(segment.revenue_share)),
        el("td", { class: "number" }, `${Math.round(segment.median_recency_days)} days`),
        el("td", { class: "number" }, formatValue(segment.median_frequency, "count")),
        el("td", { class: "number" }, money(ctx, segment.median_monetary_minor)),
      ),
    );
    const head = ["Segment", "Buyers", "Revenue share", "Last bought (median)", "Orders (median)", "Spent (median)"];
    holder.append(
      el(
        "section",
        { class: "card" },
        el("h2", {}, "Customer segments"),
        dataTable({}, head, rows),
        el("p", { class: "note" }, `RFM clusters (${answer.algorithm}, silhouette ${answer.silhouette.toFixed(2)}), model ${answer.model_version}.`),
      ),
    );
  });
  modelSection(ctx.main, "Buyers likely to churn", async (holder) => {
    // Ranked by what losing them would cost, so long-lapsed one-off buyers (near-certain churn,
    // little to lose) do not fill the list.
    const answer = await ctx.api.post("/api/predict/churn", {
      shop_id: ctx.shop.id,
      horizon_days: 30,
      limit: 15,
      order_by: "value_at_risk",
    });
    const rows = answer.buyers.map((buyer) =>
      el(
        "tr",
        { "data-buyer": buyer.buyer_id },
        el("td", {}, buyer.buyer_id),
        el("td", { class: "number" }, money(ctx, buyer.value_at_risk_minor)),
        el("td", { class: "number" }, percent(buyer.probability)),
        el("td", {}, buyer.reasons.map((r) => r.description).join("; ")),
      ),
    );
    const head = ["Buyer", "Value at risk", "Probability", "Why"];
    holder.append(
      el(
        "section",
        { class: "card" },
        el("h2", {}, `Buyers most worth winning back in the next ${answer.horizon_days} days`),
        dataTable({}, head, rows),
        el(
          "p",
          { class: "note" },
          "Value at risk: the probability of no purchase in the period times what the buyer would spend in it at their pace so far. " +
            `Calibrated gradient boosting; holdout ROC AUC ${answer.roc_auc.toFixed(3)} (recency alone ${answer.baseline_roc_auc.toFixed(3)}).`,
        ),
      ),
    );
  });
}
