package org.ttt4j.lm.tokenizer;

import java.util.Map;

/** JSON as Python's {@code json.dumps(x, ensure_ascii=False, indent=indent)} writes it (the {@code tojson} of transformers). */
final class PyJson {
    private PyJson() {}

    static String dumps(Object value, Integer indent) {
        StringBuilder b = new StringBuilder();
        write(b, value, indent, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, Integer indent, int depth) {
        switch (v) {
            case null -> b.append("null");
            case Boolean x -> b.append(x ? "true" : "false");
            case Double d -> b.append(number(d));
            case Float f -> b.append(number(f.doubleValue()));
            case Number n -> b.append(n);
            case CharSequence s -> string(b, s.toString());
            case ChatTemplate.Message m -> write(b, Map.of("role", m.role(), "content", m.content()), indent, depth);
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    b.append("{}");
                    return;
                }
                b.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) b.append(indent == null ? ", " : ",");
                    first = false;
                    newline(b, indent, depth + 1);
                    string(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue(), indent, depth + 1);
                }
                newline(b, indent, depth);
                b.append('}');
            }
            case Iterable<?> it -> {
                if (!it.iterator().hasNext()) {
                    b.append("[]");
                    return;
                }
                b.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) b.append(indent == null ? ", " : ",");
                    first = false;
                    newline(b, indent, depth + 1);
                    write(b, o, indent, depth + 1);
                }
                newline(b, indent, depth);
                b.append(']');
            }
            case Object[] a -> write(b, java.util.Arrays.asList(a), indent, depth);
            default -> string(b, v.toString());
        }
    }

    private static void newline(StringBuilder b, Integer indent, int depth) {
        if (indent == null) return;
        b.append('\n').append(" ".repeat(indent * depth));
    }

    /** Python's float repr for the common cases: integral values keep ".0". */
    private static String number(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return (long) d + ".0";
        return Double.toString(d);
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
