// Numbers and times as people read them.

/** 41.5 -> "about 40 s", 130 -> "about 2 min", 0.3 -> "under a second". */
export function aboutSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "unknown";
  if (seconds < 1) return "under a second";
  if (seconds < 10) return `about ${Math.round(seconds)} s`;
  if (seconds < 90) return `about ${Math.round(seconds / 5) * 5} s`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return minutes ? `about ${hours} h ${minutes} min` : `about ${hours} h`;
}

/** 12.345 -> "12.3 s"; 75 -> "1 min 15 s". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** 2.1e9 -> "2.1 G"; 12345 -> "12.3 k". */
export function si(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, unit] of units) {
    if (Math.abs(value) >= scale) return `${(value / scale).toPrecision(3).replace(/\.0+$/, "")} ${unit}`;
  }
  return value.toPrecision(3).replace(/\.0+$/, "");
}

/** ISO 8601 -> "22:30:05" today, "21 Nov 22:30" otherwise; null -> "–". */
export function when(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString(undefined, {hour: "2-digit", minute: "2-digit", second: "2-digit"})
    : date.toLocaleString(undefined, {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
}

/** Seconds since an ISO time (null when there is none). */
export function secondsSince(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : Math.max(0, (Date.now() - t) / 1000);
}

/** 0.4213 -> "42 %". */
export function percent(fraction) {
  return `${Math.floor((fraction || 0) * 100)} %`;
}

/** The first block of a UUID, enough to tell jobs apart on screen. */
export function shortId(id) {
  return id ? id.slice(0, 8) : "–";
}

/** 1536 -> "1.5 KiB". */
export function bytes(n) {
  if (!Number.isFinite(n)) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** What a job is, in a few words: a scene's size and samples, or its kind's name. */
export function sizeText(job) {
  if (job.kind && job.kind !== "scene") return `${job.kind} job`;
  return `${job.width}×${job.height} · ${job.samples} spp`;
}
