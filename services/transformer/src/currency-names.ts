import { code as isoCurrency, publishDate } from 'currency-codes';

/**
 * dim_currency.currency_name: the ISO 4217 name of the code (SPEC §3 decision: 'Pound Sterling',
 * 'US Dollar', 'Euro'), from the maintained ISO 4217 list in the `currency-codes` package (its
 * `publishDate` says which edition), not a hand-typed map.
 *
 * Codes are matched exactly as stored (upper case, three letters): 'gbp' or ' GBP' is not guessed
 * into GBP. XTS (reserved for testing) and XXX (no currency involved) are ISO entries but not
 * currencies a sale can be priced in, so they count as unknown too.
 */
const NOT_A_CURRENCY = new Set(['XTS', 'XXX']);

export const ISO_4217_EDITION: string = publishDate;

export function currencyName(code: string): string | undefined {
  if (!/^[A-Z]{3}$/.test(code) || NOT_A_CURRENCY.has(code)) return undefined;
  return isoCurrency(code)?.currency;
}
