import assert from "node:assert/strict";
import { test } from "node:test";

import { addDays, countedShort, forecastColumns, LiveBuckets, localDate, localMidnight, periodDays, periodOf, seriesParams, splitPartial, toColumns } from "../../src/shopee_gateway/dashboard/static/js/series.js";

test("a period is the last N whole local days of the shop, up to yesterday unless it names its end", () => {
  // 17:30 UTC on 30 Nov is already 1 Dec in Jakarta (UTC+7), still 30 Nov in UTC.
  const now = new Date("2026-11-30T17:30:00Z");
  assert.equal(localDate(now, "Asia/Jakarta"), "2026-12-01");
  assert.deepEqual(periodOf(7, "Asia/Jakarta", null, now), { from: "2026-11-24", to: "2026-11-30" });
  assert.deepEqual(periodOf(1, "UTC", "", now), { from: "2026-11-29", to: "2026-11-29" });
  assert.deepEqual(periodOf(7, "Asia/Jakarta", "2026-12-01", now), { from: "2026-11-25", to: "2026-12-01" });
  assert.deepEqual(periodOf(30, "Asia/Jakarta", "2026-03-07", now), { from: "2026-02-06", to: "2026-03-07" });
  assert.equal(periodDays(periodOf(30, "Asia/Jakarta", "2026-03-07", now)), 30);
  assert.equal(addDays("2024-02-28", 1), "2024-02-29");
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
});

test("a day series asks for whole local days in the shop's zone", () => {
  const shop = { id: "glowlab-id", time_zone: "Asia/Jakarta" };
  assert.deepEqual(seriesParams(shop, ["gmv"], { from: "2026-11-25", to: "2026-12-01" }), {
    shops: ["glowlab-id"],
    kpis: ["gmv"],
    from: "2026-11-25T00:00:00",
    to: "2026-12-02T00:00:00",
    interval: "day",
    time_zone: "Asia/Jakarta",
  });
});

const GMV = { name: "gmv", rollup: "sum" };
const AOV = { name: "aov", rollup: "ratio" };
const UNITS = { name: "units", rollup: "sum" };

test("series become aligned columns over every bucket between their first and last", () => {
  const answer = {
    interval: "day",
    time_zone: "Asia/Jakarta",
    series: [
      { kpi: "gmv", points: [{ bucket: "2026-11-25T00:00:00+07:00", value: 100 }, { bucket: "2026-11-27T00:00:00+07:00", value: 300 }] },
      { kpi: "aov", points: [{ bucket: "2026-11-27T00:00:00+07:00", value: null }] },
    ],
  };
  const { xs, columns } = toColumns(answer, [GMV, AOV, UNITS]);
  const day = (date) => localMidnight(date, "Asia/Jakarta");
  assert.deepEqual(xs, [day("2026-11-25"), day("2026-11-26"), day("2026-11-27")]);
  // The 26th has no row: nothing sold (0), nothing to divide (null).
  assert.deepEqual(columns, [[100, 0, 300], [null, null, null], [0, 0, 0]]);
});

