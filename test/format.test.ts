/** The one format module: numbers, bytes, durations, shares, times, and text cut by display width. */
import { bytes, clockTime, compactNumber, compactRate, dateTime, displayWidth, duration, fit, grouped, lossPercent, milliseconds, share, shortSpan, truncate, wrap } from '../src/format';

describe('numbers', () => {
  it('groups thousands as toLocaleString(\'en-US\') does, without ICU', () => {
    for (const value of [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 20_000, 1_234_567_890, -1234, -12]) {
      expect(grouped(value)).toBe(value.toLocaleString('en-US'));
    }
    expect(grouped(1_648_370)).toBe('1,648,370');
  });

  it('writes shares, losses, milliseconds, counts and rates', () => {
    expect(share(1, 3)).toBe('33.3%');
    expect(share(1, 0)).toBe('-');
    expect(lossPercent(0.25)).toBe('25%');
    expect(lossPercent(0.012)).toBe('1.2%');
    expect(lossPercent(1 - 81 / 90)).toBe('10%');
    expect(lossPercent(0.00001)).toBe('<0.1%');
    expect(milliseconds(3.14159)).toBe('3.1');
    expect(milliseconds(123.6)).toBe('124');
    expect(milliseconds(null)).toBe('-');
    expect(compactNumber(9999)).toBe('9999');
    expect(compactNumber(12_345)).toBe('12.3K');
    expect(compactNumber(7_800_000)).toBe('7.8M');
    expect(compactRate(0.44)).toBe('0.4');
    expect(compactRate(37.2)).toBe('37');
    expect(compactRate(1234)).toBe('1.2k');
  });

  it('writes bytes in one unit system, compact for panels and long for reports', () => {
    expect(bytes(512, 'compact')).toBe('512B');
    expect(bytes(1500, 'compact')).toBe('1.5K');
    expect(bytes(1000, 'compact')).toBe('1.0K');
    expect(bytes(35 * 1024 * 1024, 'compact')).toBe('35M');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KB');
    expect(bytes(3.5 * 1024 ** 3)).toBe('3.5 GB');
  });
});

describe('times', () => {
  it('writes data times in UTC and durations', () => {
    expect(dateTime(1_700_000_000)).toBe('2023-11-14 22:13:20 UTC');
    expect(clockTime(1_700_000_000)).toBe('22:13:20');
    expect(duration(7)).toBe('7s');
    expect(duration(125)).toBe('2m 05s');
    expect(duration(3723)).toBe('1h 02m 03s');
    expect(shortSpan(90)).toBe('90s');
    expect(shortSpan(300)).toBe('5m');
    expect(shortSpan(5400)).toBe('1.5h');
  });
});

describe('text by display width', () => {
  it('counts wide characters as two cells and combining marks as none', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('🚀x')).toBe(3);
  });

  it('cuts and pads to cells, never half a wide character', () => {
    expect(truncate('/index.html', 6)).toBe('/inde…');
    expect(truncate('日本語のページ', 6)).toBe('日本…');
    expect(displayWidth(truncate('日本語のページ', 5))).toBeLessThanOrEqual(5);
    expect(truncate('short', 10)).toBe('short');
    expect(fit('日本', 6)).toBe('日本  ');
    expect(fit('7', 3, true)).toBe('  7');
  });

  it('wraps at spaces within the width, indenting continuations', () => {
    const lines = wrap('High traffic generated an alert - hits = 1234, triggered at 2023-11-14 22:13:20 UTC', 30);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(30);
    expect(lines[1].startsWith('  ')).toBe(true);
    expect(lines.join(' ').replace(/\s+/g, ' ')).toBe('High traffic generated an alert - hits = 1234, triggered at 2023-11-14 22:13:20 UTC');
  });
});
