// Periods in a shop's own days, and KPI answers turned into chart columns (pure).

const DAY_MS = 86_400_000;

/** Today's date (YYYY-MM-DD) in `timeZone`. */
export function localDate(now, timeZone) {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone }).format(now);
}

/** How many local days a period ({from, to}, both inclusive) holds. */
export function periodDays(period) {
  return Math.round((Date.parse(period.to) - Date.parse(period.from)) / DAY_MS) + 1;
}

export function addDays(isoDate, days) {
  const shifted = new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * DAY_MS);
  return shifted.toISOString().slice(0, 10);
}

// A shop quiet this long up to now is news (a small shop's night has events every few minutes).
const CURRENT_WITHIN_MS = 6 * 3600 * 1000;

/**
 * Whether a period's figures are short because the shop is not counted up to its end: the time
 * it is counted until (`latest`, ISO time or null) falls on a day before a past period's last
 * day, or, for a period reaching today, hours behind now.
 */
export function countedShort(latest, periodTo, timeZone, now = new Date()) {
  if (latest === null) return true;
  if (periodTo < localDate(now, timeZone)) return localDate(new Date(latest), timeZone) < periodTo;
  return now - new Date(latest) > CURRENT_WITHIN_MS;
}

/**
 * `days` local days ending on `end` (YYYY-MM-DD) or, without one, yesterday in `timeZone` (whole
 * days only, as Seller Centre's "past 7 days": with today's few hours in it, a period would be
 * compared with a previous one of whole days, and its day charts would end in a drop; today so
 * far is live on the Overview): {from, to}, both inclusive, as the summary routes take them.
 */
export function periodOf(days, timeZone, end = null, now = new Date()) {
  const to = end || addDays(localDate(now, timeZone), -1);
  return { from: addDays(to, -(days - 1)), to };
}

/** Query parameters of `GET /api/kpis` for one shop's day series over `period`. */
export function seriesParams(shop, kpis, period, interval = "day") {
  return {
    shops: [shop.id],
    kpis,
    from: `${period.from}T00:00:00`,
    to: `${addDays(period.to, 1)}T00:00:00`,
    interval,
    time_zone: shop.time_zone,
  };
}

const STEP_SECONDS = { minute: 60, hour: 3600 };

/** Every bucket start (Unix seconds) of `interval` from `first` to `last` (ms), both included. */
function bucketsBetween(first, last, interval, timeZone) {
  const starts = [];
  if (interval === "day") {
    // Local days: 23 or 25 hours long across a DST change.
    const end = localDate(new Date(last), timeZone);
    for (let day = localDate(new Date(first), timeZone); day <= end; day = addDays(day, 1)) {
      starts.push(localMidnight(day, timeZone));
    }
  } else {
    for (let t = first / 1000; t <= last / 1000; t += STEP_SECONDS[interval]) starts.push(t);
  }
  return starts;
}

/**
 * A `GET /api/kpis` answer as uPlot columns: x in Unix seconds, every bucket of the answer's
 * interval from its first to its last (of any series), and one array per KPI of `kpis`
 * (registry entries). The answer has no row for a bucket where nothing happened: such a bucket
 * is 0 for sums and distinct counts and null for ratios (nothing to divide), so an hour without
 * orders is drawn at zero rather than bridged by a line.
 */
export function toColumns(answer, kpis) {
  const byKpi = new Map(answer.series.map((s) => [s.kpi, s.points]));
  const times = [];
  for (const points of byKpi.values()) for (const p of points) times.push(Date.parse(p.bucket));
  if (times.length === 0) return { xs: [], columns: kpis.map(() => []) };
  const xs = bucketsBetween(Math.min(...times), Math.max(...times), answer.interval, answer.time_zone);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = kpis.map((kpi) => {
    const values = new Array(xs.length).fill(kpi.rollup === "ratio" ? null : 0);
    for (const p of byKpi.get(kpi.name) ?? []) values[index.get(Date.parse(p.bucket) / 1000)] = p.value;
    return values;
  });
  return { xs, columns };
}

/**
 * `data` (toColumns) with its buckets from `partialFrom` (Unix seconds: today's, still filling)
 * taken out of its columns into `partial` columns, joined to the last whole bucket, so that a
 * chart can draw them dashed: a day counted so far is not a drop. Unchanged without such buckets.
 */
