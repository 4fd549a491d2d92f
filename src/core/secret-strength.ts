/**
 * How many guesses a secret would cost an attacker, in bits.
 *
 * Why an estimate and not a length rule: every sealed cookie is an offline oracle for
 * the secret (guess, derive the key, check the GCM tag), so what matters is how soon a
 * guesser reaches it, and guessers try structure first: words, years, `abc`, `123`, a
 * phrase said twice. `my-company-shared-session-secret-2026` has 37 bytes and 20
 * distinct ones, and is a handful of words.
 *
 * The model follows zxcvbn (Wheeler, USENIX Security 2016) without its dictionaries:
 * the secret is split into tokens, each charged what it costs to guess as what it looks
 * like, and the estimate is the cheapest split (dynamic programming over positions). A
 * symbol that fits no pattern is charged log2 of the alphabet implied by the character
 * classes present anywhere in the secret (26 lowercase, 26 uppercase, 10 digits, 33
 * other printable ASCII; 100 for non-ASCII text as zxcvbn, the other 161 byte values for
 * bytes). Patterns, each charged less than its raw size:
 *
 * - a word: 3+ letters, lowercase or Capitalised, that could be pronounced (a vowel, y
 *   included, and never 4 consonants in a row): 2 bits for where it starts plus 2.6 a
 *   letter, Shannon's (1951) entropy of English at word level (11.8 bits for a word of
 *   4.5 letters), plus 1 for a capital;
 * - a number: log2(10) a digit; a year 1900–2099: log2(200) for its four digits;
 * - a sequence of 3+ along the alphabet, the digits or a keyboard row, either way: the
 *   line, the first symbol, the direction and the length;
 * - a repeat of 3+ symbols of an earlier part, overlaps allowed (so `aaaa` and
 *   `abcabcabc` are repeats): where the copy starts and its length;
 * - a separator (printable, neither letter nor digit) used before: which of those used.
 *
 * Bytes (a Uint8Array, a Buffer) are judged as bytes, a string as code points. The estimate errs low for
 * random text, where a letter run that could be a word is charged as one and digits as
 * digits; still, the weakest of the recommended forms, base64url of 32 random bytes,
 * averages 230 bits and stayed above 155 in 200,000 draws (hex and raw bytes score
 * higher, 48 bytes far higher; test/unit/secret-strength.test.ts draws thousands of
 * each), while 16 random bytes, 128 bits at best, mostly fall short: use 32 or more.
 */

/** Below this, a secret is refused: the AES keys are 256 bits, but 128 bits of guessing is out of reach. */
export const MIN_SECRET_BITS = 128;

/** Only this many symbols are judged: ample for any honest secret, and it bounds the quadratic work. */
const MAX_JUDGED = 256;
const WORD_START_BITS = 2;
const WORD_LETTER_BITS = 2.6;
const YEAR_BITS = Math.log2(200);
const DIGIT_BITS = Math.log2(10);
const MIN_PATTERN = 3;

const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const SEPARATOR = 4; // printable ASCII but letters and digits, space included
const OTHER = 5;

/** Lines a sequence walks along, either way: the alphabet, the digits, the keyboard rows. */
const LINES = ['abcdefghijklmnopqrstuvwxyz', '0123456789', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', '1234567890'].flatMap((line) =>
  line === line.toUpperCase() ? [line] : [line, line.toUpperCase()],
).map((line) => Array.from(line, (char) => char.charCodeAt(0)));
const VOWELS = new Set(Array.from('aeiouyAEIOUY', (char) => char.charCodeAt(0)));

interface Match {
  readonly end: number;
  readonly bits: number;
}

function classOf(symbol: number): number {
  if (symbol >= 0x61 && symbol <= 0x7a) return LOWER;
  if (symbol >= 0x41 && symbol <= 0x5a) return UPPER;
  if (symbol >= 0x30 && symbol <= 0x39) return DIGIT;
  if (symbol >= 0x20 && symbol <= 0x7e) return SEPARATOR;
  return OTHER;
}

function alphabetBits(classes: readonly number[], bytes: boolean): number {
  const present = new Set(classes);
  // 100 for non-ASCII text is zxcvbn's figure; for bytes, whatever printable ASCII leaves of 256.
  const sizes: Record<number, number> = { [LOWER]: 26, [UPPER]: 26, [DIGIT]: 10, [SEPARATOR]: 33, [OTHER]: bytes ? 161 : 100 };
  let size = 0;
  for (const cls of present) size += sizes[cls] as number;
  return Math.log2(Math.max(size, 2));
}

