package org.ttt4j.lm.data;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Include/exclude path globs over document ids ('/'-separated relative paths).
 *
 * <p>Syntax: {@code *} matches within one path segment, {@code **} across segments ({@code **}{@code /}
 * also matches no directory at all, so {@code **}{@code /*.java} matches {@code A.java}), {@code ?}
 * one character, {@code {a,b}} alternatives, {@code [abc]} a character class. A glob without a
 * {@code /} matches the file name at any depth (as in .gitignore): {@code *.txt}. A document is
 * selected when it matches some include (or the include list is empty) and no exclude.
 */
public final class Globs {
    private final List<String> include;
    private final List<String> exclude;
    private final List<Pattern> includePatterns;
    private final List<Pattern> excludePatterns;

    public Globs(List<String> include, List<String> exclude) {
        this.include = List.copyOf(include);
        this.exclude = List.copyOf(exclude);
        this.includePatterns = this.include.stream().map(Globs::compile).toList();
        this.excludePatterns = this.exclude.stream().map(Globs::compile).toList();
    }

    /** Everything. */
    public static Globs all() {
        return new Globs(List.of(), List.of());
    }

    public static Globs of(List<String> include, List<String> exclude) {
        return new Globs(include, exclude);
    }

    public List<String> include() {
        return include;
    }

    public List<String> exclude() {
        return exclude;
    }

    public boolean matches(String id) {
        boolean in = includePatterns.isEmpty();
        for (Pattern p : includePatterns) {
            if (p.matcher(id).matches()) {
                in = true;
                break;
            }
        }
        if (!in) return false;
        for (Pattern p : excludePatterns) {
            if (p.matcher(id).matches()) return false;
        }
        return true;
    }

    /** Translates one glob to a regular expression; see the class comment for the syntax. */
    static Pattern compile(String glob) {
        if (glob.isEmpty()) throw new IllegalArgumentException("empty glob");
        String g = glob.startsWith("/") ? glob.substring(1) : glob;
        if (!g.contains("/")) g = "**/" + g;
        StringBuilder re = new StringBuilder();
        boolean inBraces = false;
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            switch (c) {
                case '*' -> {
                    if (i + 1 < g.length() && g.charAt(i + 1) == '*') {
                        if (i + 2 < g.length() && g.charAt(i + 2) == '/') {
                            re.append("(?:.*/)?");
                            i += 2;
                        } else {
                            re.append(".*");
                            i += 1;
                        }
                    } else {
                        re.append("[^/]*");
                    }
                }
                case '?' -> re.append("[^/]");
                case '{' -> {
                    if (inBraces) throw new IllegalArgumentException("nested '{' in glob '" + glob + "'");
                    inBraces = true;
                    re.append("(?:");
                }
                case '}' -> {
                    if (!inBraces) throw new IllegalArgumentException("unbalanced '}' in glob '" + glob + "'");
                    inBraces = false;
                    re.append(')');
                }
                case ',' -> re.append(inBraces ? "|" : ",");
                case '[' -> {
                    int end = g.indexOf(']', i + 1);
                    if (end < 0) throw new IllegalArgumentException("unbalanced '[' in glob '" + glob + "'");
                    String cls = g.substring(i + 1, end);
                    if (cls.startsWith("!")) cls = "^" + cls.substring(1);
                    re.append('[').append(cls.replace("\\", "\\\\")).append(']');
                    i = end;
                }
                default -> {
                    if ("\\.^$|()+]".indexOf(c) >= 0) re.append('\\');
                    re.append(c);
                }
            }
        }
        if (inBraces) throw new IllegalArgumentException("unbalanced '{' in glob '" + glob + "'");
        return Pattern.compile(re.toString());
    }

    @Override
    public String toString() {
        return "include " + include + " exclude " + exclude;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Globs other && include.equals(other.include) && exclude.equals(other.exclude);
    }

    @Override
    public int hashCode() {
        return include.hashCode() * 31 + exclude.hashCode();
    }
}
