// @ts-check
/**
 * A log-linear latency histogram in microseconds (about 1.5 % precision, like HdrHistogram with
 * two significant digits): exact below 128 µs, then 64 sub-buckets per power of two. Recording is
 * an array increment, so the client can record every delivery; histograms merge across processes.
 */
const SUB = 64
const SIZE = 128 + 24 * SUB
const MAX = 2 ** 31 - 1

/** @param {number} v */
function indexOf(v) {
  if (v < 128) return v
  const shift = 32 - Math.clz32(v) - 7
  return 128 + (shift - 1) * SUB + ((v >>> shift) - SUB)
}

/** @param {number} index */
function bucketValue(index) {
  if (index < 128) return index
  const k = index - 128
  const shift = Math.floor(k / SUB) + 1
  const m = (k % SUB) + SUB
  return (m + 0.5) * 2 ** shift
}

export class Histogram {
  counts = new Float64Array(SIZE)
  n = 0
  max = 0
  sum = 0

  /** @param {number} us */
  record(us) {
    const v = us <= 0 ? 0 : us >= MAX ? MAX : Math.round(us)
    this.counts[indexOf(v)]++
    this.n++
    this.sum += v
    if (v > this.max) this.max = v
  }

  /** @param {number} q quantile in [0, 1]; returns microseconds (NaN when empty) */
  quantile(q) {
    if (this.n === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil(q * this.n))
    let seen = 0
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i] ?? 0
      if (seen >= rank) return Math.min(bucketValue(i), this.max)
    }
    return this.max
  }

  /** Summary in milliseconds. */
  summary() {
    return {
      count: this.n,
      p50: this.quantile(0.5) / 1000,
      p99: this.quantile(0.99) / 1000,
      max: this.max / 1000,
      mean: this.n ? this.sum / this.n / 1000 : Number.NaN,
    }
  }
}
