import assert from "node:assert/strict";
import { test } from "node:test";

import { backtestScores, duration, formatChange, formatValue, localTime, signedPercent, tileValue } from "../../src/shopee_gateway/dashboard/static/js/format.js";

// Intl puts a no-break space between a currency code and the amount.
const money = (...args) => formatValue(...args).replace(/\u00a0/g, " ");

test("money is stored in minor units and shown in the shop's currency", () => {
  assert.equal(money(1_234_550, "money_minor", "MYR"), "MYR 12,346");
  assert.equal(money(99_950, "money_minor", "PHP"), "₱999.50");
  assert.equal(money(123_456_789_00, "money_minor", "IDR", { compact: true }), "IDR 123.5M");
});

test("a malformed currency code still shows the amount", () => {
  assert.equal(money(250_000, "money_minor", "R$"), "2,500 R$");
});

test("ratios, seconds, scores and counts read their own way", () => {
  assert.equal(formatValue(0.03125, "ratio"), "3.1%");
  assert.equal(formatValue(42, "seconds"), "42 s");
  assert.equal(duration(125), "2 min 5 s");
  assert.equal(duration(7260), "2 h 1 min");
  // Round axis ticks read without their zero part.
  assert.equal(duration(7200), "2 h");
  assert.equal(duration(300), "5 min");
  assert.equal(formatValue(4.376, "score"), "4.38 / 5");
  assert.equal(signedPercent(0.14), "+14.0%");
  assert.equal(signedPercent(-0.037), "-3.7%");
  assert.equal(formatValue(12_345, "count"), "12,345");
  assert.equal(formatValue(2.5, "count"), "2.5");
  assert.equal(formatValue(null, "ratio"), "–");
  assert.equal(formatValue(3.214, "multiple"), "3.21x"); // return on ad spend, not 321.4%
});

const change = (fields) => ({
  current: 110,
  previous: 100,
  delta: 10,
  delta_ratio: 0.1,
  unit: "count",
  higher_is_better: true,
  ...fields,
});

test("a change is good or bad by the KPI's direction", () => {
  assert.deepEqual(formatChange(change({})), { text: "▲ +10.0%", tone: "good" });
  assert.deepEqual(formatChange(change({ higher_is_better: false })), { text: "▲ +10.0%", tone: "bad" });
  assert.deepEqual(
    formatChange(change({ current: 90, delta: -10, delta_ratio: -0.1 })),
    { text: "▼ -10.0%", tone: "bad" },
  );
  assert.equal(formatChange(change({ higher_is_better: null })).tone, "neutral");
  assert.equal(formatChange(change({ delta: 0, delta_ratio: 0 })).tone, "neutral");
});

test("ratios change in percentage points; from zero and without a previous period", () => {
  const rate = change({ current: 0.031, previous: 0.025, delta: 0.006, delta_ratio: 0.24, unit: "ratio" });
  assert.deepEqual(formatChange(rate), { text: "▲ +0.6 pt", tone: "good" });
  assert.equal(formatChange(change({ previous: 0, delta: 110, delta_ratio: null })).text, "▲ from 0");
  assert.deepEqual(formatChange(change({ previous: null, delta: null })), { text: "no previous period", tone: "neutral" });
});

test("times are the shop's local times", () => {
  const now = new Date("2026-12-07T12:00:00Z");
  assert.equal(localTime("2026-11-25T07:00:00Z", "Asia/Jakarta", now), "25 Nov, 14:00");
  assert.equal(localTime("2026-11-25T17:30:00Z", "Asia/Manila", now), "26 Nov, 01:30");
  // Another year, in the shop's zone, says its year.
  assert.equal(localTime("2025-12-23T06:00:00Z", "Asia/Bangkok", now), "23 Dec 2025, 13:00");
  assert.equal(localTime("2025-12-31T17:30:00Z", "Asia/Jakarta", now), "1 Jan, 00:30");
});

test("backtest scores read without a MAPE when nothing sold in the backtest", () => {
  assert.equal(backtestScores({ mape: 12.345, mase: 0.8123 }), "backtest MAPE 12.3%, MASE 0.81");
  assert.equal(
    backtestScores({ mape: null, mase: 0 }),
    "backtest MAPE undefined (no sales in the backtest), MASE 0.00",
  );
  assert.equal(backtestScores(undefined), "");
});

test("a tile shows an amount too long for it compact, with the full amount as its tooltip", () => {
  const shown = tileValue(10_770_381_500, "money_minor", "IDR");
  assert.equal(shown.text.replace(/\u00a0/g, " "), "IDR 107.7M");
  assert.equal(shown.title.replace(/\u00a0/g, " "), "IDR 107,703,815");
  assert.deepEqual(tileValue(7_861_600, "money_minor", "IDR").title, "");
  assert.equal(tileValue(1370, "count").text, "1,370");
});
