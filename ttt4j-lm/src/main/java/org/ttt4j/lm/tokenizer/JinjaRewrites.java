package org.ttt4j.lm.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites of a template's tags where jinjava reads Jinja differently from Python's Jinja, applied
 * before rendering (the text between tags is never changed):
 * <ul>
 *   <li>slices with integer bounds ({@code messages[::-1]}, {@code text[-3:]}) become a call of
 *       {@link PyStrings#SLICE}: jinjava parses no step and slices strings wrongly with negative bounds;
 *   <li>{@code not x is test} becomes {@code not (x is test)}: Jinja's {@code not} binds looser than
 *       {@code is}, jinjava's tighter;
 *   <li>keyword arguments get parentheses ({@code f(a=n|length - 1)} becomes {@code f(a=(n|length - 1))}):
 *       jinjava's {@code =} binds tighter than arithmetic.
 *   <li>Jinja's {@code lstrip_blocks} is done here, not by jinjava: Jinja strips the spaces and tabs
 *       before a block tag or comment only when nothing else precedes it on its line; jinjava strips
 *       them after text too ({@code "[A] {% endif %}"} would lose its space).
 * </ul>
 */
final class JinjaRewrites {
    private JinjaRewrites() {}

    private static final Pattern TAG = Pattern.compile("\\{[{%].*?[}%]\\}", Pattern.DOTALL);
    private static final Pattern SLICE = Pattern.compile("\\[\\s*(-?\\d+)?\\s*:\\s*(-?\\d+)?\\s*(?::\\s*(-?\\d+)\\s*)?\\]");
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]\\[]*\\])*(?:\\.[A-Za-z_]\\w*)*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*)\\b");

    private static final Pattern LINE_INDENT_BEFORE_BLOCK = Pattern.compile("(?m)^[ \\t]+(?=\\{%(?!\\+)|\\{#(?!\\+))");

    static String rewrite(String template) {
        Matcher tags = TAG.matcher(lstripBlocks(template));
        StringBuilder out = new StringBuilder();
        while (tags.find()) {
            String tag = tags.group();
            tag = SLICE.matcher(tag).replaceAll(m -> Matcher.quoteReplacement("." + PyStrings.SLICE + "('" + orEmpty(m.group(1)) + "', '"
                    + orEmpty(m.group(2)) + "', '" + (m.group(3) == null ? "1" : m.group(3)) + "')"));
            tag = NOT_IS.matcher(tag).replaceAll(m -> Matcher.quoteReplacement("not (" + m.group(1) + " is " + orEmpty(m.group(2)) + m.group(3) + ")"));
            tag = parenthesizeKeywordArguments(tag);
            tags.appendReplacement(out, Matcher.quoteReplacement(tag));
        }
        tags.appendTail(out);
        return out.toString();
    }

    /** Jinja's {@code lstrip_blocks}: spaces and tabs from a line's start to a block tag or comment. */
    static String lstripBlocks(String template) {
        return LINE_INDENT_BEFORE_BLOCK.matcher(template).replaceAll("");
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    /** {@code name=value} inside parentheses: the value, up to the next comma or closing bracket at its level, in parentheses. */
    static String parenthesizeKeywordArguments(String tag) {
        StringBuilder out = new StringBuilder(tag.length() + 8);
        int depth = 0;
        char quote = 0;
        for (int i = 0; i < tag.length(); i++) {
            char c = tag.charAt(i);
            out.append(c);
            if (quote != 0) {
                if (c == '\\' && i + 1 < tag.length()) out.append(tag.charAt(++i));
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            else if (c == '(') depth++;
            else if (c == ')') depth--;
            else if (c == '=' && depth > 0 && i > 0 && Character.isJavaIdentifierPart(tag.charAt(i - 1))
                    && (i + 1 >= tag.length() || tag.charAt(i + 1) != '=')) {
                int end = valueEnd(tag, i + 1);
                out.append('(').append(parenthesizeKeywordArguments(tag.substring(i + 1, end))).append(')');
                i = end - 1;
            }
        }
        return out.toString();
    }

    /** Where a keyword argument's value starting at {@code from} ends: a comma or closing bracket at its own level. */
    private static int valueEnd(String tag, int from) {
        int depth = 0;
        char quote = 0;
        for (int i = from; i < tag.length(); i++) {
            char c = tag.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) return i;
                depth--;
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return tag.length();
    }
}
