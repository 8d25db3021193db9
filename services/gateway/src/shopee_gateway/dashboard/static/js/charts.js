// Charts and small DOM helpers. uPlot is the global the vendored IIFE defines (index.html).

import { formatValue } from "./format.js";

const COLOURS = ["#ee4d2d", "#2d7fee", "#1a7f4b", "#8e44ad", "#e6a23c", "#16a5a5"];

/** An element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const DAY_SECONDS = 86_400;
const drawn = new Set(); // how to destroy each chart on the page
// uPlot's axis font, to measure tick labels with; and what an axis needs beside its labels
// (its ticks, 10 px, the gap to the labels, 5 px, and a margin).
const AXIS_FONT = "12px system-ui, -apple-system, sans-serif";
const AXIS_PADDING = 24;
let measuring = null;

/**
 * The y axis's width for its tick labels ("2 h 10 min", "IDR 107.7M"): a fixed width clipped
 * the longer ones on their left, so "2 h 10 min" read as "h 10 min".
 */
function labelWidth(_, values) {
  if (!values || values.length === 0) return 50;
  measuring ??= document.createElement("canvas").getContext("2d");
  measuring.font = AXIS_FONT;
  const widest = Math.max(...values.map((v) => measuring.measureText(v ?? "").width));
  return Math.max(50, Math.ceil(widest) + AXIS_PADDING);
}

/**
 * A time-series line chart of one or more KPIs of the same unit.
 * `data` is {xs, columns} (series.js); `kpis` are registry entries; axes and the legend show
 * values the registry's way, times in the shop's zone. `interval` (day, hour or minute) sets
 * the ticks. `xRange`, if given, returns the x range to show in Unix seconds (a live window),
 * instead of the data's own; `spans`, if given, are time spans shaded behind the lines.
 * `data.partial`, if there (splitPartial), are the KPIs' buckets still filling, drawn dashed.
 */
export function lineChart(container, { data, kpis, title, name, ...rest }) {
  const series = kpis.map((kpi, i) => ({ label: kpi.title, stroke: COLOURS[i % COLOURS.length], width: 2 }));
  if (data.partial) {
    series.push(...series.map((s) => ({ ...s, label: `${s.label} (so far)`, dash: [4, 4] })));
    data = { xs: data.xs, columns: [...data.columns, ...data.partial] };
  }
  return timeChart(container, {
    ...rest,
    data,
    series,
    unit: kpis[0].unit,
    title: title ?? kpis.map((k) => k.title).join(", "),
    name: name ?? kpis.map((k) => k.name).join(","),
  });
}

/**
 * The days behind and the forecast ahead: actual values, the forecast's median dashed, and
 * its 80% and 95% intervals as bands. `data` is forecastColumns() (series.js).
 */
export function forecastChart(container, { data, kpi, ...rest }) {
  const bound = (label) => ({ label, stroke: "transparent", points: { show: false } });
  return timeChart(container, {
    ...rest,
    data,
    unit: kpi.unit,
    interval: "day",
    name: `forecast:${kpi.name}`,
    series: [
      { label: "Actual", stroke: COLOURS[1], width: 2 },
      { label: "Forecast (median)", stroke: COLOURS[0], width: 2, dash: [6, 4] },
      bound("95% low"),
      bound("95% high"),
      bound("80% low"),
      bound("80% high"),
    ],
    bands: [
      { series: [4, 3], fill: "rgba(238, 77, 45, 0.10)" },
      { series: [6, 5], fill: "rgba(238, 77, 45, 0.20)" },
    ],
  });
}

/**
 * Time spans shaded behind the series (anomalies, periods of incomplete data): a uPlot hook.
 * `spans` are {from, to, fill}, Unix seconds.
 */
function shade(spans) {
  return (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    for (const span of spans) {
      const left = Math.max(u.valToPos(span.from, "x", true), bbox.left);
      const right = Math.min(u.valToPos(span.to, "x", true), bbox.left + bbox.width);
      if (right <= bbox.left || left >= bbox.left + bbox.width) continue;
      ctx.fillStyle = span.fill;
      // At least four pixels: an hour in a quarter's chart is still seen.
      ctx.fillRect(left, bbox.top, Math.max(4, right - left), bbox.height);
    }
    ctx.restore();
  };
}

