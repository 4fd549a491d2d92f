/** Small statistics for interleaved benchmark rounds. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Spread as min–max, the honest summary of a handful of rounds on a noisy machine. */
export function spread(values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

export interface Series {
  /** One value per round. */
  readonly values: readonly number[];
  /** Per-round ratio to the baseline of the same round, when there is a baseline. */
  readonly ratios?: readonly number[];
}

export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** "0.97 (0.95–0.99)": the median of per-round ratios and their spread. */
export function ratioText(ratios: readonly number[]): string {
  const [low, high] = spread(ratios);
  return `${fmt(median(ratios), 2)} (${fmt(low, 2)}–${fmt(high, 2)})`;
}
