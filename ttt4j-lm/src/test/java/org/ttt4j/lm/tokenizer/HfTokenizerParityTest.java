package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link HfTokenizer} against Hugging Face's JavaScript tokenizers (@huggingface/tokenizers, run
 * live in Node) on five real tokenizer.json files: the same ids, with and without the special
 * tokens, and the same decoded text, with and without them.
 */
class HfTokenizerParityTest {

    /** Texts for every tokenizer: code, prose, other scripts, emoji, whitespace runs, numbers, special-token strings. */
    static List<String> texts() {
        List<String> t = new ArrayList<>(List.of(
                "",
                " ",
                "Hello world",
                "Hello, world! How's it going? I'm fine; we'll see, they've gone, you'd know.",
                "The quick brown fox jumps over the lazy dog.\n\nA second paragraph, after a blank line.\n",
                "public static int[] encode(String text) {\n    return text.isEmpty() ? new int[0] : doEncode(text, 42);\n}\n",
                "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n - 1) + fib(n - 2)  # recursion\n",
                "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; } // dot\r\n",
                "中文分词测试：我们今天去北京大学。日本語のテキストとカタカナ。한국어 문장입니다.",
                "مرحبا بالعالم، هذه جملة عربية.",
                "नमस्ते दुनिया, यह एक हिंदी वाक्य है।",
                "Ça va? Déjà vu, naïve café, Øresund, Straße, São Paulo, ĳ, e\u0301 (combining).",
                "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷 and text after",
                "spaces:  two   three    four          ten.",
                "\t\ttabs\tand\n\n\nnewlines\n \n  \n\t\n",
                "   leading and trailing spaces   ",
                "numbers 1234567 and 3.14159, 2024-01-31, 0x1F, 1e-9, 12,345,678.90",
                "<|begin_of_text|>Hello<|end_of_text|>",
                "<s>[INST] What is 2+2? [/INST] 4</s>",
                "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                "<bos><start_of_turn>user\nhello<end_of_turn>",
                "<｜begin▁of▁sentence｜>text<｜end▁of▁sentence｜>",
                "a<s>b</s>c <s> </s>  <unk>",
                "no\u00a0break\u3000ideographic\u2028line sep\u0085next",
                "ALL CAPS SHOUTING'S FINE, ISN'T IT? 'Quoted' \"double\" `tick`",
                "URL https://example.com/path?q=1&r=%20 e-mail someone@example.org",
                "控制字符\u0001\u001f and \u007f del",
                "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛 math; rare 𠀀𠀁 CJK ext B",
                "▁already▁has▁metaspace and Ġbyte Ċlevel chars",
                "x".repeat(300) + " " + "ab".repeat(200)));
        return t;
    }

    static List<String> names() {
        return HfFixtures.NAMES;
    }

    @ParameterizedTest
    @MethodSource("names")
    void sameIdsAndTextAsTheReference(String name) throws Exception {
        Path modules = HfFixtures.modules();
        HfTokenizer tok = HfTokenizer.load(HfFixtures.tokenizerJson(modules, name));
        List<String> texts = texts();
        List<JsonNode> ref = HfFixtures.reference(modules, name, texts);
        int compared = 0;
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            JsonNode r = ref.get(i);
            int[] expected = HfFixtures.ints(r.path("ids"));
            int[] actual = tok.encode(text);
            int[] expectedPlain = HfFixtures.ints(r.path("ids_plain"));
            int[] actualPlain = tok.encode(text, false);
            compared += expected.length + expectedPlain.length;
            if (!Arrays.equals(expected, actual)) {
                failures.add("text " + i + " " + quote(text) + "\n  reference " + Arrays.toString(expected) + "\n  java      " + Arrays.toString(actual));
                continue;
            }
            if (!Arrays.equals(expectedPlain, actualPlain)) {
                failures.add("text " + i + " without special tokens " + quote(text) + "\n  reference " + Arrays.toString(expectedPlain)
                        + "\n  java      " + Arrays.toString(actualPlain));
            }
            String decoded = tok.decodeString(expected, false);
            if (!r.path("decoded").asText().equals(decoded)) {
                failures.add("text " + i + " decoded " + quote(r.path("decoded").asText()) + " vs java " + quote(decoded));
            }
            String decodedSkip = tok.decodeString(expected, true);
            if (!r.path("decoded_skip").asText().equals(decodedSkip)) {
                failures.add("text " + i + " decoded (skip special) " + quote(r.path("decoded_skip").asText()) + " vs java " + quote(decodedSkip));
            }
        }
        System.out.printf("parity %s: %d texts, %d ids compared, %d mismatches%n", name, texts.size(), compared, failures.size());
        assertEquals(List.of(), failures, name + ": differences from @huggingface/tokenizers");
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : (s.length() > 80 ? s.substring(0, 80) + "…" : s).toCharArray()) {
            if (c == '\n') b.append("\\n");
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    /** The ids of the first text equal the reference's even through encode(byte[]). */
    @ParameterizedTest
    @MethodSource("names")
    void bytesEncodeLikeStrings(String name) throws Exception {
        HfTokenizer tok = HfTokenizer.load(HfFixtures.tokenizerJson(HfFixtures.modules(), name));
        String text = texts().get(3);
        assertArrayEquals(tok.encode(text), tok.encode(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
}
