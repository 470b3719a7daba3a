package org.ttt4j.lm.tokenizer;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.time.temporal.ChronoField;
import java.util.Locale;

/** Python's {@code datetime.strftime} in the C locale, for {@code strftime_now}; {@code %-d} style (no padding) as glibc. */
final class Strftime {
    private Strftime() {}

    static String format(ZonedDateTime t, String format) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                b.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean pad = true;
            if (d == '-' && i + 1 < format.length()) {
                pad = false;
                d = format.charAt(++i);
            }
            switch (d) {
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b', 'h' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'd' -> num(b, t.getDayOfMonth(), 2, pad);
                case 'e' -> b.append(pad ? String.format("%2d", t.getDayOfMonth()) : Integer.toString(t.getDayOfMonth()));
                case 'm' -> num(b, t.getMonthValue(), 2, pad);
                case 'y' -> num(b, t.getYear() % 100, 2, pad);
                case 'Y' -> b.append(t.getYear());
                case 'H' -> num(b, t.getHour(), 2, pad);
                case 'I' -> num(b, t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, pad);
                case 'M' -> num(b, t.getMinute(), 2, pad);
                case 'S' -> num(b, t.getSecond(), 2, pad);
                case 'f' -> num(b, t.get(ChronoField.MICRO_OF_SECOND), 6, true);
                case 'p' -> b.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> num(b, t.getDayOfYear(), 3, pad);
                case 'w' -> b.append(t.getDayOfWeek().getValue() % 7);
                case 'u' -> b.append(t.getDayOfWeek().getValue());
                case 'Z' -> b.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'z' -> {
                    int s = t.getOffset().getTotalSeconds();
                    b.append(s < 0 ? '-' : '+');
                    num(b, Math.abs(s) / 3600, 2, true);
                    num(b, Math.abs(s) / 60 % 60, 2, true);
                }
                case 'F' -> b.append(format(t, "%Y-%m-%d"));
                case 'T' -> b.append(format(t, "%H:%M:%S"));
                case 'D' -> b.append(format(t, "%m/%d/%y"));
                case 'R' -> b.append(format(t, "%H:%M"));
                case 'c' -> b.append(format(t, "%a %b %e %H:%M:%S %Y"));
                case 'x' -> b.append(format(t, "%m/%d/%y"));
                case 'X' -> b.append(format(t, "%H:%M:%S"));
                case '%' -> b.append('%');
                default -> b.append('%').append(pad ? "" : "-").append(d);
            }
        }
        return b.toString();
    }

    private static void num(StringBuilder b, int v, int width, boolean pad) {
        String s = Integer.toString(v);
        if (pad) b.append("0".repeat(Math.max(0, width - s.length())));
        b.append(s);
    }
}
