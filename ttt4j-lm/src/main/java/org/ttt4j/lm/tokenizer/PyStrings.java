package org.ttt4j.lm.tokenizer;

import com.hubspot.jinjava.objects.SafeString;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods on strings in templates ({@code message.content.startswith('x')}),
 * which Jinja inherits from Python and jinjava, being Java, lacks. Resolves only method calls on
 * strings whose name is one of {@link #METHODS}; everything else falls through to jinjava's resolvers.
 */
final class PyStrings extends ELResolver {
    /** The methods bridged. */
    static final List<String> METHODS = List.of("startswith", "endswith", "strip", "lstrip", "rstrip", "split", "upper", "lower",
            "title", "capitalize", "replace", "find", "count", "join", "isspace", "isdigit", "isalpha");

    /** The method that {@link JinjaRewrites} calls for {@code x[a:b:c]}: jinjava parses no step and slices strings with negative bounds wrongly. */
    static final String SLICE = "ttt4j_slice";

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (SLICE.equals(method) && (base instanceof List<?> || base instanceof CharSequence || base instanceof SafeString)) {
            Object result = slice(base, params);
            context.setPropertyResolved(true);
            return result;
        }
        String s = base instanceof String str ? str : base instanceof SafeString safe ? safe.toString() : null;
        if (s == null || !(method instanceof String name) || !METHODS.contains(name)) return null;
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, name, p);
        context.setPropertyResolved(true);
        return result;
    }

    static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "startswith" -> affix(s, arg(p, 0), true);
            case "endswith" -> affix(s, arg(p, 0), false);
            case "strip" -> strip(s, optString(p, 0), true, true);
            case "lstrip" -> strip(s, optString(p, 0), true, false);
            case "rstrip" -> strip(s, optString(p, 0), false, true);
            case "split" -> split(s, optString(p, 0), p.length > 1 && p[1] != null ? ((Number) p[1]).intValue() : -1);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, s.offsetByCodePoints(0, 1)).toUpperCase(Locale.ROOT)
                    + s.substring(s.offsetByCodePoints(0, 1)).toLowerCase(Locale.ROOT);
            case "replace" -> replace(s, string(p, 0), string(p, 1), p.length > 2 && p[2] != null ? ((Number) p[2]).intValue() : -1);
            case "find" -> (long) s.indexOf(string(p, 0));
            case "count" -> (long) count(s, string(p, 0));
            case "join" -> join(s, arg(p, 0));
            case "isspace" -> !s.isEmpty() && s.codePoints().allMatch(PyStrings::isSpace);
            case "isdigit" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            default -> throw new IllegalStateException(name);
        };
    }

    /** Python's {@code x[start:stop:step]} of a list or string. */
    static Object slice(Object base, Object[] p) {
        List<?> items = base instanceof List<?> l ? l : base.toString().codePoints().mapToObj(Character::toString).toList();
        int n = items.size();
        int step = Integer.parseInt(p[2].toString());
        if (step == 0) throw new IllegalArgumentException("slice step cannot be zero");
        String a = p[0].toString();
        String b = p[1].toString();
        int start;
        int stop;
        if (step > 0) {
            start = a.isEmpty() ? 0 : clamp(Integer.parseInt(a), n, 0, n);
            stop = b.isEmpty() ? n : clamp(Integer.parseInt(b), n, 0, n);
        } else {
            start = a.isEmpty() ? n - 1 : clamp(Integer.parseInt(a), n, -1, n - 1);
            stop = b.isEmpty() ? -1 : clamp(Integer.parseInt(b), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (int i = start; step > 0 ? i < stop : i > stop; i += step) out.add(items.get(i));
        if (base instanceof List<?>) return out;
        StringBuilder s = new StringBuilder();
        for (Object o : out) s.append(o);
        return s.toString();
    }

    private static int clamp(int index, int n, int lo, int hi) {
        int i = index < 0 ? index + n : index;
        return Math.max(lo, Math.min(hi, i));
    }

    private static Object arg(Object[] p, int i) {
        if (i >= p.length) throw new IllegalArgumentException("missing argument " + (i + 1));
        return p[i];
    }

    private static String string(Object[] p, int i) {
        Object a = arg(p, i);
        if (a == null) throw new IllegalArgumentException("argument " + (i + 1) + " must be a string, not none");
        return a.toString();
    }

    private static String optString(Object[] p, int i) {
        return i < p.length && p[i] != null ? p[i].toString() : null;
    }

    private static boolean affix(String s, Object arg, boolean prefix) {
        if (arg instanceof Iterable<?> options) {
            for (Object o : options) {
                if (affix(s, o, prefix)) return true;
            }
            return false;
        }
        String a = String.valueOf(arg);
        return prefix ? s.startsWith(a) : s.endsWith(a);
    }

    /** Python's {@code str.isspace} of one character. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85 || (c >= 0x1c && c <= 0x1f);
    }

    /** Python's strip family: whitespace when {@code chars} is null, else any of {@code chars}. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to) {
            int c = s.codePointAt(from);
            if (!(chars == null ? isSpace(c) : chars.indexOf(c) >= 0)) break;
            from += Character.charCount(c);
        }
        while (right && to > from) {
            int c = s.codePointBefore(to);
            if (!(chars == null ? isSpace(c) : chars.indexOf(c) >= 0)) break;
            to -= Character.charCount(c);
        }
        return s.substring(from, to);
    }

    /** Python's {@code str.split}: on runs of whitespace (no empty parts) when {@code sep} is null. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
                if (i >= n) break;
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.codePointAt(j))) j += Character.charCount(s.codePointAt(j));
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("split: empty separator");
        int from = 0;
        while (maxSplit < 0 || out.size() < maxSplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) break;
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            b.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isLetter(c);
            i += Character.charCount(c);
        }
        return b.toString();
    }

    private static String replace(String s, String old, String replacement, int max) {
        if (max < 0) return s.replace(old, replacement);
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (int n = 0; n < max; n++) {
            int at = s.indexOf(old, from);
            if (at < 0) break;
            b.append(s, from, at).append(replacement);
            from = at + old.length();
            if (old.isEmpty()) {
                if (from < s.length()) b.append(s.charAt(from));
                from++;
            }
        }
        if (from <= s.length()) b.append(s.substring(Math.min(from, s.length())));
        return b.toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.codePointCount(0, s.length()) + 1;
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) n++;
        return n;
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        if (items instanceof Iterable<?> it) {
            for (Object o : it) parts.add(String.valueOf(o));
        } else if (items instanceof Map<?, ?> m) {
            for (Object o : m.keySet()) parts.add(String.valueOf(o));
        } else {
            throw new IllegalArgumentException("join: not a list: " + items);
        }
        return String.join(sep, parts);
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