// Axis ticks and their labels by the chart's bucket size.
const TICKS = {
  day: { incrs: [1, 2, 7, 14, 30, 91].map((d) => d * DAY_SECONDS), space: 60, format: { day: "numeric", month: "short" } },
  hour: {
    incrs: [3600, 3 * 3600, 6 * 3600, 12 * 3600, ...[1, 2, 7, 14, 30].map((d) => d * DAY_SECONDS)],
    space: 90,
    format: { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
    // Ticks a day or more apart are midnights: the date says it all.
    wholeDays: { day: "numeric", month: "short" },
  },
  minute: { incrs: [60, 300, 600, 900, 1800, 3600], space: 60, format: { hour: "2-digit", minute: "2-digit" } },
};

// Durations tick on round seconds, minutes and hours ("2 h", not "1 h 23 min").
const DURATION_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, DAY_SECONDS, 2 * DAY_SECONDS, 7 * DAY_SECONDS];

function timeChart(container, { data, series, bands, spans, unit, currency, timeZone, title, name, interval, xRange, caption }) {
  const card = el("section", { class: "card", "data-chart": name });
  if (spans) card.dataset.spans = String(spans.length);
  card.append(el("h2", {}, title));
  const body = el("div", { class: "chart" });
  card.append(body);
  if (caption) card.append(el("p", { class: "note" }, caption));
  container.append(card);
  if (data.xs.length === 0) {
    body.append(el("p", { class: "empty" }, "No data in this period yet."));
    return null;
  }
  const format = (value) => formatValue(value, unit, currency, { compact: true });
  const ticks = TICKS[interval] ?? TICKS.minute;
  const when = new Intl.DateTimeFormat("en-GB", { timeZone, ...ticks.format });
  const dates = new Intl.DateTimeFormat("en-GB", { timeZone, ...(ticks.wholeDays ?? ticks.format) });
  const options = {
    width: body.clientWidth || 600,
    height: 240,
    tzDate: (seconds) => globalThis.uPlot.tzDate(new Date(seconds * 1000), timeZone),
    scales: { x: { time: true, ...(xRange ? { range: () => xRange() } : {}) } },
    axes: [
      {
        // Day charts tick on whole local days only; hour and minute charts on whole buckets.
        space: ticks.space,
        incrs: ticks.incrs,
        values: (_, values, _axis, _space, step) =>
          values.map((t) => (step >= DAY_SECONDS ? dates : when).format(new Date(t * 1000))),
      },
      { values: (_, ticks) => ticks.map(format), size: labelWidth, ...(unit === "seconds" ? { incrs: DURATION_INCRS } : {}) },
    ],
    series: [
      { value: (_, t) => (t === null ? "–" : when.format(new Date(t * 1000))) },
      ...series.map((s) => ({ ...s, value: (_, value) => formatValue(value, unit, currency) })),
    ],
    bands,
    hooks: spans ? { drawClear: [shade(spans)] } : {},
  };
  const plot = new globalThis.uPlot(options, [data.xs, ...data.columns], body);
  // Cards settle into the grid after the chart is drawn, and windows resize: follow the width.
  const resizing = new ResizeObserver(() => {
    if (body.clientWidth > 0 && body.clientWidth !== plot.width) {
      plot.setSize({ width: body.clientWidth, height: 240 });
    }
  });
  resizing.observe(body);
  drawn.add(() => {
    resizing.disconnect();
    plot.destroy();
  });
  return plot;
}

/**
 * Let go of every chart drawn so far, before a page replaces them: uPlot listens on the window,
 * so a chart only taken out of the page would stay alive with every page shown after it.
 */
export function destroyCharts() {
  for (const destroy of drawn) destroy();
  drawn.clear();
}

/** Horizontal bars, e.g. the funnel or the top products: rows of {label, value, text}. */
export function barList(container, title, rows, note) {
  const card = el("section", { class: "card" }, el("h2", {}, title));
  const largest = Math.max(0, ...rows.map((r) => r.value));
  const bars = el("div", { class: "bars" });
  for (const row of rows) {
    const fill = el("div", { class: "bar-fill" });
    // CSSOM, not a style attribute: the page's CSP allows no inline styles.
    fill.style.width = `${largest > 0 ? (100 * row.value) / largest : 0}%`;
    bars.append(
      el(
        "div",
        { class: "bar-row" },
        el("span", { class: "label", title: row.label }, row.label),
        el("div", { class: "bar-track" }, fill),
        el("span", { class: "number" }, row.text),
      ),
    );
  }
  if (rows.length === 0) bars.append(el("p", { class: "empty" }, "Nothing in this period."));
  card.append(bars);
  if (note) card.append(el("p", { class: "note" }, note));
  container.append(card);
  return card;
}
