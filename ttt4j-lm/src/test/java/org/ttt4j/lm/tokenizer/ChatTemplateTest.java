package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
    @TempDir
    Path dir;

    static final List<ChatTemplate.Message> HI = List.of(new ChatTemplate.Message("user", "hi"));

    Path config(String json) throws Exception {
        return Files.writeString(dir.resolve(ChatTemplate.FILE), json);
    }

    @Test
    void tokensAsStringsOrObjects() throws Exception {
        config("""
                {"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}"}""");
        ChatTemplate t = ChatTemplate.find(dir).orElseThrow();
        assertEquals("<B>user:hi<E>", t.render(HI, false));
        assertEquals("<B>", t.bosToken().orElseThrow());
    }

    @Test
    void namedTemplatesTakeDefault() throws Exception {
        config("""
                {"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain {{ messages|length }}\\n"}]}""");
        assertEquals("plain 1", ChatTemplate.load(dir.resolve(ChatTemplate.FILE)).render(HI, true));
    }

    @Test
    void namedTemplatesWithoutDefaultAreRefused() throws Exception {
        Path f = config("""
                {"chat_template": [{"name": "tool_use", "template": "tools"}]}""");
        var e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("chat_template") && e.getMessage().contains("tool_use"),
                e.getMessage());
    }

    @Test
    void badFieldsNameFileAndField() throws Exception {
        Path f = config("""
                {"chat_template": 3}""");
        var e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.load(f));
        assertTrue(e.getMessage().startsWith(f + ": chat_template"), e.getMessage());
        config("""
                {"chat_template": "x", "eos_token": 5}""");
        e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.load(f));
        assertTrue(e.getMessage().startsWith(f + ": eos_token"), e.getMessage());
        config("{not json");
        var io = assertThrows(java.io.IOException.class, () -> ChatTemplate.load(f));
        assertTrue(io.getMessage().startsWith(f.toString()), io.getMessage());
    }

    @Test
    void noFileOrNoTemplateIsEmpty() throws Exception {
        assertTrue(ChatTemplate.find(dir).isEmpty());
        config("{\"bos_token\": \"<s>\"}");
        assertTrue(ChatTemplate.find(dir).isEmpty());
    }

    @Test
    void raiseExceptionFailsWithTheTemplatesMessage() throws Exception {
        config("""
                {"chat_template": "{% if messages[0].role != 'system' %}{{ raise_exception('a system message comes first') }}{% endif %}ok"}""");
        ChatTemplate t = ChatTemplate.find(dir).orElseThrow();
        var e = assertThrows(IllegalArgumentException.class, () -> t.render(HI, false));
        assertEquals(dir.resolve(ChatTemplate.FILE) + ": chat_template: a system message comes first", e.getMessage());
        assertEquals("ok", t.render(List.of(new ChatTemplate.Message("system", "s")), false));
    }

    @Test
    void syntaxErrorsAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.of("{% for m in messages %}", null, null).render(HI, false));
        assertTrue(e.getMessage().contains("cannot be rendered"), e.getMessage());
    }

    @Test
    void clockAndVariables() {
        ChatTemplate t = ChatTemplate.of("{{ strftime_now('%d %b %Y %-d/%-m %H:%M %A') }}|{{ date_string | default('none') }}", null, null)
                .withClock(Clock.fixed(Instant.parse("2024-07-06T09:05:00Z"), ZoneOffset.UTC));
        assertEquals("06 Jul 2024 6/7 09:05 Saturday|none", t.render(HI, false));
        assertEquals("06 Jul 2024 6/7 09:05 Saturday|26 Jul 2024", t.render(HI, false, Map.of("date_string", "26 Jul 2024")));
    }

    @Test
    void blocksTrimmedAsJinjaTrimsThem() {
        // Reference: transformers' environment (trim_blocks, lstrip_blocks) renders "a b  c|x ".
        assertEquals("a b  c|x ", ChatTemplate.of("a {% if x %}b  {% endif %}\n  {% if x %}c{% endif %}|x {# note #}\n", null, null)
                .render(HI, false, Map.of("x", true)));
    }

    @Test
    void dictMethodsAndIndentedJson() {
        // Reference: transformers renders 'a=1|user|d|{\n  "a": [\n    1\n  ]\n}'.
        assertEquals("a=1|user|d|{\n  \"a\": [\n    1\n  ]\n}", ChatTemplate.of("{% for k, v in {'a': 1}.items() %}{{k}}={{v}}{% endfor %}|"
                + "{{ messages[0].get('role') }}|{{ messages[0].get('nope', 'd') }}|{{ {'a': [1]} | tojson(indent=2) }}", null, null).render(HI, false));
    }

    @Test
    void printedValues() {
        assertEquals("['a', 1]|{'k': 'v'}|true|", ChatTemplate.of("{{ ['a', 1] }}|{{ {'k': 'v'} }}|{{ 1 == 1 }}|{{ none }}", null, null).render(HI, false));
    }

    @Test
    void pythonStringMethods() {
        ChatTemplate t = ChatTemplate.of("""
                {{ ' a b  c '.split() | tojson }} {{ 'a,b,,c'.split(',', 2) | tojson }} {{ 'xxhixx'.strip('x') }} {{ '  hi'.lstrip() }}|\
                {{ 'hi\u00a0 '.rstrip() }}|{{ 'Hello'.startswith(('He', 'x')) }} {{ 'abc'.endswith('bc') }} {{ 'abc'[::-1] }} {{ 'héllo wörld'.title() }} \
                {{ 'a-b-c'.replace('-', '+', 1) }} {{ '-'.join(['x', 'y']) }} {{ [1, 2, 3, 4][1::2] | tojson }} {{ 'x🚀y' | length }} {{ {'k': [1, none, true, 'é\\n']} | tojson }}""",
                null, null);
        assertEquals("[\"a\", \"b\", \"c\"] [\"a\", \"b\", \",c\"] hi hi|hi|true true cba Héllo Wörld a+b-c x-y [2, 4] 3 {\"k\": [1, null, true, \"é\\n\"]}",
                t.render(HI, false));
    }

    /** A tokenizer that, like Llama's, puts its BOS (id 256) before every text. */
    static final Tokenizer WITH_BOS = new Tokenizer() {
        @Override public String name() { return "bytes+bos"; }
        @Override public int vocabSize() { return 258; }
        @Override public int documentBoundary() { return 257; }
        @Override public byte[] decode(int[] ids) { return ByteTokenizer.instance().decode(java.util.Arrays.stream(ids).filter(i -> i < 256).toArray()); }

        @Override
        public int[] encode(byte[] utf8) {
            String s = new String(utf8, java.nio.charset.StandardCharsets.UTF_8);
            var out = new java.util.ArrayList<Integer>();
            out.add(256);
            if (s.startsWith("<s>")) {
                out.add(256);
                s = s.substring(3);
            }
            for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) out.add(b & 0xff);
            return out.stream().mapToInt(Integer::intValue).toArray();
        }
    };

    @Test
    void encodingKeepsOneBos() {
        ChatTemplate withBos = ChatTemplate.of("{{ bos_token }}{{ messages[0].content }}", "<s>", null);
        assertArrayEquals(new int[] {256, 'h', 'i'}, withBos.encode(WITH_BOS, withBos.render(HI, false)));
        ChatTemplate without = ChatTemplate.of("{{ messages[0].content }}", "<s>", null);
        assertArrayEquals(new int[] {256, 'h', 'i'}, without.encode(WITH_BOS, without.render(HI, false)));
        // A tokenizer that adds nothing keeps every id (the template's BOS text is its own business).
        assertArrayEquals(ByteTokenizer.instance().encode("<s>hi"), withBos.encode(ByteTokenizer.instance(), "<s>hi"));
    }
}
