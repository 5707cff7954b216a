// Prices are integers in the currency's minor unit (KRW has none: 220000 is ₩220,000; USD 5000 is
// $50.00), as payment APIs usually count them.

const digitsCache = new Map<string, number>();

export function minorDigits(currency: string): number {
  let d = digitsCache.get(currency);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      d = 2;
    }
    digitsCache.set(currency, d);
  }
  return d;
}

export function formatMoney(amount: number, currency: string): string {
  const d = minorDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, minimumFractionDigits: d, maximumFractionDigits: d }).format(
      amount / 10 ** d,
    );
  } catch {
    return `${amount} ${currency}`;
  }
}

export function formatPriceRange(min: number, max: number, currency: string): string {
  return min === max ? formatMoney(min, currency) : `${formatMoney(min, currency)} – ${formatMoney(max, currency)}`;
}

/** A price typed by the organiser in major units ("49.99") to the API's minor units (4999). */
export function toMinor(major: string, currency: string): number {
  const n = Number(major);
  if (!Number.isFinite(n)) return NaN;
  return Math.round(n * 10 ** minorDigits(currency));
}