test("hours without a row are zeros, and local days stay whole across a DST change", () => {
  const hours = toColumns(
    { interval: "hour", time_zone: "Asia/Kolkata", series: [{ kpi: "gmv", points: [{ bucket: "2026-11-25T10:00:00+05:30", value: 5 }, { bucket: "2026-11-25T13:00:00+05:30", value: 7 }] }] },
    [GMV],
  );
  assert.deepEqual(hours.xs.map((x) => new Date(x * 1000).toISOString()), ["2026-11-25T04:30:00.000Z", "2026-11-25T05:30:00.000Z", "2026-11-25T06:30:00.000Z", "2026-11-25T07:30:00.000Z"]);
  assert.deepEqual(hours.columns, [[5, 0, 0, 7]]);
  const days = toColumns(
    { interval: "day", time_zone: "America/New_York", series: [{ kpi: "gmv", points: [{ bucket: "2026-03-07T00:00:00-05:00", value: 1 }, { bucket: "2026-03-10T00:00:00-04:00", value: 2 }] }] },
    [GMV],
  );
  assert.deepEqual(days.xs, ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"].map((d) => localMidnight(d, "America/New_York")));
  assert.deepEqual(days.columns, [[1, 0, 0, 2]]);
  assert.deepEqual(toColumns({ interval: "day", time_zone: "UTC", series: [] }, [GMV]), { xs: [], columns: [[]] });
});

const snapshot = (bucket, gmv, watermark) => ({
  buckets: [{ bucket, kpis: { gmv: { value: gmv, numerator: gmv, denominator: null } } }],
  watermark,
});

test("today's bucket goes to a column of its own, joined to yesterday, for a dashed tail", () => {
  const data = { xs: [100, 200, 300], columns: [[1, 2, 3], [4, null, 6]] };
  assert.deepEqual(splitPartial(data, 300), {
    xs: [100, 200, 300],
    columns: [[1, 2, null], [4, null, null]],
    partial: [[null, 2, 3], [null, null, 6]],
  });
  assert.equal(splitPartial(data, 400), data); // nothing still filling
  assert.deepEqual(splitPartial(data, 50).partial, data.columns); // all of it so far
});

test("live buckets are overwritten by newer snapshots, never added up", () => {
  const live = new LiveBuckets(3);
  live.apply(snapshot("2026-11-25T09:00:00Z", 100, "2026-11-25T09:00:10Z"));
  live.apply(snapshot("2026-11-25T09:00:00Z", 250, "2026-11-25T09:00:40Z"));
  live.apply(snapshot("2026-11-25T09:02:00Z", 50, "2026-11-25T09:02:05Z"));
  assert.deepEqual(live.latest(), { gmv: 50 });
  assert.equal(live.watermark, "2026-11-25T09:02:05Z");
  const { xs, columns } = live.columns(["gmv", "paid_orders"], 60_000);
  assert.equal(xs.length, 3); // 09:01 had no event: it is filled in
  assert.deepEqual(columns, [[250, 0, 50], [0, 0, 0]]);
});

test("live minutes span the asked hour up to the counted minute, zeros where nothing sold", () => {
  const live = new LiveBuckets(60);
  live.apply(snapshot("2026-11-25T09:30:00Z", 100, "2026-11-25T09:33:20Z"));
  const minute = (text) => Date.parse(`2026-11-25T${text}:00Z`) / 1000;
  const { xs, columns } = live.columns(["gmv"], 60_000, { since: Date.parse("2026-11-25T09:27:30Z") });
  assert.deepEqual(xs, [minute("09:28"), minute("09:29"), minute("09:30"), minute("09:31"), minute("09:32"), minute("09:33")]);
  assert.deepEqual(columns, [[0, 0, 100, 0, 0, 0]]);
  // Before any watermark (a replay carries none), the newest bucket is what is known counted.
  const replayed = new LiveBuckets(60);
  replayed.apply(snapshot("2026-11-25T09:29:00Z", 7));
  assert.deepEqual(replayed.columns(["gmv"], 60_000, { since: Date.parse("2026-11-25T09:28:00Z") }).columns, [[0, 7]]);
  // A shop counted only up to before the hour shows nothing of it yet.
  const behind = new LiveBuckets(60);
  behind.apply(snapshot("2026-11-25T08:10:00Z", 5, "2026-11-25T08:10:30Z"));
  assert.deepEqual(behind.columns(["gmv"], 60_000, { since: Date.parse("2026-11-25T09:00:00Z") }).xs, []);
});

test("live buckets keep only the newest ones", () => {
  const live = new LiveBuckets(2);
  for (const minute of ["00", "01", "02"]) live.apply(snapshot(`2026-11-25T09:${minute}:00Z`, 1));
  assert.deepEqual(live.columns(["gmv"], 60_000).xs, [Date.parse("2026-11-25T09:01:00Z") / 1000, Date.parse("2026-11-25T09:02:00Z") / 1000]);
  assert.equal(new LiveBuckets().latest(), null);
});

test("a local date starts at its zone's midnight, across DST changes too", () => {
  assert.equal(localMidnight("2026-11-25", "Asia/Jakarta"), Date.parse("2026-11-24T17:00:00Z") / 1000);
  assert.equal(localMidnight("2026-11-25", "UTC"), Date.parse("2026-11-25T00:00:00Z") / 1000);
  // New York: EST (-5) on 8 March 2026 at midnight, EDT (-4) from 2:00 that day.
  assert.equal(localMidnight("2026-03-08", "America/New_York"), Date.parse("2026-03-08T05:00:00Z") / 1000);
  assert.equal(localMidnight("2026-03-09", "America/New_York"), Date.parse("2026-03-09T04:00:00Z") / 1000);
});

test("history and forecast share one axis, each with its own columns", () => {
  const zone = "Asia/Jakarta";
  const day = (d) => localMidnight(d, zone);
  const history = { xs: [day("2026-11-23"), day("2026-11-24")], columns: [[100, 120]] };
  const point = (date, value) => ({ date, value, lower_95: value - 20, upper_95: value + 20, lower_80: value - 10, upper_80: value + 10, expected: value + 1 });
  const forecast = { points: [point("2026-11-25", 110), point("2026-11-26", 130)] };
  const { xs, columns } = forecastColumns(history, forecast, zone);
  assert.deepEqual(xs, [day("2026-11-23"), day("2026-11-24"), day("2026-11-25"), day("2026-11-26")]);
  assert.deepEqual(columns[0], [100, 120, null, null]);
  assert.deepEqual(columns[1], [null, null, 110, 130]);
  assert.deepEqual(columns[2], [null, null, 90, 110]);
  assert.deepEqual(columns[5], [null, null, 120, 140]);
});

test("a period's figures are short when the shop is not counted up to its end", () => {
  const now = new Date("2026-12-07T12:00:00Z"); // 19:00 in Jakarta
  // Nothing counted at all.
  assert.equal(countedShort(null, "2026-12-07", "Asia/Jakarta", now), true);
  // A period reaching today: the newest event minutes ago is current, a day ago is not.
  assert.equal(countedShort("2026-12-07T11:40:00Z", "2026-12-07", "Asia/Jakarta", now), false);
  assert.equal(countedShort("2026-12-06T12:00:00Z", "2026-12-07", "Asia/Jakarta", now), true);
  // A small shop's quiet night is not news: five hours.
  assert.equal(countedShort("2026-12-07T07:00:00Z", "2026-12-07", "Asia/Jakarta", now), false);
  // A past period: counted into its last local day is enough, whatever the hour.
  assert.equal(countedShort("2026-03-06T17:30:00Z", "2026-03-07", "Asia/Jakarta", now), false);
  assert.equal(countedShort("2026-03-06T16:30:00Z", "2026-03-07", "Asia/Jakarta", now), true);
  // A history loaded up to March: a period in November is short.
  assert.equal(countedShort("2026-03-20T00:00:00Z", "2026-11-30", "Asia/Jakarta", now), true);
});
