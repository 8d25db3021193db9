// The pages: which KPIs each shows and from which route. Every KPI name is the registry's
// (`GET /api/kpis/registry`), and every title, unit and direction comes from there too.

import { barList, el, lineChart } from "./charts.js";
import { formatChange, formatValue, localTime } from "./format.js";
import { seriesParams, toColumns } from "./series.js";

export const LIVE_TODAY_KPIS = ["gmv", "paid_orders", "unique_visitors", "conversion_rate", "aov"];
export const LIVE_MINUTE_KPIS = ["gmv", "paid_orders"];

export const PAGES = [
  { id: "overview", title: "Overview", render: overview },
  { id: "traffic", title: "Traffic", render: traffic },
  { id: "sales", title: "Sales", render: sales },
  { id: "campaigns", title: "Campaigns", render: campaigns },
  { id: "service", title: "Customer service", render: service },
  { id: "products", title: "Products", render: products },
  { id: "anomalies", title: "Anomalies", render: anomalies },
];

function periodParams(ctx) {
  return { shops: [ctx.shop.id], from: ctx.period.from, to: ctx.period.to };
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
    tiles.append(
      el(
        "div",
        { class: "tile", "data-kpi": change.kpi, "data-value": change.current ?? "" },
        el("div", { class: "title", title: kpi(ctx, change.kpi).formula }, change.title),
        el("div", { class: "value" }, formatValue(change.current, change.unit, ctx.shop.currency)),
        el("div", { class: `delta ${tone}` }, text),
      ),
    );
  }
  const note = `${answer.from} to ${answer.to} against ${answer.previous_from} to ${answer.previous_to}`;
  return el("section", {}, el("h2", {}, heading), tiles, el("p", { class: "note" }, note));
}

/** Day charts of KPI groups, each group one chart (its KPIs share a unit). */
async function dayCharts(ctx, groups) {
  const names = groups.flat();
  const answer = await ctx.api.get("/api/kpis", seriesParams(ctx.shop, names, ctx.period));
  const grid = el("div", { class: "grid2" });
  ctx.main.append(grid);
  for (const group of groups) {
    const columns = toColumns(answer, group);
    lineChart(grid, {
      data: columns,
      kpis: group.map((name) => kpi(ctx, name)),
      currency: ctx.shop.currency,
      timeZone: ctx.shop.time_zone,
      interval: "day",
    });
  }
}

async function summary(ctx, path, heading, kpis) {
  const params = kpis ? { ...periodParams(ctx), kpis } : periodParams(ctx);
  ctx.main.append(summaryTiles(ctx, await ctx.api.get(path, params), heading));
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
      node.textContent = formatValue(value, unit, ctx.shop.currency);
      node.dataset.value = value ?? "";
    }
  };
}

function liveMinutes(ctx) {
  const holder = el("div", {});
  ctx.main.append(holder);
  let chart = null;
  return (buckets) => {
    const data = buckets.columns(LIVE_MINUTE_KPIS, 60_000);
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
  ctx.onLive("today", liveTiles(ctx));
  ctx.onLive("minutes", liveMinutes(ctx));
  await summary(ctx, "/api/kpis/summary", "This period");
  await dayCharts(ctx, [["gmv"], ["paid_orders"]]);
  const latest = await ctx.api.get("/api/anomalies", { shop_id: ctx.shop.id, limit: 5 });
  ctx.main.append(anomalyList(ctx, latest.items, "Latest anomalies"));
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
  await dayCharts(ctx, [["gmv"], ["paid_orders", "units"], ["aov"], ["cancellation_rate", "return_rate"]]);
}

async function campaigns(ctx) {
  await summary(ctx, "/api/kpis/campaigns", "Campaigns and ads");
  await dayCharts(ctx, [
    ["campaign_gmv", "flash_sale_gmv", "live_stream_gmv", "ads_gmv"],
    ["ads_spend", "discount_cost"],
    ["roas"],
    ["voucher_usage_rate"],
  ]);
}

async function service(ctx) {
  await summary(ctx, "/api/kpis/customer-service", "Customer service");
  await dayCharts(ctx, [
    ["chat_response_rate"],
    ["avg_first_response_seconds"],
    ["csat", "avg_review_rating"],
    ["chat_conversations", "reviews"],
  ]);
}

async function products(ctx) {
  const grid = el("div", { class: "grid2" });
  ctx.main.append(grid);
  for (const name of ["gmv", "units", "product_views", "add_to_cart_rate"]) {
    const definition = kpi(ctx, name);
    const top = await ctx.api.get("/api/kpis/top-products", { ...periodParams(ctx), kpi: name, limit: 10 });
    barList(
      grid,
      `Top products: ${definition.title}`,
      top.products.map((p) => ({
        label: p.product_id,
        value: p.value ?? 0,
        text: formatValue(p.value, definition.unit, ctx.shop.currency),
      })),
    );
  }
}

async function anomalies(ctx) {
  const from = `${ctx.period.from}T00:00:00Z`;
  const page = await ctx.api.get("/api/anomalies", { shop_id: ctx.shop.id, from, limit: 100 });
  ctx.main.append(anomalyList(ctx, page.items, "Anomalies in this period"));
}

function anomalyList(ctx, items, heading) {
  const card = el("section", { class: "card" }, el("h2", {}, heading));
  if (items.length === 0) card.append(el("p", { class: "empty" }, "No anomaly found."));
  for (const item of items) {
    const where = item.product_id ? `product ${item.product_id}` : "whole shop";
    const start = localTime(item.bucket_start, ctx.shop.time_zone);
    const end = localTime(item.bucket_end, ctx.shop.time_zone);
    card.append(
      el(
        "article",
        { class: `anomaly ${item.severity}`, "data-anomaly": item.id },
        el("div", { class: "when" }, `${item.severity} · ${start} to ${end} · ${where} · score ${item.score.toFixed(2)}`),
        el("div", {}, item.explanation),
      ),
    );
  }
  return card;
}
