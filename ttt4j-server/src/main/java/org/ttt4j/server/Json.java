package org.ttt4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reading request bodies field by field: each accessor checks the type and range of one field and
 * names it in the 400 it answers otherwise. Unknown fields are ignored (clients send many).
 */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {}

    /** The request body as a JSON object. */
    static ObjectNode object(byte[] body) {
        if (body.length == 0) throw ApiException.badRequest(null, "the request body is empty; expected a JSON object");
        JsonNode n;
        try {
            n = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "the request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest(null, "the request body cannot be read: " + e.getMessage());
        }
        if (n == null || !n.isObject()) throw ApiException.badRequest(null, "the request body must be a JSON object");
        return (ObjectNode) n;
    }

    /** Field {@code name}, or null when absent or JSON null. */
    static JsonNode field(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        return v == null || v.isNull() ? null : v;
    }

    static String string(ObjectNode o, String name, String fallback) {
        JsonNode v = field(o, name);
        if (v == null) return fallback;
        if (!v.isTextual()) throw ApiException.badRequest(name, "field '" + name + "' must be a string, got " + kind(v));
        return v.textValue();
    }

    static boolean bool(ObjectNode o, String name, boolean fallback) {
        JsonNode v = field(o, name);
        if (v == null) return fallback;
        if (!v.isBoolean()) throw ApiException.badRequest(name, "field '" + name + "' must be true or false, got " + kind(v));
        return v.booleanValue();
    }

    /** A number in [min, max]. */
    static double number(ObjectNode o, String name, double fallback, double min, double max) {
        JsonNode v = field(o, name);
        if (v == null) return fallback;
        if (!v.isNumber()) throw ApiException.badRequest(name, "field '" + name + "' must be a number, got " + kind(v));
        double d = v.doubleValue();
        if (!(d >= min && d <= max)) throw ApiException.badRequest(name, "field '" + name + "' must be in [" + fmt(min) + ", " + fmt(max) + "], got " + v);
        return d;
    }

    /** An integer in [min, max]. */
    static long integer(ObjectNode o, String name, long fallback, long min, long max) {
        JsonNode v = field(o, name);
        if (v == null) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.badRequest(name, "field '" + name + "' must be an integer, got " + kind(v) + " " + clip(v.toString()));
        }
        long l = v.longValue();
        if (l < min || l > max) throw ApiException.badRequest(name, "field '" + name + "' must be in [" + min + ", " + max + "], got " + l);
        return l;
    }

    /** A string or an array of strings (OpenAI's {@code stop}). */
    static List<String> strings(ObjectNode o, String name, int maxItems) {
        JsonNode v = field(o, name);
        if (v == null) return List.of();
        if (v.isTextual()) return List.of(v.textValue());
        if (!v.isArray()) throw ApiException.badRequest(name, "field '" + name + "' must be a string or an array of strings, got " + kind(v));
        if (v.size() > maxItems) throw ApiException.badRequest(name, "field '" + name + "' has " + v.size() + " items; at most " + maxItems);
        List<String> out = new ArrayList<>();
        for (JsonNode s : v) {
            if (!s.isTextual()) throw ApiException.badRequest(name, "field '" + name + "' must hold strings, got " + kind(s));
            out.add(s.textValue());
        }
        return out;
    }

    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    /** {@code s} cut to 80 characters for an error message. */
    static String clip(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }
}