/** Estimated bits of entropy of a secret: the cost of its cheapest reading as words, numbers, sequences and repeats. */
export function estimateSecretBits(secret: string | Uint8Array): number {
  const symbols = typeof secret === 'string' ? codePoints(secret, MAX_JUDGED) : Array.from(secret.subarray(0, MAX_JUDGED));
  const classes = symbols.map(classOf);
  const symbolBits = alphabetBits(classes, typeof secret !== 'string');
  const matches = findMatches(symbols, classes);
  const best = new Float64Array(symbols.length + 1).fill(Infinity);
  best[0] = 0;
  for (let start = 0; start < symbols.length; start++) {
    const before = best[start] as number;
    best[start + 1] = Math.min(best[start + 1] as number, before + symbolBits);
    for (const match of matches[start] as Match[]) best[match.end] = Math.min(best[match.end] as number, before + match.bits);
  }
  return best[symbols.length] as number;
}

function codePoints(text: string, max: number): number[] {
  const symbols: number[] = [];
  for (const char of text) {
    if (symbols.length === max) break;
    symbols.push(char.codePointAt(0) as number);
  }
  return symbols;
}

/** Every pattern found, by the position it starts at. */
function findMatches(symbols: readonly number[], classes: readonly number[]): Match[][] {
  const matches: Match[][] = symbols.map(() => []);
  words(symbols, classes, matches);
  numbers(symbols, classes, matches);
  sequences(symbols, matches);
  repeats(symbols, matches);
  separators(symbols, classes, matches);
  return matches;
}

function words(symbols: readonly number[], classes: readonly number[], matches: Match[][]): void {
  for (let start = 0; start < symbols.length; start++) {
    const capital = classes[start] === UPPER;
    if (!capital && classes[start] !== LOWER) continue;
    let vowel = false;
    let consonants = 0;
    for (let end = start; end < symbols.length; end++) {
      if (end > start && classes[end] !== LOWER) break;
      if (VOWELS.has(symbols[end] as number)) {
        vowel = true;
        consonants = 0;
      } else if (++consonants >= 4) break;
      const length = end - start + 1;
      if (length >= MIN_PATTERN && vowel) matches[start]?.push({ end: end + 1, bits: WORD_START_BITS + WORD_LETTER_BITS * length + (capital ? 1 : 0) });
    }
  }
}

function numbers(symbols: readonly number[], classes: readonly number[], matches: Match[][]): void {
  for (let start = 0; start < symbols.length; start++) {
    if (classes[start] !== DIGIT) continue;
    matches[start]?.push({ end: start + 1, bits: DIGIT_BITS });
    const year = digitsValue(symbols, classes, start, 4);
    if (year >= 1900 && year <= 2099) matches[start]?.push({ end: start + 4, bits: YEAR_BITS });
  }
}

function digitsValue(symbols: readonly number[], classes: readonly number[], start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index++) {
    if (classes[index] !== DIGIT) return -1;
    value = value * 10 + (symbols[index] as number) - 0x30;
  }
  return value;
}

function sequences(symbols: readonly number[], matches: Match[][]): void {
  for (const line of LINES) {
    const position = symbols.map((symbol) => line.indexOf(symbol));
    for (let start = 0; start < symbols.length; start++) {
      if (position[start] === -1) continue;
      for (const step of [1, -1]) {
        let end = start + 1;
        while (end < symbols.length && position[end] !== -1 && position[end] === (position[end - 1] as number) + step) {
          end++;
          // the first symbol, the direction, which line, the length
          const length = end - start;
          if (length >= MIN_PATTERN) matches[start]?.push({ end, bits: Math.log2(line.length) + 1 + Math.log2(LINES.length) + Math.log2(length) });
        }
      }
    }
  }
}

function repeats(symbols: readonly number[], matches: Match[][]): void {
  const n = symbols.length;
  // common[i * (n + 1) + j]: how many symbols from i on equal those from j on (j < i).
  const common = new Uint16Array((n + 1) * (n + 1));
  for (let i = n - 1; i >= 1; i--) {
    let longest = 0;
    for (let j = i - 1; j >= 0; j--) {
      if (symbols[i] !== symbols[j]) continue;
      const length = 1 + (common[(i + 1) * (n + 1) + j + 1] as number);
      common[i * (n + 1) + j] = length;
      longest = Math.max(longest, length);
    }
    // where the copy comes from (one of i earlier positions) and how long it is
    for (let length = MIN_PATTERN; length <= longest; length++) matches[i]?.push({ end: i + length, bits: Math.log2(i) + Math.log2(length) });
  }
}

function separators(symbols: readonly number[], classes: readonly number[], matches: Match[][]): void {
  const used = new Set<number>();
  for (let index = 0; index < symbols.length; index++) {
    if (classes[index] !== SEPARATOR) continue;
    const symbol = symbols[index] as number;
    if (used.has(symbol)) matches[index]?.push({ end: index + 1, bits: Math.log2(used.size) + 1 });
    used.add(symbol);
  }
}