export function splitPartial(data, partialFrom) {
  const cut = data.xs.findIndex((x) => x >= partialFrom);
  if (cut === -1) return data;
  return {
    xs: data.xs,
    columns: data.columns.map((values) => values.map((v, i) => (i < cut ? v : null))),
    partial: data.columns.map((values) => values.map((v, i) => (i >= cut - 1 ? v : null))),
  };
}

/**
 * The live buckets of one subscription, kept from `snapshot` messages of `WS /ws/kpis`.
 * Snapshots carry absolute values, so a newer one simply overwrites its buckets.
 */
export class LiveBuckets {
  constructor(keep = 120) {
    this.keep = keep;
    this.buckets = new Map(); // bucket start (ms) -> {kpi: value}
    this.watermark = null;
  }

  apply(snapshot) {
    for (const { bucket, kpis } of snapshot.buckets) {
      const at = Date.parse(bucket);
      const values = this.buckets.get(at) ?? {};
      for (const [name, kpi] of Object.entries(kpis)) values[name] = kpi.value;
      this.buckets.set(at, values);
    }
    if (snapshot.watermark && (!this.watermark || snapshot.watermark > this.watermark)) {
      this.watermark = snapshot.watermark;
    }
    const times = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const old of times.slice(0, Math.max(0, times.length - this.keep))) {
      this.buckets.delete(old);
    }
  }

  /** The newest bucket's values (today, for a day subscription), or null before any. */
  latest() {
    if (this.buckets.size === 0) return null;
    return this.buckets.get(Math.max(...this.buckets.keys()));
  }

  /**
   * uPlot columns of `kpis`, every `stepMs` from `since` (ms; without it, the first kept bucket)
   * to the last bucket counted: the watermark's, or the newest bucket's when that is later. A
   * bucket or KPI the stream never sent in that span is `missing` (0 for counts and sums: the
   * shop is counted past it and nothing happened); after the watermark nothing is known yet.
   */
  columns(kpis, stepMs, { missing = 0, since = null } = {}) {
    const kept = [...this.buckets.keys()];
    const counted = this.watermark === null ? kept : [...kept, Math.floor(Date.parse(this.watermark) / stepMs) * stepMs];
    if (counted.length === 0) return { xs: [], columns: kpis.map(() => []) };
    const first = since === null ? Math.min(...counted) : Math.ceil(since / stepMs) * stepMs;
    const last = Math.max(...counted);
    const times = [];
    for (let t = first; t <= last; t += stepMs) times.push(t);
    return {
      xs: times.map((t) => t / 1000),
      columns: kpis.map((kpi) => times.map((t) => this.buckets.get(t)?.[kpi] ?? missing)),
    };
  }
}

function zoneOffsetMs(ms, timeZone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
  const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return wall - ms;
}

/** The instant (Unix seconds) a local date (YYYY-MM-DD) starts in `timeZone`. */
export function localMidnight(isoDate, timeZone) {
  const wall = Date.parse(`${isoDate}T00:00:00Z`);
  // The offset at the guess, then at the result: right across a DST change too.
  const guess = wall - zoneOffsetMs(wall, timeZone);
  return (wall - zoneOffsetMs(guess, timeZone)) / 1000;
}

/**
 * History and forecast of one series on one time axis: columns actual, median, 95% low and
 * high, 80% low and high (null where a day has no such value). `history` is toColumns() of the
 * one KPI; `forecast` a SeriesForecast of the predict routes (days in the shop's zone).
 */
export function forecastColumns(history, forecast, timeZone) {
  const rows = new Map();
  history.xs.forEach((x, i) => rows.set(x, [history.columns[0][i], null, null, null, null, null]));
  for (const p of forecast.points) {
    const x = localMidnight(p.date, timeZone);
    const row = rows.get(x) ?? [null, null, null, null, null, null];
    row.splice(1, 5, p.value, p.lower_95, p.upper_95, p.lower_80, p.upper_80);
    rows.set(x, row);
  }
  const xs = [...rows.keys()].sort((a, b) => a - b);
  return { xs, columns: [0, 1, 2, 3, 4, 5].map((c) => xs.map((x) => rows.get(x)[c])) };
}
