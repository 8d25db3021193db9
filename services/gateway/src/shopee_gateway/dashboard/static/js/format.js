// How a KPI value reads, from its registry unit (pure: no DOM, unit-tested with node --test).

const MINOR_PER_MAJOR = 100; // money is stored in minor units (amount x 100)

/** A KPI value as text: `unit` is the registry's, `currency` the shop's ISO code. */
export function formatValue(value, unit, currency, { compact = false } = {}) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  switch (unit) {
    case "money_minor":
      return money(value / MINOR_PER_MAJOR, currency, compact);
    case "ratio":
      return percent(value);
    case "multiple":
      return `${value.toFixed(2)}x`;
    case "seconds":
      return duration(value);
    case "score":
      return `${value.toFixed(2)} / 5`;
    default:
      return count(value, compact);
  }
}

function money(amount, currency, compact) {
  const options = { style: "currency", currency: currency || "USD" };
  if (compact) Object.assign(options, { notation: "compact", maximumFractionDigits: 1 });
  else if (Math.abs(amount) >= 1000) options.maximumFractionDigits = 0;
  try {
    return new Intl.NumberFormat("en", options).format(amount);
  } catch {
    // An unknown currency code still shows the amount.
    return `${count(amount, compact)} ${currency}`;
  }
}

function count(value, compact) {
  const options = compact
    ? { notation: "compact", maximumFractionDigits: 1 }
    : { maximumFractionDigits: Number.isInteger(value) ? 0 : 2 };
  return new Intl.NumberFormat("en", options).format(value);
}

// About as many characters as a tile's value shows at its narrowest (12rem at 1.5rem type).
const TILE_CHARACTERS = 12;

/**
 * A tile's value: in full when it fits, else compact ("IDR 107.7M") with the full text as its
 * tooltip, since a clipped amount reads as a smaller one.
 */
export function tileValue(value, unit, currency) {
  const full = formatValue(value, unit, currency);
  if (full.length <= TILE_CHARACTERS) return { text: full, title: "" };
  return { text: formatValue(value, unit, currency, { compact: true }), title: full };
}

export function percent(ratio, digits = 1) {
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** A change as a percentage with its sign: "+14.0%", "-3.7%". */
export function signedPercent(ratio, digits = 1) {
  return `${ratio > 0 ? "+" : ""}${percent(ratio, digits)}`;
}

export function duration(seconds) {
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  // A whole number of minutes or hours reads without its zero part ("2 h", not "2 h 0 min").
  if (minutes < 60) return total % 60 ? `${minutes} min ${total % 60} s` : `${minutes} min`;
  return minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${Math.floor(minutes / 60)} h`;
}

/**
 * The change of a period summary's KPI (`/api/kpis/summary` item) as text and a tone:
 * "good" or "bad" by the registry's `higher_is_better`, "neutral" when it has no direction or
 * nothing changed. Ratios change in percentage points, everything else in percent.
 */
export function formatChange(change) {
  const { current, previous, delta, delta_ratio: ratio, unit, higher_is_better: up } = change;
  if (current === null || previous === null || delta === null) {
    return { text: "no previous period", tone: "neutral" };
  }
  const tone = delta === 0 || up === null ? "neutral" : (delta > 0) === up ? "good" : "bad";
  const arrow = delta > 0 ? "▲" : delta < 0 ? "▼" : "■";
  if (unit === "ratio") {
    const points = (delta * 100).toFixed(1);
    return { text: `${arrow} ${delta > 0 ? "+" : ""}${points} pt`, tone };
  }
  if (ratio === null) return { text: `${arrow} from 0`, tone };
  return { text: `${arrow} ${signedPercent(ratio)}`, tone };
}

/** A UTC instant as the shop's local date and time, e.g. "25 Nov 14:00". */
export function localTime(iso, timeZone, now = new Date()) {
  const when = new Date(iso);
  const year = (date) => new Intl.DateTimeFormat("en-GB", { timeZone, year: "numeric" }).format(date);
  // Lists reach back years: a time of another year says which ("23 Dec 2025, 13:00").
  const options = { timeZone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  if (year(when) !== year(now)) options.year = "numeric";
  return new Intl.DateTimeFormat("en-GB", options).format(when);
}

/**
 * A forecast model's backtest scores (a `backtest` item of a forecast answer) for a caption.
 * MAPE is null when every day the backtest scored sold nothing (a percentage of 0 is undefined).
 */
export function backtestScores(scores) {
  if (!scores) return "";
  const mape = scores.mape === null ? "MAPE undefined (no sales in the backtest)" : `MAPE ${scores.mape.toFixed(1)}%`;
  return `backtest ${mape}, MASE ${scores.mase.toFixed(2)}`;
}
